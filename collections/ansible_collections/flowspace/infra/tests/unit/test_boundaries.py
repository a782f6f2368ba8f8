"""The edges of every range the filters and the planner enforce: one step inside is accepted,
one step outside is refused (each case kills a mutant that moves the edge by one)."""

import pytest

from ansible_collections.flowspace.infra.plugins.filter.caddy import caddy_site_errors
from ansible_collections.flowspace.infra.plugins.filter.oci import oci_ingress_rules
from ansible_collections.flowspace.infra.plugins.filter.ports import port_declaration_errors
from ansible_collections.flowspace.infra.plugins.module_utils.cidr import is_cidr_block
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_env_plan import (
    compose_comment,
    fingerprint,
    plan,
)


def declaration(port, **extra):
    return [{"port": port, "protocol": "tcp", "purpose": "edge test", **extra}]


@pytest.mark.parametrize("port", [1, 65535])
def test_the_first_and_last_ports_are_ports(port) -> None:
    assert port_declaration_errors(declaration(port)) == []


@pytest.mark.parametrize("port", [0, 65536, -1, True, "443", 443.0])
def test_anything_else_is_not_a_port(port) -> None:
    errors = port_declaration_errors(declaration(port))
    assert any("port must be an integer from 1 to 65535" in error for error in errors), errors


@pytest.mark.parametrize(("end", "ok"), [(65535, True), (65536, False), (1000, True), (999, False)])
def test_a_range_ends_at_or_after_its_start_and_within_the_ports(end, ok) -> None:
    errors = port_declaration_errors(declaration(1000, port_end=end))
    assert (errors == []) is ok, errors


@pytest.mark.parametrize(("upstream", "ok"), [("127.0.0.1:65535", True), ("127.0.0.1:65536", False),
                                              ("127.0.0.1:1", True), ("127.0.0.1:0", False)])
def test_an_upstream_port_is_within_the_ports(upstream, ok) -> None:
    errors = caddy_site_errors([{"domain": "a.example.com", "upstream": upstream}], ["health_uri"])
    assert (errors == []) is ok, errors


@pytest.mark.parametrize(("uri", "ok"), [("/healthz", True), ("/health z", False), ("/a\tb", True),
                                         ('/a"b', False), ("/a{b", False), ("", False)])
def test_a_health_uri_is_one_path_caddy_reads_as_one_token(uri, ok) -> None:
    site = {"domain": "a.example.com", "upstream": "127.0.0.1:80", "options": {"health_uri": uri}}
    errors = caddy_site_errors([site], ["health_uri"])
    assert (errors == []) is ok, errors


@pytest.mark.parametrize(("text", "ok"), [("10.0.0.0/24", True), ("0.0.0.0/0", True), ("::/0", True),
                                          ("10.0.0.0", False), ("10.0.0.1/24", False), ("10.0.0.0/33", False),
                                          ("", False), (None, False)])
def test_a_cidr_block_has_its_prefix_length_and_no_host_bits(text, ok) -> None:
    assert is_cidr_block(text) is ok


def test_a_cidr_block_of_one_ip_version_is_not_one_of_the_other() -> None:
    assert is_cidr_block("10.0.0.0/16", version=4) and not is_cidr_block("10.0.0.0/16", version=6)
    assert is_cidr_block("::/0", version=6) and not is_cidr_block("::/0", version=4)


def test_a_source_without_a_prefix_length_is_refused_by_the_security_list() -> None:
    with pytest.raises(Exception, match="source '203.0.113.7' is not a CIDR block"):
        oci_ingress_rules(declaration(443), 22, "203.0.113.7")


SECRET = "boundary-secret"


def stored(key, target, value="v1"):
    return {"id": f"id-{key}", "key": key, "value": value, "type": "encrypted", "target": target,
            "comment": compose_comment("", fingerprint(SECRET, key, value))}


def want(key, target, value="v1"):
    return {"key": key, "value": value, "type": "encrypted", "target": target, "comment": ""}


@pytest.mark.parametrize(("before", "after", "redeploy"), [
    (["preview", "production"], ["preview"], True),       # production taken away
    (["preview"], ["preview", "production"], True),       # production added
    (["preview"], ["development", "preview"], False),     # production never involved
])
def test_any_change_to_a_production_variables_targets_needs_a_redeploy(before, after, redeploy) -> None:
    result = plan([want("A", after)], [stored("A", before)], secret=SECRET)
    assert result.patch and result.redeploy_needed is redeploy


def test_taking_production_off_with_state_absent_needs_a_redeploy() -> None:
    result = plan([want("A", ["production"])], [stored("A", ["preview", "production"])], "absent",
                  secret=SECRET)
    assert result.patch == [("id-A", {"target": ["preview"]})] and result.redeploy_needed is True
    only_preview = plan([want("A", ["preview"])], [stored("A", ["preview", "production"])], "absent",
                        secret=SECRET)
    assert only_preview.patch and only_preview.redeploy_needed is False, "production's value is unchanged"


def test_a_changed_value_of_a_production_variable_needs_a_redeploy_a_comment_does_not() -> None:
    changed = plan([want("A", ["production"], "v2")], [stored("A", ["production"])], secret=SECRET)
    assert changed.redeploy_needed
    commented = {**want("A", ["production"]), "comment": "why"}
    result = plan([commented], [stored("A", ["production"])], secret=SECRET)
    assert result.upsert and result.redeploy_needed is False
