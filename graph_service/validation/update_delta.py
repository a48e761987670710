"""The difference a SPARQL Update makes, without a copy of the store, when it can be known
from its text: INSERT DATA, DELETE DATA and the graph operations (CLEAR, DROP, CREATE, ADD,
MOVE, COPY of a named graph or the default graph).

Each graph an operation names is read once from the engine (that graph alone), the operations
are applied in order to those sets, and the difference from what was read is the delta. An
update with a WHERE clause (DELETE/INSERT … WHERE, DELETE WHERE), LOAD, or DROP/CLEAR NAMED or
ALL returns None: the caller still finds its delta by running it on a copy (issue 10 part 1,
not done for those yet)."""

from __future__ import annotations

import pyoxigraph as ox
import rdflib
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.term import Node

from graph_service.store import DEFAULT_GRAPH, Store
from graph_service.validation.delta import Delta, graph_content

DATA_OPERATIONS = {"InsertData", "DeleteData", "Clear", "Drop", "Create", "Add", "Move", "Copy"}


def data_update_delta(store: Store, sparql: str) -> Delta | None:
    """The update's delta, or None when it cannot be known from the text alone."""
    try:
        operations = translateUpdate(parseUpdate(sparql)).algebra
    except Exception:  # the engine's parser (on the copy) gives the client its own error
        return None
    if any(op.name not in DATA_OPERATIONS for op in operations):
        return None
    read: dict[str, set[ox.Quad]] = {}
    work: dict[str, set[ox.Quad]] = {}

    def content(graph: str) -> set[ox.Quad]:
        if graph not in work:
            read[graph] = graph_content(store, graph)
            work[graph] = set(read[graph])
        return work[graph]

    for op in operations:
        if op.name in ("InsertData", "DeleteData"):
            quads = [(DEFAULT_GRAPH, t) for t in op.triples or []]
            quads += [(str(g), t) for g, ts in (op.quads or {}).items() for t in ts]
            for graph, triple in quads:
                quad = _quad(triple, graph)
                if op.name == "InsertData":
                    content(graph).add(quad)
                else:
                    content(graph).discard(quad)
        elif op.name in ("Clear", "Drop", "Create"):
            target = _graph(op.graphiri)
            if target is None:
                return None
            if op.name != "Create":
                content(target).clear()
            else:
                content(target)
        else:  # Add, Move, Copy
            source, target = (_graph(g) for g in op.graph)
            if source is None or target is None:
                return None
            if source == target:
                continue
            moved = {_retarget(q, target) for q in content(source)}
            if op.name == "Add":
                content(target).update(moved)
            else:
                content(target).clear()
                content(target).update(moved)
            if op.name == "Move":
                content(source).clear()
    added = frozenset(q for g in work for q in work[g] - read[g])
    removed = frozenset(q for g in work for q in read[g] - work[g])
    return Delta(added, removed, {g: len(read[g]) for g in read})


def _graph(name: object) -> str | None:
    """An operation's graph: an IRI or DEFAULT_GRAPH; None for NAMED and ALL."""
    if name == "DEFAULT":
        return DEFAULT_GRAPH
    if isinstance(name, rdflib.URIRef):
        return str(name)
    return None


def _retarget(quad: ox.Quad, graph: str) -> ox.Quad:
    name = ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)
    return ox.Quad(quad.subject, quad.predicate, quad.object, name)


def _quad(triple: tuple[Node, Node, Node], graph: str) -> ox.Quad:
    s, p, o = (_term(t) for t in triple)
    assert isinstance(s, ox.NamedNode | ox.BlankNode) and isinstance(p, ox.NamedNode)
    return _retarget(ox.Quad(s, p, o), graph)


def _term(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise ValueError(f"not a term of DATA: {term!r}")
