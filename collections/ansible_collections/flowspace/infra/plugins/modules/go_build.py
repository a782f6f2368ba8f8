#!/usr/bin/python
"""Build a Go program from a pinned recipe, reproducibly, and hold it to a pinned sha256."""

DOCUMENTATION = r"""
module: go_build
short_description: Build a Go program from a pinned recipe and check it against a pinned sha256
description:
  - Builds the Go program in O(recipe) (a folder with C(go.mod), C(go.sum) and C(main.go)) for
    O(goos)/O(goarch) into O(dest), with C(-trimpath), no VCS stamp, C(CGO_ENABLED=0) and the
    baseline instruction sets, using exactly Go O(go_version). The same recipe and Go release give
    the same bytes on every machine, so the binary's sha256 can be pinned once, reviewed, and
    checked on every controller.
  - Dependencies come from the Go module proxy (C(GOPROXY)) and are checked by go against
    C(go.sum). Go itself is the machine's C(go) when it is exactly O(go_version); otherwise that
    release is fetched once from the Go module proxy as the module C(golang.org/toolchain), checked
    against its go.sum hash in O(go_toolchain_hashes) and kept in O(go_cache_dir).
  - A file already at O(dest) with the pinned sha256 is kept (the module is a cache); any other file
    there is rebuilt. A build whose sha256 is not O(sha256) fails and is removed, so O(dest) never
    holds a binary nobody pinned.
  - Meant to run on the controller (C(delegate_to) localhost); a build takes minutes the first time.
version_added: 0.4.0
author: FlowSpace infra (@flowspace)
options:
  recipe:
    description: The folder holding C(go.mod), C(go.sum) and the C(main) package.
    type: path
    required: true
  goos:
    description: The target operating system.
    type: str
    choices: [linux]
    default: linux
  goarch:
    description: The target architecture.
    type: str
    choices: [amd64, arm64]
    required: true
  dest:
    description: Where the binary is kept.
    type: path
    required: true
  sha256:
    description: The sha256 (64 hex digits) the built binary must have.
    type: str
    required: true
  go_version:
    description:
      - The Go release that builds it (for example C(1.26.8)); the pinned sha256 holds for this
        release only.
    type: str
    required: true
  go_toolchain_hashes:
    description:
      - The go.sum hash (C(h1:...)) of C(golang.org/toolchain) C(v0.0.1-go<go_version>.<platform>) per
        controller platform (C(linux-amd64), C(linux-arm64), C(darwin-amd64), C(darwin-arm64)), for
        when the machine has no go of that release.
    type: dict
    default: {}
  go_cache_dir:
    description: Where a fetched Go release is kept. Default the controller's FlowSpace cache folder's C(go/).
    type: path
  timeout:
    description: Seconds a build may take.
    type: int
    default: 1800
attributes:
  check_mode:
    support: full
    description: Reports whether a build is needed; builds nothing.
  diff_mode:
    support: none
    description: A binary has no useful diff; the sha256 is returned.
"""

EXAMPLES = r"""
- name: Build caddy with the layer-4 module for the host's architecture, on the controller
  flowspace.infra.go_build:
    recipe: "{{ role_path }}/files/caddy-layer4"
    goarch: arm64
    dest: "{{ lookup('flowspace.infra.cache_dir', 'bin') | first }}/caddy-layer4-2.11.9-linux-arm64"
    sha256: "{{ caddy_layer4_sha256['arm64'] }}"
    go_version: "1.26.8"
    go_toolchain_hashes: "{{ caddy_layer4_go_toolchain_hashes }}"
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: The binary's path.
  returned: always
  type: str
sha256:
  description: Its sha256 (the pinned one).
  returned: always
  type: str
built:
  description: Whether this run built it (false when the cached file already had the pinned sha256).
  returned: always
  type: bool
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flowspace.infra.plugins.module_utils.cache_dir import flowspace_cache_dir
from ansible_collections.flowspace.infra.plugins.module_utils.go_build import (
    BuildError,
    build_pinned,
    is_built,
)
from ansible_collections.flowspace.infra.plugins.module_utils.go_toolchain import (
    ToolchainError,
    parse_version,
    pinned_go,
)

SHA256 = re.compile(r"[0-9a-f]{64}")


def input_errors(params):
    errors = []
    if not SHA256.fullmatch(params["sha256"]):
        errors.append(f"sha256 must be 64 lowercase hex digits, not {params['sha256']!r}")
    if parse_version(params["go_version"]) is None:
        errors.append(f"go_version must be a Go release such as 1.26.8, not {params['go_version']!r}")
    for platform, value in sorted(params["go_toolchain_hashes"].items()):
        if not (isinstance(value, str) and value.startswith("h1:")):
            errors.append(f"go_toolchain_hashes.{platform} must be a go.sum hash (h1:...), not {value!r}")
    recipe = params["recipe"]
    missing = [name for name in ("go.mod", "go.sum") if not os.path.isfile(os.path.join(recipe, name))]
    if missing:
        errors.append(f"recipe {recipe} has no {' and no '.join(missing)}")
    return errors


def main():
    module = AnsibleModule(
        argument_spec={
            "recipe": {"type": "path", "required": True},
            "goos": {"type": "str", "choices": ["linux"], "default": "linux"},
            "goarch": {"type": "str", "choices": ["amd64", "arm64"], "required": True},
            "dest": {"type": "path", "required": True},
            "sha256": {"type": "str", "required": True},
            "go_version": {"type": "str", "required": True},
            "go_toolchain_hashes": {"type": "dict", "default": {}},
            "go_cache_dir": {"type": "path"},
            "timeout": {"type": "int", "default": 1800},
        },
        supports_check_mode=True,
    )
    params = module.params
    errors = input_errors(params)
    if errors:
        module.fail_json(msg="; ".join(errors) + ". Nothing was built.")
    result = {"dest": params["dest"], "sha256": params["sha256"]}
    if is_built(params["dest"], params["sha256"]):
        module.exit_json(changed=False, built=False, **result)
    if module.check_mode:
        module.exit_json(changed=True, built=False, **result)
    cache = params["go_cache_dir"] or os.path.join(flowspace_cache_dir(), "go")
    try:
        build_pinned(lambda: pinned_go(params["go_version"], params["go_toolchain_hashes"], cache),
                     params["recipe"], params["goarch"], dest=params["dest"], sha256=params["sha256"],
                     goos=params["goos"], timeout=params["timeout"])
    except (BuildError, ToolchainError, OSError) as err:
        module.fail_json(msg=f"{err}. {params['dest']} was left as it was.", built=False, **result)
    module.exit_json(changed=True, built=True, **result)


if __name__ == "__main__":
    main()
