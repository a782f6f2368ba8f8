"""python -m labkit COMMAND [ARGS]: the lab's one command line.

The lab:      images [FLAVOUR...] | up | down | key | binaries [NAME...] | go-toolchain | arm64-sysroot
Stand-ins:    pebble start|stop|status|add-a DOMAIN IP|issuing-root
              vercel-emulator start|stop|status|serve [--port P] [--token T] [--project NAME]
              oci-emulator serve [--port P] --public-key PEM
              mirror build  (upstream package sources: Caddy's and NodeSource's apt, LiveKit's releases)
Clients:      edge-client IP DOMAIN CA_FILE [--path P] [--no-echo]
Checks:       stack-check [--json] | outside SPEC [--ca-file PEM] [--only CHECK]
              probe HOST [TCP_PORTS] [UDP_PORTS] | ssh-audit HOST [PORT]
"""

import argparse
import importlib
import sys

from labkit.lab import build_log, images, lifecycle, paths

# Each command that has a module of its own: (module, its main). Imported when used, so a
# quick command does not pay for the LiveKit SDK.
DELEGATED = {
    "binaries": "labkit.lab.binaries",
    "go-toolchain": "labkit.lab.go_toolchain",
    "arm64-sysroot": "labkit.lab.arm64_sysroot",
    "pebble": "labkit.standins.pebble",
    "vercel-emulator": "labkit.standins.vercel_emulator",
    "oci-emulator": "labkit.standins.oci_emulator",
    "mirror": "labkit.mirror.site",
    "edge-client": "labkit.clients.edge_client",
    "stack-check": "labkit.checks.stack_check",
    "probe": "labkit.checks.probe",
    "outside": "labkit.checks.outside",
    "ssh-audit": "labkit.checks.ssh_audit",
}


def lab_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="labkit")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("images", help="build the OCI-like test images (cached by recipe hash)")
    build.add_argument("flavours", nargs="*", default=sorted(images.FLAVOURS))
    sub.add_parser("up", help="start the lab hosts of inventories/lab")
    sub.add_parser("down", help="remove the lab hosts, stop Pebble and the Vercel emulator")
    sub.add_parser("key", help="print the path of the lab's admin SSH key")
    args = parser.parse_args(argv)

    if args.command == "images":
        try:
            tags = images.build(args.flavours)
        except (build_log.StepFailed, RuntimeError) as err:
            print(f"[flowspace] error: {err}", file=sys.stderr)
            return 1
        for tag in tags:
            print(tag)
    elif args.command == "up":
        for host in lifecycle.up():
            print(f"{host.name}: {host.flavour}, ssh ubuntu@127.0.0.1 -p {host.ssh_port}")
    elif args.command == "down":
        removed = lifecycle.down()
        print("removed: " + (", ".join(removed) if removed else "nothing, the lab was not running"))
    elif args.command == "key":
        print(paths.lab_key())
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] in DELEGATED:
        return importlib.import_module(DELEGATED[argv[0]]).main(argv[1:])
    if argv[0] in ("images", "up", "down", "key"):
        return lab_command(argv)
    print(f"labkit: unknown command {argv[0]!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
