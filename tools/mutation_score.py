"""The mutation score from `mutmut results --all true` (read on standard input): per file and in
all, killed against every mutant, with the counts of each outcome, as a table (and JSON).

    mutmut results --all true | python tools/mutation_score.py [--json FILE]
"""

import argparse
import collections
import json
import re
import sys

LINE = re.compile(r"^\s*(?P<module>\S+?)\.x[_ǁ]\S*__mutmut_\d+: (?P<outcome>.+?)\s*$")
KILLED = ("killed", "timeout", "segfault")


def tally(lines) -> dict[str, collections.Counter]:
    files: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for line in lines:
        match = LINE.match(line)
        if match:
            name = match.group("module").removeprefix("ansible_collections.flowspace.infra.plugins.")
            files[name][match.group("outcome")] += 1
    return files


def score(counts: collections.Counter) -> float:
    total = sum(counts.values())
    return 100.0 * sum(counts[o] for o in KILLED) / total if total else 0.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    files = tally(sys.stdin)
    if not files:
        print("no mutant in the input: did mutmut run?", file=sys.stderr)
        return 2
    overall = sum(files.values(), collections.Counter())
    outcomes = sorted(overall)
    def row(name: str, counts: collections.Counter) -> str:
        return f"{name:<28} {score(counts):5.1f}%  " + "  ".join(f"{counts[o]:>9}" for o in outcomes)

    print(f"{'file':<28} {'score':>6}  " + "  ".join(f"{o:>9}" for o in outcomes))
    for name in sorted(files):
        print(row(name, files[name]))
    print(row("all", overall))
    if args.json:
        figures = {"score": round(score(overall), 1), "counts": dict(overall),
                   "files": {n: {"score": round(score(c), 1), **c} for n, c in files.items()}}
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
