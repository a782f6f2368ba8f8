#!/usr/bin/python
"""The Always Free A1 instance: launched across availability domains when Oracle is out of
capacity, never twice, within the free ceiling unless the user accepts charges."""

DOCUMENTATION = r"""
module: oci_instance
short_description: The stack's Ampere A1 instance in OCI, with a reserved public IP
description:
  - Launches (or finds, by compartment, display name O(name) and the freeform tag
    C(flowspace-stack=<stack>)) one instance of O(shape) with O(ocpus) and O(memory_in_gbs),
    the newest image of O(operating_system) O(operating_system_version) for that shape (looked
    up like the console does, newest first), O(boot_volume_size_in_gbs), the cloud-init
    O(user_data) and O(ssh_authorized_keys); then gives its primary private IP a reserved public
    IP C(<name>-ip), tagged the same way, so the address outlives the instance.
  - B(Out of host capacity.) Oracle answers a launch in a busy region with HTTP 500
    C(InternalError) "Out of host capacity" (or "shape ... not found" in an availability domain
    without that shape). Every availability domain (and each of O(fault_domains), if given) is
    tried in turn; when all are out, the module waits and tries again, up to
    O(launch_attempts) rounds with delays growing from O(launch_retry_delay) to
    O(launch_retry_max_delay) seconds, then fails saying what was tried. Each launch request
    carries an C(opc-retry-token); an answer that is lost is settled by looking for the instance
    by name and tag before anything is sent again, so a retry never makes a second instance.
  - C(LimitExceeded) and quota errors are not retried; the message explains them.
  - B(Always Free guard.) Before any write, the plan is refused when this instance (or every
    instance of O(plan)) plus the compartment's other A1 instances would exceed the free ceiling
    (4 OCPUs, 24 GB, 200 GB of block storage), unless O(accept_charges=true). With
    O(only_check_plan=true) the module checks that and nothing else, so a playbook can refuse a
    plan of several instances before it makes the network or the first of them.
  - With O(state=absent), terminates the instance (boot volume included) and deletes its
    reserved public IP, both found by name and tag.
author: FlowSpace infra (@flowspace)
requirements: [oci]
extends_documentation_fragment: [flowspace.infra.oci, flowspace.infra.check_and_diff.check_only]
options:
  name:
    description: The instance's display name (the reserved IP is C(<name>-ip)).
    type: str
    required: true
  stack:
    description: The value of the C(flowspace-stack) freeform tag (what the project made).
    type: str
    default: flowspace
  state:
    description: Whether the instance should exist.
    type: str
    choices: [present, absent]
    default: present
  subnet_id:
    description:
      - The subnet of its primary VNIC (required with O(state=present)).
      - In check mode it may be missing (the network is not made yet), and the launch is reported.
    type: str
  shape:
    description: The shape.
    type: str
    default: VM.Standard.A1.Flex
  ocpus:
    description: OCPUs of the flexible shape.
    type: float
    default: 4
  memory_in_gbs:
    description: Memory in GB.
    type: float
    default: 24
  boot_volume_size_in_gbs:
    description: Boot volume size (50 to 200 for Always Free).
    type: int
    default: 50
  operating_system:
    description: The image's operating system.
    type: str
    default: Canonical Ubuntu
  operating_system_version:
    description: Its version.
    type: str
    default: "24.04"
  image_id:
    description: An image OCID, instead of looking one up.
    type: str
  user_data:
    description: The cloud-init user data (plain text; sent base64-encoded).
    type: str
    default: ""
  ssh_authorized_keys:
    description: OpenSSH public keys for the image's default user.
    type: list
    elements: str
    default: []
  availability_domains:
    description: The availability domains to try, in order; default all of the region's.
    type: list
    elements: str
    default: []
  fault_domains:
    description: Fault domains to try within each availability domain; default let Oracle choose.
    type: list
    elements: str
    default: []
  launch_attempts:
    description: Rounds over every availability domain before giving up on capacity.
    type: int
    default: 3
  launch_retry_delay:
    description: Seconds to wait after the first round; doubles each round.
    type: float
    default: 60
  launch_retry_max_delay:
    description: The longest wait between rounds.
    type: float
    default: 600
  reserved_public_ip:
    description: Give the instance a reserved public IP (kept across re-creation of the instance).
    type: bool
    default: true
  accept_charges:
    description: Allow a plan beyond the Always Free A1 ceiling (it will be billed).
    type: bool
    default: false
  plan:
    description:
      - Every instance the stack will have (this one included), for the free-ceiling check; the
        compartment's A1 instances named here are counted by their planned size, the others as
        they are. Default this instance alone.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The instance's display name.
        type: str
        required: true
      ocpus:
        description: Its OCPUs.
        type: float
        default: 4
      memory_in_gbs:
        description: Its memory in GB.
        type: float
        default: 24
      boot_volume_size_in_gbs:
        description: Its boot volume in GB.
        type: int
        default: 50
  only_check_plan:
    description: Check the plan against the free ceiling (reads only) and stop; O(subnet_id) is not needed.
    type: bool
    default: false
  assign_ipv6:
    description:
      - Give the instance's VNIC an IPv6 address from the subnet's block (the subnet must have one,
        see P(flowspace.infra.oci_network#module)'s O(flowspace.infra.oci_network#module:ipv6)).
      - Applies when the instance is launched; an existing instance is reported, not changed.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The A1 instance, its cloud-init from playbooks/cloud_init.yml
  flowspace.infra.oci_instance:
    compartment_id: "{{ oci_compartment_id }}"
    name: flowspace-1
    subnet_id: "{{ network.subnet_id }}"
    user_data: "{{ lookup('ansible.builtin.file', 'cloud-init/flowspace-1.yaml') }}"
    ssh_authorized_keys: ["{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"]
  register: instance
"""

RETURN = r"""
instance_id:
  description: The instance's OCID.
  type: str
  returned: state=present and not in check mode before it exists
public_ip:
  description: Its public address (the reserved one).
  type: str
  returned: state=present and not in check mode before it exists
private_ip:
  description: Its private address.
  type: str
  returned: state=present and not in check mode before it exists
ipv6_addresses:
  description: Its IPv6 addresses (empty without O(assign_ipv6)).
  type: list
  elements: str
  returned: state=present and not in check mode before it exists
availability_domain:
  description: Where it runs.
  type: str
  returned: state=present and not in check mode before it exists
image_id:
  description: The image it was (or would be) launched from.
  type: str
  returned: state=present
attempts:
  description: Each launch tried, with Oracle's answer.
  type: list
  elements: dict
  returned: always
planned:
  description: The instances the free-ceiling check counted as planned.
  type: list
  elements: dict
  returned: with O(only_check_plan)
actions:
  description: What was (or in check mode would be) done.
  type: list
  elements: str
  returned: always
"""

import base64
import time
import uuid

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils import oci_common
from ansible_collections.flowspace.infra.plugins.module_utils.oci_common import HAS_OCI

if HAS_OCI:
    import oci
    from oci.core import models

# Oracle's Always Free allowance for Ampere A1, across the tenancy.
FREE_A1 = {"ocpus": 4, "memory_in_gbs": 24, "block_gbs": 200}
A1_SHAPE = "VM.Standard.A1.Flex"


def is_capacity_error(error):
    message = str(error.message).lower()
    return "out of host capacity" in message or (
        error.status in (400, 404) and "shape" in message and "not found" in message
    )


class Instance:
    def __init__(self, module):
        self.module, self.params = module, module.params
        self.config = oci_common.load_config(module)
        self.compute = oci_common.client(module, self.config, oci.core.ComputeClient)
        self.network = oci_common.client(module, self.config, oci.core.VirtualNetworkClient)
        self.identity = oci_common.client(module, self.config, oci.identity.IdentityClient)
        self.compartment = self.params["compartment_id"]
        self.result = {"changed": False, "actions": [], "attempts": []}

    def call(self, doing, function, *args, **kwargs):
        """One API call; a failure reports what the run already did (`changed`, `actions`)."""
        return oci_common.call(self.module, doing, function, *args, result=self.result, **kwargs)

    def find(self):
        return oci_common.find_managed(
            self.module,
            f"find the instance {self.params['name']}",
            self.compute.list_instances,
            self.params["name"],
            self.params["stack"],
            self.compartment,
            result=self.result,
        )

    def find_ip(self):
        return oci_common.find_managed(
            self.module,
            "find the reserved public IP",
            self.network.list_public_ips,
            f"{self.params['name']}-ip",
            self.params["stack"],
            "REGION",
            self.compartment,
            lifetime="RESERVED",
            result=self.result,
        )

    def act(self, action):
        self.result["actions"].append(action)
        self.result["changed"] = True

    # -- the free ceiling ------------------------------------------------------------------
    def planned_instances(self):
        return self.params["plan"] or [{
            "name": self.params["name"], "ocpus": self.params["ocpus"],
            "memory_in_gbs": self.params["memory_in_gbs"],
            "boot_volume_size_in_gbs": self.params["boot_volume_size_in_gbs"],
        }]

    def check_free_ceiling(self):
        if self.params["accept_charges"] or self.params["shape"] != A1_SHAPE:
            return
        plan = self.planned_instances()
        names = {item["name"] for item in plan}
        others = [
            i
            for i in oci_common.list_all(
                self.module,
                "list the compartment's instances",
                self.compute.list_instances,
                self.compartment,
                result=self.result,
            )
            if i.shape == A1_SHAPE
            and i.lifecycle_state not in oci_common.GONE
            and i.display_name not in names
        ]
        used = {
            "ocpus": sum(i.shape_config.ocpus for i in others),
            "memory_in_gbs": sum(i.shape_config.memory_in_gbs for i in others),
            "block_gbs": sum((i.source_details.boot_volume_size_in_gbs or 47) for i in others),
        }
        planned = {
            "ocpus": sum(item["ocpus"] for item in plan),
            "memory_in_gbs": sum(item["memory_in_gbs"] for item in plan),
            "block_gbs": sum(item["boot_volume_size_in_gbs"] for item in plan),
        }
        over = [
            f"{key} {used[key]:g} in use + {planned[key]:g} planned > {FREE_A1[key]} free"
            for key in FREE_A1
            if used[key] + planned[key] > FREE_A1[key]
        ]
        if over:
            self.module.fail_json(
                msg="the plan ("
                + ", ".join(sorted(names))
                + ") exceeds Oracle's Always Free A1 ceiling ("
                + "; ".join(over)
                + "); nothing was created. Lower ocpus/memory_in_gbs/boot_volume_size_in_gbs or set "
                "accept_charges=true",
                in_use=used,
                planned=planned,
                **self.result,
            )

    # -- present ---------------------------------------------------------------------------
    def image(self):
        if self.params["image_id"]:
            return self.params["image_id"]
        images = self.call(
            "look up the image",
            self.compute.list_images,
            self.compartment,
            operating_system=self.params["operating_system"],
            operating_system_version=self.params["operating_system_version"],
            shape=self.params["shape"],
            sort_by="TIMECREATED",
            sort_order="DESC",
        ).data
        if not images:
            self.module.fail_json(
                msg=f"no {self.params['operating_system']} {self.params['operating_system_version']} "
                f"image for {self.params['shape']} in this region"
            )
        return images[0].id

    def launch_details(self, image_id, domain, fault_domain):
        metadata = {}
        if self.params["ssh_authorized_keys"]:
            metadata["ssh_authorized_keys"] = "\n".join(self.params["ssh_authorized_keys"])
        if self.params["user_data"]:
            metadata["user_data"] = base64.b64encode(self.params["user_data"].encode()).decode()
        flexible = self.params["shape"].endswith(".Flex")
        return models.LaunchInstanceDetails(
            compartment_id=self.compartment,
            availability_domain=domain,
            fault_domain=fault_domain,
            display_name=self.params["name"],
            shape=self.params["shape"],
            shape_config=models.LaunchInstanceShapeConfigDetails(
                ocpus=self.params["ocpus"], memory_in_gbs=self.params["memory_in_gbs"]
            )
            if flexible
            else None,
            source_details=models.InstanceSourceViaImageDetails(
                image_id=image_id, boot_volume_size_in_gbs=self.params["boot_volume_size_in_gbs"]
            ),
            create_vnic_details=models.CreateVnicDetails(
                subnet_id=self.params["subnet_id"],
                assign_public_ip=False,
                assign_ipv6_ip=self.params["assign_ipv6"] or None,
            ),
            metadata=metadata,
            freeform_tags=oci_common.tags(self.params["stack"]),
        )

    def domains(self):
        if self.params["availability_domains"]:
            return self.params["availability_domains"]
        found = self.call(
            "list the availability domains",
            self.identity.list_availability_domains,
            self.config["tenancy"],
        ).data
        return [domain.name for domain in found]

    def launch(self, image_id):
        """Every availability domain (and fault domain) per round; capacity errors move on,
        anything else stops. Returns the launched instance."""
        delay = self.params["launch_retry_delay"]
        places = [
            (domain, fault) for domain in self.domains() for fault in (self.params["fault_domains"] or [None])
        ]
        for attempt in range(1, self.params["launch_attempts"] + 1):
            for domain, fault in places:
                tried = {"round": attempt, "availability_domain": domain, "fault_domain": fault}
                self.result["attempts"].append(tried)
                try:
                    return self.compute.launch_instance(
                        self.launch_details(image_id, domain, fault),
                        opc_retry_token=uuid.uuid4().hex,
                        retry_strategy=oci.retry.NoneRetryStrategy(),
                    ).data
                except oci.exceptions.ServiceError as error:
                    tried["answer"] = f"{error.status} {error.code}: {error.message}"
                    if is_capacity_error(error):
                        continue
                    # Anything else (limits and quotas included) is not retried; explain() says why.
                    self.module.fail_json(msg=oci_common.explain(error, f"launch in {domain}"), **self.result)
                except (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout) as error:
                    # The launch may have gone through: look before sending anything again.
                    tried["answer"] = f"no answer ({error})"
                    found = self.find()
                    if found is not None:
                        return found
            if attempt < self.params["launch_attempts"]:
                time.sleep(delay)
                delay = min(delay * 2, self.params["launch_retry_max_delay"])
        where = ", ".join(sorted({d for d, _fault in places}))
        self.module.fail_json(
            msg=f"Oracle had no capacity for {self.params['shape']} ({self.params['ocpus']:g} OCPUs, "
            f"{self.params['memory_in_gbs']:g} GB) in any of {where} over {self.params['launch_attempts']} "
            f"round(s); nothing was created. Try again later, another region is not an option for "
            "Always Free (home region only), or lower ocpus/memory_in_gbs.",
            **self.result,
        )
        return None

    def present(self):
        existing = self.find()
        self.check_free_ceiling()
        image_id = existing.source_details.image_id if existing else self.image()
        self.result["image_id"] = image_id
        if existing is None:
            launching = (
                f"launch {self.params['name']} ({self.params['shape']}, {self.params['ocpus']:g} OCPUs, "
                f"{self.params['memory_in_gbs']:g} GB)"
            )
            if self.module.check_mode:
                self.act(launching)
                if self.params["reserved_public_ip"] and self.find_ip() is None:
                    self.act(f"reserve public IP {self.params['name']}-ip")
                return self.result
            # Recorded once Oracle took it: a launch refused for capacity changed nothing.
            existing = self.launch(image_id)
            self.act(launching + f": {existing.id}")
        elif self.params["shape"].endswith(".Flex") and (
            existing.shape_config.ocpus != self.params["ocpus"]
            or existing.shape_config.memory_in_gbs != self.params["memory_in_gbs"]
        ):
            self.act(
                f"resize {existing.id} to {self.params['ocpus']:g} OCPUs, {self.params['memory_in_gbs']:g} GB"
            )
            if not self.module.check_mode:
                self.call(
                    "resize the instance",
                    self.compute.update_instance,
                    existing.id,
                    models.UpdateInstanceDetails(
                        shape_config=models.UpdateInstanceShapeConfigDetails(
                            ocpus=self.params["ocpus"], memory_in_gbs=self.params["memory_in_gbs"]
                        )
                    ),
                )
        instance = existing
        if not self.module.check_mode:
            instance = oci_common.wait_for_state(
                self.module,
                "wait for the instance to run",
                self.compute.get_instance,
                existing.id,
                states=("RUNNING",),
                timeout=self.params["wait_timeout"],
                result=self.result,
            )
        self.result.update(instance_id=instance.id, availability_domain=instance.availability_domain)
        private_ip = self.primary_private_ip(instance)
        self.result["private_ip"] = private_ip.ip_address if private_ip else None
        self.result["ipv6_addresses"] = self.ipv6_addresses(private_ip)
        if self.params["assign_ipv6"] and not self.result["ipv6_addresses"]:
            self.module.warn(
                f"{self.params['name']} has no IPv6 address: assign_ipv6 applies at launch, and this "
                "instance was launched without it (terminate it with state=absent to relaunch)"
            )
        if self.params["reserved_public_ip"] and private_ip is not None:
            self.result["public_ip"] = self.ensure_reserved_ip(private_ip)
        return self.result

    def primary_private_ip(self, instance):
        attachments = [
            a
            for a in oci_common.list_all(
                self.module,
                "list the instance's VNICs",
                self.compute.list_vnic_attachments,
                self.compartment,
                instance_id=instance.id,
                result=self.result,
            )
            if a.lifecycle_state == "ATTACHED"
        ]
        if not attachments:
            return None
        private_ips = self.call(
            "read the VNIC's addresses",
            self.network.list_private_ips,
            vnic_id=attachments[0].vnic_id,
        ).data
        return next((ip for ip in private_ips if ip.is_primary), None)

    def ipv6_addresses(self, private_ip):
        if private_ip is None:
            return []
        vnic = self.call("read the VNIC", self.network.get_vnic, private_ip.vnic_id).data
        return list(vnic.ipv6_addresses or [])

    def ensure_reserved_ip(self, private_ip):
        public = self.find_ip()
        if public is None:
            self.act(f"reserve public IP {self.params['name']}-ip for {private_ip.ip_address}")
            if self.module.check_mode:
                return None
            public = self.call(
                "reserve a public IP",
                self.network.create_public_ip,
                models.CreatePublicIpDetails(
                    compartment_id=self.compartment,
                    lifetime="RESERVED",
                    display_name=f"{self.params['name']}-ip",
                    private_ip_id=private_ip.id,
                    freeform_tags=oci_common.tags(self.params["stack"]),
                ),
            ).data
        elif public.assigned_entity_id != private_ip.id:
            self.act(f"assign public IP {public.ip_address} to {private_ip.ip_address}")
            if not self.module.check_mode:
                self.call(
                    "assign the public IP",
                    self.network.update_public_ip,
                    public.id,
                    models.UpdatePublicIpDetails(private_ip_id=private_ip.id),
                )
        return public.ip_address

    # -- absent ----------------------------------------------------------------------------
    def absent(self):
        instance = self.find()
        public = self.find_ip()
        if instance is not None:
            self.act(f"terminate {instance.display_name} ({instance.id}) and its boot volume")
            if not self.module.check_mode:
                self.call(
                    "terminate the instance",
                    self.compute.terminate_instance,
                    instance.id,
                    preserve_boot_volume=False,
                )
                oci_common.wait_for_state(
                    self.module,
                    "wait for the instance to terminate",
                    self.compute.get_instance,
                    instance.id,
                    states=("TERMINATED",),
                    timeout=self.params["wait_timeout"],
                    result=self.result,
                )
        if public is not None:
            self.act(f"delete reserved public IP {public.ip_address}")
            if not self.module.check_mode:
                self.call("delete the reserved public IP", self.network.delete_public_ip, public.id)
        return self.result


def input_errors(params, check_mode=False):
    errors = []
    # In check mode on an empty compartment the network is only planned: it has no subnet yet.
    subnet_may_wait = params["only_check_plan"] or (check_mode and params["subnet_id"] is None)
    if params["state"] == "present" and not subnet_may_wait and not oci_common.OCID.match(
        str(params["subnet_id"] or "")
    ):
        errors.append(f"subnet_id {params['subnet_id']!r} is not an OCID (ocid1.subnet.oc1.<region>.<id>)")
    if params["image_id"] and not oci_common.OCID.match(params["image_id"]):
        errors.append(f"image_id {params['image_id']!r} is not an OCID")
    if params["ocpus"] <= 0 or params["memory_in_gbs"] <= 0:
        errors.append("ocpus and memory_in_gbs must be positive")
    if params["shape"] == A1_SHAPE and not params["ocpus"] <= params["memory_in_gbs"] <= 64 * params["ocpus"]:
        errors.append(f"{A1_SHAPE} takes 1 to 64 GB of memory per OCPU")
    if params["boot_volume_size_in_gbs"] < 50:
        errors.append("boot_volume_size_in_gbs must be at least 50 (Oracle's minimum)")
    if params["launch_attempts"] < 1 or params["launch_retry_delay"] < 0:
        errors.append("launch_attempts must be at least 1 and launch_retry_delay at least 0")
    if not params["accept_charges"] and params["shape"] == A1_SHAPE:
        over = [
            f"{key}={params[key]:g} > {FREE_A1[key]}"
            for key in ("ocpus", "memory_in_gbs")
            if params[key] > FREE_A1[key]
        ]
        if params["boot_volume_size_in_gbs"] > FREE_A1["block_gbs"]:
            over.append(
                f"boot_volume_size_in_gbs={params['boot_volume_size_in_gbs']} > {FREE_A1['block_gbs']}"
            )
        if over:
            errors.append(
                "the instance alone exceeds the Always Free A1 ceiling ("
                + ", ".join(over)
                + "); set accept_charges=true to be billed for it"
            )
    return errors


def main():
    spec = {
        "name": {"type": "str", "required": True},
        "stack": {"type": "str", "default": "flowspace"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "subnet_id": {"type": "str"},
        "shape": {"type": "str", "default": A1_SHAPE},
        "ocpus": {"type": "float", "default": 4},
        "memory_in_gbs": {"type": "float", "default": 24},
        "boot_volume_size_in_gbs": {"type": "int", "default": 50},
        "operating_system": {"type": "str", "default": "Canonical Ubuntu"},
        "operating_system_version": {"type": "str", "default": "24.04"},
        "image_id": {"type": "str"},
        "user_data": {"type": "str", "default": ""},
        "ssh_authorized_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
        "availability_domains": {"type": "list", "elements": "str", "default": []},
        "fault_domains": {"type": "list", "elements": "str", "default": []},
        "launch_attempts": {"type": "int", "default": 3},
        "launch_retry_delay": {"type": "float", "default": 60},
        "launch_retry_max_delay": {"type": "float", "default": 600},
        "reserved_public_ip": {"type": "bool", "default": True},
        "accept_charges": {"type": "bool", "default": False},
        "assign_ipv6": {"type": "bool", "default": False},
        "plan": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "name": {"type": "str", "required": True},
                "ocpus": {"type": "float", "default": 4},
                "memory_in_gbs": {"type": "float", "default": 24},
                "boot_volume_size_in_gbs": {"type": "int", "default": 50},
            },
        },
        "only_check_plan": {"type": "bool", "default": False},
        **oci_common.connection_spec(),
    }
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    errors = input_errors(module.params, module.check_mode)
    if errors:
        module.fail_json(msg="; ".join(errors))
    instance = Instance(module)
    if module.params["only_check_plan"]:
        instance.check_free_ceiling()
        module.exit_json(changed=False, actions=[], attempts=[], planned=instance.planned_instances())
    result = instance.present() if module.params["state"] == "present" else instance.absent()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
