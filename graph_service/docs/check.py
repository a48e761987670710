"""README drift: regenerate the README in memory and say how it differs from the file.

Shared by `python -m graph_service.docs` and tests/test_docs.py, so the test's failure and
the fix are one and the same computation.
"""

from __future__ import annotations

import difflib

from graph_service.docs import REGENERATE
from graph_service.docs.examples import walk
from graph_service.docs.sandbox import Sandbox


def cogged(text: str) -> str:
    """The README with every cog block's output generated afresh from the code."""
    from cogapp import Cog  # a test dependency: an installed service never imports it

    return str(Cog().process_string(text, fname="README.md"))


def reference_drift(text: str) -> str:
    """Empty when the cog blocks (settings, routes, CLI help) match the code."""
    changes = diff(text, cogged(text))
    if not changes:
        return ""
    return f"README.md has drifted from the code; run `{REGENERATE}`:\n{changes}"


def examples_drift(text: str, box: Sandbox) -> str:
    """Empty when every example runs and shows what it prints today."""
    result = walk(text, box)
    changes = diff(text, result.text)
    report = "\n".join(result.problems)
    if changes:
        report += f"\nREADME.md's examples print otherwise today; run `{REGENERATE}`:\n{changes}"
    return report.strip()


def regenerate(text: str, box: Sandbox | None = None) -> tuple[str, list[str]]:
    """(the README as the code and the examples make it, the examples that failed)."""
    text = cogged(text)
    if box is not None:
        result = walk(text, box)
    else:
        with Sandbox() as own:
            result = walk(text, own)
    return result.text, result.problems


def diff(old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            "README.md (as it reads)", "README.md (as the code makes it)",
        )
    )


def drift(text: str, box: Sandbox | None = None) -> str:
    """Empty when the README is true; otherwise what differs or failed, and how to fix it."""
    fresh, problems = regenerate(text, box)
    changes = diff(text, fresh)
    if not changes and not problems:
        return ""
    report = "\n".join(problems)
    if changes:
        report += f"\nREADME.md has drifted from the code; run `{REGENERATE}`:\n{changes}"
    return report.strip()
