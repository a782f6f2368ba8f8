"""site.yml end to end on fresh OCI-like hosts (Debian 12 and 13; 13 with production's own
install methods from the lab's upstream mirror), over SSH as production runs it: users reach
every service and a re-run changes nothing, within the minute the README promises, on both;
on Debian 12 also the drift catalogue (docs/drift.md), reported by the drift report without
being touched and healed by a re-run, and bad input refused by the preflight before any host
changes."""

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import yaml

import fresh_runner
from ansible_run import STOPS_EARLY, run_playbook, write_inventory
from labkit.checks import stack_check
from labkit.lab import binaries, paths
from site_stack import SiteHost, assert_a_rerun_changes_nothing, assert_users_reach_every_service
from support import REPO_ROOT

pytestmark = pytest.mark.integration

SSH_PORTS = {"debian12": 2361, "debian13": 2362}  # as tests/conftest.py's `sites` makes them
SSHD_DROP_IN = "/etc/ssh/sshd_config.d/00-base-hardening.conf"
SYSCTL_FILE = "/etc/sysctl.d/99-zz-base-hardening.conf"
CADDYFILE = "/etc/caddy/Caddyfile"
CADDY_DROP_IN = "/etc/systemd/system/caddy.service.d/50-flowspace.conf"
LIVEKIT_CONFIG = "/etc/livekit/livekit.yaml"
LIVEKIT_KEYS = "/etc/livekit/keys.yaml"
LIVEKIT_UNIT = "/etc/systemd/system/livekit.service"
SOCKET_UNIT = "/etc/systemd/system/flowspace-socket@.service"
SOCKET_ENV = "/opt/flowspace-socket/shared/flowspace-socket.env"
SOCKET_CURRENT = "/opt/flowspace-socket/current"
PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml"
PROMETHEUS_ARGS = "/etc/default/prometheus"
ALERT_RULES = "/etc/prometheus/flowspace-rules.yml"
VERCEL_SYNC = "Sync the project's environment variables"
JOURNALD_QUIET = "/etc/systemd/journald.conf.d/zz-quiet.conf"
FAIL2BAN_LOOSE = "/etc/fail2ban/jail.d/a-loose.local"  # its name sorts before jail.local; read after
SSHD_EARLY = "/etc/ssh/sshd_config.d/0-loose.conf"
INTRUDER_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIntruderKeyAddedByHandOnTheHost0000000000 "
                "intruder@elsewhere")
# A route removed through Caddy's admin API, as a hand `curl` would; the Caddyfile is untouched.
CADDY_ROUTE_DELETED = (
    "server=$(curl -s localhost:2019/config/apps/http/servers/ | python3 -c "
    "'import json,sys; print(sorted(json.load(sys.stdin))[0])') && "
    "curl -sf -X DELETE localhost:2019/config/apps/http/servers/$server/routes/0")
CADDY_RUNS_OTHER_CONFIG = (
    "python3 -c 'import json,subprocess,sys,urllib.request; "
    "adapted = json.loads(subprocess.run([\"caddy\", \"adapt\", \"--config\", \"/etc/caddy/Caddyfile\"], "
    "capture_output=True, check=True).stdout); "
    "running = json.load(urllib.request.urlopen(\"http://localhost:2019/config/\")); "
    "sys.exit(0 if adapted != running else 1)'")


@pytest.fixture(scope="module")
def site(sites) -> SiteHost:
    """The Debian 12 stack the catalogues run on."""
    return sites("debian12")


@pytest.mark.parametrize("flavour", sorted(SSH_PORTS))
def test_users_reach_every_service(sites, flavour) -> None:
    stack = sites(flavour)
    findings = assert_users_reach_every_service(stack, stack.first)
    print(f"\nfirst converge of site.yml ({flavour}): {stack.first.seconds} s")
    print(stack_check.report(findings))


@pytest.mark.parametrize("flavour", sorted(SSH_PORTS))
def test_a_rerun_changes_nothing_and_the_drift_report_agrees(sites, flavour) -> None:
    again = assert_a_rerun_changes_nothing(sites(flavour))
    # Its time is a figure of `./flowspace bench ansible`, not an assertion on this shared machine.
    print(f"\nno-op re-run of site.yml ({flavour}): {again.seconds} s")


def integer_settings() -> dict[str, str]:
    """Every int setting of the roles with a literal default, as `-e key=value` gives it: a string."""
    settings = {}
    for spec_file in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        defaults = yaml.safe_load((spec_file.parents[1] / "defaults" / "main.yml").read_text()) or {}
        for entry_point in yaml.safe_load(spec_file.read_text())["argument_specs"].values():
            for name, option in entry_point.get("options", {}).items():
                if option.get("type") == "int" and isinstance(defaults.get(name), int):
                    settings[name] = str(defaults[name])
    return settings


def test_numbers_given_on_the_command_line_converge_like_numbers(site) -> None:
    """`-e key=value` makes every value a string; argument specs check it as an int but leave it a
    string, so each comparison and sum in the roles must convert it. The same values as the
    defaults, as strings: the run must pass and find nothing to change."""
    settings = integer_settings()
    assert len(settings) > 30, settings
    pairs = [arg for name, value in settings.items() for arg in ("-e", f"{name}={value}")]
    run = site.converge("--check", *pairs)
    assert run.returncode == 0, run.output[-3000:]
    assert run.changed_tasks == {}, run.changed_tasks


@dataclass
class Drift:
    name: str
    inject: str | Callable[[SiteHost], None]  # a shell command on the host, or a call
    present: str | Callable[[SiteHost], bool]  # true while the drift is still there
    reported: str  # the task the drift report names it with ("role : task")
    healed_by: tuple[str, ...] = ()  # the tasks the re-run may heal it with, when not the reported one
    on_controller: bool = False  # healed by the Vercel play, on localhost

    def apply(self, site: SiteHost) -> None:
        if callable(self.inject):
            self.inject(site)
        else:
            site.host.exec("sh", "-c", self.inject)

    def still_there(self, site: SiteHost) -> bool:
        if callable(self.present):
            return self.present(site)
        return site.host.exec("sh", "-c", self.present, check=False).returncode == 0


def vercel_edit(key: str, value: str) -> Callable[[SiteHost], None]:
    """Someone changed a variable in Vercel's dashboard (the API the dashboard uses)."""
    def edit(site: SiteHost) -> None:
        env_id = site.stored_env()[key]["id"]
        path = f"/v9/projects/{site.project['id']}/env/{env_id}"
        answer = site.vercel.call("PATCH", path, {"value": value})
        assert answer.status == 200, answer
    return edit


def vercel_delete(key: str) -> Callable[[SiteHost], None]:
    def delete(site: SiteHost) -> None:
        env_id = site.stored_env()[key]["id"]
        answer = site.vercel.call("DELETE", f"/v9/projects/{site.project['id']}/env/{env_id}")
        assert answer.status == 200, answer
    return delete


# Independent cases, injected together per batch; cases healed by the same task are in
# different batches so the report attributes each one. docs/drift.md lists the same table.
BATCHES = {
    "configs, services and the firewall": [
        Drift("sshd drop-in edited", f"echo 'PasswordAuthentication yes' >> {SSHD_DROP_IN}",
              f"grep -q '^PasswordAuthentication yes' {SSHD_DROP_IN}",
              "base_hardening : Write the hardened sshd settings"),
        Drift("firewall flushed", "iptables -F INPUT", "! iptables -S INPUT | grep -q REJECT",
              "base_hardening : Report the live drift a real run would reload",
              ("base_hardening : Load the rules where the live tables drifted from them",)),
        Drift("fail2ban stopped", "systemctl stop fail2ban", "! systemctl is-active -q fail2ban",
              "base_hardening : Run fail2ban"),
        Drift("sysctl file edited",
              f"sed -i 's/^net.core.rmem_max = .*/net.core.rmem_max = 212992/' {SYSCTL_FILE}",
              f"grep -q 'rmem_max = 212992' {SYSCTL_FILE}",
              "base_hardening : Write the sysctl settings applied at boot"),
        Drift("login.defs UMASK loosened", "sed -i 's/^UMASK.*/UMASK\t022/' /etc/login.defs",
              "grep -q '^UMASK.022' /etc/login.defs", "base_hardening : Set login defaults"),
        Drift("admin home opened up", "chmod 0755 /home/ubuntu", "test $(stat -c %a /home/ubuntu) = 755",
              "base_hardening : Keep the admin user's home private"),
        Drift("journald drop-in deleted", "rm /etc/systemd/journald.conf.d/50-base-hardening.conf",
              "! test -e /etc/systemd/journald.conf.d/50-base-hardening.conf",
              "base_hardening : Keep the journal on disk"),
        Drift("Caddyfile edited", f"sed -i 's/\"DENY\"/\"SAMEORIGIN\"/' {CADDYFILE}",
              f"grep -q SAMEORIGIN {CADDYFILE}", "caddy : Write the Caddyfile"),
        Drift("caddy disabled and stopped", "systemctl disable --now caddy",
              "! systemctl is-enabled -q caddy", "caddy : Run caddy now and at boot"),
        Drift("caddy unit drop-in deleted", f"rm {CADDY_DROP_IN}", f"! test -e {CADDY_DROP_IN}",
              "caddy : Write the unit drop-in"),
        Drift("livekit.yaml edited", f"sed -i 's/empty_timeout: 300/empty_timeout: 5/' {LIVEKIT_CONFIG}",
              f"grep -q 'empty_timeout: 5$' {LIVEKIT_CONFIG}", "livekit : Write livekit.yaml"),
        Drift("LiveKit key file deleted", f"rm {LIVEKIT_KEYS}", f"! test -e {LIVEKIT_KEYS}",
              "livekit : Write the API key file"),
        # The restart that applies this batch's other livekit changes starts it too.
        Drift("livekit stopped", "systemctl stop livekit", "! systemctl is-active -q livekit",
              "livekit : Enable and start livekit",
              ("livekit : Enable and start livekit", "livekit : Restart livekit")),
        Drift("socket settings changed", f"echo 'CHAT_MAX_LENGTH=1' >> {SOCKET_ENV}",
              f"grep -q CHAT_MAX_LENGTH=1 {SOCKET_ENV}", "socket_server : Write the settings"),
        Drift("socket unit edited", f"sed -i 's/^MemoryMax=.*/MemoryMax=64M/' {SOCKET_UNIT}",
              f"grep -q MemoryMax=64M {SOCKET_UNIT}",
              "socket_server : Install the systemd unit (a template, one instance per process)"),
        Drift("socket server stopped", "systemctl stop flowspace-socket@1",
              "! systemctl is-active -q flowspace-socket@1",
              "socket_server : Run the processes now and at boot",
              ("socket_server : Run the processes now and at boot",
               "socket_server : Restart the processes for a new release, settings or unit")),
        Drift("socket release link removed", f"rm {SOCKET_CURRENT}", f"! test -e {SOCKET_CURRENT}",
              "socket_server : Point current at the release"),
        Drift("Prometheus scrape settings edited",
              f"sed -i 's/scrape_interval: 5s/scrape_interval: 1m/' {PROMETHEUS_CONFIG}",
              f"grep -q 'scrape_interval: 1m' {PROMETHEUS_CONFIG}",
              "monitoring : Write what Prometheus scrapes"),
        Drift("egress collector timer stopped and disabled",
              "systemctl disable --now flowspace-host-metrics.timer",
              "! systemctl is-enabled -q flowspace-host-metrics.timer",
              "monitoring : Run the collector on its timer, now and at boot"),
        Drift("Vercel value changed", vercel_edit("NEXT_PUBLIC_SOCKET_URL", "https://old.example"),
              lambda site: site.stored_env()["NEXT_PUBLIC_SOCKET_URL"]["value"] == "https://old.example",
              VERCEL_SYNC, on_controller=True),
    ],
    "owners, modes and deletions": [
        Drift("LiveKit key file owned by root", f"chown root:root {LIVEKIT_KEYS}",
              f"test $(stat -c %U {LIVEKIT_KEYS}) = root", "livekit : Write the API key file"),
        Drift("socket settings readable by all", f"chmod 0644 {SOCKET_ENV}",
              f"test $(stat -c %a {SOCKET_ENV}) = 644", "socket_server : Write the settings"),
        # Batch 1 removes the release link; here the live release is reached through it.
        Drift("file of the live socket release edited",
              f"echo '// edited on the host' >> {SOCKET_CURRENT}/dist/socket-server.js",
              f"grep -q 'edited on the host' {SOCKET_CURRENT}/dist/socket-server.js",
              "socket_server : Report the release files a real run would ship again",
              ("socket_server : Ship the release again over files changed on the host",
               "socket_server : Restart the processes for a new release, settings or unit")),
        Drift("Caddyfile deleted", f"rm {CADDYFILE}", f"! test -e {CADDYFILE}",
              "caddy : Write the Caddyfile"),
        Drift("livekit unit edited", f"sed -i 's/^MemoryMax=.*/MemoryMax=64M/' {LIVEKIT_UNIT}",
              f"grep -q MemoryMax=64M {LIVEKIT_UNIT}", "livekit : Install the systemd unit"),
        Drift("login banner replaced", "echo 'Debian GNU/Linux' > /etc/issue",
              "grep -q '^Debian GNU/Linux$' /etc/issue", "base_hardening : Write the login banners"),
        Drift("firewall not loaded at boot", "systemctl disable netfilter-persistent",
              "! systemctl is-enabled -q netfilter-persistent", "base_hardening : Load the rules at boot"),
        Drift("Prometheus opened beyond loopback",
              f"sed -i 's/127.0.0.1:9090/0.0.0.0:9090/' {PROMETHEUS_ARGS}",  # noqa: S104 - the drift
              f"grep -q 0.0.0.0:9090 {PROMETHEUS_ARGS}", "monitoring : Write the services' command lines"),
        Drift("alert rules deleted", f"rm {ALERT_RULES}", f"! test -e {ALERT_RULES}",
              "monitoring : Write the figures and alert rules"),
        Drift("Vercel variable deleted", vercel_delete("LIVEKIT_API_KEY"),
              lambda site: "LIVEKIT_API_KEY" not in site.stored_env(), VERCEL_SYNC, on_controller=True),
    ],
    "the running config, access and settings overridden": [
        Drift("Caddy route deleted through the admin API", CADDY_ROUTE_DELETED, CADDY_RUNS_OTHER_CONFIG,
              "caddy : Reload Caddy when what it runs is not what the Caddyfile says"),
        Drift("key added to the admin's authorized_keys",
              f"echo '{INTRUDER_KEY}' >> /home/ubuntu/.ssh/authorized_keys",
              "grep -q intruder@elsewhere /home/ubuntu/.ssh/authorized_keys",
              "base_hardening : Give the admin user exactly its authorized keys"),
        Drift("journald drop-in overriding the role's",
              f"printf '[Journal]\\nStorage=none\\n' > {JOURNALD_QUIET}", f"test -e {JOURNALD_QUIET}",
              "base_hardening : Remove journald drop-ins that override the hardened settings"),
        Drift("sshd drop-in read before the role's", f"echo 'PasswordAuthentication yes' > {SSHD_EARLY}",
              f"test -e {SSHD_EARLY}",
              "base_hardening : Remove sshd drop-ins that override the hardened settings"),
        Drift("fail2ban jail loosened by a jail.d file",
              f"printf '[sshd]\\nmaxretry = 100\\n' > {FAIL2BAN_LOOSE} && fail2ban-client reload",
              f"test -e {FAIL2BAN_LOOSE} || test \"$(fail2ban-client get sshd maxretry)\" != 5",
              "base_hardening : Remove fail2ban files that override the sshd jail"),
        Drift("Vercel encrypted value changed", vercel_edit("LIVEKIT_URL", "wss://old.example"),
              lambda site: site.stored_env()["LIVEKIT_URL"]["value"] == "wss://old.example",
              VERCEL_SYNC, on_controller=True),
    ],
}


def test_the_catalogue_has_the_documented_cases_across_every_layer() -> None:
    cases = [drift for batch in BATCHES.values() for drift in batch]
    assert len(cases) >= 25, "the README and docs/drift.md promise 25 cases"
    layers = {drift.reported.split(" : ")[0] if " : " in drift.reported else "vercel" for drift in cases}
    assert layers == {"base_hardening", "caddy", "livekit", "socket_server", "monitoring", "vercel"}
    for batch in BATCHES.values():
        reporters = [drift.reported for drift in batch]
        assert len(reporters) == len(set(reporters)), "each case of a batch is reported by a task of its own"
    documented = (REPO_ROOT / "docs" / "drift.md").read_text()
    assert [drift.name for drift in cases if drift.name not in documented] == [], "missing in docs/drift.md"


@pytest.mark.parametrize("batch", list(BATCHES))
def test_drift_is_reported_untouched_then_healed(site, batch) -> None:
    cases = BATCHES[batch]
    deployments = len(site.deployments())
    orders = site.acme.orders_for(site.socket_domain, site.livekit_domain)
    assert orders > 0, "Pebble's log shows no order for the stack's names: has its format changed?"
    for drift in cases:
        drift.apply(site)
    assert [d.name for d in cases if not d.still_there(site)] == [], "an injection did not take"

    report = site.drift_report()
    assert report.returncode == 1, report.stdout + report.stderr[-3000:]
    for drift in cases:
        assert drift.reported in report.stdout, f"the report does not name '{drift.name}':\n{report.stdout}"
    assert [d.name for d in cases if not d.still_there(site)] == [], "the drift report changed the host"
    assert len(site.deployments()) == deployments, "the drift report redeployed"

    heal = site.converge()
    assert heal.returncode == 0, heal.output[-4000:]
    for drift in cases:
        healed = heal.changed_tasks.get("localhost" if drift.on_controller else site.name, [])
        tasks = drift.healed_by or (drift.reported,)
        assert any(task in name for task in tasks for name in healed), f"'{drift.name}' not healed: {healed}"
    assert [d.name for d in cases if d.still_there(site)] == [], "the re-run left drift behind"
    assert len(site.deployments()) == deployments + 1, "the Vercel fix redeployed exactly once"

    settled = site.converge()
    assert settled.changed(site.name) == [] and settled.changed("localhost") == [], settled.changed_tasks
    assert site.acme.orders_for(site.socket_domain, site.livekit_domain) == orders, "certificates re-ordered"
    findings = site.check()
    assert stack_check.passed(findings), stack_check.report(findings)


# (what is wrong, extra vars, words the error must hold)
BAD_INPUT = {
    "missing socket domain": ({"flowspace_socket_domain": ""}, 'flowspace_socket_domain=""'),
    "TURN domain equal to a site's": ({"flowspace_turn_domain": "livekit.debian12.site.pytest.test"},
                                      "a third name of its own"),
    "TURN domain with a stock caddy package": (
        {"caddy_install_method": "apt_repo"}, "stock packages do not have"),
    "TURN domain with a caddy lacking layer 4": (
        {"caddy_install_method": "binary",
         "caddy_binary_src": str(binaries.cached("caddy", binaries.CADDY_VERSION))},
        "no caddy.listeners.layer4"),
    "domain with a scheme": ({"flowspace_livekit_domain": "https://livekit.example"},
                             'flowspace_livekit_domain="https://livekit.example"'),
    "short LiveKit secret": (
        {"flowspace_livekit_api_key": "APIshort", "flowspace_livekit_api_secret": "s" * 20}, "at least 32"),
    "RTC port out of range": ({"livekit_rtc_tcp_port": 70000}, "for LiveKit WebRTC over TCP: port must be"),
    "UDP range over the TURN port": (
        {"livekit_rtc_port_range_start": 3000, "livekit_rtc_port_range_end": 4000}, "overlap"),
    "socket port on LiveKit's port": ({"flowspace_socket_port": 7880}, "livekit_port and socket_server_port"),
    "app origin without a scheme": ({"flowspace_app_origin": "app.flowspace.test"}, "origin"),
    "misspelt caddy variable": ({"caddy_site_default": {}}, "Unknown caddy variable(s): caddy_site_default"),
    "monitoring open to the internet": ({"monitoring_listen_address": "0.0.0.0"},  # noqa: S104 - refused
                                        "a loopback address"),
    "Prometheus on LiveKit's metrics port": ({"monitoring_prometheus_port": 6789},
                                             "livekit_prometheus_port and monitoring_prometheus_port"),
    "SSH port declared public": (
        {"flowspace_extra_public_ports": [{"port": 22, "protocol": "tcp", "purpose": "ssh"}]}, "SSH port"),
    "unreachable Vercel API": ({"vercel_api_url": "http://127.0.0.1:9", "vercel_retries": 0}, "unreachable"),
    "malformed admin key": ({"base_hardening_admin_authorized_keys": ["not a key at all"]},
                            "is not an OpenSSH public key line"),
    "Vercel token refused": ({"vercel_token": "not-the-token"}, "403"),
    "unknown DNS provider": ({"flowspace_dns_provider": "route53"}, 'flowspace_dns_provider="route53"'),
    "vault fingerprint key that is not the host's": (
        {"vercel_fingerprint_key": "a-key-from-another-stack"},
        "vercel_fingerprint_key (the vault's) is not the fingerprint key"),
    "Vercel DNS without its domain": ({"flowspace_dns_provider": "vercel"}, 'flowspace_dns_domain=""'),
    "edge without a public address": ({"flowspace_public_ipv4": "edge.example"},
                                      "has no public IPv4 address: its flowspace_public_ipv4 is"),
    "unknown Vercel project": ({"vercel_project": "no-such-project"}, "404"),
    "vault LiveKit keys that are not the host's": (
        {"flowspace_livekit_api_key": "APIfromthevault", "flowspace_livekit_api_secret": "v" * 40},
        "The host's LiveKit key pair (key "),
    "vault socket secret that is not the host's": ({"flowspace_socket_auth_secret": "w" * 48},
                                                   "The host's socket signing secret"),
}

WATCHED_FILES = (SSHD_DROP_IN, CADDYFILE, LIVEKIT_CONFIG, LIVEKIT_KEYS, SOCKET_ENV, "/etc/iptables/rules.v4")


def host_fingerprint(site: SiteHost) -> str:
    """The files and processes bad input must leave alone."""
    files = site.host.exec("sha256sum", *WATCHED_FILES, check=False).stdout
    pids = site.host.exec("systemctl", "show", "-P", "MainPID", "caddy", "livekit",
                          "flowspace-socket@1").stdout
    return files + pids + site.host.exec("readlink", SOCKET_CURRENT, check=False).stdout


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_refused_before_any_host_changes(site, case, tmp_path) -> None:
    overrides, expected = BAD_INPUT[case]
    before, deployments, stored = host_fingerprint(site), len(site.deployments()), site.stored_env()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(overrides))
    run = site.converge("-e", f"@{bad}", env=STOPS_EARLY)
    assert run.returncode != 0, f"{case} was accepted"
    failures = " ".join(message for messages in run.failures.values() for message in messages)
    assert expected in failures, f"{case}: the error does not say '{expected}': {failures[:2000]}"
    assert run.failed_plays, run.output[-3000:]
    assert all(play.startswith("Preflight") for play in run.failed_plays), run.failed_plays
    assert run.changed_tasks == {}, run.changed_tasks
    assert host_fingerprint(site) == before
    assert (len(site.deployments()), site.stored_env()) == (deployments, stored)



def task_names(path) -> set[str]:
    """The names of a task file's tasks, blocks included."""

    def walk(tasks):
        for task in tasks or []:
            yield task.get("name", "")
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key))

    return set(walk(yaml.safe_load(path.read_text()))) - {""}


# tag -> (role, the task files the tag stands for): the lab installs caddy with the build method,
# whose file imports the binary method's.
DOCUMENTED_TAGS = {"ssh": ("base_hardening", ("ssh.yml",)),
                   "firewall": ("base_hardening", ("firewall.yml",)),
                   "caddy_install": ("caddy", ("install_build.yml", "install_binary.yml"))}


@pytest.mark.parametrize("tag", list(DOCUMENTED_TAGS))
def test_a_documented_tag_runs_its_tasks_and_only_those(site, tag) -> None:
    role, areas = DOCUMENTED_TAGS[tag]
    tasks = REPO_ROOT / "roles" / role / "tasks"
    own = set().union(*(task_names(tasks / area) for area in areas))
    # validate.yml is tagged always, and public_ports.yml runs in the base play's port model (always).
    shared = (*areas, "main.yml", "validate.yml", "public_ports.yml")
    others = set().union(*(task_names(path) for path in tasks.glob("*.yml") if path.name not in shared)) - own
    run = site.converge("--check", "--tags", tag)
    assert run.returncode == 0, run.output[-3000:]
    ran = {name.split(" : ", 1)[-1] for name, by_host in run.results.items()
           if name.startswith(f"{role} : ") and not by_host.get(site.name, {"skipped": True}).get("skipped")}
    assert len(ran & own) >= 3, f"--tags {tag} ran too few of {areas}' tasks: {sorted(ran)}"
    assert ran & others == set(), f"--tags {tag} ran tasks of other areas: {sorted(ran & others)}"
    assert run.changed(site.name) == [], "a converged host has nothing to change"


# What a check run must leave as it found it on a host that never ran the stack (the package
# index, a cache the check downloads to plan the installs, is not among them).
UNTOUCHED = ("find /etc /opt /usr/local /usr/bin -xdev -printf '%p %s %m %U:%G\\n' 2>/dev/null"
             " | sort | sha256sum;"
             " dpkg-query -W | sha256sum; iptables-save | grep -v '^#' | sed 's/\\[[0-9:]*\\]//' | sha256sum;"
             " systemctl list-unit-files --no-legend | sha256sum; getent passwd | sha256sum")


def test_check_mode_on_a_host_that_never_ran_the_stack_reports_and_changes_nothing(tmp_path) -> None:
    fresh = SiteHost("debian12", 2363, tmp_path, label="never-converged")
    try:
        before = fresh.host.exec("sh", "-c", UNTOUCHED).stdout
        run = fresh.converge("--check", "--diff")
        assert run.returncode == 0, run.output[-4000:]
        planned = run.changed_names(fresh.name)
        for task in ("Install hardening packages", "Write the Caddyfile (validated first)",
                     "Write the hardened sshd settings (first drop-in, so its values win)",
                     "Install the systemd unit"):
            assert task in planned, f"the check does not report '{task}': {sorted(planned)}"
        # The first deploy keeps the Vercel fingerprint key on the host (what it would write).
        assert run.changed("localhost") == [
            "Make the folder for the stack's own state", "Write the fingerprint key",
            VERCEL_SYNC, "Redeploy production so the new values are built in"]
        assert fresh.host.exec("sh", "-c", UNTOUCHED).stdout == before, "the check changed the host"
        assert fresh.stored_env() == {} and len(fresh.deployments()) == 1, "the check wrote to Vercel"
    finally:
        fresh.remove()


def test_undeclared_access_is_reported_left_and_removed_only_when_asked(site) -> None:
    sudoers, intruder = "/etc/sudoers.d/zz-extra", "toor"
    site.host.exec("sh", "-c", f"echo 'intruder ALL=(ALL) NOPASSWD: ALL' > {sudoers} "
                   f"&& chmod 0440 {sudoers} && useradd --non-unique --uid 0 --no-create-home {intruder}")
    try:
        report = site.drift_report()
        assert report.returncode == 1, report.stdout + report.stderr[-3000:]
        found = "base_hardening : Find privileged access the inventory does not declare"
        assert found in report.stdout and "intruder ALL=(ALL) NOPASSWD: ALL" in report.stdout, report.stdout
        assert "toor has UID 0" in report.stdout, report.stdout

        left = site.converge("--tags", "access")
        assert left.returncode == 0 and left.unchanged(), left.changed_tasks
        assert "not declared: intruder ALL=(ALL) NOPASSWD: ALL (/etc/sudoers.d/zz-extra)" in left.output
        assert site.host.exec("test", "-e", sudoers, check=False).returncode == 0, "left in place"

        removed = site.converge("--tags", "access", "-e", "base_hardening_access_remove_undeclared=true")
        assert removed.returncode == 0, removed.output[-3000:]
        removal = "base_hardening : Remove the sudoers files holding undeclared rules"
        assert removal in removed.changed(site.name), removed.changed_tasks
        assert site.host.exec("test", "-e", sudoers, check=False).returncode != 0
        assert site.host.exec("visudo", "-c", check=False).returncode == 0, "sudo still parses"
    finally:
        site.host.exec("sh", "-c", f"rm -f {sudoers}; userdel {intruder} || sed -i '/^{intruder}:/d' "
                       "/etc/passwd /etc/shadow /etc/group", check=False)
    # The clean-up left nothing the access checks would report (the whole stack's drift report
    # runs in the drift cases; here only the area this test touched is asked about).
    settled = site.converge("--check", "--tags", "access")
    assert settled.returncode == 0 and settled.unchanged(), settled.changed_tasks
    assert "not declared:" not in settled.output and "has UID 0" not in settled.output, settled.output[-3000:]


def test_a_gate_failing_only_through_the_edge_names_the_edge_and_rolls_nothing_back(site) -> None:
    site.host.exec("sh", "-c", CADDY_ROUTE_DELETED)
    before = site.host.exec("sh", "-c", "readlink /usr/local/bin/livekit-server; "
                            "systemctl show -p MainPID --value livekit").stdout
    run = run_playbook(site.inventory, "playbooks/livekit.yml", "-e", f"@{site.extra}",
                       "-e", "livekit_start_timeout=4", timeout=600)
    assert run.returncode != 0
    message = " ".join(run.failures[site.name])
    assert "answers on its own port, but not through the edge" in message, message
    assert "The edge is at fault" in message and "went back" not in message
    after = site.host.exec("sh", "-c", "readlink /usr/local/bin/livekit-server; "
                           "systemctl show -p MainPID --value livekit").stdout
    assert after == before, "LiveKit was left as it was: same version, same process"
    # The edge play alone heals it (site.yml's drift batches prove the whole run does too).
    healed = run_playbook(site.inventory, "playbooks/edge.yml", "-e", f"@{site.extra}", timeout=600)
    assert healed.returncode == 0, healed.output[-3000:]
    reload = "caddy : Reload Caddy when what it runs is not what the Caddyfile says"
    assert reload in healed.changed(site.name), healed.changed_tasks


LOCK = "/run/flowspace/converge.lock"


def held_lock(site, *args: str):
    """site.yml's lock and unlock plays alone (tests/playbooks/held_lock.yml), on the site host."""
    return run_playbook(site.inventory, "tests/playbooks/held_lock.yml", "-e", f"@{site.extra}", *args,
                        timeout=300)


def test_a_second_converge_waits_for_the_first_then_says_who_holds_the_lock(site) -> None:
    first: dict = {}
    holding = ("-e", "held_lock_seconds=30")
    thread = threading.Thread(target=lambda: first.setdefault("run", held_lock(site, *holding)))
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while site.host.exec("test", "-e", LOCK, check=False).returncode != 0:
            assert time.monotonic() < deadline and thread.is_alive(), "the first run never took the lock"
            time.sleep(0.5)
        second = site.converge("-e", "flowspace_lock_wait=2")
    finally:
        thread.join()
    assert second.returncode != 0
    message = " ".join(second.failures[site.name])
    assert "another run is converging this host" in message and "(run " in message and "since " in message
    assert second.changed_tasks == {}, "the second run changed nothing"
    assert first["run"].returncode == 0 and first["run"].unchanged(), first["run"].changed_tasks
    assert site.host.exec("test", "-e", LOCK, check=False).returncode != 0, "the first run gave it back"


def test_a_lock_left_by_a_dead_run_is_taken_over(site) -> None:
    stale = {"run_id": "deadrun", "holder": "someone@elsewhere", "holder_pid": 1, "playbook": "site.yml",
             "since": time.time() - 7200, "refreshed": time.time() - 7200}
    site.host.exec("sh", "-c", f"mkdir -p /run/flowspace && echo '{json.dumps(stale)}' > {LOCK}")
    run = held_lock(site, "-e", "flowspace_lock_wait=2")
    assert run.returncode == 0, run.output[-3000:]
    assert "took over a stale converge lock (held by someone@elsewhere (run deadrun" in run.output
    assert site.host.exec("test", "-e", LOCK, check=False).returncode != 0


def test_a_controller_with_no_state_of_its_own_changes_nothing(site, tmp_path) -> None:
    """A teammate's new laptop or a CI runner: the repository and the vault, with every
    credentials and cache folder empty. Every key is found on the host: 0 changed on it, no
    write to Vercel, no redeploy; and the same when the first controller takes its turn again."""
    bare = tmp_path / "controller"
    empty = {"livekit_credentials_dir": str(bare / "credentials" / "livekit"),
             "socket_server_credentials_dir": str(bare / "credentials" / "socket"),
             "vercel_credentials_dir": str(bare / "credentials" / "vercel"),
             "socket_server_build_dir": str(bare / "builds"),
             "caddy_build_cache_dir": str(bare / "bin")}
    (tmp_path / "bare.json").write_text(json.dumps(empty))
    kept = site.host.exec("cat", "/etc/flowspace/vercel-fingerprint-key").stdout.strip()
    assert len(kept) == 48, "the first deploy keeps the fingerprint key on the host"
    deployments, stored = len(site.deployments()), site.stored_env()
    for turn, controller in (("new controller", ["-e", f"@{tmp_path / 'bare.json'}"]), ("first again", [])):
        site.vercel.clear_requests()
        run = site.converge(*controller)
        assert run.returncode == 0, f"{turn}: {run.output[-3000:]}"
        assert run.changed(site.name) == [], (turn, run.changed_tasks)
        assert [r for r in site.vercel.requests() if r["method"] != "GET"] == [], turn
        assert (len(site.deployments()), site.stored_env()) == (deployments, stored), turn
    assert not (bare / "credentials" / "vercel").exists(), "the key stays on the host, not the controller"
    assert site.host.exec("stat", "-c", "%a %U", "/etc/flowspace/vercel-fingerprint-key").stdout.split() == [
        "600", "root"]


def test_the_drift_workflow_runs_as_a_ci_runner_would(site, tmp_path) -> None:
    """drift.yml's one step as a runner runs it: a clean checkout in a fresh container, its
    secrets only in the environment (the vault password, the Vercel token being vaulted; the
    admin's SSH key; the host's known key, for strict host-key checking), with empty credentials
    folders (the keys are taken over from the host). The verdict lands in the job summary; no
    secret is printed, and the key and known hosts are removed when the command ends."""
    vault_password, token = "a-runner-vault-password", json.loads(site.extra.read_text())["vercel_token"]
    password_file = tmp_path / "password"
    password_file.write_text(vault_password)
    vaulted = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "ansible-vault"), "encrypt_string", "--vault-password-file",
         str(password_file), token, "--name", "vercel_token"],
        capture_output=True, text=True, check=True).stdout
    password_file.unlink()
    (tmp_path / "vault.yml").write_text(vaulted)
    # The stack's settings without the token (vaulted above) and with empty credentials folders.
    settings = json.loads(site.extra.read_text())
    del settings["vercel_token"]
    settings["livekit_credentials_dir"] = str(tmp_path / "credentials" / "livekit")
    settings["socket_server_credentials_dir"] = str(tmp_path / "credentials" / "socket")
    (tmp_path / "stack.json").write_text(json.dumps(settings))
    # The inventory a repository holds: address and user, no key file, no relaxed host checking.
    inventory = tmp_path / "runner" / "hosts.json"
    inventory.parent.mkdir()
    write_inventory(inventory, {site.name: {"ansible_host": "127.0.0.1", "ansible_port": site.host.ssh_port,
                                            "ansible_user": "ubuntu"}}, lab_login=False)
    known = subprocess.run(["ssh-keyscan", "-p", str(site.host.ssh_port), "127.0.0.1"], capture_output=True,
                           text=True, check=True).stdout
    private_key = paths.lab_key().read_text()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    checkout = fresh_runner.clean_checkout(tmp_path / "checkout")
    run = fresh_runner.run_step(
        checkout,
        f"TMPDIR={scratch} ./flowspace drift -i {inventory} --summary {tmp_path / 'summary.md'} -- "
        f"-e @{tmp_path / 'stack.json'} -e @{tmp_path / 'vault.yml'}",
        secrets={"FLOWSPACE_VAULT_PASSWORD": vault_password, "FLOWSPACE_SSH_PRIVATE_KEY": private_key,
                 "FLOWSPACE_SSH_KNOWN_HOSTS": known},
        # The repository's lab group_vars, which the inventory links to.
        mounts=[tmp_path, REPO_ROOT / "inventories"])
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert run.stdout.strip().endswith("no drift"), output[-3000:]
    assert (tmp_path / "summary.md").read_text() == "### Drift: no drift\n\n"
    for secret in (vault_password, token, private_key.splitlines()[1]):
        assert secret not in output
    assert list(scratch.iterdir()) == [], "the key and known hosts are removed when the command ends"


def test_no_secret_reaches_the_output_the_logs_or_the_checkout(site, tmp_path) -> None:
    """site.yml at -vvv, with the default callback an operator reads: neither its output, nor the
    set-up's logs, nor any file the run left in the checkout holds a secret value: the LiveKit API
    secret, the socket auth secret, the Vercel token and fingerprint key, the admin's SSH key."""
    secrets = {
        "LiveKit API secret": (site.credentials / "api_secret").read_text().strip(),
        "socket auth secret": (site.credentials / "socket" / "auth_secret").read_text().strip(),
        "Vercel token": json.loads(site.extra.read_text())["vercel_token"],
        "fingerprint key": site.host.exec("cat", "/etc/flowspace/vercel-fingerprint-key").stdout.strip(),
        "SSH private key": paths.lab_key().read_text().splitlines()[1],
    }
    assert all(len(value) >= 15 for value in secrets.values()), "each one long enough to be searched for"
    status = ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"]
    before = set(subprocess.run(status, cwd=REPO_ROOT, capture_output=True, text=True,
                                check=True).stdout.splitlines())
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
           "ANSIBLE_STDOUT_CALLBACK": "default"}
    run = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                          str(site.inventory), "site.yml", "-e", f"@{site.extra}", "-vvv"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert len(run.stdout) > 100_000, "-vvv printed the module arguments and results"
    assert site.socket_domain in run.stdout and "LIVEKIT_API_SECRET" in run.stdout, "the run's own output"
    after = subprocess.run(status, cwd=REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    written = [REPO_ROOT / line[3:] for line in set(after) - before if (REPO_ROOT / line[3:]).is_file()]
    logs = list((paths.cache_dir() / "logs").glob("*.log"))
    places = {"the output": run.stdout + run.stderr,
              **{str(path): path.read_text(errors="replace") for path in [*written, *logs]}}
    leaks = [(name, place) for name, value in secrets.items()
             for place, text in places.items() if value in text]
    assert leaks == [], leaks
