"""Each module's documentation says what its argument spec does: the same options with the same
type, default, choices, elements and required flag (suboptions too), and check mode as declared.
What ansible-doc shows a user is then what the module takes."""

import importlib
from pathlib import Path

import pytest
from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

MODULES = Path(__file__).parents[2] / "plugins" / "modules"
NAMES = sorted(p.stem for p in MODULES.glob("*.py") if p.stem != "__init__")


class Captured(Exception):
    pass


def argument_spec_of(name, monkeypatch):
    """The keyword arguments main() gives AnsibleModule (main stops there)."""
    module = importlib.import_module(f"ansible_collections.flowspace.infra.plugins.modules.{name}")
    seen = {}

    def capture(**kwargs):
        seen.update(kwargs)
        raise Captured

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(Captured):
        module.main()
    return seen


def described(options, nested):
    """Options (an argument spec, or the documentation's `options`, whose nested options are
    under NESTED) as the documentation states them."""
    found = {}
    for option, settings in options.items():
        entry = {"type": settings.get("type", "str"), "default": settings.get("default"),
                 "required": settings.get("required", False), "choices": settings.get("choices"),
                 "elements": settings.get("elements")}
        if nested in settings:
            entry["suboptions"] = described(settings[nested], nested)
        found[option] = entry
    return found


@pytest.mark.parametrize("name", NAMES)
def test_the_documentation_matches_the_argument_spec(name, monkeypatch) -> None:
    doc = get_docstring(str(MODULES / f"{name}.py"), fragment_loader, collection_name="flowspace.infra")[0]
    kwargs = argument_spec_of(name, monkeypatch)
    assert described(kwargs["argument_spec"], "options") == described(doc.get("options") or {}, "suboptions")
    check_mode = doc.get("attributes", {}).get("check_mode", {}).get("support", "none")
    assert kwargs.get("supports_check_mode", False) == (check_mode != "none"), check_mode


def test_every_module_is_checked() -> None:
    assert {"oci_instance", "oci_network", "vercel_env", "vercel_deploy", "run_lock"} <= set(NAMES)
