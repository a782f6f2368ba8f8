"""oci_common: settings checked before any request, reads retried on "not now", writes sent once,
waits that notice a resource going away, Oracle's refusals in plain words."""

from types import SimpleNamespace

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.flowspace.infra.plugins.module_utils import oci_common


class Failed(Exception):
    pass


class Module:
    def fail_json(self, **result):
        raise Failed(result)


def service_error(status, code="Code", message="message"):
    return oci.exceptions.ServiceError(status, code, {}, message)


def scripted(*answers):
    calls = []

    def get_thing(*args, **kwargs):
        calls.append(args)
        answer = answers[len(calls) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return get_thing, calls


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_read_is_asked_again_when_oracle_says_not_now(status) -> None:
    get_thing, calls = scripted(service_error(status), "the thing")
    slept = []
    assert oci_common.call(Module(), "read", get_thing, "id", sleep=slept.append) == "the thing"
    assert len(calls) == 2 and slept == [0.5]


def test_reads_give_up_after_the_bound_saying_how_often() -> None:
    get_thing, calls = scripted(*[service_error(503)] * oci_common.READ_ATTEMPTS)
    with pytest.raises(Failed) as failed:
        oci_common.call(Module(), "read the VNIC", get_thing, sleep=lambda s: None)
    assert len(calls) == oci_common.READ_ATTEMPTS
    assert f"(after {oci_common.READ_ATTEMPTS} attempts)" in failed.value.args[0]["msg"]


def test_a_refusal_is_not_asked_again() -> None:
    get_thing, calls = scripted(service_error(404, "NotAuthorizedOrNotFound"))
    with pytest.raises(Failed) as failed:
        oci_common.call(Module(), "read", get_thing, sleep=lambda s: None)
    assert len(calls) == 1 and "not found, or the user's policies" in failed.value.args[0]["msg"]


def test_a_write_is_sent_once_and_the_result_so_far_kept() -> None:
    def create_thing():
        raise service_error(503)

    with pytest.raises(Failed) as failed:
        oci_common.call(Module(), "create", create_thing, result={"changed": True, "actions": ["x"]})
    assert failed.value.args[0]["changed"] is True and failed.value.args[0]["actions"] == ["x"]


def test_an_unreachable_api_is_retried_for_reads_only() -> None:
    get_thing, calls = scripted(oci.exceptions.RequestException("refused"), "ok")
    assert oci_common.call(Module(), "read", get_thing, sleep=lambda s: None) == "ok"

    def update_thing():
        raise oci.exceptions.RequestException("refused")

    with pytest.raises(Failed, match="could not be reached"):
        oci_common.call(Module(), "update", update_thing)


def resource(state):
    return SimpleNamespace(data=SimpleNamespace(lifecycle_state=state))


def test_a_wait_for_running_ends_at_once_when_the_resource_goes_away(monkeypatch) -> None:
    monkeypatch.setattr(oci_common.time, "sleep", lambda s: None)
    get_thing, _calls = scripted(resource("PROVISIONING"), resource("TERMINATING"))
    with pytest.raises(Failed) as failed:
        oci_common.wait_for_state(Module(), "wait", get_thing, "ocid1.instance", states=("RUNNING",),
                                  timeout=600, result={"changed": True})
    assert "went TERMINATING instead" in failed.value.args[0]["msg"] and failed.value.args[0]["changed"]


def test_a_wait_for_terminated_takes_a_404_as_gone_and_rides_out_a_503(monkeypatch) -> None:
    monkeypatch.setattr(oci_common.time, "sleep", lambda s: None)
    get_thing, calls = scripted(service_error(503), resource("TERMINATING"), service_error(404))
    assert oci_common.wait_for_state(Module(), "wait", get_thing, "x", states=("TERMINATED",),
                                     timeout=600) is None
    assert len(calls) == 3


def test_a_wait_that_outlasts_its_timeout_says_the_state(monkeypatch) -> None:
    monkeypatch.setattr(oci_common.time, "sleep", lambda s: None)
    get_thing, _calls = scripted(*[resource("PROVISIONING")] * 3)
    clock = iter([0, 1, 99, 99, 99])
    monkeypatch.setattr(oci_common.time, "monotonic", lambda: next(clock))
    with pytest.raises(Failed, match="still PROVISIONING after 10 s"):
        oci_common.wait_for_state(Module(), "wait", get_thing, "x", states=("RUNNING",), timeout=10)


def key_file(tmp_path, pass_phrase=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (serialization.BestAvailableEncryption(pass_phrase.encode()) if pass_phrase
                  else serialization.NoEncryption())
    path = tmp_path / "key.pem"
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.write_bytes(pem)
    return path


def test_a_good_key_passes_with_its_pass_phrase_or_none(tmp_path) -> None:
    plain = key_file(tmp_path)
    assert oci_common.key_errors("k", str(plain), None) == []
    assert oci_common.key_errors("k", str(key_file(tmp_path, "right")), "right") == []


@pytest.mark.parametrize(("content", "pass_phrase", "expected"), [
    (None, "wrong", "could not be opened with the pass_phrase given"),
    (None, None, "is encrypted and no pass_phrase was given"),
    (b"ssh-ed25519 AAAA not-pem\n", None, "is not a PEM private key"),
    (b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", None, "not a readable PEM"),
])
def test_a_bad_key_is_named(tmp_path, content, pass_phrase, expected) -> None:
    path = key_file(tmp_path, "right")
    if content is not None:
        path.write_bytes(content)
    [error] = oci_common.key_errors("k", str(path), pass_phrase)
    assert expected in error


def test_a_pass_phrase_for_a_plain_key_is_named(tmp_path) -> None:
    [error] = oci_common.key_errors("k", str(key_file(tmp_path)), "unneeded")
    assert "is not encrypted, but a pass_phrase was given" in error


def test_settings_are_checked_before_any_request(tmp_path) -> None:
    config = {"tenancy": "ocid1.tenancy.oc1..aaaa", "user": "nope", "fingerprint": "12:34",
              "key_file": str(tmp_path / "missing.pem"), "region": "mars-1"}
    errors = " ".join(oci_common.config_errors(config, "ocid1.compartment.oc1..aaaa"))
    for expected in ("user 'nope' is not an OCID", "fingerprint '12:34'", "is not a readable file",
                     "region 'mars-1'"):
        assert expected in errors
    assert "tenancy" not in errors and "compartment_id" not in errors


def test_limits_and_quotas_are_explained_as_such() -> None:
    message = oci_common.explain(service_error(400, "LimitExceeded", "core count"), "launch")
    assert message.startswith("launch: Oracle answered 400 LimitExceeded: core count")
    assert "not retried" in message
    assert "rate limiting" in oci_common.explain(service_error(429, "TooManyRequests"), "read")


LIMIT_HINT = ("a service limit or quota is reached (not retried; Oracle may count a just-deleted "
              "resource for up to an hour)")


@pytest.mark.parametrize(("status", "code", "hint"), [
    (401, "NotAuthenticated", "the API key was refused: check the user, fingerprint and key file"),
    (404, "NotAuthorizedOrNotFound", "not found, or the user's policies do not allow it"),
    (429, "TooManyRequests", "Oracle is rate limiting this tenancy"),
    (400, "LimitExceeded", LIMIT_HINT),
    (400, "ServiceLimitExceeded", LIMIT_HINT),
    (400, "QuotaExceeded", LIMIT_HINT),
    (404, "LimitExceeded", LIMIT_HINT),
    (500, "InternalError", None),
    (409, "Conflict", None),
], ids=str)
def test_each_refusal_is_explained_whole(status, code, hint) -> None:
    message = oci_common.explain(service_error(status, code, "the answer"), "do a thing")
    expected = f"do a thing: Oracle answered {status} {code}: the answer" + (f" ({hint})" if hint else "")
    assert message == expected
