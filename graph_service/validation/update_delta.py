"""The difference a SPARQL Update makes, found without a copy of the store.

INSERT DATA, DELETE DATA and the graph operations (CLEAR, DROP, CREATE, ADD, MOVE, COPY of a
named graph, the default graph, NAMED or ALL) follow from the text and the graphs they name:
each such graph is read once from the engine (that graph alone), the operations are applied
in order to those sets, and the difference from what was read is the delta. An operation with
a WHERE clause (DELETE/INSERT … WHERE, DELETE WHERE) is evaluated by the engine
(validation/update_where.py).

A WHERE is evaluated on the store as it is, so it must not depend on an earlier operation of
the same request: when an operation with a WHERE follows one that changed something, the
request is refused (400) with the advice to send the operations as separate requests. (The
alternative, evaluating it on the store plus the changes so far, needs either a copy of the
store or a proof of which stored data the pattern can reach; neither is worth it for a
request that can simply be split.) LOAD is refused for a validated write: what it adds is
known only after fetching it (the administrator's token writes unvalidated)."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import rdflib
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.term import Node

from graph_service.core.errors import InvalidRequest, say
from graph_service.store import DEFAULT_GRAPH, Store
from graph_service.validation.delta import Delta, graph_content
from graph_service.validation.update_text import operations as operation_texts
from graph_service.validation.update_where import constant_term, graph_size, where_delta

WHERE_OPERATIONS = {"Modify", "DeleteWhere"}
GRAPH_OPERATIONS = {"Clear", "Drop", "Create", "Add", "Move", "Copy"}
UNREADABLE = say("This update could not be read for validation; send its operations as "
                 "separate requests, or write it with the administrator token.",
                 "Denne oppdateringen kunne ikke leses for validering; send operasjonene som "
                 "separate forespørsler, eller skriv den med administratornøkkelen.",
                 "Denne oppdateringa kunne ikkje lesast for validering; send operasjonane "
                 "som separate førespurnader, eller skriv ho med administratornøkkelen.")


def update_delta(store: Store, sparql: str, *, timeout: float = 30.0,
                 check_graph: Callable[[str], None] = lambda graph: None) -> Delta:
    """The update's delta. `check_graph` is called with each graph an operation empties or
    overwrites before that graph is read (a protected one is refused without reading it)."""
    try:
        ops = translateUpdate(parseUpdate(sparql)).algebra
    except Exception as exc:  # the engine's own parser judged the syntax already
        raise InvalidRequest(UNREADABLE) from exc
    texts = operation_texts(sparql)
    if len(texts) != len(ops):
        raise InvalidRequest(UNREADABLE)
    plan = _Plan(store, timeout, check_graph)
    for op, text in zip(ops, texts, strict=True):
        if op.name in WHERE_OPERATIONS:
            if not text.where:
                raise InvalidRequest(UNREADABLE)
            plan.where(op, text)
        elif op.name in ("InsertData", "DeleteData"):
            plan.data(op)
        elif op.name in GRAPH_OPERATIONS:
            plan.graph_operation(op)
        else:  # Load
            raise InvalidRequest(say(
                "LOAD cannot be validated before it is written (what it adds is known only "
                "after fetching it); an administrator can LOAD.",
                "LOAD kan ikke valideres før det skrives (hva det legger til er kjent først "
                "når det er hentet); en administrator kan bruke LOAD.",
                "LOAD kan ikkje validerast før det blir skrive (kva det legg til er kjent "
                "først når det er henta); ein administrator kan bruke LOAD."))
    return plan.delta()


class _Plan:
    """The graphs read so far and their content after the operations so far; the WHERE
    operations' differences on graphs not read (`pending`)."""

    def __init__(self, store: Store, timeout: float, check: Callable[[str], None]) -> None:
        self.store, self.timeout, self.check = store, timeout, check
        self.read: dict[str, set[ox.Quad]] = {}
        self.work: dict[str, set[ox.Quad]] = {}
        self.plus: set[ox.Quad] = set()
        self.minus: set[ox.Quad] = set()
        self.unnamed = False

    def content(self, graph: str) -> set[ox.Quad]:
        if graph not in self.work:
            self.read[graph] = graph_content(self.store, graph)
            mine = {q for q in self.plus if _name(q) == graph}
            gone = {q for q in self.minus if _name(q) == graph}
            self.plus -= mine
            self.minus -= gone
            self.work[graph] = (self.read[graph] - gone) | mine
        return self.work[graph]

    def changed(self) -> bool:
        return bool(self.plus or self.minus) or any(
            self.work[g] != self.read[g] for g in self.work)

    def where(self, op: object, text: object) -> None:
        if self.changed():
            raise InvalidRequest(say(
                "An operation with WHERE follows one that changes the graph in the same "
                "request; its pattern would be matched before that change is validated. Send "
                "the operations as separate requests.",
                "En operasjon med WHERE kommer etter en som endrer grafen i samme forespørsel; "
                "mønsteret ville blitt matchet før endringen er validert. Send operasjonene "
                "som separate forespørsler.",
                "Ein operasjon med WHERE kjem etter ein som endrar grafen i same førespurnad; "
                "mønsteret ville blitt matcha før endringa er validert. Send operasjonane "
                "som separate førespurnader."))
        found = where_delta(self.store, op, text,  # type: ignore[arg-type]
                            timeout=self.timeout)
        self.unnamed |= found.unnamed
        for quad in found.removed:
            if _name(quad) in self.work:
                self.work[_name(quad)].discard(quad)
            else:
                self.minus.add(quad)
        for quad in found.added:
            if _name(quad) in self.work:
                self.work[_name(quad)].add(quad)
            else:
                self.plus.add(quad)

    def data(self, op: object) -> None:
        name = getattr(op, "name", "")
        quads = [(DEFAULT_GRAPH, t) for t in getattr(op, "triples", None) or []]
        quads += [(str(g), t) for g, ts in (getattr(op, "quads", None) or {}).items()
                  for t in ts]
        for graph, triple in quads:
            quad = _quad(triple, graph)
            if name == "InsertData":
                self.content(graph).add(quad)
            else:
                self.content(graph).discard(quad)

    def graph_operation(self, op: object) -> None:
        name = getattr(op, "name", "")
        if name in ("Clear", "Drop", "Create"):
            for target in self._graphs(getattr(op, "graphiri", None)):
                if name != "Create":
                    self.check(target)
                    self.content(target).clear()
                else:
                    self.content(target)
            return
        origin, goal = (_graph(g) for g in getattr(op, "graph", (None, None)))
        if origin is None or goal is None or origin == goal:
            return
        self.check(goal)
        moved = {_retarget(q, goal) for q in self.content(origin)}
        if name == "Add":
            self.content(goal).update(moved)
        else:
            self.content(goal).clear()
            self.content(goal).update(moved)
        if name == "Move":
            self.check(origin)
            self.content(origin).clear()

    def _graphs(self, name: object) -> list[str]:
        """An operation's graphs: NAMED and ALL stand for every named graph (and ALL for the
        default graph too)."""
        if name in ("NAMED", "ALL"):
            graphs = list(self.store.named_graphs())
            return [*graphs, DEFAULT_GRAPH] if name == "ALL" else graphs
        one = _graph(name)
        return [one] if one is not None else []

    def delta(self) -> Delta:
        added = {q for g in self.work for q in self.work[g] - self.read[g]} | self.plus
        removed = {q for g in self.work for q in self.read[g] - self.work[g]} | self.minus
        sizes = {g: len(self.read[g]) for g in self.read}
        for quad in self.plus | self.minus:
            if _name(quad) not in sizes:
                sizes[_name(quad)] = graph_size(self.store, _name(quad), timeout=self.timeout)
        return Delta(frozenset(added), frozenset(removed), sizes, unnamed=self.unnamed)


def _name(quad: ox.Quad) -> str:
    return quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else DEFAULT_GRAPH


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
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    constant = constant_term(term)
    if constant is None:
        raise ValueError(f"not a term of DATA: {term!r}")
    return constant
