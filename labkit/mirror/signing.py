"""The lab's repository signing key (OpenPGP, made once per cache with gpg) and signatures made
with it, as an apt repository publishes them: InRelease (clear-signed) and Release.gpg."""

import subprocess
from pathlib import Path

from labkit.lab import paths

UID = "FlowSpace lab mirror <mirror@flowspace.test>"


class Signer:
    def __init__(self, home: Path, uid: str = UID):
        self.home, self.uid = home, uid
        if not (home / "pubring.kbx").exists() or not self._gpg("--list-secret-keys", uid, check=False):
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._gpg("--quick-gen-key", uid, "rsa3072", "sign", "never")

    def _gpg(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [
                "gpg",
                "--homedir",
                str(self.home),
                "--batch",
                "--quiet",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args[:2])} failed: {result.stderr.strip()}")
        return result.stdout if result.returncode == 0 else ""

    def public_key(self) -> str:
        """The ASCII-armoured public key, as upstream serves its gpg.key."""
        return self._gpg("--armor", "--export", self.uid)

    def sign_release(self, release: Path) -> None:
        folder = release.parent
        for name in ("InRelease", "Release.gpg"):
            (folder / name).unlink(missing_ok=True)
        self._gpg(
            "--local-user",
            self.uid,
            "--digest-algo",
            "SHA256",
            "--clearsign",
            "--output",
            str(folder / "InRelease"),
            str(release),
        )
        self._gpg(
            "--local-user",
            self.uid,
            "--digest-algo",
            "SHA256",
            "--armor",
            "--detach-sign",
            "--output",
            str(folder / "Release.gpg"),
            str(release),
        )


def lab_signer() -> Signer:
    return Signer(paths.cache_dir() / "mirror" / "gnupg")
