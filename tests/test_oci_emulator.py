"""The OCI API emulator behaves as Oracle documents its API, driven by Oracle's own SDK:
signatures checked, pagination, ETags with if-match, retry tokens, lifecycle states, errors."""


import oci
import oci_stand_in
import pytest

models = oci.core.models


@pytest.fixture
def stand_in(tmp_path):
    running = oci_stand_in.start(tmp_path)
    yield running
    running.server.shutdown()


def network(stand_in, **override):
    return oci.core.VirtualNetworkClient(stand_in.sdk_config(**override), service_endpoint=stand_in.url,
                                         retry_strategy=oci.retry.NoneRetryStrategy())


def new_vcn(client, compartment, name="vcn", **kwargs):
    details = models.CreateVcnDetails(compartment_id=compartment, cidr_blocks=["10.0.0.0/16"],
                                      display_name=name)
    return client.create_vcn(details, **kwargs)


def test_a_request_signed_with_another_key_or_tampered_is_refused(stand_in, tmp_path) -> None:
    compartment = stand_in.account["compartment"]
    (tmp_path / "other").mkdir()
    other = oci_stand_in.start(tmp_path / "other")
    try:
        wrong = network(stand_in, key_file=str(other.key_file))
        with pytest.raises(oci.exceptions.ServiceError) as refused:
            wrong.list_vcns(compartment)
        assert (refused.value.status, refused.value.code) == (401, "NotAuthenticated")
    finally:
        other.server.shutdown()
    client = network(stand_in)
    # The SDK signs the body's digest: a body changed after signing is refused.
    original = client.base_client.signer.do_request_sign

    def tamper(request, *args, **kwargs):
        signed = original(request, *args, **kwargs)
        signed.body = signed.body.replace("10.0.0.0/16", "10.9.0.0/16")
        return signed
    client.base_client.signer.do_request_sign = tamper
    with pytest.raises(oci.exceptions.ServiceError) as tampered:
        new_vcn(client, compartment)
    assert tampered.value.status == 401 and "x-content-sha256" in tampered.value.message
    assert stand_in.state()["vcns"] == []


def test_lists_are_paginated_and_lifecycle_moves_on(stand_in) -> None:
    client, compartment = network(stand_in), stand_in.account["compartment"]
    stand_in._control("POST", "settings", {"page_size": 2})
    made = [new_vcn(client, compartment, f"vcn-{n}").data for n in range(5)]
    assert {vcn.lifecycle_state for vcn in made} == {"PROVISIONING"}
    first = client.list_vcns(compartment)
    assert len(first.data) == 2 and first.has_next_page
    everything = oci.pagination.list_call_get_all_results(client.list_vcns, compartment).data
    assert [v.display_name for v in everything] == [f"vcn-{n}" for n in range(5)]
    ready = oci.wait_until(client, client.get_vcn(made[0].id), "lifecycle_state", "AVAILABLE",
                           max_wait_seconds=10, max_interval_seconds=1).data
    assert ready.default_security_list_id.startswith("ocid1.securitylist.")
    client.delete_vcn(made[0].id)
    assert client.get_vcn(made[0].id).data.lifecycle_state == "TERMINATING"
    gone = oci.wait_until(client, client.get_vcn(made[0].id), "lifecycle_state", "TERMINATED",
                          max_wait_seconds=10, max_interval_seconds=1).data
    assert gone.lifecycle_state == "TERMINATED"
    # Oracle keeps listing terminated resources for a while.
    listed = oci.pagination.list_call_get_all_results(client.list_vcns, compartment).data
    assert made[0].id in [v.id for v in listed]


def test_if_match_and_retry_tokens(stand_in) -> None:
    client, compartment = network(stand_in), stand_in.account["compartment"]
    first = new_vcn(client, compartment, opc_retry_token="token-1")
    again = new_vcn(client, compartment, opc_retry_token="token-1")
    assert first.data.id == again.data.id and len(stand_in.state()["vcns"]) == 1
    etag = client.get_vcn(first.data.id).headers["etag"]
    client.update_vcn(first.data.id, models.UpdateVcnDetails(display_name="renamed"), if_match=etag)
    with pytest.raises(oci.exceptions.ServiceError) as stale:
        client.update_vcn(first.data.id, models.UpdateVcnDetails(display_name="again"), if_match=etag)
    assert (stale.value.status, stale.value.code) == (412, "PreconditionFailed")


def test_errors_are_oracles(stand_in) -> None:
    client, compartment = network(stand_in), stand_in.account["compartment"]
    with pytest.raises(oci.exceptions.ServiceError) as missing:
        client.get_vcn("ocid1.vcn.oc1.eu-frankfurt-1.nothere")
    assert (missing.value.status, missing.value.code) == (404, "NotAuthorizedOrNotFound")
    stand_in.inject({"method": "GET", "path": "/vcns$", "status": 429, "code": "TooManyRequests",
                     "message": "Too many requests for the tenancy", "times": 1})
    with pytest.raises(oci.exceptions.ServiceError) as limited:
        client.list_vcns(compartment)
    assert (limited.value.status, limited.value.code) == (429, "TooManyRequests")
    assert client.list_vcns(compartment).status == 200
    vcn = new_vcn(client, compartment).data
    client.create_subnet(models.CreateSubnetDetails(compartment_id=compartment, vcn_id=vcn.id,
                                                    cidr_block="10.0.0.0/24"))
    with pytest.raises(oci.exceptions.ServiceError) as in_use:
        client.delete_vcn(vcn.id)
    assert (in_use.value.status, in_use.value.code) == (409, "Conflict")
