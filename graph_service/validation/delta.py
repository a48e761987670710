"""What a write adds and removes, quad by quad, found without copying the store.

A validated write is judged by its difference: the protected graphs must not appear in it,
SHACL checks it on its neighbourhood, and the change log names the graphs it touches. For a
Graph Store write the difference follows from the body and the target graph's current content
(read alone, by the engine); nothing else of the store is read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from graph_service.settings import Settings
from graph_service.store import DEFAULT_GRAPH, Store
from graph_service.store.changelog import Change, Kind, changes_graph, dataset_iri


@dataclass(frozen=True)
class Delta:
    """`added` quads are not stored yet, `removed` ones are; `sizes` holds the quads each
    touched graph had before (0 for a graph that did not exist); `unnamed` when it holds
    blank nodes of the store, which no DELETE DATA or INSERT DATA can name."""

    added: frozenset[ox.Quad] = frozenset()
    removed: frozenset[ox.Quad] = frozenset()
    sizes: dict[str, int] = field(default_factory=dict)
    unnamed: bool = False

    def quads(self) -> Iterable[ox.Quad]:
        yield from self.added
        yield from self.removed

    def touched(self, settings: Settings) -> list[Change]:
        """The graphs the write changes, each a create, update or delete (no actor yet); the
        change log's own graph is left out (it changes only with the events)."""
        plus = Counter(_name(q.graph_name) for q in self.added)
        minus = Counter(_name(q.graph_name) for q in self.removed)
        found: list[Change] = []
        for graph in sorted(set(plus) | set(minus)):
            if graph == changes_graph(settings):
                continue
            before = self.sizes.get(graph, 0)
            after = before - minus[graph] + plus[graph]
            kind: Kind = "create" if before == 0 else "delete" if after == 0 else "update"
            target = dataset_iri(settings) if graph == DEFAULT_GRAPH else graph
            found.append(Change(kind, target, "update", actor=""))
        return found


def _name(graph: ox.NamedNode | ox.BlankNode | ox.DefaultGraph) -> str:
    return graph.value if isinstance(graph, ox.NamedNode) else DEFAULT_GRAPH


def _term(graph: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)


def graph_content(store: Store, graph: str) -> set[ox.Quad]:
    """One graph's quads, exported by the engine (an absent graph is empty)."""
    if graph != DEFAULT_GRAPH and not store.has_graph(graph):
        return set()
    target = _term(graph)
    data = store.export("application/n-triples", graph=graph)
    return {ox.Quad(t.subject, t.predicate, t.object, target)
            for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)}


def graph_write_delta(store: Store, graph: str, quads: Iterable[ox.Quad], *,
                      replace: bool) -> Delta:
    """PUT (`replace`) or POST of `quads` (their own graph names ignored) into `graph`."""
    target = _term(graph)
    before = graph_content(store, graph)
    new = {ox.Quad(q.subject, q.predicate, q.object, target) for q in quads}
    removed = before - new if replace else set()
    return Delta(frozenset(new - before), frozenset(removed), {graph: len(before)})


def graph_delete_delta(store: Store, graph: str) -> Delta:
    """DELETE of `graph`: everything it holds goes."""
    before = graph_content(store, graph)
    return Delta(frozenset(), frozenset(before), {graph: len(before)})


def delta_update(delta: Delta) -> str:
    """DELETE DATA and INSERT DATA writing exactly `delta` (blank nodes only among the added:
    DELETE DATA cannot name a stored one). Added blank nodes go in an INSERT template with
    an empty WHERE, which makes them new as INSERT DATA would (Virtuoso refuses blank nodes
    in INSERT DATA; store/__init__.add_to_graph_update does the same)."""
    def block(quads: frozenset[ox.Quad]) -> str:
        # One GRAPH block per graph: Virtuoso 7.2 fails (SR002) on an INSERT template with
        # several blocks of the same graph.
        by_graph: dict[str, list[str]] = {}
        for q in sorted(quads, key=str):
            key = str(q.graph_name) if isinstance(q.graph_name, ox.NamedNode) else ""
            by_graph.setdefault(key, []).append(f"{q.subject} {q.predicate} {q.object} .")
        return "\n".join(
            f"GRAPH {graph} {{\n" + "\n".join(lines) + "\n}" if graph else "\n".join(lines)
            for graph, lines in by_graph.items())

    parts = []
    if delta.removed:
        parts.append(f"DELETE DATA {{\n{block(delta.removed)}\n}}")
    blank = any(isinstance(t, ox.BlankNode) for q in delta.added for t in (q.subject, q.object))
    if delta.added and blank:
        parts.append(f"INSERT {{\n{block(delta.added)}\n}} WHERE {{}}")
    elif delta.added:
        parts.append(f"INSERT DATA {{\n{block(delta.added)}\n}}")
    return " ;\n".join(parts)
