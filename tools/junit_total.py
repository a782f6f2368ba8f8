"""One closing line for a suite run as several pytest processes: the sum of their JUnit XML
reports, as 'N passed, N failed, N skipped' (exit 1 when a report is missing or ran nothing).

    python tools/junit_total.py REPORT.xml [REPORT.xml ...]
"""

import sys
import xml.etree.ElementTree as ET  # noqa: S405 (our own pytest's reports)


def totals(paths: list[str]) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for path in paths:
        root = ET.parse(path).getroot()  # noqa: S314 (our own pytest's reports)
        for suite in root.iter("testsuite"):
            for key in counts:
                counts[key] += int(suite.get(key, 0))
    return counts


def main(argv: list[str]) -> int:
    try:
        counts = totals(argv)
    except (OSError, ET.ParseError) as error:
        print(f"a stream left no readable report: {error}", file=sys.stderr)
        return 1
    failed = counts["failures"] + counts["errors"]
    passed = counts["tests"] - failed - counts["skipped"]
    print(f"suite: {passed} passed, {failed} failed, {counts['skipped']} skipped")
    return 0 if counts["tests"] and not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
