#!/usr/bin/python
"""The Always Free stack's network in Oracle Cloud: VCN, internet gateway, route table,
security list (from the project's port model) and public subnet, found by name and tag."""

DOCUMENTATION = r"""
module: oci_network
short_description: The stack's VCN, internet gateway, route table, security list and public subnet in OCI
description:
  - Creates or converges, in one compartment, a VCN (IPv4, optionally IPv6), its internet
    gateway, a route table sending 0.0.0.0/0 (and ::/0) to it, a security list whose ingress
    rules are given (the playbooks derive them from the same port model as the host firewall
    with P(flowspace.infra.oci_ingress_rules#filter)) and a public subnet using both.
  - Each resource is found by compartment, display name (O(name) plus a suffix) and the
    freeform tag C(flowspace-stack=<name>); one with the name but not the tag is refused, never
    taken over, and nothing is ever created twice. A re-run with nothing to change sends no
    write request.
  - Ingress rules on the security list that O(ingress_rules) does not name (added by hand) are
    reported, and removed or kept as O(unmanaged_rules) says.
  - With O(state=absent), deletes exactly the tagged resources, subnet first, and waits until
    Oracle reports them terminated.
  - Connection settings are checked before any request (OCIDs, region, key file, fingerprint).
author: FlowSpace infra (@flowspace)
requirements: [oci]
extends_documentation_fragment: [flowspace.infra.check_and_diff, flowspace.infra.oci]
options:
  name:
    description: The stack's name; display names are C(<name>-vcn), C(<name>-subnet), ... and the tag's value.
    type: str
    default: flowspace
  state:
    description: Whether the network should exist.
    type: str
    choices: [present, absent]
    default: present
  vcn_cidr:
    description: The VCN's IPv4 block.
    type: str
    default: 10.0.0.0/16
  subnet_cidr:
    description: The public subnet's IPv4 block, inside O(vcn_cidr).
    type: str
    default: 10.0.0.0/24
  dns_label:
    description: DNS label of the VCN and the subnet (letters and digits, starting with a letter, at most 15).
    type: str
    default: flowspace
  ipv6:
    description:
      Give the VCN an Oracle-allocated IPv6 /56, the subnet its first /64, and route ::/0 too (the
      ingress rules need C(::/0) sources of their own). Cannot be changed on an existing network.
    type: bool
    default: false
  ingress_rules:
    description:
      - The security list's ingress rules, as the OCI API takes them (camelCase), for example
        C(flowspace_public_ports | flowspace.infra.oci_ingress_rules).
    type: list
    elements: dict
    default: []
  unmanaged_rules:
    description: What to do with ingress rules on the list that O(ingress_rules) does not name.
    type: str
    choices: [remove, keep]
    default: remove
"""

EXAMPLES = r"""
- name: The stack's network, its ingress from the port model
  flowspace.infra.oci_network:
    compartment_id: "{{ oci_compartment_id }}"
    region: eu-frankfurt-1
    ingress_rules: "{{ flowspace_public_ports | flowspace.infra.oci_ingress_rules }}"
  register: network
"""

RETURN = r"""
vcn_id:
  description: The VCN's OCID (absent in check mode before it exists).
  type: str
  returned: state=present
subnet_id:
  description: The public subnet's OCID.
  type: str
  returned: state=present
subnet_ipv6_cidr:
  description: The public subnet's IPv6 /64.
  type: str
  returned: state=present and O(ipv6)
security_list_id:
  description: The security list's OCID.
  type: str
  returned: state=present
actions:
  description: What was (or in check mode would be) done, in order.
  type: list
  elements: str
  returned: always
unmanaged_rules:
  description: Ingress rules found on the list that O(ingress_rules) does not name.
  type: list
  elements: str
  returned: state=present
"""

import ipaddress
import json
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils import oci_common
from ansible_collections.flowspace.infra.plugins.module_utils.cidr import is_cidr_block
from ansible_collections.flowspace.infra.plugins.module_utils.oci_common import HAS_OCI

if HAS_OCI:
    import oci
    from oci.core import models

DNS_LABEL = re.compile(r"^[a-z][a-z0-9]{0,14}$")


def snake(value):
    """camelCase keys (the API's JSON) as the SDK's snake_case, recursively."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower(): snake(item) for key, item in value.items()}
    if isinstance(value, list):
        return [snake(item) for item in value]
    return value


def pruned(value):
    if isinstance(value, dict):
        return {key: pruned(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [pruned(item) for item in value]
    return value


def canonical(rule):
    """A rule's meaning as a comparable dict (the SDK's output has every field, mostly None)."""
    rule = pruned(snake(rule))
    rule.setdefault("source_type", "CIDR_BLOCK")
    rule.setdefault("is_stateless", False)
    return rule


def rule_key(rule):
    return json.dumps(canonical(rule), sort_keys=True)


def summary(rule):
    rule = canonical(rule)
    protocol = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(rule["protocol"], rule["protocol"])
    options = rule.get("tcp_options") or rule.get("udp_options") or {}
    ports = options.get("destination_port_range") or {}
    where = (
        f" {ports['min']}" + (f"-{ports['max']}" if ports.get("max") != ports.get("min") else "")
        if ports
        else ""
    )
    icmp = rule.get("icmp_options")
    if icmp:
        where = f" type {icmp.get('type')} code {icmp.get('code')}"
    return f"{protocol}{where} from {rule['source']}" + (
        f" ({rule['description']})" if rule.get("description") else ""
    )


def ingress_model(rule):
    rule = canonical(rule)

    def port_options(kind):
        ports = (rule.get(f"{kind}_options") or {}).get("destination_port_range")
        if not ports:
            return None
        options = models.TcpOptions if kind == "tcp" else models.UdpOptions
        return options(destination_port_range=models.PortRange(min=ports["min"], max=ports["max"]))

    icmp = rule.get("icmp_options")
    return models.IngressSecurityRule(
        protocol=rule["protocol"],
        source=rule["source"],
        source_type=rule["source_type"],
        is_stateless=rule["is_stateless"],
        description=rule.get("description"),
        tcp_options=port_options("tcp"),
        udp_options=port_options("udp"),
        icmp_options=models.IcmpOptions(type=icmp["type"], code=icmp.get("code")) if icmp else None,
    )


def subnet_ipv6_block(vcn):
    """The first /64 of the VCN's IPv6 /56 (in check mode there is no VCN yet to carve it from)."""
    blocks = (vcn.ipv6_cidr_blocks or []) if vcn else []
    if not blocks:
        return None
    return str(next(ipaddress.ip_network(blocks[0]).subnets(new_prefix=64)))


def egress_key(rule):
    """What makes an egress rule: a rule narrowed to one protocol or port, or made stateless
    (return traffic then needs its own ingress rule), is drift even to the same destination."""
    return (
        rule.protocol,
        rule.destination,
        rule.destination_type or "CIDR_BLOCK",
        bool(rule.is_stateless),
        str(oci.util.to_dict(rule.tcp_options)) if rule.tcp_options else "",
        str(oci.util.to_dict(rule.udp_options)) if rule.udp_options else "",
        str(oci.util.to_dict(rule.icmp_options)) if rule.icmp_options else "",
    )


def egress_models(ipv6):
    destinations = ["0.0.0.0/0"] + (["::/0"] if ipv6 else [])
    return [
        models.EgressSecurityRule(
            protocol="all", destination=d, destination_type="CIDR_BLOCK", is_stateless=False
        )
        for d in destinations
    ]


class Network:
    """One converge of the network; every write goes through _write (skipped in check mode)."""

    def __init__(self, module):
        self.module, self.params = module, module.params
        self.config = oci_common.load_config(module)
        self.vn = oci_common.client(module, self.config, oci.core.VirtualNetworkClient)
        self.compartment, self.stack = self.params["compartment_id"], self.params["name"]
        self.actions, self.diff = [], {"before": {}, "after": {}}
        self.result = {"changed": False, "actions": self.actions}

    def name(self, suffix):
        return f"{self.stack}-{suffix}"

    def find(self, doing, lister, suffix, **filters):
        return oci_common.find_managed(
            self.module, doing, lister, self.name(suffix), self.stack, self.compartment, result=self.result,
            **filters
        )

    def _write(self, action, function, *args, **kwargs):
        # A failure carries what the run did before it (changed, actions); the failed write
        # itself is named in the message.
        data = None
        if not self.module.check_mode:
            data = oci_common.call(self.module, action, function, *args, result=self.result, **kwargs).data
        self.actions.append(action)
        self.result["changed"] = True
        return data

    def _available(self, doing, get, resource):
        if resource is None:
            return None
        return oci_common.wait_for_state(
            self.module, doing, get, resource.id, states=("AVAILABLE",), timeout=self.params["wait_timeout"],
            result=self.result,
        )

    # -- present ---------------------------------------------------------------------------
    def present(self):
        vcn = self.ensure_vcn()
        gateway = self.ensure_gateway(vcn)
        routes = self.ensure_routes(vcn, gateway)
        security = self.ensure_security_list(vcn)
        subnet = self.ensure_subnet(vcn, routes, security)
        for key, resource in (
            ("vcn_id", vcn),
            ("subnet_id", subnet),
            ("security_list_id", security),
            ("route_table_id", routes),
            ("internet_gateway_id", gateway),
        ):
            if resource is not None:
                self.result[key] = resource.id
        if subnet is not None and subnet.ipv6_cidr_block:
            self.result["subnet_ipv6_cidr"] = subnet.ipv6_cidr_block
        return self.result

    def ensure_vcn(self):
        doing = f"find the VCN {self.name('vcn')}"
        vcn = self.find(doing, self.vn.list_vcns, "vcn")
        if vcn is None:
            details = models.CreateVcnDetails(
                compartment_id=self.compartment,
                display_name=self.name("vcn"),
                cidr_blocks=[self.params["vcn_cidr"]],
                dns_label=self.params["dns_label"],
                is_ipv6_enabled=self.params["ipv6"],
                freeform_tags=oci_common.tags(self.stack),
            )
            created = self._write(
                f"create VCN {self.name('vcn')} {self.params['vcn_cidr']}", self.vn.create_vcn, details
            )
            return self._available("wait for the VCN", self.vn.get_vcn, created)
        if self.params["vcn_cidr"] not in (vcn.cidr_blocks or [vcn.cidr_block]):
            self.module.fail_json(
                msg=f"the VCN {vcn.id} has {vcn.cidr_blocks}, not vcn_cidr={self.params['vcn_cidr']}; "
                "a VCN's block cannot be replaced in place (use state=absent first)"
            )
        if bool(vcn.ipv6_cidr_blocks) != self.params["ipv6"]:
            self.module.fail_json(
                msg=f"the VCN {vcn.id} was made with ipv6={bool(vcn.ipv6_cidr_blocks)}; "
                "set ipv6 to match or recreate the network"
            )
        return self._available("wait for the VCN", self.vn.get_vcn, vcn)

    def ensure_gateway(self, vcn):
        gateway = (
            self.find("find the internet gateway", self.vn.list_internet_gateways, "igw", vcn_id=vcn.id)
            if vcn
            else None
        )
        if gateway is None:
            details = models.CreateInternetGatewayDetails(
                compartment_id=self.compartment,
                vcn_id=vcn.id if vcn else None,
                is_enabled=True,
                display_name=self.name("igw"),
                freeform_tags=oci_common.tags(self.stack),
            )
            created = self._write(
                f"create internet gateway {self.name('igw')}", self.vn.create_internet_gateway, details
            )
            return self._available("wait for the internet gateway", self.vn.get_internet_gateway, created)
        if not gateway.is_enabled:
            self._write(
                f"enable internet gateway {gateway.id}",
                self.vn.update_internet_gateway,
                gateway.id,
                models.UpdateInternetGatewayDetails(is_enabled=True),
            )
        return gateway

    def ensure_routes(self, vcn, gateway):
        destinations = ["0.0.0.0/0"] + (["::/0"] if self.params["ipv6"] else [])
        wanted = [
            models.RouteRule(
                destination=d,
                destination_type="CIDR_BLOCK",
                network_entity_id=gateway.id if gateway else None,
            )
            for d in destinations
        ]
        routes = (
            self.find("find the route table", self.vn.list_route_tables, "routes", vcn_id=vcn.id)
            if vcn
            else None
        )
        if routes is None:
            details = models.CreateRouteTableDetails(
                compartment_id=self.compartment,
                vcn_id=vcn.id if vcn else None,
                display_name=self.name("routes"),
                route_rules=wanted,
                freeform_tags=oci_common.tags(self.stack),
            )
            created = self._write(
                f"create route table {self.name('routes')}", self.vn.create_route_table, details
            )
            return self._available("wait for the route table", self.vn.get_route_table, created)
        live = sorted((r.destination, r.network_entity_id) for r in routes.route_rules)
        if live != sorted((r.destination, r.network_entity_id) for r in wanted):
            self._write(
                f"set the routes of {routes.id} to the internet gateway",
                self.vn.update_route_table,
                routes.id,
                models.UpdateRouteTableDetails(route_rules=wanted),
            )
        return routes

    def ensure_security_list(self, vcn):
        wanted = [canonical(rule) for rule in self.params["ingress_rules"]]
        found = (
            self.find("find the security list", self.vn.list_security_lists, "security", vcn_id=vcn.id)
            if vcn
            else None
        )
        if found is None:
            self.diff["after"]["ingress"] = [summary(rule) for rule in wanted]
            details = models.CreateSecurityListDetails(
                compartment_id=self.compartment,
                vcn_id=vcn.id if vcn else None,
                display_name=self.name("security"),
                ingress_security_rules=[ingress_model(rule) for rule in wanted],
                egress_security_rules=egress_models(self.params["ipv6"]),
                freeform_tags=oci_common.tags(self.stack),
            )
            created = self._write(
                f"create security list {self.name('security')} ({len(wanted)} ingress rules)",
                self.vn.create_security_list,
                details,
            )
            self.result["unmanaged_rules"] = []
            return self._available("wait for the security list", self.vn.get_security_list, created)
        live = [canonical(oci.util.to_dict(rule)) for rule in found.ingress_security_rules]
        unmanaged = [rule for rule in live if rule not in wanted]
        self.result["unmanaged_rules"] = [summary(rule) for rule in unmanaged]
        if unmanaged:
            self.module.warn(
                f"security list {found.id} has ingress rules this project does not declare: "
                + "; ".join(self.result["unmanaged_rules"])
                + (" (removed)" if self.params["unmanaged_rules"] == "remove" else " (kept)")
            )
        target = wanted + (unmanaged if self.params["unmanaged_rules"] == "keep" else [])
        live_egress = sorted(map(egress_key, found.egress_security_rules or []))
        wanted_egress = sorted(map(egress_key, egress_models(self.params["ipv6"])))
        if sorted(map(rule_key, target)) != sorted(map(rule_key, live)) or live_egress != wanted_egress:
            self.diff["before"]["ingress"] = [summary(rule) for rule in live]
            self.diff["after"]["ingress"] = [summary(rule) for rule in target]
            etag = oci_common.call(
                self.module, "read the security list", self.vn.get_security_list, found.id, result=self.result
            ).headers["etag"]
            self._write(
                f"set the ingress rules of {found.id} ({len(target)} rules)",
                self.vn.update_security_list,
                found.id,
                models.UpdateSecurityListDetails(
                    ingress_security_rules=[ingress_model(rule) for rule in target],
                    egress_security_rules=egress_models(self.params["ipv6"]),
                ),
                if_match=etag,
            )
        return found

    def ensure_subnet(self, vcn, routes, security):
        subnet = self.find("find the subnet", self.vn.list_subnets, "subnet", vcn_id=vcn.id) if vcn else None
        lists = [security.id] if security else []
        ipv6_block = subnet_ipv6_block(vcn) if self.params["ipv6"] else None
        if subnet is None:
            details = models.CreateSubnetDetails(
                ipv6_cidr_block=ipv6_block,
                compartment_id=self.compartment,
                vcn_id=vcn.id if vcn else None,
                display_name=self.name("subnet"),
                cidr_block=self.params["subnet_cidr"],
                dns_label=self.params["dns_label"],
                route_table_id=routes.id if routes else None,
                security_list_ids=lists,
                prohibit_public_ip_on_vnic=False,
                freeform_tags=oci_common.tags(self.stack),
            )
            created = self._write(
                f"create public subnet {self.name('subnet')} {self.params['subnet_cidr']}",
                self.vn.create_subnet,
                details,
            )
            return self._available("wait for the subnet", self.vn.get_subnet, created)
        if subnet.cidr_block != self.params["subnet_cidr"]:
            self.module.fail_json(
                msg=f"the subnet {subnet.id} is {subnet.cidr_block}, not subnet_cidr="
                f"{self.params['subnet_cidr']}; a subnet's block cannot change in place"
            )
        if self.params["ipv6"] and not subnet.ipv6_cidr_blocks and not subnet.ipv6_cidr_block:
            self.module.fail_json(
                msg=f"the subnet {subnet.id} has no IPv6 block; set ipv6=false or recreate the network"
            )
        if subnet.route_table_id != routes.id or sorted(subnet.security_list_ids) != sorted(lists):
            self._write(
                f"point subnet {subnet.id} at the stack's routes and security list",
                self.vn.update_subnet,
                subnet.id,
                models.UpdateSubnetDetails(route_table_id=routes.id, security_list_ids=lists),
            )
        return subnet

    # -- absent ----------------------------------------------------------------------------
    def absent(self):
        vcn = self.find("find the VCN", self.vn.list_vcns, "vcn")
        if vcn is None:
            return self.result
        plan = [
            ("subnet", self.vn.list_subnets, self.vn.delete_subnet, self.vn.get_subnet),
            (
                "security",
                self.vn.list_security_lists,
                self.vn.delete_security_list,
                self.vn.get_security_list,
            ),
            ("routes", self.vn.list_route_tables, self.vn.delete_route_table, self.vn.get_route_table),
            (
                "igw",
                self.vn.list_internet_gateways,
                self.vn.delete_internet_gateway,
                self.vn.get_internet_gateway,
            ),
        ]
        for suffix, lister, delete, get in plan:
            resource = self.find(f"find {self.name(suffix)}", lister, suffix, vcn_id=vcn.id)
            if resource is not None:
                self._delete(resource, delete, get)
        self._delete(vcn, self.vn.delete_vcn, self.vn.get_vcn)
        return self.result

    def _delete(self, resource, delete, get):
        self._write(f"delete {resource.display_name} ({resource.id})", delete, resource.id)
        if not self.module.check_mode:
            oci_common.wait_for_state(
                self.module,
                f"wait for {resource.display_name} to go",
                get,
                resource.id,
                states=("TERMINATED",),
                timeout=self.params["wait_timeout"],
                result=self.result,
            )


def input_errors(params):
    errors = []
    for name in ("vcn_cidr", "subnet_cidr"):
        if not is_cidr_block(params[name], version=4):
            errors.append(
                f"{name} {params[name]!r} is not an IPv4 CIDR block (address/prefix, e.g. 10.0.0.0/16)"
            )
    if not errors and not ipaddress.ip_network(params["subnet_cidr"]).subnet_of(
        ipaddress.ip_network(params["vcn_cidr"])
    ):
        errors.append(f"subnet_cidr {params['subnet_cidr']} is not inside vcn_cidr {params['vcn_cidr']}")
    if not DNS_LABEL.match(params["dns_label"]):
        errors.append(
            f"dns_label {params['dns_label']!r} must be 1-15 lowercase letters and digits, "
            "starting with a letter"
        )
    for index, rule in enumerate(params["ingress_rules"]):
        if not isinstance(rule, dict) or "protocol" not in rule or "source" not in rule:
            errors.append(
                f"ingress_rules[{index}] needs protocol and source (the OCI API's IngressSecurityRule)"
            )
    return errors


def main():
    spec = {
        "name": {"type": "str", "default": "flowspace"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "vcn_cidr": {"type": "str", "default": "10.0.0.0/16"},
        "subnet_cidr": {"type": "str", "default": "10.0.0.0/24"},
        "dns_label": {"type": "str", "default": "flowspace"},
        "ipv6": {"type": "bool", "default": False},
        "ingress_rules": {"type": "list", "elements": "dict", "default": []},
        "unmanaged_rules": {"type": "str", "choices": ["remove", "keep"], "default": "remove"},
        **oci_common.connection_spec(),
    }
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    errors = input_errors(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    network = Network(module)
    result = network.present() if module.params["state"] == "present" else network.absent()
    if module._diff and (network.diff["before"] or network.diff["after"]):
        result["diff"] = network.diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
