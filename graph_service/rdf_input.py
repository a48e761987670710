"""Safe parsing of RDF that arrives from outside: every syntax, errors with line and column.

Parsing goes through Oxigraph's parsers, which never fetch anything: a JSON-LD remote
`@context` is refused, and RDF/XML external entities are not resolved.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
import rdflib
from rdflib.term import Node

from graph_service.errors import RdfSyntaxError, UnsupportedMediaType
from graph_service.media import PARSEABLE_TYPES, base_media_type

_POSITION = re.compile(r"line (\d+)(?: between columns (\d+)| column (\d+))?")


def rdf_format_for(content_type: str | None) -> ox.RdfFormat:
    """The parser for a Content-Type, or 415."""
    media_type = base_media_type(content_type)
    try:
        return PARSEABLE_TYPES[media_type]
    except KeyError:
        supported = ", ".join(sorted(set(PARSEABLE_TYPES)))
        raise UnsupportedMediaType(
            f"Cannot read '{media_type or 'no Content-Type'}'. Send one of: {supported}."
        ) from None


def parse_quads(
    data: bytes, fmt: ox.RdfFormat, *, base_iri: str | None = None, source: str = ""
) -> list[ox.Quad]:
    """All quads of a document, or RdfSyntaxError naming where it broke."""
    try:
        return list(ox.parse(data, format=fmt, base_iri=base_iri))
    except SyntaxError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "offset", None)
        message = exc.msg if hasattr(exc, "msg") else str(exc)
        if line is None:
            match = _POSITION.search(str(exc))
            if match:
                line = int(match.group(1))
                column = int(match.group(2) or match.group(3) or 0) or None
        prefix = f"{source}: " if source else ""
        raise RdfSyntaxError(f"{prefix}{message}", line=line, column=column) from exc
    except (ValueError, OSError) as exc:
        prefix = f"{source}: " if source else ""
        raise RdfSyntaxError(f"{prefix}{exc}") from exc


def to_rdflib(term: object) -> Node:
    """One pyoxigraph term as the rdflib term pyshacl expects."""
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


def quads_to_graph(quads: list[ox.Quad], graph: rdflib.Graph | None = None) -> rdflib.Graph:
    """Merge the quads' triples into one rdflib graph (what SHACL validates)."""
    graph = graph if graph is not None else rdflib.Graph()
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def ntriples(quads: list[ox.Quad]) -> bytes:
    """The quads' triples as N-Triples (graph names dropped)."""
    return ox.serialize(
        [ox.Triple(q.subject, q.predicate, q.object) for q in quads], format=ox.RdfFormat.N_TRIPLES
    ) or b""
