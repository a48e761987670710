"""The pieces of a SPARQL Update's text that the engine must evaluate: each operation's
WHERE group and the prologue (PREFIX, BASE) in force for it.

rdflib parses an update into operations with their templates (validation/update_where.py
reads those), but it cannot give back the WHERE pattern as text, and the pattern must be
evaluated by the store's own engine (rdflib's would be another SPARQL dialect, and would
need the data in Python). The text is cut where the grammar cuts it: operations at the `;`
outside braces, the WHERE group from the WHERE keyword outside braces to its closing brace;
strings, IRIs and comments are masked first (core/sparql_text.masked), so nothing inside
them is mistaken for syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph_service.core.sparql_text import masked

_PROLOGUE = re.compile(r"\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*", re.I)
_WHERE = re.compile(r"(?<![\w:?$-])WHERE(?![\w:-])", re.I)


@dataclass(frozen=True)
class OperationText:
    """One operation's text, the declarations in force for it, and its WHERE group (the
    braces included; "" for an operation without one)."""

    prologue: str
    text: str
    where: str


def operations(update: str) -> list[OperationText]:
    """The update's operations in order (empty ones, such as after a trailing `;`, left out)."""
    mask = masked(update)
    found: list[OperationText] = []
    prologue = ""
    start = 0
    for end in [*_top_level(mask, ";"), len(update)]:
        part, part_mask = update[start:end], mask[start:end]
        start = end + 1
        declared = _PROLOGUE.match(part_mask)
        cut = declared.end() if declared else 0
        prologue += part[:cut]
        if not part_mask[cut:].strip():
            continue
        found.append(OperationText(prologue, part[cut:], _where(part[cut:], part_mask[cut:])))
    return found


def _top_level(mask: str, char: str) -> list[int]:
    """Where `char` occurs outside braces."""
    depth, found = 0, []
    for i, c in enumerate(mask):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == char and depth == 0:
            found.append(i)
    return found


def _where(text: str, mask: str) -> str:
    """The group after the WHERE keyword that stands outside braces."""
    depth = 0
    for i, c in enumerate(mask):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif depth == 0 and _WHERE.match(mask, i):
            opened = mask.find("{", i)
            if opened < 0:
                return ""
            level = 0
            for j in range(opened, len(mask)):
                level += {"{": 1, "}": -1}.get(mask[j], 0)
                if level == 0:
                    return text[opened:j + 1]
            return ""
    return ""
