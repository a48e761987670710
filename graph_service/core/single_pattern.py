"""Recognising the commonest query of all — one triple pattern, `SELECT ?p ?o WHERE { <s> ?p ?o }`
— from its text, without a parser.

What is recognised is a strict subset of SPARQL 1.1: PREFIX declarations, SELECT (DISTINCT or
REDUCED) with `*` or variables, an optional WHERE, one triple pattern of variables, absolute
IRIs, prefixed names and `a`, an optional final dot, and LIMIT and OFFSET. Anything else — a
literal, a blank node, a comment, BASE, FROM, GRAPH, a FILTER, an escape, a second pattern —
is not recognised, and the query goes its ordinary way. A store uses the pattern's constant
terms to bound what evaluating the query can touch (store/embedded.py), so the reading must
never be looser than the engine's: where in doubt, it recognises nothing.
"""

from __future__ import annotations

import functools
import re

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# One triple pattern's subject, predicate and object: an IRI for a constant, None for a variable.
Pattern = tuple[str | None, str | None, str | None]

_TOKEN = re.compile(
    r"<(?P<iri>[^<>\"{}|^`\\\x00-\x20]*)>"
    r"|(?P<var>[?$][A-Za-z0-9_]+)"
    r"|(?P<pname>(?:[A-Za-z][A-Za-z0-9_-]*)?:(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?)?)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<number>[0-9]+)"
    r"|(?P<punct>[{}.*])"
)
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_END = re.compile(r"\s*")
_MAX_LENGTH = 4096  # longer texts are not the query this is for


def single_pattern(query: str) -> Pattern | None:
    """The triple pattern of a query that is one triple pattern and nothing else, or None."""
    return None if len(query) > _MAX_LENGTH else _read(query)


@functools.lru_cache(maxsize=1024)  # the same lookups come again and again; ≤ 4 MB of text
def _read(query: str) -> Pattern | None:
    reader = _Reader(query)
    prefixes: dict[str, str] = {}
    while reader.word("PREFIX"):
        name, iri = reader.take("pname"), reader.take("iri")
        if name is None or not name.endswith(":") or iri is None or not _ABSOLUTE.match(iri):
            return None
        prefixes[name[:-1]] = iri
    if not reader.word("SELECT"):
        return None
    if not reader.word("DISTINCT"):
        reader.word("REDUCED")
    if not reader.punct("*"):
        if reader.take("var") is None:
            return None
        while reader.take("var") is not None:
            pass
    reader.word("WHERE")
    if not reader.punct("{"):
        return None
    terms: list[str | None] = []
    for position in range(3):
        kind, value = reader.next()
        if kind == "var":
            terms.append(None)
        elif kind == "word" and value == "a" and position == 1:
            terms.append(RDF_TYPE)
        elif (iri := _constant(kind, value, prefixes)) is not None:
            terms.append(iri)
        else:
            return None
    reader.punct(".")
    if not reader.punct("}"):
        return None
    seen: set[str] = set()
    while (modifier := reader.any_word(("LIMIT", "OFFSET"))) is not None:
        if modifier in seen or reader.take("number") is None:
            return None
        seen.add(modifier)
    if not reader.at_end():
        return None
    return terms[0], terms[1], terms[2]


def _constant(kind: str, value: str, prefixes: dict[str, str]) -> str | None:
    """The IRI a term stands for, when it is an absolute IRI or a declared prefixed name."""
    if kind == "iri":
        return value if _ABSOLUTE.match(value) else None  # relative: resolved against a base
    if kind == "pname":
        prefix, _, local = value.partition(":")
        namespace = prefixes.get(prefix)
        return None if namespace is None else namespace + local
    return None


_END_OF_TEXT = ("end", "")
_UNREADABLE = ("unreadable", "")  # a string, a comment, an escape, a bracket: not this query


class _Reader:
    """The query's tokens, read one at a time as the grammar asks for them: a query that is
    not one triple pattern is given up at its first token out of place, not read to its end."""

    def __init__(self, query: str) -> None:
        self._query, self._position = query, 0
        self._ahead = self._read()

    def _read(self) -> tuple[str, str]:
        position = _END.match(self._query, self._position).end()  # type: ignore[union-attr]
        if position == len(self._query):
            return _END_OF_TEXT
        match = _TOKEN.match(self._query, position)
        if match is None or match.lastgroup is None:
            return _UNREADABLE
        self._position = match.end()
        return match.lastgroup, match.group(match.lastgroup)

    def next(self) -> tuple[str, str]:
        token = self._ahead
        if token not in (_END_OF_TEXT, _UNREADABLE):
            self._ahead = self._read()
        return token

    def take(self, kind: str) -> str | None:
        return self.next()[1] if self._ahead[0] == kind else None

    def word(self, keyword: str) -> bool:
        return self.any_word((keyword,)) is not None

    def any_word(self, keywords: tuple[str, ...]) -> str | None:
        kind, value = self._ahead
        if kind == "word" and value.upper() in keywords:
            self.next()
            return value.upper()
        return None

    def punct(self, mark: str) -> bool:
        if self._ahead == ("punct", mark):
            self.next()
            return True
        return False

    def at_end(self) -> bool:
        return self._ahead == _END_OF_TEXT
