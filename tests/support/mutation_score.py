"""`make mutate`'s summary: the mutation score per module and the surviving mutants.

Reads the results mutmut keeps in `mutants/` (one `<module>.py.meta` per mutated module). The
score counts a timeout as killed and a mutant no selected test runs ("no tests") as surviving:
both kinds of survivors are missing tests unless they are equivalent (docs/testing.md).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no mutation results in mutants/: run `make mutate` first", file=sys.stderr)
        return 1
    survivors: list[str] = []
    print(f"{'module':32} {'killed':>7} {'survived':>9} {'no tests':>9} {'unchecked':>10} {'score':>7}")
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            if code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED or code in NO_TESTS:
                counts["survived" if code in SURVIVED else "no tests"] += 1
                survivors.append(f"{name} ({'survived' if code in SURVIVED else 'no tests'})")
            else:
                counts["unchecked"] += 1
        checked = counts["killed"] + counts["survived"] + counts["no tests"]
        if checked == 0:
            continue
        score = f"{100 * counts['killed'] / checked:.1f}%"
        module = str(meta.relative_to(root)).removesuffix(".meta")
        print(
            f"{module:32} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9} "
            f"{counts['unchecked']:>10} {score:>7}"
        )
    print(f"\n{len(survivors)} survivors (see one with `.venv/bin/mutmut show NAME`):")
    for name in survivors:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
