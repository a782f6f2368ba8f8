"""Filters reading C(dpkg-query) listings, so that a role asks apt only when a package is
missing: the apt module opens apt's whole cache (about half a second) even when nothing is to
do, dpkg-query answers in milliseconds."""

import fnmatch

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: dpkg_packages
short_description: Parse a C(dpkg-query -W) listing into a dict
description:
  - Input is the output of
    C(dpkg-query -W -f='${Package}\t${Version}\t${db:Status-Abbrev}\n' NAME...) (the command exits
    1 when a name is unknown to dpkg; its other lines are still valid).
  - Returns a dict of package name to C(version), C(status) (the three-letter abbreviation) and
    C(installed) (unpacked and configured, or only waiting for triggers).
  - C(packages_missing(WANTED, LISTING)) returns the entries of WANTED (C(name) or C(name=VERSION),
    VERSION a glob as apt takes it, for example C(nodejs=20.*)) that are not installed at a matching
    version, that is the ones apt would install, upgrade or downgrade.
  - C(packages_on_disk(NAMES, LISTING)) returns the NAMES dpkg still has files of (installed, half
    installed or only configuration files left), that is the ones a purge would act on.
positional: _input
options:
  _input:
    description: The dpkg-query listing.
    type: str
    required: true
"""

# The second letter of db:Status-Abbrev: i installed, W/t installed but waiting for triggers.
INSTALLED = frozenset("iWt")
NOT_ON_DISK = "n"


def dpkg_packages(listing):
    packages = {}
    for line in (listing or "").splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or len(fields[2].strip()) < 2:
            raise AnsibleFilterError(f"not a dpkg-query line (name, version, status by tabs): {line!r}")
        name, version, status = fields[0], fields[1], fields[2].strip()
        installed = status[1] in INSTALLED
        packages[name.split(":")[0]] = {"version": version, "status": status, "installed": installed}
    return packages


def packages_missing(wanted, listing):
    known = dpkg_packages(listing)
    missing = []
    for spec in [wanted] if isinstance(wanted, str) else wanted:
        name, version = spec.split("=", 1) if "=" in spec else (spec, "")
        found = known.get(name)
        wrong_version = version and found and not fnmatch.fnmatchcase(found["version"], version)
        if not found or not found["installed"] or wrong_version:
            missing.append(spec)
    return missing


def packages_on_disk(names, listing):
    known = dpkg_packages(listing)
    return [name for name in ([names] if isinstance(names, str) else names)
            if name in known and known[name]["status"][1] != NOT_ON_DISK]


class FilterModule:
    def filters(self):
        return {"dpkg_packages": dpkg_packages, "packages_missing": packages_missing,
                "packages_on_disk": packages_on_disk}
