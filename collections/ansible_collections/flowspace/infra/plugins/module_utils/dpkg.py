"""What dpkg knows of packages, read with one C(dpkg-query) call: the parsing and the two
questions the roles ask (what would apt install, what would a purge remove), in one place for
the dpkg_query module and the packages filters."""

import fnmatch

# One line per package: name, version, the three-letter status, by tabs.
QUERY_FORMAT = "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"
# The second letter of db:Status-Abbrev: i installed, W/t installed but waiting for triggers.
INSTALLED = frozenset("iWt")
NOT_ON_DISK = "n"


def query_argv(names):
    """dpkg-query's command line for NAMES (bare names: a version glob is not dpkg's business)."""
    return ["dpkg-query", "-W", f"-f={QUERY_FORMAT}", *[spec.split("=", 1)[0] for spec in names]]


def parse(listing):
    """{name: {version, status, installed}} from dpkg-query's output; ValueError on a line that
    is not one. (dpkg-query exits 1 when a name is unknown to it; the other lines still hold.)"""
    packages = {}
    for line in (listing or "").splitlines():
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or len(fields[2].strip()) < 2:
            raise ValueError(f"not a dpkg-query line (name, version, status by tabs): {line!r}")
        name, version, status = fields[0], fields[1], fields[2].strip()
        packages[name.split(":")[0]] = {"version": version, "status": status,
                                        "installed": status[1] in INSTALLED}
    return packages


def missing(wanted, packages):
    """The entries of WANTED (C(name) or C(name=VERSION), VERSION a glob as apt takes it) not
    installed at a matching version: what apt would install, upgrade or downgrade."""
    found_missing = []
    for spec in wanted:
        name, version = spec.split("=", 1) if "=" in spec else (spec, "")
        found = packages.get(name)
        wrong_version = version and found and not fnmatch.fnmatchcase(found["version"], version)
        if not found or not found["installed"] or wrong_version:
            found_missing.append(spec)
    return found_missing


def on_disk(names, packages):
    """The NAMES dpkg still has files of (installed, half installed or only configuration files
    left): what a purge would act on."""
    return [name for name in names if name in packages and packages[name]["status"][1] != NOT_ON_DISK]
