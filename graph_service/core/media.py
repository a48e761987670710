"""Media types, file suffixes and `Accept` negotiation (RFC 9110 q-values)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyoxigraph as ox

from graph_service.core.errors import NoAcceptableFormat, say

# SELECT / ASK results, first is the default.
RESULTS_TYPES: dict[str, ox.QueryResultsFormat] = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
    "text/tab-separated-values": ox.QueryResultsFormat.TSV,
}
# CONSTRUCT / DESCRIBE results and single graphs, first is the default.
GRAPH_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}
# Whole datasets (named graphs kept).
DATASET_TYPES: dict[str, ox.RdfFormat] = {
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "text/turtle": ox.RdfFormat.TURTLE,
}
# Everything we can parse, by Content-Type.
PARSEABLE_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/x-turtle": ox.RdfFormat.TURTLE,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "text/plain": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/xml": ox.RdfFormat.RDF_XML,
}
# Short names for `format=` parameters and the CLI.
FORMAT_ALIASES: dict[str, str] = {
    "json": "application/sparql-results+json",
    "srj": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "srx": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "turtle": "text/turtle",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "nt": "application/n-triples",
    "ntriples": "application/n-triples",
    "n-triples": "application/n-triples",
    "rdf": "application/rdf+xml",
    "rdfxml": "application/rdf+xml",
    "trig": "application/trig",
    "nq": "application/n-quads",
    "nquads": "application/n-quads",
    "n-quads": "application/n-quads",
    "html": "text/html",
}
# File suffixes for linked-data URLs.
SUFFIX_TYPES: dict[str, str] = {
    ".ttl": "text/turtle",
    ".jsonld": "application/ld+json",
    ".nt": "application/n-triples",
    ".rdf": "application/rdf+xml",
    ".html": "text/html",
    ".trig": "application/trig",
    ".nq": "application/n-quads",
}


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    order: int
    params: tuple[tuple[str, str], ...] = ()

    def matches(self, media_type: str) -> int:
        """Specificity of the match (3 exact, 2 type/*, 1 */*), 0 for none."""
        kind, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 1
        if self.type == kind and self.subtype == "*":
            return 2
        if self.type == kind and self.subtype == sub:
            return 3
        return 0

    def param(self, name: str) -> str | None:
        """A media-type parameter (not `q`), unquoted; None when absent."""
        return next((value for key, value in self.params if key == name), None)


# RFC 9110 §5.6: a list of elements; a parameter value is a token or a quoted string, which
# may itself hold commas and semicolons (a JSON-LD profile is a space-separated list of IRIs).
_ELEMENT = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*"?)+')
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")
_PARAMETER = re.compile(r'\s*;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')


def parse_qvalue(value: str) -> float:
    """An RFC 9110 §12.4.2 qvalue (0 to 1, at most three decimals); anything else is 0."""
    value = value.strip()
    return float(value) if _QVALUE.fullmatch(value) else 0.0


def _unquote(value: str) -> str:
    value = value.strip()
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1] if value.endswith('"') and len(value) > 1
                      else value[1:])
    return value


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an Accept header, with their parameters; malformed parts skipped."""
    ranges: list[MediaRange] = []
    for order, element in enumerate(_ELEMENT.findall(header or "")):
        head, _, rest = element.partition(";")
        kind, _, sub = head.strip().lower().partition("/")
        if not kind or not sub or "/" in sub or " " in sub:
            continue
        q, params = 1.0, []
        for name, value in _PARAMETER.findall(";" + rest if rest else ""):
            if name.lower() == "q":  # RFC 9110 §12.4.2 qvalue; anything else: not acceptable
                q = parse_qvalue(value)
            else:
                params.append((name.lower(), _unquote(value)))
        ranges.append(MediaRange(kind, sub, q, order, tuple(params)))
    return ranges


def preferred(header: str | None, offered: list[str]) -> str | None:
    """The offered type the client likes best; the first offered when no Accept is given."""
    if not header or not header.strip():
        return offered[0] if offered else None
    ranges = parse_accept(header)
    best: tuple[float, int, int] | None = None
    choice = None
    for index, media_type in enumerate(offered):
        matching = [(r.matches(media_type), r) for r in ranges]
        matching = [(s, r) for s, r in matching if s]
        if not matching:
            continue
        # The most specific ranges decide; among equals (repeated, or differing only in
        # parameters such as a JSON-LD profile) the highest q.
        specificity, rng = max(matching, key=lambda m: (m[0], m[1].q))
        if rng.q <= 0:
            continue
        # Higher q wins, then the more specific match, then the server's order.
        key = (rng.q, specificity, -index)
        if best is None or key > best:
            best, choice = key, media_type
    return choice


def negotiate(header: str | None, offered: list[str]) -> str:
    """Like `preferred`, but 406 when nothing offered is acceptable."""
    choice = preferred(header, offered)
    if choice is None:
        raise NoAcceptableFormat(
            say(f"None of the available media types is acceptable: {', '.join(offered)}.",
                f"Ingen av de tilgjengelige medietypene passer: {', '.join(offered)}.",
                f"Ingen av dei tilgjengelege medietypane passar: {', '.join(offered)}.")
        )
    return choice


def resolve_format(name: str) -> str:
    """A `format=` value (alias or media type) as a media type."""
    key = name.strip().lower()
    return FORMAT_ALIASES.get(key, key)


def base_media_type(content_type: str | None) -> str:
    """`text/turtle; charset=utf-8` → `text/turtle`."""
    return (content_type or "").split(";")[0].strip().lower()
