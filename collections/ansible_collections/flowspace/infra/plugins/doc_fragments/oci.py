"""Connection options shared by the collection's OCI modules (module_utils/oci_common.connection_spec)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  config_file:
    description:
      - The OCI SDK config file.
      - If not set, the environment variable E(OCI_CONFIG_FILE) is used (a CI runner's config,
        written from its secrets), else the default.
    type: path
    default: ~/.oci/config
  config_profile:
    description:
      - Its profile.
      - If not set, the environment variable E(OCI_CONFIG_PROFILE) is used, else the default.
    type: str
    default: DEFAULT
  region:
    description: The region (overrides the profile's).
    type: str
  tenancy:
    description: Tenancy OCID (with O(user), O(fingerprint) and O(key_file), no config file is read).
    type: str
  user:
    description: User OCID.
    type: str
  fingerprint:
    description: The API key's fingerprint.
    type: str
  key_file:
    description: The API key's private key (PEM).
    type: path
  pass_phrase:
    description: The private key's pass phrase, if it has one.
    type: str
  service_endpoint:
    description: Send requests here instead of the region's endpoint (a private endpoint or a stand-in).
    type: str
  compartment_id:
    description: The compartment (OCID) the resources live in.
    type: str
    required: true
  wait_timeout:
    description: Seconds to wait for a resource to become available, running or terminated.
    type: int
    default: 600
"""
