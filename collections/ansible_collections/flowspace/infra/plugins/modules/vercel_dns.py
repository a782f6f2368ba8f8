#!/usr/bin/python
"""Keep the stack's address records in a Vercel DNS zone."""

DOCUMENTATION = r"""
module: vercel_dns
short_description: Keep the stack's A and AAAA records in a domain on Vercel DNS
description:
  - Makes the A (and AAAA) records of the names the stack owns (for example the socket, LiveKit
    and TURN names) hold exactly the addresses given, in a domain whose DNS Vercel serves.
  - Only the listed (name, type) pairs are ever written. Every other record of the zone, and
    records of other types at the same names (TXT, MX, CAA...), are left alone. A CNAME or ALIAS
    at one of the names is refused before any write, since DNS allows no address record beside it.
  - A wrong address is changed in place (C(PATCH /v1/domains/records/{id})), so a name is never
    without an address; a missing one is created (C(POST /v2/domains/{domain}/records)); one no
    longer listed is deleted (C(DELETE /v2/domains/{domain}/records/{id})).
  - The zone is read with one C(GET /v5/domains/{domain}/records) (more pages only for zones with
    more than 100 records); a run with nothing to change sends no write.
  - Rate limits (429, honouring Retry-After) and server errors are retried a bounded number of
    times. A create or delete whose answer was lost is not sent again blindly; the zone is read
    again and only what is still missing is written, so no record is duplicated.
version_added: 0.4.0
author: FlowSpace infra (@flowspace)
extends_documentation_fragment: [flowspace.infra.vercel, flowspace.infra.check_and_diff]
options:
  domain:
    description: The domain (zone) on Vercel, for example C(example.com).
    type: str
    required: true
  records:
    description: The stack's address records. Each name must be inside O(domain).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The record's full name, for example C(rtc.example.com) (the apex is O(domain) itself).
        type: str
        required: true
      type:
        description: The record type.
        type: str
        choices: [A, AAAA]
        default: A
      values:
        description:
          - The addresses the name resolves to (IPv4 for A, IPv6 for AAAA).
          - An A record with none is refused (an instance without a public address).
          - An AAAA record with none means the name must have no AAAA record (a stack without
            IPv6), so one left pointing elsewhere is deleted.
        type: list
        elements: str
        default: []
  ttl:
    description: The records' TTL in seconds (Vercel allows 60 to 2147483647).
    type: int
    default: 60
  comment:
    description: The comment new records get in Vercel, saying who manages them.
    type: str
    default: managed by flowspace.infra (vercel_dns)
  state:
    description:
      - C(present) makes the records hold O(records[].values).
      - C(absent) deletes every record of the listed names and types.
    type: str
    choices: [present, absent]
    default: present
  token:
    description: Vercel API token (Bearer), with access to the domain's DNS.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Point the stack's names at the instance
  flowspace.infra.vercel_dns:
    token: "{{ vault_vercel_token }}"
    domain: example.com
    records:
      - {name: socket.example.com, values: ["{{ public_ipv4 }}"]}
      - {name: rtc.example.com, values: ["{{ public_ipv4 }}"]}
      - {name: turn.example.com, values: ["{{ public_ipv4 }}"]}
"""

RETURN = r"""
actions:
  description: What was (or in check mode would be) written, one line each.
  returned: always
  type: list
  elements: str
  sample: ["change A rtc.example.com 192.0.2.1 -> 192.0.2.7"]
records:
  description: The stack's records in the zone afterwards (name, type, value, ttl), as FQDNs.
  returned: success
  type: list
  elements: dict
requests:
  description: How many requests were sent to Vercel (reads and writes).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.parse import quote

from ansible_collections.flowspace.infra.plugins.module_utils import dns_records
from ansible_collections.flowspace.infra.plugins.module_utils.vercel_api import (
    AmbiguousWrite,
    VercelClient,
    VercelError,
    api_argument_spec,
)

PAGE = 100
# A write whose answer was lost is re-planned from a fresh read at most this many times.
REPLANS = 3


class Zone:
    """One domain's records on Vercel, through the client."""

    def __init__(self, client, domain):
        self.client, self.domain = client, domain
        self.path = f"/domains/{quote(domain, safe='')}/records"

    def records(self):
        found, until = [], None
        while True:
            page = self.client.request("GET", "/v5" + self.path, {"limit": PAGE, "until": until})
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise VercelError(200, "unexpected_answer", f"no record list in: {str(page)[:200]}",
                                  "GET", "/v5" + self.path)
            found.extend(page["records"])
            until = (page.get("pagination") or {}).get("next")
            if not until:
                return found

    def write(self, write, comment):
        if write["op"] == "create":
            body = {"name": write["name"], "type": write["type"], "value": write["value"],
                    "ttl": write["ttl"], "comment": comment}
            return self.client.request("POST", "/v2" + self.path, body=body)
        if write["op"] == "update":
            return self.client.request("PATCH", f"/v1/domains/records/{quote(write['id'], safe='')}",
                                       body={"value": write["value"], "ttl": write["ttl"]})
        return self.client.request("DELETE", "/v2" + self.path + "/" + quote(write["id"], safe=""))


def explain(error, domain, done):
    """What a user should read for an API error, and what was already written."""
    if error.status == 403:
        text = (f"Vercel refused to manage the DNS of {domain} with this token (403 {error.code}): the "
                f"token needs access to the domain's scope (team_id/team_slug). {error}")
    elif error.status == 404 and error.method == "GET":
        text = (f"Vercel has no domain {domain!r} in this scope (404): check domain and team_id/team_slug "
                f"(the domain must be on Vercel, in the account or team of the token). {error}")
    elif error.code == "record_conflicts":
        text = f"Vercel refused a record of {domain} as conflicting with another: {error}"
    else:
        text = f"Vercel API error for the DNS of {domain}: {error}"
    written = "; ".join(done) if done else "nothing"
    return f"{text} Written before the error: {written}."


def read(module, zone, done):
    try:
        return zone.records()
    except VercelError as error:
        module.fail_json(msg=explain(error, module.params["domain"], done), changed=bool(done), actions=done,
                         requests=len(zone.client.requests))
    return []  # not reached


def same_write(a, b):
    fields = ("op", "name", "type", "value") if a["op"] == "create" else ("op", "id", "value", "ttl")
    return all(a.get(field) == b.get(field) for field in fields)


def apply(module, zone, wanted, existing):
    """Write the plan; after a write whose answer was lost (or whose record went meanwhile), read
    the zone again and re-plan what is left. Returns (actions done, records after)."""
    params, done = module.params, []
    for _round in range(REPLANS + 1):
        writes = dns_records.plan(existing, wanted, params["ttl"], params["state"])
        if not writes:
            return done, existing
        for write in writes:
            try:
                zone.write(write, params["comment"])
            except AmbiguousWrite:
                existing = read(module, zone, done)
                again = dns_records.plan(existing, wanted, params["ttl"], params["state"])
                if not any(same_write(write, other) for other in again):
                    done.append(dns_records.describe(write, params["domain"]))  # it was applied
                break
            except VercelError as error:
                if error.status == 404 and write["op"] in ("update", "delete"):
                    existing = read(module, zone, done)  # gone meanwhile (by hand?): re-plan
                    break
                module.fail_json(msg=explain(error, params["domain"], done), changed=bool(done),
                                 actions=done, requests=len(zone.client.requests))
            done.append(dns_records.describe(write, params["domain"]))
        else:
            return done, dns_records.after_writes(existing, writes)
    module.fail_json(msg=f"the DNS of {params['domain']} did not settle after {REPLANS} re-reads (writes "
                         f"whose answers were lost); written: {'; '.join(done) or 'nothing'}",
                     changed=bool(done), actions=done, requests=len(zone.client.requests))
    return done, existing  # not reached


def shown(records, wanted, zone):
    return [{"name": dns_records.fqdn_of(r["name"], zone), "type": r["type"], "value": r["value"],
             "ttl": r.get("ttl")} for r in sorted(records, key=lambda r: (r["name"], r["type"], r["value"]))
            if (r["name"], r["type"]) in wanted]


def main():
    argument_spec = api_argument_spec()
    argument_spec.update(
        domain=dict(type="str", required=True),
        records=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            type=dict(type="str", choices=["A", "AAAA"], default="A"),
            values=dict(type="list", elements="str", default=[]),
        )),
        ttl=dict(type="int", default=60),
        comment=dict(type="str", default="managed by flowspace.infra (vercel_dns)"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    domain = params["domain"].lower().rstrip(".")
    params["domain"] = domain
    errors, wanted = dns_records.wanted_records(params["records"], domain, params["state"])
    if not dns_records.MIN_TTL <= params["ttl"] <= dns_records.MAX_TTL:
        errors.append(f"ttl {params['ttl']} is outside what Vercel allows "
                      f"({dns_records.MIN_TTL} to {dns_records.MAX_TTL} seconds)")
    if errors:
        module.fail_json(msg="vercel_dns: " + "; ".join(errors), changed=False, actions=[], requests=0)

    client = VercelClient(module)
    zone = Zone(client, domain)
    existing = read(module, zone, [])
    if params["state"] == "present":
        refused = dns_records.conflicts(existing, wanted, domain)
        if refused:
            module.fail_json(msg="; ".join(refused), changed=False, actions=[], requests=len(client.requests))

    writes = dns_records.plan(existing, wanted, params["ttl"], params["state"])
    if module.check_mode or not writes:
        actions = [dns_records.describe(write, domain) for write in writes]
        after = dns_records.after_writes(existing, writes)
    else:
        actions, after = apply(module, zone, wanted, existing)
    result = {"changed": bool(actions), "actions": actions, "records": shown(after, wanted, domain),
              "requests": len(client.requests)}
    if module._diff:
        result["diff"] = {"before": "\n".join(dns_records.zone_lines(existing, wanted, domain)) + "\n",
                          "after": "\n".join(dns_records.zone_lines(after, wanted, domain)) + "\n",
                          "before_header": f"{domain} (Vercel DNS)", "after_header": f"{domain} (Vercel DNS)"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
