"""DESCRIBE sent to a remote store as the CONSTRUCT that means it, so every engine answers alike.

SPARQL leaves DESCRIBE's answer to the engine. Oxigraph (embedded, and its server) answers a
resource's own triples and, through blank nodes, theirs (a concise bounded description);
Virtuoso 7.2 answers, over its union default graph, triples *about other resources* and
not the resource's `rdf:type`. So smartby asks a remote store for that description itself:
the described resources (IRIs named, or a variable's values from the WHERE pattern, with its
modifiers), their triples, and the triples of blank nodes they reach (two levels deep).
"""

from __future__ import annotations

import re

from graph_service.core.sparql_text import masked

_KEYWORD = re.compile(r"(?i)(?<![\w:?$-])(describe|where|from)(?![\w:-])")
_FORM = re.compile(r"(?i)(?<![\w:?$-])(select|construct|ask|describe)(?![\w:-])")
D, P, OBJ = "?smartbyDescribed", "?smartbyP", "?smartbyO"
# The template and pattern of a description: the resource's triples, then those of the blank
# nodes it reaches, two levels deep (Oxigraph follows them all the way; nesting this deep
# covers the shapes of data a description meets here: a blank node for a description or
# an address).
TEMPLATE = f"{D} {P} {OBJ} . {OBJ} {P}1 {OBJ}1 . {OBJ}1 {P}2 {OBJ}2 ."
PATTERN = (f"{D} {P} {OBJ} OPTIONAL {{ {OBJ} {P}1 {OBJ}1 FILTER(isBlank({OBJ})) "
           f"OPTIONAL {{ {OBJ}1 {P}2 {OBJ}2 FILTER(isBlank({OBJ}1)) }} }}")


def describe_as_construct(query: str) -> str | None:
    """The CONSTRUCT for a DESCRIBE query; None for any other query, or `DESCRIBE *`."""
    text = masked(query)
    form = _FORM.search(text)
    if form is None or form.group(1).lower() != "describe":
        return None
    rest_at = form.end()
    brace = text.find("{", rest_at)
    keyword = next((m for m in _KEYWORD.finditer(text, rest_at)
                    if m.group(1).lower() in ("where", "from")
                    and (brace < 0 or m.start() < brace)), None)
    head_end = min(i for i in (keyword.start() if keyword else -1, brace, len(text)) if i >= 0)
    terms = query[rest_at:head_end].split()
    if not terms or "*" in terms:
        return None
    where_at = next((m for m in _KEYWORD.finditer(text, rest_at, brace if brace >= 0 else len(text))
                     if m.group(1).lower() == "where"), None)
    dataset = query[head_end:where_at.start() if where_at else (
        brace if brace >= 0 else len(query))]
    group, modifiers = "{}", ""
    if brace >= 0:
        end = _closing(text, brace)
        if end is None:
            return None  # unbalanced: let the store report the syntax error
        group, modifiers = query[brace:end + 1], query[end + 1:]
    names = [t for t in terms if not t.startswith(("?", "$"))]
    arms = [f"{{ SELECT DISTINCT ({v} AS {D}) WHERE {group} {modifiers} }}"
            for v in terms if v.startswith(("?", "$"))]
    if names:
        listed = names if len(names) > 1 else [*names, "<urn:x-smartby:describes-nothing>"]
        arms.insert(0, f"{{ VALUES {D} {{ {' '.join(listed)} }} }}")
    described = " UNION ".join(arms)
    return (f"{query[:form.start()]}CONSTRUCT {{ {TEMPLATE} }} {dataset.strip()} "
            f"WHERE {{ {described} {PATTERN} }}")


def _closing(text: str, start: int) -> int | None:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None
