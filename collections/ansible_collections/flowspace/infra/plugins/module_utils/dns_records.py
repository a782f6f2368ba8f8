"""What vercel_dns must write to make a zone's stack records what the inventory says: pure
functions, no requests.

A wanted record set is (name, type) -> values: the names are the stack's own FQDNs inside one
zone, the types A and AAAA. Only those (name, type) pairs are ever touched; every other record
of the zone, and other types at the same names, are left as they are, except a CNAME or ALIAS at
one of the names, which DNS does not allow beside an address record and is refused.
"""

import ipaddress

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error

ADDRESS_TYPES = {"A": ipaddress.IPv4Address, "AAAA": ipaddress.IPv6Address}
# Record types that cannot share a name with an A or AAAA record.
EXCLUSIVE_TYPES = ("CNAME", "ALIAS")
MIN_TTL, MAX_TTL = 60, 2147483647


def relative_name(fqdn, zone):
    """The record name Vercel stores for FQDN in ZONE ("" for the apex), or None if outside it."""
    fqdn, zone = fqdn.lower().rstrip("."), zone.lower().rstrip(".")
    if fqdn == zone:
        return ""
    if fqdn.endswith("." + zone):
        return fqdn[: -len(zone) - 1]
    return None


def fqdn_of(name, zone):
    return f"{name}.{zone}" if name else zone


def wanted_records(records, zone, state="present"):
    """(errors, {(relative name, type): sorted values}) from the module's `records` option."""
    errors, wanted = [], {}
    zone_error = dns_name_error(zone)
    if zone_error:
        return [f"domain {zone_error}"], {}
    for index, record in enumerate(records):
        where = f"records[{index}]"
        name_error = dns_name_error(record["name"])
        if name_error:
            errors.append(f"{where}.name {name_error}")
            continue
        name = relative_name(record["name"], zone)
        if name is None:
            errors.append(f"{where}.name {record['name']!r} is not in the domain {zone!r}")
            continue
        key = (name, record["type"])
        if key in wanted:
            errors.append(f"{where}: {record['type']} {record['name']} is listed twice")
            continue
        values, value_errors = addresses(record["values"], record["type"], f"{where}.values")
        errors.extend(value_errors)
        # An AAAA with no address means the name has no AAAA (a stack without IPv6): one left
        # pointing elsewhere would make a CA, which prefers IPv6, validate there.
        if state == "present" and record["type"] == "A" and not values and not value_errors:
            errors.append(f"{where}: {record['type']} {record['name']} has no address "
                          "(an instance without a public address? use state=absent to remove the record)")
        wanted[key] = values
    return errors, wanted


def addresses(values, kind, where):
    """(sorted canonical addresses, errors) of VALUES for record type KIND."""
    family, found, errors = ADDRESS_TYPES[kind], set(), []
    for value in values:
        try:
            found.add(str(family(value)))
        except ValueError:
            version = "IPv4" if kind == "A" else "IPv6"
            errors.append(f"{where}: {value!r} is not an {version} address (an {kind} record's value)")
    return sorted(found), errors


def conflicts(existing, wanted, zone):
    """One line for each CNAME or ALIAS record at a name the stack needs address records at."""
    names = {name for name, _kind in wanted}
    return [f"{fqdn_of(r['name'], zone)} already has a {r['type']} record (to {r['value']}); DNS allows "
            f"no A or AAAA record beside it: remove it, or give the stack another name"
            for r in existing if r["name"] in names and r["type"] in EXCLUSIVE_TYPES]


def plan(existing, wanted, ttl, state="present"):
    """The writes, in order, as dicts: {"op": create|update|delete, "name", "type", "value", ...}.

    For each wanted (name, type): a record already right is kept (its TTL set if it differs), a
    wrong value is changed in place (no moment without an address), values missing are created
    and values no longer wanted are deleted. With state=absent every record of the pair goes.
    """
    writes = []
    for (name, kind), values in sorted(wanted.items()):
        current = sorted((r for r in existing if r["name"] == name and r["type"] == kind),
                         key=lambda r: (r["value"], r["id"]))
        if state == "absent":
            writes.extend({"op": "delete", "name": name, "type": kind, "value": r["value"], "id": r["id"]}
                          for r in current)
            continue
        kept, spare = [], []
        for record in current:
            (kept if record["value"] in values and record["value"] not in
             [k["value"] for k in kept] else spare).append(record)
        missing = [v for v in values if v not in [k["value"] for k in kept]]
        for record in kept:
            if record.get("ttl") != ttl:
                writes.append({"op": "update", "name": name, "type": kind, "value": record["value"],
                               "id": record["id"], "was": record["value"], "ttl": ttl})
        for record, value in zip(spare, missing[: len(spare)], strict=False):
            writes.append({"op": "update", "name": name, "type": kind, "value": value, "id": record["id"],
                           "was": record["value"], "ttl": ttl})
        writes.extend({"op": "create", "name": name, "type": kind, "value": value, "ttl": ttl}
                      for value in missing[len(spare):])
        writes.extend({"op": "delete", "name": name, "type": kind, "value": r["value"], "id": r["id"]}
                      for r in spare[len(missing):])
    return writes


def describe(write, zone):
    """One line for a write, as the module reports it."""
    where = f"{write['type']} {fqdn_of(write['name'], zone)}"
    if write["op"] == "create":
        return f"create {where} {write['value']} (TTL {write['ttl']})"
    if write["op"] == "delete":
        return f"delete {where} {write['value']}"
    if write["was"] != write["value"]:
        return f"change {where} {write['was']} -> {write['value']}"
    return f"set the TTL of {where} {write['value']} to {write['ttl']}"


def zone_lines(existing, wanted, zone):
    """The stack's records as zone-file lines (for --diff), sorted."""
    return sorted(f"{fqdn_of(r['name'], zone)}. {r.get('ttl', MIN_TTL)} IN {r['type']} {r['value']}"
                  for r in existing if (r["name"], r["type"]) in wanted)


def after_writes(existing, writes):
    """The zone's records as they will be once WRITES are applied (for check mode and --diff)."""
    records = {r["id"]: dict(r) for r in existing}
    for number, write in enumerate(writes):
        if write["op"] == "delete":
            records.pop(write["id"], None)
        elif write["op"] == "update":
            records[write["id"]].update(value=write["value"], ttl=write["ttl"])
        else:
            records[f"new-{number}"] = {"id": f"new-{number}", "name": write["name"], "type": write["type"],
                                        "value": write["value"], "ttl": write["ttl"]}
    return list(records.values())
