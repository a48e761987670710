"""`python -m graph_service.docs`: regenerate README.md (cog blocks, then example outputs).

`--check` writes nothing and exits 1 when the README has drifted, printing the diff.
"""

from __future__ import annotations

import sys

from graph_service.docs import README
from graph_service.docs.check import drift, regenerate


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    if "--check" in argv:
        report = drift(text)
        print(report or "README.md is up to date")
        return 1 if report else 0
    fresh, problems = regenerate(text)
    if fresh != text:
        README.write_text(fresh, encoding="utf-8")
        print("README.md regenerated")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
