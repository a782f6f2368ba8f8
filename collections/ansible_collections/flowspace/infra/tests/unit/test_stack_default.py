"""The stack's shared defaults: one lookup the roles and the edge read."""

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.flowspace.infra.plugins.lookup.stack_default import LookupModule


def test_ports_come_from_one_table():
    assert LookupModule().run(["socket_port", "livekit_port"]) == [3001, 7880]


def test_what_monitoring_scrapes_comes_from_the_same_table():
    names = ["caddy_admin_listen", "livekit_prometheus_port", "socket_metrics_port"]
    assert LookupModule().run(names) == ["localhost:2019", 6789, 9464]


def test_an_unknown_name_is_refused_naming_the_known_ones():
    with pytest.raises(AnsibleLookupError, match="metrics_port.*known: socket_port, livekit_port"):
        LookupModule().run(["metrics_port"])
