"""Refusing SPARQL that would make the server fetch remote documents (SERVICE, LOAD)."""

from __future__ import annotations

import re

from graph_service.errors import BadRequest

# Strings, IRIs and comments are blanked out first, so a literal "SERVICE" is no keyword.
_LONG_STRINGS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''", re.S
)
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_IRIS = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_COMMENTS = re.compile(r"#[^\n]*")
_KEYWORD = re.compile(r"(?<![\w:?$-])(SERVICE|LOAD)(?![\w:-])", re.I)


def remote_keywords(text: str) -> list[str]:
    """The SERVICE/LOAD keywords in a query or update, ignoring strings, IRIs and comments."""
    stripped = _LONG_STRINGS.sub('""', text)
    stripped = _STRINGS.sub('""', stripped)
    stripped = _IRIS.sub("<>", stripped)
    stripped = _COMMENTS.sub("", stripped)
    return sorted({m.group(1).upper() for m in _KEYWORD.finditer(stripped)})


def refuse_remote_fetches(text: str, *, allowed: bool = False) -> None:
    """400 for SERVICE or LOAD unless the operator enabled them (SMARTBY_ALLOW_SERVICE)."""
    if allowed:
        return
    found = remote_keywords(text)
    if found:
        raise BadRequest(
            f"{' and '.join(found)} is not allowed here: the server does not fetch remote "
            "data on a client's behalf. / "
            f"{' og '.join(found)} er ikke tillatt her: tjenesten henter ikke eksterne data."
        )
