"""Filters for the caddy role: what is wrong with a list of site definitions.

Checked on the controller before anything is rendered, so a typo names the site and field
instead of surfacing later as a Caddyfile parse error.
"""

import ipaddress
import re

from ansible_collections.flowspace.infra.plugins.module_utils.dns_name import dns_name_error

DOCUMENTATION = r"""
name: caddy_site_errors
short_description: What is wrong with a list of caddy site definitions
description:
  - Returns one message per problem (bad or duplicate domains, malformed upstreams, unknown
    options, malformed sizes, durations, paths or headers); an empty list means the sites are valid.
positional: _input, option_keys
options:
  _input:
    description: The sites (C(domain), C(upstream) or a list of them, optional C(options) dict).
    type: list
    elements: dict
    required: true
  option_keys:
    description: The option names a site may set (the keys of C(caddy_site_defaults)).
    type: list
    elements: str
    required: true
"""

DURATION = re.compile(r"^[0-9]+(ms|s|m|h)$")
SIZE = re.compile(r"^[0-9]+(B|KB|MB|GB|KiB|MiB|GiB)?$")
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
SAFE_TEXT = re.compile(r'^[^"\n\r{}]*$')


def _domain_error(domain):
    error = dns_name_error(domain)
    return f"domain {error}" if error else None


def _upstream_error(upstream):
    if not isinstance(upstream, str) or ":" not in upstream:
        return f"upstream {upstream!r} must be host:port"
    host, _colon, port = upstream.rpartition(":")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"upstream {upstream!r} has no valid port (1-65535)"
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if _domain_error(host) and host != "localhost":
            return f"upstream {upstream!r} has no valid host"
    return None


def _upstreams_errors(upstreams):
    if isinstance(upstreams, list):
        if not upstreams:
            return ["upstream list is empty"]
        errors = [_upstream_error(upstream) for upstream in upstreams]
        if len(set(map(str, upstreams))) < len(upstreams):
            errors.append(f"upstream list {upstreams!r} names one upstream twice")
        return errors
    return [_upstream_error(upstreams)]


LB_POLICIES = ("random", "round_robin", "least_conn", "first", "ip_hash", "client_ip_hash", "uri_hash")


def _option_errors(options, option_keys):
    if not isinstance(options, dict):
        return [f"options must be a dict, got {type(options).__name__}"]
    errors = [f"unknown option {key!r} (known: {', '.join(option_keys)})"
              for key in options if key not in option_keys]
    checks = {
        "health_uri": lambda v: isinstance(v, str) and v.startswith("/") and SAFE_TEXT.match(v)
        and " " not in v,
        "health_interval": lambda v: isinstance(v, str) and DURATION.match(v),
        "lb_policy": lambda v: v == "" or v in LB_POLICIES,
        "lb_try_duration": lambda v: v == "" or isinstance(v, str) and DURATION.match(v),
        "fail_duration": lambda v: v == "" or isinstance(v, str) and DURATION.match(v),
        "health_timeout": lambda v: v == "" or isinstance(v, str) and DURATION.match(v),
        "dial_timeout": lambda v: v == "" or isinstance(v, str) and DURATION.match(v),
        "stream_close_delay": lambda v: isinstance(v, str) and DURATION.match(v),
        "max_body_size": lambda v: isinstance(v, str) and SIZE.match(v),
        "hsts_max_age": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "extra_directives": lambda v: isinstance(v, list) and all(
            isinstance(line, str) and "\n" not in line for line in v),
    }
    hints = {
        "health_uri": "a path starting with /",
        "health_interval": "a duration such as 10s",
        "lb_policy": f"empty (Caddy's default) or one of {', '.join(LB_POLICIES)}",
        "lb_try_duration": "empty or a duration such as 5s",
        "fail_duration": "empty or a duration such as 30s",
        "health_timeout": "empty or a duration such as 2s",
        "dial_timeout": "empty or a duration such as 2s",
        "stream_close_delay": "a duration such as 5m",
        "max_body_size": "a size such as 10MB",
        "hsts_max_age": "seconds, an integer >= 0",
        "extra_directives": "a list of single-line Caddyfile directives",
    }
    for key, check in checks.items():
        if key in options and not check(options[key]):
            errors.append(f"option {key}={options[key]!r} is not {hints[key]}")
    headers = options.get("headers", {})
    if not isinstance(headers, dict):
        errors.append("option headers must be a dict of header name to value")
    else:
        for name, value in headers.items():
            if not HEADER_NAME.match(str(name)) or not isinstance(value, str) or not SAFE_TEXT.match(value):
                errors.append(
                    f"header {name!r} must be a token with a one-line value without quotes or braces")
    return errors


def caddy_site_errors(sites, option_keys):
    if not isinstance(sites, list):
        return [f"must be a list of sites, got {type(sites).__name__}"]
    errors = []
    seen = set()
    for index, site in enumerate(sites):
        if not isinstance(site, dict):
            errors.append(f"site {index}: must be a dict with domain and upstream")
            continue
        name = f"site {index} ({site.get('domain', 'no domain')})"
        unknown = sorted(set(site) - {"domain", "upstream", "options"})
        if unknown:
            errors.append(f"{name}: unknown key(s) {', '.join(unknown)} (known: domain, upstream, options)")
        problems = [_domain_error(site.get("domain")), *_upstreams_errors(site.get("upstream"))]
        problems += _option_errors(site.get("options", {}), option_keys)
        errors += [f"{name}: {problem}" for problem in problems if problem]
        domain = str(site.get("domain", "")).lower().rstrip(".")
        if domain and domain in seen:
            errors.append(f"{name}: domain is defined twice")
        seen.add(domain)
    return errors


class FilterModule:
    def filters(self):
        return {"caddy_site_errors": caddy_site_errors}
