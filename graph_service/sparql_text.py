"""Reading SPARQL text for keywords, with strings, IRIs and comments blanked out first."""

from __future__ import annotations

import re

_LONG_STRINGS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''", re.S
)
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_IRIS = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_COMMENTS = re.compile(r"#[^\n]*")


def without_literals(text: str) -> str:
    """The text with strings, IRIs and comments emptied, so only syntax is left."""
    stripped = _LONG_STRINGS.sub('""', text)
    stripped = _STRINGS.sub('""', stripped)
    stripped = _IRIS.sub("<>", stripped)
    return _COMMENTS.sub("", stripped)


def keywords(text: str, names: tuple[str, ...]) -> list[str]:
    """Which of the keywords occur as keywords (not in strings, IRIs, names or variables)."""
    pattern = re.compile(rf"(?<![\w:?$-])({'|'.join(names)})(?![\w:-])", re.I)
    return sorted({m.group(1).upper() for m in pattern.finditer(without_literals(text))})


def declares_dataset(query: str) -> bool:
    """True when the query names its own dataset with FROM or FROM NAMED."""
    return bool(keywords(query, ("FROM",)))
