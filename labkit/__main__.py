"""python -m labkit images [FLAVOUR...] | up | down | key"""

import argparse
import sys

from labkit import build_log, images, lab, paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
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
        for host in lab.up():
            print(f"{host.name}: {host.flavour}, ssh ubuntu@127.0.0.1 -p {host.ssh_port}")
    elif args.command == "down":
        removed = lab.down()
        print("removed: " + (", ".join(removed) if removed else "nothing, the lab was not running"))
    elif args.command == "key":
        print(paths.lab_key())
    return 0


if __name__ == "__main__":
    sys.exit(main())
