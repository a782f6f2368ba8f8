"""Headless Chromium (Debian's) as FlowSpace's users run it, driven by Playwright: pages at the
app origin load the lab's browser client (tests/browser, bundled with esbuild) under the
Content-Security-Policy the Vercel play wrote into vercel.json, and talk to the stack's sites.

What makes it a browser on a user's machine rather than a test double:
- the lab's ACME root is trusted the way a browser trusts a private CA: imported into the NSS
  certificate store of the browser's own $HOME (no "ignore certificate errors");
- the stack's names resolve to the lab host through /etc/hosts, in a mount namespace of the
  browser's own (the same for page loads, WebSockets, and TURN servers ICE resolves);
- the page's origin is the app's: Playwright answers requests for it with the page and the
  CSP header, as Vercel would, so every request the page makes is checked by that policy;
- fake capture devices: the microphone is Chromium's built-in beep."""

import json
import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CLIENT_DIR = Path(__file__).resolve().parents[2] / "tests" / "browser"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--use-fake-device-for-media-stream",  # a beeping microphone
    "--use-fake-ui-for-media-stream",  # the permission prompt answered yes
    "--autoplay-policy=no-user-gesture-required",  # remote audio plays without a click
    "--no-sandbox",  # Chromium's sandbox needs user namespaces root may not have in CI containers
    # The lab host's address is private (Docker's bridge) where production's is public: a public
    # origin reaching a private address is what Local Network Access guards, so it is off here.
    "--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets,"
    "LocalNetworkAccessChecksWebRTC",
]


def join_space(page: Page, url: str, token: str, space: str, name: str) -> dict:
    """The page's player joins `space` on the Socket.io server at `url`; the server's answer."""
    arguments = {"url": url, "token": token, "spaceId": space, "name": name}
    return page.evaluate("a => flowspace.joinSpace(a)", arguments)


def join_room(page: Page, url: str, token: str) -> dict:
    """The page joins the LiveKit room its token names and publishes its (fake) microphone."""
    return page.evaluate("a => flowspace.joinRoom(a)", {"url": url, "token": token})


def build_client() -> Path:
    """The bundled client (esbuild, offline from tests/browser/node_modules)."""
    subprocess.run(["npm", "run", "--silent", "build"], cwd=CLIENT_DIR, check=True, capture_output=True)
    return CLIENT_DIR / "dist" / "client.js"


def csp_of(vercel_json: Path) -> str:
    """The Content-Security-Policy vercel.json sets on every path."""
    for rule in json.loads(vercel_json.read_text()).get("headers", []):
        for header in rule.get("headers", []):
            if header["key"].lower() == "content-security-policy":
                return header["value"]
    raise AssertionError(f"{vercel_json} sets no Content-Security-Policy")


class Browser:
    """One Chromium process; each page() is a fresh profile-less context at an origin."""

    def __init__(self, workdir: Path, names: dict[str, str], ca_file: str):
        self.home = workdir / "home"
        nssdb = self.home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True, exist_ok=True)
        subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
        subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "flowspace-lab-acme-root",
                        "-t", "C,,", "-i", ca_file], check=True)
        hosts = workdir / "hosts"
        hosts.write_text("127.0.0.1 localhost\n" + "".join(f"{ip} {name}\n" for name, ip in names.items()))
        launcher = workdir / "chromium"
        launcher.write_text(
            "#!/bin/sh\n# Chromium with the lab's names in an /etc/hosts of its own.\n"
            f"exec unshare --mount --propagation private sh -c "
            f"'mount --bind \"$0\" /etc/hosts && exec {CHROMIUM} \"$@\"' {hosts} \"$@\"\n")
        launcher.chmod(0o755)
        self._index = (CLIENT_DIR / "index.html").read_text()
        self._client = build_client().read_text()
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=str(launcher), args=FLAGS, env={"HOME": str(self.home), "PATH": "/usr/bin:/bin"})

    def page(self, origin: str, csp: str) -> Page:
        """A page at `origin` with the lab client loaded, served under `csp`; console lines are
        kept in page.console_lines."""
        context = self._browser.new_context(ignore_https_errors=False)

        def serve(route) -> None:
            path = route.request.url[len(origin):] or "/"
            if path == "/":
                route.fulfill(status=200, body=self._index, content_type="text/html",
                              headers={"Content-Security-Policy": csp})
            elif path == "/client.js":
                route.fulfill(status=200, body=self._client, content_type="text/javascript")
            else:
                route.fulfill(status=404, body="not found")

        context.route(f"{origin}/**", serve)
        page = context.new_page()
        page.console_lines = []
        page.on("console", lambda message: page.console_lines.append(f"{message.type}: {message.text}"))
        page.goto(f"{origin}/")
        page.wait_for_function("window.flowspace !== undefined")
        return page

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()
        shutil.rmtree(self.home, ignore_errors=True)
