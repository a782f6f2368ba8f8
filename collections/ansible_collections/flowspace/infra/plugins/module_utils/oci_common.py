"""What the collection's Oracle Cloud modules share: one argument spec for the connection, the
checks on it made before any request, the SDK clients, Oracle's errors in plain words, and
finding a resource by compartment + display name + the project's freeform tag."""

import os
import re
import time

from ansible.module_utils.basic import env_fallback

try:
    import oci
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    HAS_OCI = True
except ImportError:  # the module says what to install
    HAS_OCI = False

OCID = re.compile(r"^ocid1\.[a-z0-9]+\.oc[0-9]+\.[a-z0-9-]*\.[a-z0-9]+$")
FINGERPRINT = re.compile(r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$")
# The freeform tag every resource the project makes carries (value: the stack's name); with
# the display name it is how a re-run finds what it made, and all that teardown removes.
MANAGED_TAG = "flowspace-stack"
GONE = ("TERMINATING", "TERMINATED")
# Answers that say "not now" rather than "no": a read is sent again after them.
TRANSIENT = (429, 500, 502, 503, 504)
READ_ATTEMPTS = 5


def connection_spec():
    """The options every OCI module takes (as community.general's HTTP-API modules share theirs)."""
    return {
        "config_file": {"type": "path", "default": "~/.oci/config",
                        "fallback": (env_fallback, ["OCI_CONFIG_FILE"])},
        "config_profile": {"type": "str", "default": "DEFAULT",
                           "fallback": (env_fallback, ["OCI_CONFIG_PROFILE"])},
        "region": {"type": "str"},
        "tenancy": {"type": "str"},
        "user": {"type": "str"},
        "fingerprint": {"type": "str"},
        "key_file": {"type": "path"},
        "pass_phrase": {"type": "str", "no_log": True},
        "service_endpoint": {"type": "str"},
        "compartment_id": {"type": "str", "required": True},
        "wait_timeout": {"type": "int", "default": 600},
    }


def config_errors(config, compartment_id):
    """What is wrong with a connection, found without sending a request."""
    errors = []
    for name in ("tenancy", "user"):
        if not OCID.match(str(config.get(name) or "")):
            errors.append(f"{name} {config.get(name)!r} is not an OCID (ocid1.{name}.oc1..<id>)")
    if not OCID.match(str(compartment_id or "")):
        errors.append(f"compartment_id {compartment_id!r} is not an OCID (ocid1.compartment.oc1..<id>)")
    if not FINGERPRINT.match(str(config.get("fingerprint") or "")):
        errors.append(
            f"fingerprint {config.get('fingerprint')!r} is not an API key fingerprint (16 hex pairs)"
        )
    key_file = os.path.expanduser(str(config.get("key_file") or ""))
    if not os.path.isfile(key_file):
        errors.append(f"key_file {config.get('key_file')!r} is not a readable file")
    else:
        errors.extend(key_errors(config.get("key_file"), key_file, config.get("pass_phrase")))
    region = config.get("region")
    if HAS_OCI and not (oci.regions.is_region(region or "") or region in oci.regions.REGIONS_SHORT_NAMES):
        errors.append(f"region {region!r} is not an Oracle Cloud region (e.g. eu-frankfurt-1)")
    return errors


def key_errors(shown, path, pass_phrase):  # noqa: PLR0911 (one message per way a key is wrong)
    """The API key must be a PEM private key that opens with the pass phrase given (or none)."""
    if not HAS_OCI:  # the module says what to install
        return []
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return [f"key_file {shown!r} cannot be read ({error.strerror})"]
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        return [f"key_file {shown!r} is not a PEM private key (the API key's private half, "
                "-----BEGIN PRIVATE KEY-----)"]
    password = pass_phrase.encode() if pass_phrase else None
    try:
        load_pem_private_key(data, password=password)
    except TypeError:
        if password is None:
            return [f"key_file {shown!r} is encrypted and no pass_phrase was given"]
        return [f"key_file {shown!r} is not encrypted, but a pass_phrase was given"]
    except ValueError:
        if password is not None:
            return [f"key_file {shown!r} could not be opened with the pass_phrase given (wrong pass phrase?)"]
        return [f"key_file {shown!r} is not a readable PEM private key"]
    except Exception as error:  # noqa: BLE001 (any other refusal of the key is the key's fault)
        return [f"key_file {shown!r} could not be loaded: {error}"]
    return []


def load_config(module):
    """The SDK config from the options, else the ~/.oci/config profile; fails the module on
    anything wrong before a request is made."""
    if not HAS_OCI:
        module.fail_json(msg="the oci Python package is needed on the controller (pip install oci)")
    params = module.params
    explicit = {name: params[name] for name in ("tenancy", "user", "fingerprint", "key_file") if params[name]}
    if len(explicit) == 4:
        config = dict(explicit)
    else:
        config_file = params["config_file"]
        if not os.path.isfile(config_file):
            module.fail_json(
                msg=f"no OCI config at {config_file} and not all of tenancy, user, fingerprint "
                "and key_file given"
            )
        try:
            config = oci.config.from_file(config_file, params["config_profile"])
        except (
            oci.exceptions.ConfigFileNotFound,
            oci.exceptions.ProfileNotFound,
            oci.exceptions.InvalidConfig,
        ) as error:
            module.fail_json(msg=f"OCI config {config_file} [{params['config_profile']}]: {error}")
        config.update(explicit)
    if params["region"]:
        config["region"] = params["region"]
    if params["pass_phrase"]:
        config["pass_phrase"] = params["pass_phrase"]
    errors = config_errors(config, params["compartment_id"])
    if errors:
        module.fail_json(msg="OCI settings: " + "; ".join(errors))
    return config


def client(module, config, client_class):
    kwargs = (
        {"service_endpoint": module.params["service_endpoint"]} if module.params["service_endpoint"] else {}
    )
    return client_class(config, **kwargs)


def explain(error, doing):
    """Oracle's refusal in a sentence the operator can act on."""
    hints = {
        401: "the API key was refused: check the user, fingerprint and key file",
        404: "not found, or the user's policies do not allow it",
        429: "Oracle is rate limiting this tenancy",
    }
    hint = hints.get(error.status, "")
    if error.code == "LimitExceeded" or "limit" in str(error.code).lower() or "Quota" in str(error.code):
        hint = ("a service limit or quota is reached (not retried; Oracle may count a just-deleted "
                "resource for up to an hour)")
    return f"{doing}: Oracle answered {error.status} {error.code}: {error.message}" + (
        f" ({hint})" if hint else ""
    )


def is_read(function):
    name = getattr(function, "__name__", "")
    return name.startswith(("get_", "list_")) or name == "list_call_get_all_results"


def call(module, doing, function, *args, result=None, sleep=None, **kwargs):
    """One API call; reads are sent again (bounded, backing off) when Oracle answers "not now"
    (429, 5xx) or not at all. A write is sent once: its outcome is the caller's to settle.
    RESULT (what the run did so far) goes into a failure, so `changed` stays true."""
    attempts = READ_ATTEMPTS if is_read(function) else 1
    sleep = sleep or time.sleep
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return function(*args, **kwargs)
        except oci.exceptions.ServiceError as error:
            if attempt < attempts and error.status in TRANSIENT:
                sleep(delay)
                delay = min(delay * 2, 8)
                continue
            tried = f" (after {attempt} attempts)" if attempt > 1 else ""
            module.fail_json(msg=explain(error, doing) + tried, status=error.status, code=error.code,
                             **(result or {}))
        except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as error:
            if attempt < attempts:
                sleep(delay)
                delay = min(delay * 2, 8)
                continue
            module.fail_json(msg=f"{doing}: Oracle's API could not be reached: {error}", **(result or {}))
    return None


def list_all(module, doing, function, *args, result=None, **kwargs):
    return call(module, doing, oci.pagination.list_call_get_all_results, function, *args, result=result,
                **kwargs).data


def find_managed(module, doing, function, name, stack, *args, result=None, **kwargs):
    """The one live resource with this display name; refuses one that lacks the project's tag
    (somebody else's) and a duplicate (never guessed between). Lists that take no display_name
    filter (public IPs) are filtered here."""
    if function.__name__ == "list_public_ips":
        listed = list_all(module, doing, function, *args, result=result, **kwargs)
    else:
        listed = list_all(module, doing, function, *args, display_name=name, result=result, **kwargs)
    found = [item for item in listed if item.display_name == name and item.lifecycle_state not in GONE]
    ours = [item for item in found if (item.freeform_tags or {}).get(MANAGED_TAG) == stack]
    if len(ours) > 1:
        module.fail_json(
            msg=f"{doing}: {len(ours)} resources are named {name!r} and tagged {MANAGED_TAG}={stack}: "
            + ", ".join(item.id for item in ours)
            + "; remove the extra ones",
            **(result or {}),
        )
    if not ours and found:
        module.fail_json(
            msg=f"{doing}: {found[0].id} is named {name!r} but has no {MANAGED_TAG}={stack} tag; "
            "rename it or tag it to let this project manage it",
            **(result or {}),
        )
    return ours[0] if ours else None


def wait_for_state(module, doing, get, resource_id, *, states, timeout, result=None):
    """Poll until the resource reaches one of STATES (Oracle's creates and deletes are
    asynchronous); a 404 while waiting for TERMINATED counts as gone. A resource that is
    going away while it is awaited running (TERMINATING, TERMINATED) fails at once, not
    after the timeout. RESULT (what the run did so far) goes into a failure."""
    deadline = time.monotonic() + timeout
    delay = 0.2
    while True:
        try:
            resource = get(resource_id).data
        except oci.exceptions.ServiceError as error:
            if error.status == 404 and "TERMINATED" in states:
                return None
            if error.status not in TRANSIENT or time.monotonic() > deadline:
                module.fail_json(msg=explain(error, doing), status=error.status, code=error.code,
                                 **(result or {}))
            resource = None
        except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as error:
            if time.monotonic() > deadline:
                module.fail_json(msg=f"{doing}: Oracle's API could not be reached: {error}", **(result or {}))
            resource = None
        if resource is not None and resource.lifecycle_state in states:
            return resource
        if resource is not None and resource.lifecycle_state in GONE and not set(states) & set(GONE):
            module.fail_json(
                msg=f"{doing}: {resource_id} went {resource.lifecycle_state} instead "
                f"(Oracle ended it: out of capacity after all, a limit, or it was terminated by hand)",
                **(result or {}),
            )
        if time.monotonic() > deadline:
            state = resource.lifecycle_state if resource is not None else "unanswered"
            module.fail_json(msg=f"{doing}: {resource_id} is still {state} after {timeout} s",
                             **(result or {}))
        time.sleep(delay)
        delay = min(delay * 2, 5)


def tags(stack, extra=None):
    return {**(extra or {}), MANAGED_TAG: stack}
