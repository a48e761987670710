"""The exact difference one `DELETE/INSERT … WHERE` or `DELETE WHERE` operation makes, found
by the store's engine without copying the store.

The operation's WHERE group (validation/update_text.py) is evaluated as a SELECT by the
store (embedded or remote alike, bounded by the query timeout), on the dataset the update
would see: the store's own default graph and all named graphs; `FROM`/`FROM NAMED` for
`USING`/`USING NAMED`; for `WITH <g>` the graph g as default graph with every named graph.
Each solution fills the templates (rdflib's parse of the update gives them), as SPARQL 1.1
Update §3.1.3 says: a template triple with an unbound variable or an ill-formed result is
left out, a template blank node is a new blank node per solution. Of the instantiated
deletions only those the store holds are removed (one VALUES query asks which), and of the
insertions only those not already there after the deletions are added.

What the engine answered is then written as it is (DELETE DATA / INSERT DATA), so NOW(),
UUID(), RAND() and BNODE() write exactly what was validated."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
import rdflib

from graph_service.store import DEFAULT_GRAPH, QueryRequest, Store
from graph_service.validation.update_text import OperationText

OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
GraphName = ox.NamedNode | ox.DefaultGraph
Template = list[tuple[Any, Any, Any, Any]]  # rdflib terms or Variables; graph last
VALUES_ROWS = 400  # quads per existence query
NOTHING = "<urn:x-smartby:matches-nothing>"  # see validation/neighbourhood.py


@dataclass
class WhereDelta:
    """`removed` are stored quads, `added` quads the store does not hold; `fresh` the blank
    nodes the insert template made (every other blank node came from the store)."""

    removed: set[ox.Quad] = field(default_factory=set)
    added: set[ox.Quad] = field(default_factory=set)
    fresh: set[ox.BlankNode] = field(default_factory=set)
    unnamed: bool = False  # a quad with a blank node of the store: no DATA form can write it


def where_delta(store: Store, op: Any, text: OperationText, *, timeout: float) -> WhereDelta:
    """The difference `op` (rdflib's Modify or DeleteWhere) makes on the store."""
    with_graph = getattr(op, "withClause", None)
    template_default: GraphName = (ox.NamedNode(str(with_graph)) if with_graph is not None
                                   else ox.DefaultGraph())
    if op.name == "DeleteWhere":
        deletes, inserts = _template(op, template_default), []
    else:
        deletes = _template(op.delete, template_default) if op.delete else []
        inserts = _template(op.insert, template_default) if op.insert else []
    dataset, own_default = _dataset(op, store)
    query = f"{text.prologue}\nSELECT * {dataset} WHERE {text.where}"
    body = store.query(QueryRequest(query, timeout=timeout, graph_type=None,
                                    own_default_graph=own_default)).read()
    solutions = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    assert isinstance(solutions, ox.QuerySolutions)
    found = WhereDelta()
    wanted_out: set[ox.Quad] = set()
    wanted_in: set[ox.Quad] = set()
    for solution in solutions:
        wanted_out.update(_fill(deletes, solution, {}))
        made: dict[Any, ox.BlankNode] = {}
        wanted_in.update(_fill(inserts, solution, made))
        found.fresh.update(made.values())
    held, unknown = stored(store, wanted_out | wanted_in, timeout=timeout, skip=found.fresh)
    # After: (store - deletions) | insertions (SPARQL 1.1 Update §3.1.3).
    found.removed = (wanted_out & (held | unknown)) - wanted_in
    found.added = wanted_in - held
    found.unnamed = bool(unknown)
    return found


def _template(clause: Any, default: GraphName) -> Template:
    quads: Template = [(s, p, o, default) for s, p, o in clause.triples or []]
    for graph, triples in (clause.quads or {}).items():
        quads += [(s, p, o, graph) for s, p, o in triples]
    return quads


def _dataset(op: Any, store: Store) -> tuple[str, bool]:
    """The query's FROM clauses for the update's dataset; True when there are none and the
    store's own default graph is meant."""
    using = getattr(op, "using", None) or []
    if using:
        return " ".join(f"FROM NAMED <{u.named}>" if "named" in u
                        else f"FROM <{u.default}>" for u in using), False
    with_graph = getattr(op, "withClause", None)
    if with_graph is not None:
        named = " ".join(f"FROM NAMED <{g}>" for g in store.named_graphs())
        return f"FROM <{with_graph}> {named}", False
    return "", True


def _fill(template: Template, solution: ox.QuerySolution,
          made: dict[Any, ox.BlankNode]) -> Iterable[ox.Quad]:
    for s, p, o, g in template:
        terms = [_bound(t, solution, made) for t in (s, p, o, g)]
        subject, predicate, obj, graph = terms
        if (not isinstance(subject, ox.NamedNode | ox.BlankNode)
                or not isinstance(predicate, ox.NamedNode)
                or not isinstance(obj, ox.NamedNode | ox.BlankNode | ox.Literal)
                or not isinstance(graph, ox.NamedNode | ox.DefaultGraph)):
            continue  # unbound, or no well-formed triple: left out (SPARQL 1.1 Update §3.1.3)
        yield ox.Quad(subject, predicate, obj, graph)


def _bound(term: Any, solution: ox.QuerySolution,
           made: dict[Any, ox.BlankNode]) -> OxTerm | ox.DefaultGraph | None:
    if isinstance(term, ox.DefaultGraph | ox.NamedNode):
        return term
    if isinstance(term, rdflib.Variable):
        value = solution[str(term)]
        return value if isinstance(value, ox.NamedNode | ox.BlankNode | ox.Literal) else None
    if isinstance(term, rdflib.BNode):
        return made.setdefault(term, ox.BlankNode())
    return constant_term(term)


def constant_term(term: Any) -> ox.NamedNode | ox.Literal | None:
    """rdflib's IRI or literal as pyoxigraph's (None for anything else)."""
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    return None


def stored(store: Store, quads: Iterable[ox.Quad], *, timeout: float,
           skip: Collection[ox.BlankNode] = ()) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """Which of `quads` the store holds, asked in VALUES blocks; and those it cannot be
    asked about: a quad with a blank node of the store (a query cannot name one; a deletion
    of it is validated as if it happened, an insertion as if it were new, and the write is
    left to the engine or refused, guard.py). One with a blank node just made (`skip`) is
    not held."""
    held: set[ox.Quad] = set()
    unknown: set[ox.Quad] = set()
    named: list[ox.Quad] = []
    default: list[ox.Quad] = []
    for quad in quads:
        blanks = {t for t in (quad.subject, quad.object) if isinstance(t, ox.BlankNode)}
        if blanks & set(skip):
            continue
        if blanks:
            unknown.add(quad)
        elif isinstance(quad.graph_name, ox.NamedNode):
            named.append(quad)
        else:
            default.append(quad)
    for chunk in _chunks(named):
        rows = " ".join(f"({q.subject} {q.predicate} {q.object} {q.graph_name})" for q in chunk)
        query = ("SELECT ?s ?p ?o ?g WHERE { VALUES (?s ?p ?o ?g) { "
                 f"{rows} ({NOTHING} {NOTHING} {NOTHING} {NOTHING}) }} GRAPH ?g {{ ?s ?p ?o }} }}")
        held.update(_quads(store, query, timeout, own_default=False))
    for chunk in _chunks(default):
        rows = " ".join(f"({q.subject} {q.predicate} {q.object})" for q in chunk)
        query = ("SELECT ?s ?p ?o WHERE { VALUES (?s ?p ?o) { "
                 f"{rows} ({NOTHING} {NOTHING} {NOTHING}) }} ?s ?p ?o }}")
        held.update(_quads(store, query, timeout, own_default=True))
    return held, unknown


def graph_size(store: Store, graph: str, *, timeout: float) -> int:
    """How many triples one graph holds (0 for one that does not exist)."""
    pattern = ("?s ?p ?o" if graph == DEFAULT_GRAPH
               else f"GRAPH <{ox.NamedNode(graph).value}> {{ ?s ?p ?o }}")
    body = store.query(QueryRequest(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}",
                                    timeout=timeout, graph_type=None,
                                    own_default_graph=True)).read()
    solutions = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    assert isinstance(solutions, ox.QuerySolutions)
    for solution in solutions:
        count = solution["n"]
        return int(count.value) if isinstance(count, ox.Literal) else 0
    return 0


def _chunks(quads: list[ox.Quad]) -> list[list[ox.Quad]]:
    return [quads[i:i + VALUES_ROWS] for i in range(0, len(quads), VALUES_ROWS)]


def _quads(store: Store, query: str, timeout: float, *, own_default: bool) -> set[ox.Quad]:
    body = store.query(QueryRequest(query, timeout=timeout, graph_type=None,
                                    own_default_graph=own_default)).read()
    solutions = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    assert isinstance(solutions, ox.QuerySolutions)
    found = set()
    for row in solutions:
        s, p, o, g = row["s"], row["p"], row["o"], row["g"] if not own_default else None
        graph = g if isinstance(g, ox.NamedNode) else ox.DefaultGraph()
        assert isinstance(s, ox.NamedNode | ox.BlankNode) and isinstance(p, ox.NamedNode)
        assert isinstance(o, ox.NamedNode | ox.BlankNode | ox.Literal)
        found.add(ox.Quad(s, p, o, graph))
    return found
