"""Vercel DNS, as its REST API documents it, for the Vercel API emulator (vercel_emulator.py).

Domains belong to an account or a team (`teamId`/`slug` pick the scope, as for projects).
Records are named relative to their domain ("" is the apex): list (GET /v5/domains/{domain}/records,
20 a page unless `limit` says otherwise, newest first, `pagination.next` is the `until` of the
next page), create (POST /v2/domains/{domain}/records -> {"uid", "updated"}), update
(PATCH /v1/domains/records/{recordId} -> the record) and delete
(DELETE /v2/domains/{domain}/records/{recordId} -> {}). Vercel refuses a CNAME beside any other
record of the same name, and any record beside a CNAME (409 record_conflicts); the same name,
type and value twice is allowed, as Vercel allows it (a client must not create twice).
"""

import ipaddress
import secrets

from labkit.standins.vercel_scope import in_scope, page_of

RECORD_TYPES = {"A", "AAAA", "ALIAS", "CAA", "CNAME", "HTTPS", "MX", "SRV", "TXT", "NS"}
DEFAULT_PAGE = 20
MIN_TTL, MAX_TTL = 60, 2147483647


class DnsApi:
    """The DNS endpoints; `error(status, code, message)` makes the emulator's API errors."""

    def __init__(self, state, error):
        self.state = state
        self.error = error
        self.routes = [
            ("GET", r"/v5/domains/([^/]+)/records", self.list_records),
            ("POST", r"/v2/domains/([^/]+)/records", self.create_record),
            ("PATCH", r"/v1/domains/records/([^/]+)", self.update_record),
            ("DELETE", r"/v2/domains/([^/]+)/records/([^/]+)", self.delete_record),
        ]

    def check_token(self, token, domain_name):
        if token in self.state.dns_denied_tokens:
            raise self.error(403, "forbidden",
                             f"You don't have permission to manage the DNS records of {domain_name}.")

    def domain(self, name, query):
        domain = self.state.domains.get(name.lower())
        if domain is not None and in_scope(domain, query):
            return domain
        raise self.error(404, "not_found", f"Domain {name} not found")

    def list_records(self, match, query, body, token):
        domain = self.domain(match.group(1), query)
        self.check_token(token, domain["name"])
        try:
            limit = int(query.get("limit") or DEFAULT_PAGE)
        except ValueError:
            raise self.error(400, "bad_request", "Invalid query parameter `limit`.") from None
        page, pagination = page_of(domain["records"], query.get("until"), limit)
        return 200, {"records": [dict(r) for r in page], "pagination": pagination}

    def validate(self, record):
        kind, value = record.get("type"), record.get("value")
        if kind not in RECORD_TYPES:
            raise self.error(400, "invalid_type", f"Invalid record type {kind!r}.")
        if not isinstance(record.get("name"), str):
            raise self.error(400, "bad_request", "`name` must be a string.")
        if not isinstance(value, str) or not value:
            raise self.error(400, "bad_request", "`value` must be a non-empty string.")
        ttl = record.get("ttl", MIN_TTL)
        if not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
            raise self.error(400, "invalid_ttl", f"The TTL must be a number between {MIN_TTL} and {MAX_TTL}.")
        family = {"A": ipaddress.IPv4Address, "AAAA": ipaddress.IPv6Address}.get(kind)
        if family is not None:
            try:
                family(value)
            except ValueError:
                article = "an IPv4" if kind == "A" else "an IPv6"
                raise self.error(400, "invalid_value",
                                 f"The record value must be a valid {article} address.") from None

    def conflict(self, domain, record, ignore_id=None):
        for other in domain["records"]:
            if other["id"] == ignore_id or other["name"] != record["name"]:
                continue
            if "CNAME" in (other["type"], record["type"]):
                attempted = f'"{record["name"]}" {record["type"]} "{record["value"]}"'
                raise self.error(409, "record_conflicts",
                                 f'Existing record ("{other["id"]}") conflict with attempted {attempted} '
                                 "creation. CNAME record cannot be created if any other record exists with "
                                 "the same name.")

    def create_record(self, match, query, body, token):
        domain = self.domain(match.group(1), query)
        self.check_token(token, domain["name"])
        if not isinstance(body, dict):
            raise self.error(400, "bad_request", "Invalid request body.")
        self.validate(body)
        self.conflict(domain, body)
        now = self.state.now()
        record = {"id": "rec_" + secrets.token_hex(12), "slug": "", "name": body["name"],
                  "type": body["type"], "value": body["value"], "creator": "user_emulated",
                  "created": now, "updated": now,
                  "createdAt": now, "updatedAt": now, "ttl": body.get("ttl", MIN_TTL)}
        if body.get("comment"):
            record["comment"] = body["comment"]
        record["slug"] = f"{record['name']}.{domain['name']}.-{record['type'].lower()}".lstrip(".")
        domain["records"].append(record)
        publish(self.state, domain)
        return 200, {"uid": record["id"], "updated": now}

    def find(self, record_id, query):
        for domain in self.state.domains.values():
            for record in domain["records"]:
                if record["id"] == record_id:
                    return self.domain(domain["name"], query), record
        raise self.error(404, "not_found", "DNS record not found")

    def update_record(self, match, query, body, token):
        domain, record = self.find(match.group(1), query)
        self.check_token(token, domain["name"])
        changes = {k: v for k, v in (body or {}).items() if k in ("name", "type", "value", "ttl", "comment")}
        merged = {**record, **changes}
        self.validate(merged)
        self.conflict(domain, merged, ignore_id=record["id"])
        record.update(changes, updated=self.state.now())
        record["updatedAt"] = record["updated"]
        view = {"createdAt": record["createdAt"], "creator": record["creator"], "domain": domain["name"],
                "id": record["id"], "name": record["name"], "recordType": record["type"],
                "value": record["value"], "ttl": record["ttl"], "type": "record"}
        if record.get("comment"):
            view["comment"] = record["comment"]
        publish(self.state, domain)
        return 200, view

    def delete_record(self, match, query, body, token):
        domain = self.domain(match.group(1), query)
        self.check_token(token, domain["name"])
        for record in domain["records"]:
            if record["id"] == match.group(2):
                domain["records"].remove(record)
                publish(self.state, domain)
                return 200, {}
        raise self.error(404, "not_found", "DNS record not found")


def publish(state, domain):
    """What Vercel's nameservers then answer: the zone's records, handed to the resolver
    stand-in when the emulator has one (state.nameservers: callable(zone, records))."""
    if state.nameservers:
        state.nameservers(domain["name"], [dict(r) for r in domain["records"]])


def add_domain(state, name, team_id=None, team_slug=None):
    """A domain in the emulated account (or team), with no records."""
    domain = {"name": name.lower(), "teamId": team_id, "teamSlug": team_slug, "records": []}
    state.domains[domain["name"]] = domain
    return {k: v for k, v in domain.items() if k != "records"}


def add_record(state, domain_name, record):
    """A record put in by hand (as in Vercel's dashboard), not through the API's checks."""
    now = state.now()
    stored = {"id": "rec_" + secrets.token_hex(12), "slug": "", "creator": "user_emulated", "created": now,
              "updated": now, "createdAt": now, "updatedAt": now, "ttl": MIN_TTL, **record}
    state.domains[domain_name.lower()]["records"].append(stored)
    publish(state, state.domains[domain_name.lower()])
    return stored


def control(state, method, path, query, body):
    """The emulator's test controls for DNS (under /_emulator/), or None for another path."""
    if path == "/_emulator/domains" and method == "POST":
        return 201, add_domain(state, body["name"], body.get("team_id"), body.get("team_slug"))
    if path == "/_emulator/records" and method == "POST":
        return 201, add_record(state, query["domain"], body)
    if path == "/_emulator/records":
        domain = state.domains.get(query.get("domain", "").lower(), {})
        return 200, {"records": list(domain.get("records", []))}
    if path == "/_emulator/dns-denied-tokens" and method == "POST":
        state.dns_denied_tokens.update(body.get("tokens", []))
        return 200, {"ok": True}
    return None
