"""A local stand-in for the parts of Oracle Cloud's REST API the provisioning modules use.

Oracle's API is unreachable from the test machines; this reproduces its documented behaviour
for one region, errors included: every request signed with the tenancy user's API key
(draft-cavage HTTP signatures, rsa-sha256, `x-content-sha256` over the body), the core
service's VCNs, internet gateways, route tables, security lists, subnets, reserved public
IPs, images and instances, the identity service's availability domains, lifecycle states that
move on with time (PROVISIONING -> AVAILABLE/RUNNING, TERMINATING -> TERMINATED, terminated
resources still listed for a while), ETags with `if-match`, `opc-next-page` pagination,
`opc-retry-token` idempotency on creates, and Oracle's error bodies
(`{"code": ..., "message": ...}`).

Test control lives under /_emulator/ (unsigned): the request log, faults to inject
(`{"method", "path", "status", "code", "message", "times", "skip", "availability_domain",
"display_name"}`: e.g. 500
InternalError "Out of host capacity." for launches in one availability domain, 429, 400
LimitExceeded), the seconds a lifecycle transition takes, and the whole state.

    python -m labkit oci-emulator serve [--port 8788] --public-key PEM_FILE
"""

import argparse
import base64
import hashlib
import ipaddress
import itertools
import json
import re
import secrets
import threading
import time
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REGION = "eu-frankfurt-1"
REALM = "oc1"
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaflowspaceemulatedtenancy0000000000000000000000000"
AVAILABILITY_DOMAINS = [f"Uocm:EU-FRANKFURT-1-AD-{n}" for n in (1, 2, 3)]
FAULT_DOMAINS = ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"]
API = "/20160918"
DEFAULT_PAGE_SIZE = 50
# Oracle lists TERMINATED resources for a while after they go; so does the emulator.
ALIVE = {"PROVISIONING", "AVAILABLE", "RUNNING", "STARTING", "STOPPING", "STOPPED", "ASSIGNING", "ASSIGNED"}


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.body = status, {"code": code, "message": message}


def not_found(what):
    return ApiError(
        404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {what}"
    )


def ocid(kind):
    return f"ocid1.{kind}.{REALM}.{REGION}.{secrets.token_hex(30)}"


def new_api_key() -> tuple[bytes, bytes]:
    """A new API key pair as a user makes one for Oracle: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def fingerprint_of(public_pem: bytes) -> str:
    key = serialization.load_pem_public_key(public_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - Oracle's key fingerprint is MD5 by definition
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


# Each kind: its path, its OCID kind, the states it passes through, and its list filters.
KINDS = {
    "vcns": {"ocid": "vcn", "states": ("PROVISIONING", "AVAILABLE"), "filters": ()},
    "internetGateways": {
        "ocid": "internetgateway",
        "states": ("PROVISIONING", "AVAILABLE"),
        "filters": ("vcnId",),
    },
    "routeTables": {"ocid": "routetable", "states": ("PROVISIONING", "AVAILABLE"), "filters": ("vcnId",)},
    "securityLists": {"ocid": "securitylist", "states": ("PROVISIONING", "AVAILABLE"), "filters": ("vcnId",)},
    "subnets": {"ocid": "subnet", "states": ("PROVISIONING", "AVAILABLE"), "filters": ("vcnId",)},
    "publicIps": {"ocid": "publicip", "states": ("PROVISIONING", "AVAILABLE"), "filters": ()},
    "instances": {
        "ocid": "instance",
        "states": ("PROVISIONING", "RUNNING"),
        "filters": ("availabilityDomain",),
    },
}
# Fields a PUT may change, per kind (the rest of an update body is refused, as Oracle does).
UPDATABLE = {
    "vcns": {"displayName", "freeformTags", "definedTags"},
    "internetGateways": {"displayName", "freeformTags", "definedTags", "isEnabled", "routeTableId"},
    "routeTables": {"displayName", "freeformTags", "definedTags", "routeRules"},
    "securityLists": {
        "displayName",
        "freeformTags",
        "definedTags",
        "ingressSecurityRules",
        "egressSecurityRules",
    },
    "subnets": {"displayName", "freeformTags", "definedTags", "routeTableId", "securityListIds"},
    "publicIps": {"displayName", "freeformTags", "definedTags", "privateIpId"},
    "instances": {"displayName", "freeformTags", "definedTags", "shapeConfig"},
}
REQUIRED = {
    "vcns": ("compartmentId",),
    "internetGateways": ("compartmentId", "vcnId", "isEnabled"),
    "routeTables": ("compartmentId", "vcnId", "routeRules"),
    "securityLists": ("compartmentId", "vcnId", "ingressSecurityRules", "egressSecurityRules"),
    "subnets": ("compartmentId", "vcnId", "cidrBlock"),
    "publicIps": ("compartmentId", "lifetime"),
    "instances": ("compartmentId", "availabilityDomain", "shape"),
}


class State:
    """The emulated tenancy; one lock serialises requests."""

    def __init__(self, public_keys=(), user="ocid1.user.oc1..aaaaaaaaflowspaceemulateduser"):
        self.lock = threading.Lock()
        self.user = user
        self.keys = {fingerprint_of(pem): serialization.load_pem_public_key(pem) for pem in public_keys}
        self.resources = {kind: {} for kind in KINDS}
        self.retry_tokens = {}
        self.requests = []
        self.faults = []
        self.transition_seconds = 0.3
        self.launch_outcome = "RUNNING"
        self.page_size = DEFAULT_PAGE_SIZE
        self.compartments = {TENANCY}
        self.images = []
        self.vnics, self.private_ips = {}, {}
        self.clock = itertools.count()
        # The lab's hooks: boot(instance) starts a host for a launched instance and returns its
        # address, halt(instance) removes it. The lab's public network is the Docker bridge, so
        # a booted instance's private and public addresses are both that address.
        self.boot = None
        self.halt = None
        self.lab_addresses = {}

    def add_compartment(self):
        compartment = ocid("compartment").replace(f".{REGION}.", "..")
        self.compartments.add(compartment)
        return compartment

    def add_image(self, os_name, version, shapes, created):
        image = {
            "id": ocid("image"),
            "compartmentId": None,
            "operatingSystem": os_name,
            "operatingSystemVersion": version,
            "displayName": f"{os_name}-{version}-aarch64-{created}",
            "timeCreated": created,
            "lifecycleState": "AVAILABLE",
            "shapes": shapes,
            "sizeInMBs": 47694,
            "launchMode": "PARAVIRTUALIZED",
        }
        self.images.append(image)
        return image


def _now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


class Api:
    """The emulated endpoints."""

    def __init__(self, state: State):
        self.state = state

    # -- lifecycle -----------------------------------------------------------------------
    def _settle(self, kind, resource):
        """States move on with time, as Oracle's do between two reads."""
        pending = resource.get("_next")
        if pending and time.monotonic() >= pending[1]:
            resource["lifecycleState"] = pending[0]
            resource.pop("_next")
            if pending[0] == "TERMINATED" and kind == "instances":
                self._release_instance_addresses(resource)
                if self.state.halt:
                    self.state.halt(self.view(resource))
        return resource

    def _move(self, resource, state, then):
        resource["lifecycleState"] = state
        resource["_next"] = (then, time.monotonic() + self.state.transition_seconds)
        resource["_etag"] = secrets.token_hex(8)

    @staticmethod
    def view(resource):
        return {key: value for key, value in resource.items() if not key.startswith("_")}

    def get(self, kind, resource_id):
        resource = self.state.resources[kind].get(resource_id)
        if resource is None:
            raise not_found(f"{kind[:-1]} {resource_id}")
        return self._settle(kind, resource)

    # -- generic resources ---------------------------------------------------------------
    def create(self, kind, body, headers):
        missing = [name for name in REQUIRED[kind] if body.get(name) in (None, "")]
        if missing:
            raise ApiError(400, "InvalidParameter", f"{', '.join(missing)} must be specified")
        if body["compartmentId"] not in self.state.compartments:
            raise not_found(f"compartment {body['compartmentId']}")
        token = headers.get("opc-retry-token")
        if token and token in self.state.retry_tokens:
            previous_kind, previous_id = self.state.retry_tokens[token]
            if previous_kind != kind:
                raise ApiError(409, "Conflict", "The retry token was used for another request")
            return self.get(kind, previous_id)
        if body.get("vcnId") and body["vcnId"] not in self.state.resources["vcns"]:
            raise not_found(f"vcn {body['vcnId']}")
        resource = {
            **{k: v for k, v in body.items() if k not in ("sourceDetails", "createVnicDetails", "metadata")},
            "id": ocid(KINDS[kind]["ocid"]),
            "timeCreated": _now_iso(),
            "freeformTags": body.get("freeformTags") or {},
            "definedTags": body.get("definedTags") or {},
            "_order": next(self.state.clock),
        }
        getattr(self, f"_create_{kind}", lambda resource, body: None)(resource, body)
        first, then = KINDS[kind]["states"]
        if kind == "instances" and self.state.launch_outcome == "TERMINATED":
            then = "TERMINATED"  # Oracle took the launch, then could not place it after all
        self._move(resource, first, then)
        self.state.resources[kind][resource["id"]] = resource
        if kind == "instances" and self.state.boot and then != "TERMINATED":
            self._boot(resource)
        if token:
            self.state.retry_tokens[token] = (kind, resource["id"])
        return resource

    def _create_vcns(self, resource, body):
        blocks = body.get("cidrBlocks") or ([body["cidrBlock"]] if body.get("cidrBlock") else [])
        if not blocks:
            raise ApiError(400, "InvalidParameter", "cidrBlocks must be specified")
        resource.update(
            cidrBlocks=blocks,
            cidrBlock=blocks[0],
            ipv6CidrBlocks=["2603:c020:8000:1a00::/56"] if body.get("isIpv6Enabled") else [],
            vcnDomainName=f"{body.get('dnsLabel', 'vcn')}.oraclevcn.com",
        )
        # Oracle makes a default route table and security list with every VCN.
        for kind, extra in (
            ("routeTables", {"routeRules": []}),
            (
                "securityLists",
                {"ingressSecurityRules": DEFAULT_INGRESS, "egressSecurityRules": DEFAULT_EGRESS},
            ),
        ):
            default = {
                "id": ocid(KINDS[kind]["ocid"]),
                "compartmentId": body["compartmentId"],
                "vcnId": resource["id"],
                "displayName": f"Default {kind[:-1]} for {resource.get('displayName')}",
                "freeformTags": {},
                "definedTags": {},
                "timeCreated": _now_iso(),
                "lifecycleState": "AVAILABLE",
                "_etag": secrets.token_hex(8),
                "_order": next(self.state.clock),
                **json.loads(json.dumps(extra)),
            }
            self.state.resources[kind][default["id"]] = default
            resource["defaultRouteTableId" if kind == "routeTables" else "defaultSecurityListId"] = default[
                "id"
            ]

    def _create_subnets(self, resource, body):
        resource.setdefault("prohibitPublicIpOnVnic", False)
        resource.setdefault("securityListIds", [])
        resource["subnetDomainName"] = f"{body.get('dnsLabel', 'subnet')}.vcn.oraclevcn.com"
        resource["virtualRouterIp"] = body["cidrBlock"].rsplit(".", 1)[0] + ".1"
        resource["ipv6CidrBlocks"] = []
        if body.get("ipv6CidrBlock"):
            self._give_subnet_ipv6(resource, body["ipv6CidrBlock"])

    def _give_subnet_ipv6(self, subnet, block):
        """Oracle's rule: a subnet's IPv6 block is a /64 inside its VCN's IPv6 /56."""
        vcn = self.state.resources["vcns"].get(subnet["vcnId"]) or {}
        try:
            network = ipaddress.ip_network(block)
        except ValueError:
            raise ApiError(400, "InvalidParameter", f"ipv6CidrBlock {block} is not a valid CIDR") from None
        parents = [ipaddress.ip_network(b) for b in vcn.get("ipv6CidrBlocks") or []]
        if network.prefixlen != 64 or not any(network.subnet_of(p) for p in parents):
            raise ApiError(
                400, "InvalidParameter", f"ipv6CidrBlock {block} must be a /64 within the VCN's IPv6 CIDR"
            )
        subnet.update(ipv6CidrBlock=block, ipv6CidrBlocks=[block], ipv6VirtualRouterIp=str(network[1]))

    def _create_publicIps(self, resource, body):  # noqa: N802 - Oracle's resource name
        if body["lifetime"] not in ("RESERVED", "EPHEMERAL"):
            raise ApiError(400, "InvalidParameter", "lifetime must be RESERVED or EPHEMERAL")
        taken = {ip.get("ipAddress") for ip in self.state.resources["publicIps"].values()}
        address = next(f"203.0.113.{n}" for n in range(10, 250) if f"203.0.113.{n}" not in taken)
        resource.update(ipAddress=address, scope="REGION", assignedEntityId=None)
        if body.get("privateIpId"):
            resource["assignedEntityId"] = body["privateIpId"]
            resource["ipAddress"] = self.state.lab_addresses.get(body["privateIpId"], address)

    def _create_instances(self, resource, body):
        source = body.get("sourceDetails") or {}
        image_ids = {image["id"] for image in self.state.images}
        if source.get("sourceType") != "image" or source.get("imageId") not in image_ids:
            raise ApiError(400, "InvalidParameter", "sourceDetails.imageId must name an available image")
        image = next(image for image in self.state.images if image["id"] == source["imageId"])
        if body["shape"] not in image["shapes"]:
            raise ApiError(
                400, "InvalidParameter", f"Shape {body['shape']} is not valid for image {image['id']}"
            )
        vnic_details = body.get("createVnicDetails") or {}
        subnet_id = vnic_details.get("subnetId")
        if subnet_id not in self.state.resources["subnets"]:
            raise not_found(f"subnet {subnet_id}")
        subnet = self.state.resources["subnets"][subnet_id]
        if vnic_details.get("assignIpv6Ip") and not subnet.get("ipv6CidrBlock"):
            raise ApiError(400, "InvalidParameter", f"subnet {subnet_id} is not IPv6-enabled")
        if body["availabilityDomain"] not in AVAILABILITY_DOMAINS:
            raise ApiError(
                400, "InvalidParameter", f"Invalid availabilityDomain {body['availabilityDomain']}"
            )
        config = body.get("shapeConfig") or {}
        resource.update(
            region=REGION,
            faultDomain=body.get("faultDomain") or FAULT_DOMAINS[0],
            imageId=image["id"],
            shapeConfig={
                "ocpus": float(config.get("ocpus", 1)),
                "memoryInGBs": float(config.get("memoryInGBs", 6)),
            },
            sourceDetails={
                "sourceType": "image",
                "imageId": image["id"],
                "bootVolumeSizeInGBs": source.get("bootVolumeSizeInGBs") or 47,
            },
            metadata=body.get("metadata") or {},
        )
        vnic = {
            "id": ocid("vnic"),
            "subnetId": subnet_id,
            "privateIp": f"10.0.0.{10 + len(self.state.vnics)}",
            "publicIp": None,
            "ipv6Addresses": (
                [str(ipaddress.ip_network(subnet["ipv6CidrBlock"])[16 + len(self.state.vnics)])]
                if vnic_details.get("assignIpv6Ip")
                else []
            ),
            "isPrimary": True,
            "lifecycleState": "AVAILABLE",
        }
        private_ip = {
            "id": ocid("privateip"),
            "vnicId": vnic["id"],
            "ipAddress": vnic["privateIp"],
            "isPrimary": True,
            "subnetId": subnet_id,
        }
        self.state.vnics[vnic["id"]] = {**vnic, "_instance": resource["id"]}
        self.state.private_ips[private_ip["id"]] = private_ip
        resource["_vnic"] = vnic["id"]

    def _boot(self, instance):
        """PROVISIONING until the lab's host is up (started in the background, as Oracle's
        instances boot while the API answers), then RUNNING at the host's address."""
        instance.pop("_next", None)
        state = self.state

        def boot():
            address = state.boot(self.view(instance))
            with state.lock:
                vnic = state.vnics[instance["_vnic"]]
                vnic["privateIp"] = address
                for private_ip in state.private_ips.values():
                    if private_ip["vnicId"] == vnic["id"]:
                        private_ip["ipAddress"] = address
                        state.lab_addresses[private_ip["id"]] = address
                        for public_ip in state.resources["publicIps"].values():
                            if public_ip.get("privateIpId") == private_ip["id"]:
                                public_ip["ipAddress"] = address
                instance["lifecycleState"] = "RUNNING"

        threading.Thread(target=boot, daemon=True).start()

    def _release_instance_addresses(self, instance):
        vnic = self.state.vnics.get(instance.get("_vnic"))
        if vnic:
            vnic["lifecycleState"] = "DETACHED"
            for public_ip in self.state.resources["publicIps"].values():
                private = self.state.private_ips.get(public_ip.get("privateIpId") or "")
                if private and private["vnicId"] == vnic["id"]:
                    public_ip.update(privateIpId=None, assignedEntityId=None)

    def update(self, kind, resource_id, body, headers):
        resource = self.get(kind, resource_id)
        if resource["lifecycleState"] not in ALIVE:
            raise ApiError(
                409, "IncorrectState", f"{kind[:-1]} {resource_id} is {resource['lifecycleState']}"
            )
        match = headers.get("if-match")
        if match and match != resource["_etag"]:
            raise ApiError(412, "PreconditionFailed", "The resource has changed since the if-match ETag")
        unknown = set(body) - UPDATABLE[kind]
        if unknown:
            raise ApiError(400, "InvalidParameter", f"Cannot update {', '.join(sorted(unknown))}")
        if kind == "publicIps" and "privateIpId" in body:
            if body["privateIpId"] and body["privateIpId"] not in self.state.private_ips:
                raise not_found(f"privateIp {body['privateIpId']}")
            resource["assignedEntityId"] = body["privateIpId"] or None
            resource["ipAddress"] = self.state.lab_addresses.get(body["privateIpId"], resource["ipAddress"])
        resource.update(body)
        resource["_etag"] = secrets.token_hex(8)
        return resource

    def delete(self, kind, resource_id, headers):
        resource = self.get(kind, resource_id)
        match = headers.get("if-match")
        if match and match != resource["_etag"]:
            raise ApiError(412, "PreconditionFailed", "The resource has changed since the if-match ETag")
        if resource["lifecycleState"] in ("TERMINATING", "TERMINATED"):
            return None
        dependents = self._dependents(kind, resource_id)
        if dependents:
            raise ApiError(
                409,
                "Conflict",
                f"The {kind[:-1]} {resource_id} references {dependents[0]} and cannot be deleted.",
            )
        self._move(resource, "TERMINATING", "TERMINATED")
        return None

    def _dependents(self, kind, resource_id):
        """What still uses a resource: Oracle refuses to delete it until they are gone."""
        alive = [
            (k, r)
            for k, items in self.state.resources.items()
            for r in items.values()
            if self._settle(k, r)["lifecycleState"] in ALIVE
        ]
        if kind == "vcns":
            defaults = {r.get("defaultRouteTableId") for _, r in alive} | {
                r.get("defaultSecurityListId") for _, r in alive
            }
            return [r["id"] for k, r in alive if r.get("vcnId") == resource_id and r["id"] not in defaults]
        if kind == "subnets":
            return [
                v["_instance"]
                for v in self.state.vnics.values()
                if v["subnetId"] == resource_id and v["lifecycleState"] == "AVAILABLE"
            ]
        if kind in ("routeTables", "securityLists", "internetGateways"):
            field = {"routeTables": "routeTableId", "internetGateways": "networkEntityId"}.get(kind)
            users = [
                r["id"]
                for k, r in alive
                if k == "subnets"
                and (r.get("routeTableId") == resource_id or resource_id in r.get("securityListIds", []))
            ]
            users += [
                r["id"]
                for k, r in alive
                if k == "routeTables"
                and any(rule.get(field or "") == resource_id for rule in r.get("routeRules", []))
            ]
            return users
        return []

    def listing(self, kind, query):
        compartment = query.get("compartmentId")
        if not compartment:
            raise ApiError(400, "InvalidParameter", "compartmentId must be specified")
        if compartment not in self.state.compartments:
            raise not_found(f"compartment {compartment}")
        items = [
            self._settle(kind, r)
            for r in self.state.resources[kind].values()
            if r["compartmentId"] == compartment
        ]
        for name in KINDS[kind]["filters"] + ("displayName", "lifecycleState"):
            if query.get(name):
                items = [r for r in items if r.get(name) == query[name]]
        if kind == "publicIps":
            if query.get("scope") != "REGION":
                raise ApiError(400, "InvalidParameter", "scope must be REGION for reserved public IPs")
            items = [r for r in items if not query.get("lifetime") or r.get("lifetime") == query["lifetime"]]
        return sorted(items, key=lambda r: r["_order"])

    # -- instances, images, addresses ----------------------------------------------------
    def instance_action(self, resource_id, action):
        instance = self.get("instances", resource_id)
        moves = {
            "STOP": ("STOPPING", "STOPPED"),
            "START": ("STARTING", "RUNNING"),
            "SOFTRESET": ("STOPPING", "RUNNING"),
            "RESET": ("STOPPING", "RUNNING"),
        }
        if action not in moves:
            raise ApiError(400, "InvalidParameter", f"Unknown action {action}")
        self._move(instance, *moves[action])
        return instance

    def vnic_attachments(self, query):
        instance_id = query.get("instanceId")
        out = []
        for vnic in self.state.vnics.values():
            if instance_id and vnic["_instance"] != instance_id:
                continue
            instance = self.state.resources["instances"].get(vnic["_instance"])
            if instance is None or instance["compartmentId"] != query.get("compartmentId"):
                continue
            state = "ATTACHED" if vnic["lifecycleState"] == "AVAILABLE" else "DETACHED"
            out.append(
                {
                    "id": "ocid1.vnicattachment." + vnic["id"][11:],
                    "instanceId": vnic["_instance"],
                    "vnicId": vnic["id"],
                    "subnetId": vnic["subnetId"],
                    "lifecycleState": state,
                    "availabilityDomain": instance["availabilityDomain"],
                    "compartmentId": instance["compartmentId"],
                }
            )
        return out

    def vnic(self, vnic_id):
        vnic = self.state.vnics.get(vnic_id)
        if vnic is None:
            raise not_found(f"vnic {vnic_id}")
        private = next(p for p in self.state.private_ips.values() if p["vnicId"] == vnic_id)
        public = next(
            (r for r in self.state.resources["publicIps"].values() if r.get("privateIpId") == private["id"]),
            None,
        )
        return {**self.view(vnic), "publicIp": public["ipAddress"] if public else None}

    def images(self, query):
        items = [
            i
            for i in self.state.images
            if (not query.get("operatingSystem") or i["operatingSystem"] == query["operatingSystem"])
            and (
                not query.get("operatingSystemVersion")
                or i["operatingSystemVersion"] == query["operatingSystemVersion"]
            )
            and (not query.get("shape") or query["shape"] in i["shapes"])
        ]
        if query.get("sortBy", "TIMECREATED") == "TIMECREATED":
            items.sort(key=lambda i: i["timeCreated"], reverse=query.get("sortOrder", "DESC") == "DESC")
        return [{k: v for k, v in i.items() if k != "shapes"} for i in items]


DEFAULT_INGRESS = [
    {
        "protocol": "6",
        "source": "0.0.0.0/0",
        "sourceType": "CIDR_BLOCK",
        "isStateless": False,
        "tcpOptions": {"destinationPortRange": {"min": 22, "max": 22}},
    },
    {
        "protocol": "1",
        "source": "0.0.0.0/0",
        "sourceType": "CIDR_BLOCK",
        "isStateless": False,
        "icmpOptions": {"type": 3, "code": 4},
    },
]
DEFAULT_EGRESS = [
    {"protocol": "all", "destination": "0.0.0.0/0", "destinationType": "CIDR_BLOCK", "isStateless": False}
]


class SignatureError(Exception):
    pass


def verify_signature(state: State, method: str, target: str, headers: dict, body: bytes) -> None:
    """Oracle's request signature check: the headers it requires, signed with a key the
    tenancy knows, and a body that matches its x-content-sha256."""
    authorization = headers.get("authorization", "")
    if not authorization.startswith("Signature "):
        raise SignatureError("The required information to complete authentication was not provided.")
    fields = dict(re.findall(r'(\w+)="([^"]*)"', authorization))
    signed = fields.get("headers", "").split()
    required = ["date", "(request-target)", "host"]
    if method in ("POST", "PUT", "PATCH"):
        required += ["content-length", "content-type", "x-content-sha256"]
    if fields.get("algorithm") != "rsa-sha256" or any(name not in signed for name in required):
        raise SignatureError(f"The signature must cover {' '.join(required)} with rsa-sha256.")
    key_id = fields.get("keyId", "").split("/")
    if len(key_id) != 3 or key_id[1] != state.user or key_id[2] not in state.keys:
        raise SignatureError("The key id does not name a known user and API key fingerprint.")
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise SignatureError(f"The signed header {name} is missing.")
    try:
        state.keys[key_id[2]].verify(
            base64.b64decode(fields.get("signature", "")),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError) as error:
        raise SignatureError("The signature does not match the request.") from error
    if "x-content-sha256" in signed:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if headers["x-content-sha256"] != digest:
            raise SignatureError("x-content-sha256 does not match the body.")
    sent = parsedate_to_datetime(headers["date"]).timestamp()
    if abs(sent - time.time()) > 300:
        raise SignatureError("The date header is more than 5 minutes from the server's clock.")


ROUTE = re.compile(rf"^{API}/(\w+)(?:/([^/]+))?(?:/(\w+))?$")


class Handler(BaseHTTPRequestHandler):
    state: State
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, each answer on a kept-alive
    # connection waits for the client's delayed ACK (tens of ms a request).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _send(self, status, payload, extra_headers=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("opc-request-id", secrets.token_hex(16).upper())
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/_emulator/"):
            return self._control(method, url.path, raw)
        headers = {k.lower(): v for k, v in self.headers.items()}
        state = self.state
        with state.lock:
            body = json.loads(raw) if raw else {}
            entry = {
                "method": method,
                "path": url.path,
                "query": query,
                "body": body,
                "retry_token": headers.get("opc-retry-token"),
            }
            state.requests.append(entry)
            try:
                verify_signature(state, method, self.path, headers, raw)
            except SignatureError as error:
                entry["status"] = 401
                return self._send(401, {"code": "NotAuthenticated", "message": str(error)})
            fault = self._fault(method, url.path, body)
            if fault:
                entry["status"] = fault["status"]
                extra = {"retry-after": str(fault["retry_after"])} if fault.get("retry_after") else None
                return self._send(
                    fault["status"], {"code": fault["code"], "message": fault["message"]}, extra
                )
            try:
                status, payload, extra = self._route(method, url.path, query, body, headers)
            except ApiError as error:
                entry["status"] = error.status
                return self._send(error.status, error.body)
            entry["status"] = status
            return self._send(status, payload, extra)

    def _fault(self, method, path, body):
        for fault in self.state.faults:
            if fault.get("method", method) != method or not re.search(fault.get("path", ""), path):
                continue
            if (
                fault.get("availability_domain")
                and body.get("availabilityDomain") != fault["availability_domain"]
            ):
                continue
            if fault.get("display_name") and body.get("displayName") != fault["display_name"]:
                continue
            if fault.get("times", 1) <= 0:
                continue
            if fault.get("skip", 0) > 0:  # let the first matching requests through
                fault["skip"] -= 1
                continue
            fault["times"] = fault.get("times", 1) - 1
            return {"status": 500, "code": "InternalError", "message": "Internal error", **fault}
        return None

    def _route(self, method, path, query, body, headers):  # noqa: PLR0911, PLR0912 - one dispatch table
        api = Api(self.state)
        match = ROUTE.match(path)
        if not match:
            raise ApiError(404, "NotFound", f"No such operation: {method} {path}")
        collection, item, action = match.groups()
        if collection == "availabilityDomains" and method == "GET":
            return (
                200,
                [
                    {"name": name, "compartmentId": query.get("compartmentId"), "id": ocid("ad")}
                    for name in AVAILABILITY_DOMAINS
                ],
                None,
            )
        if collection == "images" and method == "GET" and not item:
            return self._page(api.images(query), query)
        if collection == "vnicAttachments" and method == "GET":
            return self._page(api.vnic_attachments(query), query)
        if collection == "vnics" and method == "GET" and item:
            return 200, api.vnic(item), None
        if collection == "privateIps" and method == "GET" and not item:
            return (
                200,
                [p for p in self.state.private_ips.values() if p["vnicId"] == query.get("vnicId")],
                None,
            )
        if collection not in KINDS:
            raise ApiError(404, "NotFound", f"No such operation: {method} {path}")
        if method == "GET" and not item:
            items = [api.view(r) for r in api.listing(collection, query)]
            return self._page(items, query)
        if method == "POST" and not item:
            resource = api.create(collection, body, headers)
            return 200, api.view(resource), {"etag": resource["_etag"]}
        if method == "GET":
            resource = api.get(collection, item)
            return 200, api.view(resource), {"etag": resource["_etag"]}
        if method == "PUT":
            resource = api.update(collection, item, body, headers)
            return 200, api.view(resource), {"etag": resource["_etag"]}
        if method == "DELETE":
            api.delete(collection, item, headers)
            return 204, None, None
        if method == "POST" and collection == "instances" and query.get("action"):
            resource = api.instance_action(item, query["action"])
            return 200, api.view(resource), {"etag": resource["_etag"]}
        raise ApiError(404, "NotFound", f"No such operation: {method} {path}")

    def _page(self, items, query):
        size = min(int(query.get("limit") or self.state.page_size), self.state.page_size)
        start = int(query.get("page") or 0)
        page = items[start : start + size]
        extra = {"opc-next-page": str(start + size)} if start + size < len(items) else None
        return 200, page, extra

    def _control(self, method, path, raw):  # noqa: PLR0911 - one dispatch table
        state = self.state
        with state.lock:
            if path == "/_emulator/requests" and method == "GET":
                return self._send(200, state.requests)
            if path == "/_emulator/requests" and method == "DELETE":
                state.requests.clear()
                return self._send(200, {})
            if path == "/_emulator/faults" and method == "POST":
                state.faults.extend(json.loads(raw))
                return self._send(200, state.faults)
            if path == "/_emulator/faults" and method == "DELETE":
                state.faults.clear()
                return self._send(200, {})
            if path == "/_emulator/settings" and method == "POST":
                settings = json.loads(raw)
                state.transition_seconds = settings.get("transition_seconds", state.transition_seconds)
                state.page_size = settings.get("page_size", state.page_size)
                state.launch_outcome = settings.get("launch_outcome", state.launch_outcome)
                return self._send(200, {})
            if path == "/_emulator/state" and method == "GET":
                return self._send(
                    200,
                    {kind: [Api.view(r) for r in items.values()] for kind, items in state.resources.items()},
                )
        return self._send(404, {"code": "NotFound", "message": path})

    def do_GET(self):  # noqa: N802 - http.server's names
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")


def seed(state: State) -> dict:
    """What a new Always Free account in the region has: a compartment, and Canonical Ubuntu
    images for A1 (newest last, so the lookup must sort)."""
    compartment = state.add_compartment()
    for version, created in (
        ("22.04", "2026-08-01T00:00:00.000Z"),
        ("24.04", "2026-09-01T00:00:00.000Z"),
        ("24.04", "2026-10-15T00:00:00.000Z"),
        ("24.04", "2026-07-01T00:00:00.000Z"),
    ):
        state.add_image("Canonical Ubuntu", version, ["VM.Standard.A1.Flex"], created)
    state.add_image("Canonical Ubuntu", "24.04", ["VM.Standard.E2.1.Micro"], "2026-11-01T00:00:00.000Z")
    return {"tenancy": TENANCY, "user": state.user, "region": REGION, "compartment": compartment}


def serve(port: int, public_keys: list[bytes], boot=None, halt=None) -> tuple[ThreadingHTTPServer, dict]:
    """The emulator on 127.0.0.1:PORT (0: any free port); with BOOT/HALT, launched instances
    boot as lab hosts (see labkit.lab.oci_boot)."""
    state = State(public_keys)
    state.boot, state.halt = boot, halt
    account = seed(state)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, {**account, "url": f"http://127.0.0.1:{server.server_address[1]}"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit oci-emulator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run in the foreground")
    serve_parser.add_argument("--port", type=int, default=8788)
    serve_parser.add_argument(
        "--public-key", required=True, help="PEM of the API key the requests are signed with"
    )
    args = parser.parse_args(argv)
    with open(args.public_key, "rb") as pem:
        server, account = serve(args.port, [pem.read()])
    print(json.dumps(account), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0
