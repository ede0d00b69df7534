#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Prints one line per suite and the plain total line from meson's testlog.json.

A suite with no test at all, or a skipped test, counts as a failure: in CI every suite must
really run (a skip there hides a broken harness)."""
import json
import sys
from collections import Counter

EXPECTED_SUITES = ("unit", "integration", "ui", "fuzz")


def main(path):
    per_suite = {}
    failed_names = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            result = entry["result"]
            # meson 1.0 writes no "suite" field; the name reads "project:suite / test".
            suites = [s.split(":")[-1] for s in entry.get("suite", [])]
            if not suites:
                head = entry["name"].split(" / ", 1)[0]
                suites = [head.split(":")[-1]] if " / " in entry["name"] else ["?"]
            for suite in suites:
                per_suite.setdefault(suite, Counter())[result] += 1
            if result not in ("OK", "EXPECTEDFAIL"):
                failed_names.append(f"{entry['name']} ({result})")
    passed = sum(c["OK"] + c["EXPECTEDFAIL"] for c in per_suite.values())
    failed = sum(sum(c.values()) - c["OK"] - c["EXPECTEDFAIL"] for c in per_suite.values())
    ok = failed == 0
    for suite in EXPECTED_SUITES:
        counts = per_suite.get(suite, Counter())
        n_ok = counts["OK"] + counts["EXPECTEDFAIL"]
        n_bad = sum(counts.values()) - n_ok
        print(f"suite {suite}: {n_ok} passed, {n_bad} not passed")
        if n_ok == 0:
            print(f"suite {suite} ran no test", file=sys.stderr)
            ok = False
    for name in failed_names:
        print(f"not passed: {name}")
    print(f"{passed} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
