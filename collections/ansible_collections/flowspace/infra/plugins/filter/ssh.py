"""Filters for reading what the installed OpenSSH supports."""

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.flowspace.infra.plugins.module_utils.sections import split_sections

DOCUMENTATION = r"""
name: ssh_query_sections
short_description: Parse C(ssh -Q) listings and C(ssh -V) into a dict
description:
  - Input is text made of sections, each headed C(== NAME) (for example C(== kex) followed by
    the output of C(ssh -Q kex)); a C(== version) section holds the output of C(ssh -V).
  - Returns a dict of lists, one per section, and C(version) as C(MAJOR.MINOR).
positional: _input
options:
  _input:
    description: The sectioned text.
    type: str
    required: true
"""

VERSION = re.compile(r"OpenSSH_(\d+\.\d+)")


def ssh_query_sections(text):
    sections = {
        name: [line.strip() for line in lines if line.strip()] for name, lines in split_sections(text).items()
    }
    version_lines = sections.pop("version", [])
    match = VERSION.search(" ".join(version_lines))
    if not match:
        raise AnsibleFilterError(f"no OpenSSH version found in {version_lines!r}")
    sections["version"] = match.group(1)
    return sections


class FilterModule:
    def filters(self):
        return {"ssh_query_sections": ssh_query_sections}
