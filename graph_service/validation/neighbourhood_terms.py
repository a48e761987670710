"""Terms between the engine and rdflib for validation/neighbourhood.py: a submission's blank
nodes are named with SKOLEM IRIs in queries (a query cannot name a blank node) and turned
back afterwards; answers (N-Triples from pyoxigraph, SPARQL JSON rows) become rdflib terms."""

from __future__ import annotations

import pyoxigraph as ox
import rdflib
from rdflib.term import Node

SKOLEM = "urn:x-smartby:bnode:"


def skolem(term: Node) -> Node:
    return rdflib.URIRef(SKOLEM + str(term)) if isinstance(term, rdflib.BNode) else term


def skolem_triple(triple: tuple[Node, Node, Node]) -> tuple[Node, Node, Node]:
    s, p, o = triple
    return skolem(s), p, skolem(o)


def unskolem(term: Node) -> Node:
    if isinstance(term, rdflib.URIRef) and term.startswith(SKOLEM):
        return rdflib.BNode(term[len(SKOLEM):])
    return term


def unskolem_triple(triple: tuple[Node, Node, Node]) -> tuple[Node, Node, Node]:
    s, p, o = triple
    return unskolem(s), p, unskolem(o)


def from_ox(term: object) -> Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    assert isinstance(term, ox.Literal)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value))


def from_json(term: dict[str, str]) -> Node:
    kind, value = term["type"], term["value"]
    if kind == "uri":
        return rdflib.URIRef(value)
    if kind == "bnode":
        return rdflib.BNode(value)
    if "xml:lang" in term:
        return rdflib.Literal(value, lang=term["xml:lang"])
    datatype = term.get("datatype")
    return rdflib.Literal(value, datatype=rdflib.URIRef(datatype) if datatype else None)
