"""Reading SPARQL text: keywords outside strings and IRIs, the SERVICE/LOAD guard, and the
parsers' error positions (line and column)."""

from __future__ import annotations

import re

from graph_service.core.errors import InvalidRequest, InvalidSyntax, say

_LONG_STRINGS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""' r"|'''(?:[^'\\]|\\.|'(?!''))*'''", re.S
)
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_IRIS = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_COMMENTS = re.compile(r"#[^\n]*")
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def unescape_codepoints(text: str) -> str:
    """SPARQL 1.1 §19.2: `\\uXXXX` and `\\UXXXXXXXX` stand for their character anywhere in a
    query, before it is parsed, so `\\u0053ERVICE` is SERVICE. Judge the text as a parser
    will see it."""
    return _CODEPOINT.sub(_character, text)


def _character(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code <= 0x10FFFF else match.group(0)  # past Unicode: the parser's 400


def without_literals(text: str, *, unescape: bool = True) -> str:
    """The text (escapes resolved) with strings, IRIs and comments emptied: only syntax left."""
    stripped = _LONG_STRINGS.sub('""', unescape_codepoints(text) if unescape else text)
    stripped = _STRINGS.sub('""', stripped)
    stripped = _IRIS.sub("<>", stripped)
    return _COMMENTS.sub("", stripped)


def masked(text: str) -> str:
    """The text with the insides of strings and IRIs and whole comments turned to spaces,
    so every position still points at the same character of the original (for finding
    syntax, such as a SERVICE block, and then cutting the original text at it)."""
    def blank(match: re.Match[str]) -> str:
        found = match.group(0)
        if found.startswith("#"):
            return " " * len(found)
        edge = 3 if found[:3] in ('"""', "'''") else 1
        return found[:edge] + " " * (len(found) - 2 * edge) + found[-edge:]

    for pattern in (_LONG_STRINGS, _STRINGS, _IRIS, _COMMENTS):
        text = pattern.sub(blank, text)
    return text


def keywords(text: str, names: tuple[str, ...]) -> list[str]:
    """Which of the keywords occur as keywords (not in strings, IRIs, names or variables).

    Under both readings a store may give the text: escapes resolved first (SPARQL 1.1
    §19.2), or resolved only inside strings and IRIs (Oxigraph). They differ where an escape
    stands for a quote: `"\\u0022" . SERVICE <…> { ?a ?b "x" }` is a string then SERVICE to
    Oxigraph, but one string up to "x" once the escape is resolved.
    """
    if text.isascii() and "\\" not in text:
        # ASCII without escapes is what a parser reads, and its case folding is plain: a
        # keyword absent as a substring is absent as a keyword (the common case, decided
        # without the regular expressions).
        lowered = text.lower()
        if not any(name.lower() in lowered for name in names):
            return []
    pattern = re.compile(rf"(?<![\w:?$-])({'|'.join(names)})(?![\w:-])", re.I)
    found = set()
    for unescape in (True, False):
        found |= {m.group(1).upper()
                  for m in pattern.finditer(without_literals(text, unescape=unescape))}
    return sorted(found)


def declares_dataset(query: str) -> bool:
    """True when the query names its own dataset with FROM or FROM NAMED."""
    return bool(keywords(query, ("FROM",)))

# pyoxigraph writes 'error at 2:9', 'line 3 between columns 7 and 11' or 'line 4 column 1'.
_POSITION = re.compile(r"(?:error at |line )(\d+)(?::(\d+)| between columns (\d+)| column (\d+))?")


def position_in(message: str) -> tuple[int | None, int | None]:
    """The (line, column) a parser's message names, as far as it names them."""
    match = _POSITION.search(message)
    if not match:
        return None, None
    column = match.group(2) or match.group(3) or match.group(4)
    return int(match.group(1)), int(column) if column else None


# Virtuoso names the line and the token, not the column, and echoes the query it was sent.
_TOKEN_AT = re.compile(r"line (\d+): syntax error at '([^'\n]+)'")
_ECHOED = "SPARQL query:\n"


def _column_of_token(message: str, line: int) -> int | None:
    """Where on its line the token a store's message names stands, in the query it echoes."""
    token = _TOKEN_AT.search(message)
    if not token or int(token.group(1)) != line or _ECHOED not in message:
        return None
    lines = message.split(_ECHOED, 1)[1].split("\n")
    found = lines[line - 1].find(token.group(2)) if line <= len(lines) else -1
    return found + 1 if found >= 0 else None


def syntax_error_from(message: str) -> InvalidSyntax:
    """Keep the SPARQL parser's words and pull out the position (the column from the token
    named, where the parser gives none)."""
    line, column = position_in(message)
    if line and column is None:
        column = _column_of_token(message, line)
    return InvalidSyntax(say(f"Syntax error: {message}", f"Syntaksfeil i SPARQL-teksten: {message}",
                             f"Syntaksfeil i SPARQL-teksten: {message}"), line=line, column=column)


def update_refused(exc: Exception) -> InvalidRequest:
    """An update the engine parsed but could not apply (DROP of a missing graph, CREATE of an
    existing one): the client's to fix."""
    return InvalidRequest(say(f"The update could not be applied: {exc}.",
                              "Oppdateringen kunne ikke utføres.",
                              "Oppdateringa kunne ikkje utførast."))


def remote_keywords(text: str) -> list[str]:
    """The SERVICE/LOAD keywords in a query or update, ignoring strings, IRIs and comments."""
    return keywords(text, ("SERVICE", "LOAD"))


def refuse_remote_fetches(text: str, *, allowed: bool = False) -> None:
    """400 for SERVICE or LOAD unless the operator enabled them (SMARTBY_ALLOW_SERVICE)."""
    if allowed:
        return
    found = remote_keywords(text)
    if found:
        raise InvalidRequest(
            say(f"{' and '.join(found)} is not allowed here: the server does not fetch remote "
                "data on a client's behalf.",
                f"{' og '.join(found)} er ikke tillatt her: tjenesten henter ikke eksterne data.",
                f"{' og '.join(found)} er ikkje tillate her: tenesta hentar ikkje eksterne data.")
        )




_ABSOLUTE = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]*:")


def with_base(query: str, base_iri: str | None) -> str:
    """The query with `BASE <base_iri>` in front when it holds a relative IRI, so that a store
    resolves it against our endpoint, as the embedded store does (a remote store would resolve
    it against its own endpoint, or not at all: Virtuoso leaves `<s>` as it is). On the same
    line: line numbers in the store's syntax errors stay right. A BASE in the query itself
    still wins (it comes later)."""
    if not base_iri:
        return query
    text = _STRINGS.sub('""', _LONG_STRINGS.sub('""', query))
    if all(_ABSOLUTE.match(iri) for iri in _IRIS.findall(text)):
        return query
    return f"BASE <{base_iri}> {query}"
