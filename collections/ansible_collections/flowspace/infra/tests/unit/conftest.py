"""Make `ansible_collections.flowspace.infra` importable from the checkout, through Ansible's
own collection loader (as ansible-test does), so its plugins load as they do in a play; and
the fixtures that run a module's main() in this process against the API stand-ins, so that
mutation testing (./flowspace mutants) sees which module code each test reaches."""

import functools
import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils import basic, urls
from ansible.module_utils.common import warnings
from ansible.plugins.loader import init_plugin_loader
from cryptography.hazmat.primitives import serialization

COLLECTIONS_ROOT = Path(__file__).resolve().parents[5]
init_plugin_loader([str(COLLECTIONS_ROOT)])

# The stand-ins for Oracle's and Vercel's APIs live in the repository's labkit, beside the
# collection (also when mutmut runs these tests from its copy under collections/mutants/).
REPOSITORY = next((p for p in Path(__file__).resolve().parents if (p / "labkit" / "standins").is_dir()), None)
if REPOSITORY is not None and str(REPOSITORY) not in sys.path:
    sys.path.append(str(REPOSITORY))

# After the loader and the path: these import the collection and labkit.
from stand_ins import DnsServer, OciApi, VercelApi, VirtualClock  # noqa: E402

from ansible_collections.flowspace.infra.plugins.module_utils import oci_common, vercel_api  # noqa: E402
from ansible_collections.flowspace.infra.plugins.modules import (  # noqa: E402
    dns_check,
    oci_instance,
    vercel_deploy,
)

_shared_context = functools.lru_cache(maxsize=None)(urls.make_context)


@functools.cache
def _loaded_key(data, password):
    return _load_pem_private_key(data, password)


_load_pem_private_key = serialization.load_pem_private_key


def _load_key_once(data, password, backend=None, **options):  # noqa: ARG001 (the SDK passes a backend)
    # A key is checked as it loads (~40 ms for RSA); the SDK loads it once per client, and each
    # OCI module test makes several. Refusals are not cached: they raise again each time.
    if options:
        return _load_pem_private_key(data, password, **options)
    return _loaded_key(bytes(data), password)


@pytest.fixture(autouse=True)
def _keys_load_once(monkeypatch):
    monkeypatch.setattr(serialization, "load_pem_private_key", _load_key_once)
    monkeypatch.setattr(oci_common, "load_pem_private_key", _load_key_once)


@pytest.fixture
def run_module(capsys, monkeypatch, tmp_path):
    """RUN(module, args, check_mode=False, diff=False): the module's main() as Ansible calls it;
    returns its JSON result with `exit_code` (0, or 1 after fail_json)."""

    def run(module, args, check_mode=False, diff=False):
        # The module's temporary folder is the test's (else each run leaves one in /tmp).
        payload = {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff,
                   "_ansible_tmpdir": str(tmp_path)}
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
        # One TLS context per settings for the whole test run: Ansible's URL helpers make one per
        # request (loading the CA store, ~80 ms), which would dominate these tests' time.
        monkeypatch.setattr(urls, "make_context", _shared_context)
        # Each run starts with no warnings, as each module process does.
        monkeypatch.setattr(warnings, "_global_warnings", [])
        monkeypatch.setattr(warnings, "_global_deprecations", [])
        capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            module.main()
        result = json.loads(capsys.readouterr().out)
        result["exit_code"] = ended.value.code
        return result

    return run


def on_virtual_clock(stand_in, monkeypatch, *modules):
    """Yields the stand-in with the modules sleeping on its virtual clock (`stand_in.clock`),
    then closes it."""
    stand_in.clock = VirtualClock()
    for module in modules:
        monkeypatch.setattr(module, "time", stand_in.clock)
    yield stand_in
    stand_in.close()


@pytest.fixture
def oci_api(tmp_path, monkeypatch):
    """The OCI API emulator on a loopback port, for one test (see stand_ins.py); the OCI modules
    sleep on a virtual clock (`oci_api.clock.slept` lists what they waited)."""
    yield from on_virtual_clock(OciApi(tmp_path), monkeypatch, oci_common, oci_instance)


@pytest.fixture
def vercel(monkeypatch):
    """The Vercel API emulator with the project `flowspace`, for one test (see stand_ins.py); the
    Vercel modules sleep on a virtual clock (`vercel.clock.slept`)."""
    yield from on_virtual_clock(VercelApi(), monkeypatch, vercel_api, vercel_deploy)


@pytest.fixture
def resolver(monkeypatch):
    """A DNS resolver's stand-in on a loopback port (`resolver.records`, `resolver.address`);
    dns_check sleeps on a virtual clock (`resolver.clock.slept`)."""
    yield from on_virtual_clock(DnsServer(), monkeypatch, dns_check)
