"""Safe parsing of RDF that arrives from outside: every syntax, errors with line and column.

Parsing goes through Oxigraph's parsers, which never fetch anything: a JSON-LD remote
`@context` is refused, and RDF/XML external entities are not resolved. Internal XML entities
are expanded by the parser, so nested ones ("billion laughs") are refused before it runs.
Every document gets fresh blank nodes, so that two documents never share one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox
import rdflib
from rdflib.term import Node

from graph_service.core.errors import InvalidSyntax, UnsupportedFormat, say
from graph_service.core.media import PARSEABLE_TYPES, base_media_type
from graph_service.core.sparql_text import position_in

# Oxigraph reads only `<!ENTITY name "value">` (no parameter entities, no other quoting).
_ENTITY_DECLARATION = re.compile(rb'<!ENTITY\s+([^\s"%>]+)\s+"([^"]*)"\s*>')
MAX_ENTITY_EXPANSION = 10 * 1024 * 1024  # bytes the references of a document may add


def rdf_format_for(content_type: str | None) -> ox.RdfFormat:
    """The parser for a Content-Type, or 415."""
    media_type = base_media_type(content_type)
    try:
        return PARSEABLE_TYPES[media_type]
    except KeyError:
        supported = ", ".join(sorted(set(PARSEABLE_TYPES)))
        raise UnsupportedFormat(
            say(f"Cannot read '{media_type or 'no Content-Type'}'. Send one of: {supported}.",
                f"Kan ikke lese '{media_type or 'uten Content-Type'}'. Send en av: {supported}.",
                f"Kan ikkje lese '{media_type or 'utan Content-Type'}'. Send ein av: {supported}.")
        ) from None


def parse_body(data: bytes, content_type: str | None) -> list[ox.Quad]:
    """A request body's quads, by its Content-Type (unknown syntax: UnsupportedFormat; bad
    syntax: InvalidSyntax with line and column)."""
    return parse_quads(data, rdf_format_for(content_type))


def parse_quads(
    data: bytes, fmt: ox.RdfFormat, *, base_iri: str | None = None, source: str = ""
) -> list[ox.Quad]:
    """All quads of a document (its blank nodes fresh), or InvalidSyntax naming where it
    broke."""
    if fmt == ox.RdfFormat.RDF_XML:
        _refuse_entity_expansion(data, source)
    try:
        return _fresh_blank_nodes(ox.parse(data, format=fmt, base_iri=base_iri))
    except SyntaxError as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "offset", None)
        message = exc.msg if hasattr(exc, "msg") else str(exc)
        if line is None:
            line, column = position_in(str(exc))
        prefix = f"{source}: " if source else ""
        raise InvalidSyntax(say(f"{prefix}{message}",
                                f"{prefix}Syntaksfeil i RDF-dataene: {message}",
                                f"{prefix}Syntaksfeil i RDF-dataa: {message}"),
                            line=line, column=column) from exc
    except (ValueError, OSError) as exc:
        prefix = f"{source}: " if source else ""
        raise InvalidSyntax(say(f"{prefix}{exc}", f"{prefix}RDF-dataene kunne ikke leses.",
                                f"{prefix}RDF-dataa kunne ikkje lesast.")) from exc


def _refuse_entity_expansion(data: bytes, source: str) -> None:
    """Entities that refer to entities, or references that would add more than
    MAX_ENTITY_EXPANSION bytes, are refused: the parser would expand them in memory."""
    declared = {name: value for name, value in _ENTITY_DECLARATION.findall(data)}
    expansion = 0
    for name, value in declared.items():
        if any(b"&" + other + b";" in value for other in declared):
            problem = f"the entity '{name.decode(errors='replace')}' refers to another entity"
            break
        expansion += data.count(b"&" + name + b";") * len(value)
    else:
        if expansion <= MAX_ENTITY_EXPANSION:
            return
        problem = f"its entity references would expand to more than {MAX_ENTITY_EXPANSION} bytes"
    prefix = f"{source}: " if source else ""
    raise InvalidSyntax(
        say(f"{prefix}XML entities refused: {problem}.",
            f"{prefix}XML-entiteter avvist: de refererer til hverandre eller ville blitt for "
            "store.",
            f"{prefix}XML-entitetar avviste: dei viser til kvarandre eller ville vorte for "
            "store."))


def _fresh_blank_nodes(quads: Iterable[ox.Quad]) -> list[ox.Quad]:
    """The quads with each blank node label of the document replaced by a new blank node."""
    fresh: dict[ox.BlankNode, ox.BlankNode] = {}

    def term(value: Any) -> Any:
        if isinstance(value, ox.BlankNode):
            found = fresh.get(value)
            if found is None:
                found = fresh[value] = ox.BlankNode()
            return found
        if isinstance(value, ox.Triple):
            return ox.Triple(term(value.subject), value.predicate, term(value.object))
        return value

    return [
        ox.Quad(term(q.subject), q.predicate, term(q.object), term(q.graph_name))
        if isinstance(q.subject, ox.BlankNode | ox.Triple)
        or isinstance(q.object, ox.BlankNode | ox.Triple)
        or isinstance(q.graph_name, ox.BlankNode) else q
        for q in quads
    ]


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
