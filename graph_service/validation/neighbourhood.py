"""The data graph SHACL needs for a change: the change plus what the shapes reach of the store.

Validating a submission (or a write) against the whole store costs what the store holds;
this costs what the change touches. From the shapes' reach (validation/shape_reach.py)
it runs a few SPARQL queries in the store's engine (embedded or remote alike), each
pattern matched both in the store and in the change (its triples inlined as VALUES, so a
walk may cross from new triples into stored ones):

1. which added triples the store already holds (they change nothing);
2. the focus nodes the change affects, each with the shapes that target it: every node
   whose reach walks through a changed triple (each triple pattern pinned, in turn, to the
   changed triples), plus the changed triples' own subjects and objects;
3. one CONSTRUCT of every triple on the reach of each (focus node, shape) pair.

(With `arms_per_query` set, for Virtuoso 7.2, step 2 is two queries: the walks each with its
own shape's targets, then the nodes found paired with their shapes; see `_focus_query`.)

What the engine spends on these is mostly parsing and planning the query text, so the
queries are kept small: each distinct walk is asked for once whatever number of shapes
takes it, the targets are matched once for all arms, and one-step walks are merged into
one pattern with their predicates as `VALUES` (validation/neighbourhood_render.py writes
the SPARQL). Measured on the 50-triple benchmark submission: 405 KB of SPARQL in three
queries (~150 ms of engine CPU) became 108 KB (~20 ms).

The graphs named in `excluded` (the shapes, the submissions' provenance) are not part of
what is validated. Triples of the store's own default graph are not seen either (the
service keeps its content in named graphs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDFS
from rdflib.term import Node

from graph_service.store import QueryRequest, Store
from graph_service.validation.neighbourhood_render import (
    KEEP_VALUES,
    NOTHING,
    Context,
    Renderer,
    Rows,
    chunks,
    graph_filter,
    matches,
    n3,
    nodes,
    pinnings,
    union,
)
from graph_service.validation.neighbourhood_terms import (
    SKOLEM,
    from_json,
    from_ox,
    skolem_triple,
    unskolem,
    unskolem_triple,
)
from graph_service.validation.reach_patterns import (
    THIS,
    Group,
    Triple,
    Var,
)
from graph_service.validation.shape_reach import ShapeReach, shape_reaches

RDF_TYPE = rdflib.RDF.type


@dataclass
class Neighbourhood:
    """What SHACL sees: `after` (with the change) and `before` (the store part alone)."""

    after: rdflib.Graph
    before: rdflib.Graph
    focus: set[Node]
    queries: list[str] = field(default_factory=list, repr=False)
    shapes: frozenset[Node] = frozenset()  # the shapes that target a focus node


def build(
    store: Store, shapes: rdflib.Graph, added: rdflib.Graph,
    removed: Iterable[tuple[Node, Node, Node]] = (), *, excluded: Sequence[str] = (),
    timeout: float = 30.0, arms_per_query: int = 0,
) -> Neighbourhood:
    """The neighbourhood of a change (`added` triples, and `removed` ones already stored)."""
    reaches = shape_reaches(shapes)
    sub = [skolem_triple(triple) for triple in added]
    gone = [skolem_triple(triple) for triple in removed]
    run = _Runner(store, excluded, timeout, sub)
    run.arms_per_query = arms_per_query
    # One query: which added triples are stored already, and the stored subclass links.
    stored = run.construct(_existing_query(sub, excluded))
    run.subclasses = _subclasses(stored, {c for reach in reaches for c in reach.target.classes})
    known = set(stored)
    changed = [t for t in sub if t not in known] + gone
    seeds = {n for s, _, o in changed for n in (s, o) if not isinstance(n, rdflib.Literal)}
    if run.arms_per_query:  # Virtuoso: the walks with their shape's targets, then the pairs
        found = {n for q in _focus_query(reaches, changed, seeds, run) for n in run.select(
            q, "focus")}
        pairs = [p for q in _pairs_query(reaches, found, run) for p in run.select_pairs(q)] \
            if found else []
    else:
        pairs = [p for q in _focus_query(reaches, changed, seeds, run)
                 for p in run.select_pairs(q)]
    focus = {node for _, node in pairs}
    by_shape: dict[int, list[Node]] = {}
    for index, node in pairs:
        by_shape.setdefault(index, []).append(node)
    fetched = rdflib.Graph()
    for query in _fetch_query(reaches, by_shape, run) if by_shape else []:
        fetched += run.construct(query)
    before, after = rdflib.Graph(), rdflib.Graph()
    new = {t for t in sub if t not in known}
    gone_set = set(gone)
    for triple in fetched:
        if triple not in new:
            before.add(unskolem_triple(triple))
        if triple not in gone_set:
            after.add(unskolem_triple(triple))
    for triple in added:
        after.add(triple)
    return Neighbourhood(after, before, {unskolem(n) for n in focus}, run.sent,
                         frozenset(reaches[index].shape for index in by_shape))


# The stored `rdfs:subClassOf` links come back from the first query under a private name, so
# that they never pass for an added triple the store holds already.
SUBCLASS_LINK = rdflib.URIRef("urn:x-smartby:subclass-of")


def _subclasses(stored: rdflib.Graph, classes: set[rdflib.URIRef]) -> dict[Node, set[Node]]:
    """Each target class with its stored subclasses (an ontology's few links, fetched with
    the first query), for the targets' arm (`_targets`)."""
    found: dict[Node, set[Node]] = {
        cls: {n for n in stored.transitive_subjects(SUBCLASS_LINK, cls) if n is not None}
        for cls in classes}
    stored.remove((None, SUBCLASS_LINK, None))  # not triples of the store's data
    return found


def _existing_query(sub: Rows, excluded: Sequence[str]) -> str:
    rows = " ".join(f"({n3(s)} {n3(p)} {n3(o)})" for s, p, o in sub
                    if not str(s).startswith(SKOLEM) and not str(o).startswith(SKOLEM))
    keep = graph_filter("?g", excluded)
    existing = (f"{{ VALUES (?s ?p ?o) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} {keep} }}"
                if rows else "")
    links = (f"{{ ?sub {RDFS.subClassOf.n3()} ?super FILTER(isIRI(?sub) && isIRI(?super)) }}")
    return (f"CONSTRUCT {{ ?s ?p ?o . ?sub <{SUBCLASS_LINK}> ?super }} WHERE {{ "
            f"{' UNION '.join(p for p in (existing, links) if p)} }}")


def _focus_query(reaches: Sequence[ShapeReach], changed: Rows, seeds: set[Node],
                 run: _Runner) -> list[str]:
    """(shape, focus node) for every node a change can affect: the changed triples' own
    nodes, and every node whose reach walks through a changed triple (each triple pattern
    pinned, in turn, to the changed triples), each paired with every shape that targets it.
    The same pinned walk of several shapes is asked for once, and the targets are matched
    once for all arms, not once per arm: the query's size, which is what the engine spends
    its time on (parsing and planning), follows the distinct walks, not the shapes."""
    arms = [f"VALUES ?focus {{ {nodes(seeds)} }} {KEEP_VALUES}"] if seeds else []
    for (group, triple), owners in _distinct_pinnings(reaches).items():
        rows = [row for row in run.candidates(triple, changed) if matches(triple, row)]
        if rows and (triple.o != THIS or any(isinstance(row[2], rdflib.Literal) for row in rows)):
            if not run.arms_per_query:  # (else its focus is a changed node: a seed)
                r = Renderer(run, "a_", triple, rows)
                arms.append(f"{r.group(group)} BIND({r.term(THIS)} AS ?focus)")
                continue
            for index in owners:  # Virtuoso 7.2's compiler fails on some walks alone
                r = Renderer(run, "a_", triple, rows)  # ("SQ156 ... unknown table for a
                arms.append(f"{r.group(group)} {_walk_target(r, reaches[index])} "  # column")
                            f"BIND({r.term(THIS)} AS ?focus)")
    if not arms:
        return []
    if run.arms_per_query:
        return [f"SELECT DISTINCT ?focus WHERE {{ {union(chunk)} }}"
                for chunk in chunks(arms, run.arms_per_query)]
    targets = _targets(Renderer(run, "", pinned=Triple(Var("_"), Var("_"), Var("_"))),
                       reaches)
    return [f"SELECT DISTINCT ?shape ?focus WHERE {{ {{ {union(chunk)} }} {targets} }}"
            for chunk in chunks(arms, run.arms_per_query)]


Pinnings = dict[tuple[Group, Triple], list[int]]
_pinnings_of: dict[int, tuple[Sequence[ShapeReach], Pinnings]] = {}


def _distinct_pinnings(reaches: Sequence[ShapeReach]) -> Pinnings:
    """Every (pattern, pinned triple) of every shape's branches, each once with the shapes
    that have it, the focus's own triples left out (their focus node is a changed triple's
    node: a seed). Derived once per shapes graph (`reaches` is cached by shape_reach)."""
    kept = _pinnings_of.get(id(reaches))
    if kept is None or kept[0] is not reaches:
        found: Pinnings = {}
        for index, reach in enumerate(reaches):
            for branch in reach.branches:
                for group, triple in pinnings(branch):
                    owners = found.setdefault((group, triple), []) if triple.s != THIS else []
                    if index not in owners:
                        owners.append(index)
        kept = _pinnings_of[id(reaches)] = (reaches, found)
    return kept[1]


def _walk_target(r: Renderer, reach: ShapeReach) -> str:
    """The shape's targets on the arm's focus, for Virtuoso: a class as `?t
    rdfs:subClassOf* C` (where it compiles the walk; main's form, validation on Virtuoso)."""
    this, t, parts = r.term(THIS), r.term(Var("_t")), []
    for cls in sorted(reach.target.classes):
        parts.append(f"{r.triple(Triple(THIS, RDF_TYPE, Var('_t')))} "
                     f"{t} {RDFS.subClassOf.n3()}* {cls.n3()} .")
    if reach.target.nodes:
        parts.append(f"VALUES {this} {{ {nodes(reach.target.nodes)} }}")
    for pred in sorted(reach.target.subjects_of):
        parts.append(r.triple(Triple(THIS, pred, Var("_o"))))
    for pred in sorted(reach.target.objects_of):
        parts.append(r.triple(Triple(Var("_s"), pred, THIS)))
    return union([f"{{ {p} }}" for p in parts]) if parts else "FILTER(false)"


def _pairs_query(reaches: Sequence[ShapeReach], found: set[Node], run: _Runner) -> list[str]:
    """For Virtuoso: each node `_focus_query` found, with the shapes that target it."""
    targets = _targets(Renderer(run, "", pinned=Triple(Var("_"), Var("_"), Var("_"))),
                       reaches)
    return [f"SELECT DISTINCT ?shape ?focus WHERE {{ VALUES ?focus {{ {nodes(found)} }} "
            f"{targets} }}"]


def _targets(r: Renderer, reaches: Sequence[ShapeReach]) -> str:
    """Binds ?shape to the index of every shape that targets ?focus (SHACL 2.1.3)."""
    by_class = [(cls, i) for i, reach in enumerate(reaches) for cls in reach.target.classes]
    parts = []
    if by_class:  # one arm for every class, each listed with its stored subclasses: no
        # `rdfs:subClassOf*` to plan, and Virtuoso 7.2 answers nothing for that form after a
        # VALUES (or fails to compile it: "SQ156 ... unknown table")
        t = r.term(Var("_t"))
        listed = sorted({(n3(c), i) for cls, i in by_class
                         for c in r.run.subclasses.get(cls, set()) | {cls}})
        rows = " ".join(f"({c} {i})" for c, i in listed) + \
            (f" ({NOTHING} -1)" if len(listed) == 1 else "")
        parts.append(f"{r.triple(Triple(Var('focus'), RDF_TYPE, Var('_t')))} "
                     f"VALUES ({t} ?shape) {{ {rows} }}")
    for i, reach in enumerate(reaches):
        if reach.target.nodes:
            parts.append(f"VALUES ?focus {{ {nodes(reach.target.nodes)} }} BIND({i} AS ?shape)")
        for pred in sorted(reach.target.subjects_of):
            parts.append(f"{r.triple(Triple(Var('focus'), pred, Var('_o')))} BIND({i} AS ?shape)")
        for pred in sorted(reach.target.objects_of):
            parts.append(f"{r.triple(Triple(Var('_s'), pred, Var('focus')))} BIND({i} AS ?shape)")
    return union(parts)


def _fetch_query(reaches: Sequence[ShapeReach], by_shape: dict[int, list[Node]],
                 run: _Runner) -> list[str]:
    """Every triple on the reach of each (shape, focus node): each distinct walk once, from
    all the focus nodes of every shape that takes it; the walks whose first step is one
    predicate away from the focus node and that go on alike (or stop there) are one arm,
    their predicates a `VALUES`. Fewer triple patterns are what the engine plans and runs
    fastest; a focus node may so be walked from along a walk of another of its shapes (more
    true triples, the same verdict)."""
    starts: dict[Group, set[Node]] = {}
    for index, focus in sorted(by_shape.items()):
        for branch in reaches[index].branches:
            starts.setdefault(branch, set()).update(focus)
    steps: dict[tuple[bool, Group], tuple[set[Node], set[Node]]] = {}
    arms: list[str] = []
    run.template = {}
    for branch, start in starts.items():
        first = branch.items[0]
        predicate = first.p if isinstance(first, Triple) else None
        if isinstance(first, Triple) and isinstance(predicate, rdflib.URIRef) and \
                (first.s, first.o) in ((THIS, C0), (C0, THIS)):
            entry = steps.setdefault((first.s == THIS, Group(branch.items[1:])), (set(), set()))
            entry[0].update(start)
            entry[1].add(predicate)
            continue
        r = Renderer(run, "a_")
        arms.append(f"VALUES {r.term(THIS)} {{ {nodes(start)} }} {r.group(branch)}")
    for (forward, rest), (start, predicates) in steps.items():
        r = Renderer(run, "a_")
        step = Triple(THIS, P, C0) if forward else Triple(C0, P, THIS)
        # the change's own triples are fetched only to walk on from (it is in `after` anyway)
        rows = [row for row in run.sub if row[1] in predicates] if rest.items else []
        arms.append(f"VALUES {r.term(THIS)} {{ {nodes(start)} }} "
                    f"VALUES {r.term(P)} {{ {nodes(predicates)} }} {r.triple(step, rows)} "
                    f"{r.group(rest, frozenset({THIS, C0}))}")
    template = " ".join(run.template.values())  # the witnesses of the widest arm
    return [f"CONSTRUCT {{ {template} }} WHERE {{ {union(chunk)} }}"
            for chunk in chunks(arms, run.arms_per_query)]


C0, P = Var("c0"), Var("_p")  # a canonical walk's first variable (reach_patterns.canonical)


# -- running ------------------------------------------------------------------------------------


class _Runner(Context):
    def __init__(self, store: Store, excluded: Sequence[str], timeout: float, sub: Rows):
        super().__init__(excluded, sub)
        self.store, self.timeout = store, timeout
        self.sent: list[str] = []
        self.arms_per_query = 0

    def _run(self, query: str, graph: bool) -> bytes:
        self.sent.append(query)
        request = QueryRequest(
            query, timeout=self.timeout,
            graph_type="application/n-triples" if graph else None,
            results_type=None if graph else "application/sparql-results+json")
        return self.store.query(request).read()

    def construct(self, query: str) -> rdflib.Graph:
        body = self._run(query, graph=True)
        graph = rdflib.Graph()
        for triple in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            graph.add((from_ox(triple.subject), from_ox(triple.predicate),
                       from_ox(triple.object)))
        return graph

    def _bindings(self, query: str) -> list[dict[str, dict[str, str]]]:
        rows: list[dict[str, dict[str, str]]] = json.loads(self._run(query, graph=False))[
            "results"]["bindings"]
        return rows

    def select(self, query: str, name: str) -> list[Node]:
        return [from_json(row[name]) for row in self._bindings(query) if name in row]

    def select_pairs(self, query: str) -> list[tuple[int, Node]]:
        return [(int(row["shape"]["value"]), from_json(row["focus"]))
                for row in self._bindings(query)]
