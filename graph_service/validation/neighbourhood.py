"""The data graph SHACL needs for a change: the change plus what the shapes reach of the store.

Validating a submission (or a write) against the whole store costs what the store holds;
this costs what the change touches. From the shapes' reach (validation/shape_reach.py)
it runs a few SPARQL queries in the store's engine (embedded or remote alike), each
pattern matched both in the store and in the change (its triples inlined as VALUES, so a
walk may cross from new triples into stored ones):

1. which added triples the store already holds (they change nothing);
2. the focus nodes the change affects: every node that a shape targets and whose reach
   walks through a changed triple (each triple pattern pinned, in turn, to the changed
   triples), plus the changed triples' own subjects and objects that a shape targets;
3. which shapes target each of those nodes;
4. one CONSTRUCT of every triple on the reach of each (focus node, shape) pair.

The graphs named in `excluded` (the shapes, the submissions' provenance) are not part of
what is validated. Triples of the store's own default graph are not seen either (the
service keeps its content in named graphs).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDFS
from rdflib.term import Node

from graph_service.core.errors import Unavailable, say
from graph_service.store import QueryRequest, Store
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
    Alternatives,
    Group,
    Hop,
    Item,
    Optional,
    Term,
    Triple,
    Var,
)
from graph_service.validation.shape_reach import ShapeReach, shape_reaches

RDF_TYPE = rdflib.RDF.type
Rows = Sequence[tuple[Node, Node, Node]]


@dataclass
class Neighbourhood:
    """What SHACL sees: `after` (with the change) and `before` (the store part alone)."""

    after: rdflib.Graph
    before: rdflib.Graph
    focus: set[Node]
    queries: list[str] = field(default_factory=list, repr=False)
    shapes: frozenset[Node] = frozenset()  # the shapes that target a focus node


class NeighbourhoodUnavailable(Unavailable):
    """A focus node is a blank node of the store: it cannot be named in a later query."""


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
    stored = run.construct(_existing_query(sub, excluded)) if sub else rdflib.Graph()
    known = set(stored)
    changed = [t for t in sub if t not in known] + gone
    seeds = {n for s, _, o in changed for n in (s, o) if not isinstance(n, rdflib.Literal)}
    pairs = [p for q in _focus_query(reaches, changed, seeds, run) for p in run.select_pairs(q)]
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


def _n3(term: Node | Term) -> str:
    if isinstance(term, Var):
        return f"?{term}"
    if isinstance(term, rdflib.BNode):
        raise NeighbourhoodUnavailable(say(
            "A blank node of the store would be a focus node; it cannot be fetched by name.",
            "En blank node i lageret ville vært et fokusnode; den kan ikke hentes ved navn.",
            "Ein blank node i lageret ville vore ein fokusnode; han kan ikkje hentast ved namn."))
    return str(term.n3())


# -- rendering patterns ---------------------------------------------------------------------


class _Renderer:
    """Renders one arm of a union; variables get the prefix, triples a witness each.

    Every arm uses the same names (?a_this, ?a_g0, ?a_w0s ...): the arms of a union are
    independent, and a union whose arms each bring variables of their own makes every
    solution as wide as all of them together, which the engine pays for quadratically
    (measured: 63 arms with names of their own took three times as long as the same arms
    asked four at a time)."""

    def __init__(self, run: _Runner, prefix: str, pinned: Triple | None = None,
                 rows: Rows = ()) -> None:
        self.run, self.prefix, self.pinned, self.rows = run, prefix, pinned, rows
        self._names = itertools.count()

    def name(self, kind: str) -> str:
        return f"{self.prefix}{kind}{next(self._names)}"

    def term(self, term: Term) -> str:
        return f"?{self.prefix}{term}" if isinstance(term, Var) else _n3(term)

    def group(self, group: Group) -> str:
        return " ".join(self.item(item) for item in _ordered(group.items))

    def item(self, item: Item) -> str:
        if isinstance(item, Triple):
            return self.triple(item)
        if isinstance(item, Hop):
            step = f"(^{_n3(item.pred)})*" if item.inverse else f"{_n3(item.pred)}*"
            return f"{self.term(item.start)} {step} {self.term(item.end)} ."
        if isinstance(item, Optional):
            return f"OPTIONAL {{ {self.group(item.group)} }}"
        return " UNION ".join(f"{{ {self.group(g)} }}" for g in item.groups)

    def triple(self, t: Triple) -> str:
        s, p, o = self.term(t.s), self.term(t.p), self.term(t.o)
        if t is self.pinned:
            pinned = _values(self, t, self.rows)
            return f"{pinned} {KEEP_VALUES}" if pinned else "FILTER(false)"
        inline = _values(self, t, self.run.sub)
        g = self.name("g")
        keep = self.run.keep.replace("?g", f"?{g}")
        store = f"{{ GRAPH ?{g} {{ {s} {p} {o} }} {keep} }}"
        pattern = f"{store} UNION {{ {inline} {KEEP_VALUES} }}" if inline else store
        if self.pinned is not None:
            return f"{{ {pattern} }}"
        w = self.name("w")
        self.run.template[w] = f"?{w}s ?{w}p ?{w}o ."
        return (f"{{ {pattern} BIND({s} AS ?{w}s) BIND({p} AS ?{w}p) "
                f"BIND({o} AS ?{w}o) }}")


def _ordered(items: tuple[Item, ...]) -> list[Item]:
    """Triples joined to what is bound already first (the focus), so the engine starts there."""
    bound: set[object] = {THIS}
    rest, out = list(items), []
    while rest:
        pick = next((i for i in rest if not isinstance(i, Triple)
                     or {i.s, i.o} & bound or not isinstance(i.s, Var)), rest[0])
        rest.remove(pick)
        out.append(pick)
        if isinstance(pick, Triple):
            bound |= {pick.s, pick.o}
        elif isinstance(pick, Hop):
            bound |= {pick.start, pick.end}
    return out


def _matches(t: Triple, row: tuple[Node, Node, Node]) -> bool:
    seen: dict[Term, Node] = {}
    for term, value in zip((t.s, t.p, t.o), row, strict=True):
        if isinstance(term, Var):
            if seen.setdefault(term, value) != value:
                return False
        elif term != value:
            return False
    return True


def _values(r: _Renderer, t: Triple, rows: Rows) -> str:
    """`VALUES` binding the pattern's variables to the given triples that match it."""
    names = list(dict.fromkeys(v for v in (t.s, t.p, t.o) if isinstance(v, Var)))
    lines = []
    for row in r.run.candidates(t, rows):
        if _matches(t, row) and not isinstance(row[0], rdflib.Literal):
            value = dict(zip((t.s, t.p, t.o), row, strict=True))
            lines.append("(" + " ".join(_n3(value[n]) for n in names) + ")")
    if not lines:
        return ""
    if not names:
        return "FILTER(true)"
    head = " ".join(r.term(n) for n in names)
    unique = list(dict.fromkeys(lines))
    if len(unique) == 1:  # see NOTHING
        unique.append("(" + " ".join(NOTHING for _ in names) + ")")
    return f"VALUES ({head}) {{ {' '.join(unique)} }}"


def _pinnings(group: Group) -> Iterator[tuple[Group, Triple]]:
    """For each triple of a pattern, the pattern reduced to what must match for it to match:
    enclosing OPTIONALs made required, other OPTIONALs dropped, the UNION arm that holds it."""
    plain = tuple(i for i in group.items if isinstance(i, (Triple, Hop)))
    for item in group.items:
        if isinstance(item, Triple):
            yield Group(plain), item
        elif isinstance(item, Optional):
            for inner, triple in _pinnings(item.group):
                yield Group(plain + inner.items), triple
        elif isinstance(item, Alternatives):
            for arm in item.groups:
                for inner, triple in _pinnings(arm):
                    yield Group(plain + inner.items), triple


# Virtuoso 7.2 fails to compile ("SP031 ... sparp_gp_deprecate(): equiv replaces filter but
# under deprecation") a UNION whose arms each bind a variable with a one-row VALUES; a second
# row that matches nothing keeps every VALUES block at two rows or more, for all engines alike.
NOTHING = "<urn:x-smartby:matches-nothing>"
# Virtuoso 7.2 also drops the rows of a UNION arm that is nothing but a VALUES block; a FILTER
# that always holds (which other engines discard) keeps them.
KEEP_VALUES = "FILTER(true)"


def _nodes(nodes: Iterable[Node]) -> str:
    listed = sorted(_n3(n) for n in nodes)
    return " ".join([*listed, NOTHING] if len(listed) == 1 else listed)


def _existing_query(sub: Rows, excluded: Sequence[str]) -> str:
    rows = " ".join(f"({_n3(s)} {_n3(p)} {_n3(o)})" for s, p, o in sub
                    if not str(s).startswith(SKOLEM) and not str(o).startswith(SKOLEM))
    keep = _graph_filter("?g", excluded)
    return (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES (?s ?p ?o) {{ {rows} }} "
            f"GRAPH ?g {{ ?s ?p ?o }} {keep} }}")


def _focus_query(reaches: Sequence[ShapeReach], changed: Rows, seeds: set[Node],
                 run: _Runner) -> list[str]:
    """(shape, focus node) for every node a change can affect: the changed triples' own
    nodes, and every node whose reach walks through a changed triple (each triple pattern
    pinned, in turn, to the changed triples), each paired with every shape that targets it.
    The same pinned walk of several shapes is asked for once, and the targets are matched
    once for all arms, not once per arm: the query's size, which is what the engine spends
    its time on (parsing and planning), follows the distinct walks, not the shapes."""
    arms = [f"VALUES ?focus {{ {_nodes(seeds)} }} {KEEP_VALUES}"] if seeds else []
    for group, triple in _distinct_pinnings(reaches):
        rows = [row for row in run.candidates(triple, changed) if _matches(triple, row)]
        if rows and (triple.o != THIS or any(isinstance(row[2], rdflib.Literal) for row in rows)):
            r = _Renderer(run, "a_", triple, rows)  # (else its focus is a changed node: a seed)
            arms.append(f"{r.group(group)} BIND({r.term(THIS)} AS ?focus)")
    if not arms:
        return []
    targets = _targets(_Renderer(run, "", pinned=Triple(Var("_"), Var("_"), Var("_"))),
                       reaches)
    return [f"SELECT DISTINCT ?shape ?focus WHERE {{ {{ {_union(chunk)} }} {targets} }}"
            for chunk in _chunks(arms, run.arms_per_query)]


_pinnings_of: dict[int, tuple[Sequence[ShapeReach], list[tuple[Group, Triple]]]] = {}


def _distinct_pinnings(reaches: Sequence[ShapeReach]) -> list[tuple[Group, Triple]]:
    """Every (pattern, pinned triple) of every shape's branches, each once, the focus's own
    triples left out (their focus node is a changed triple's node: a seed). Derived once per
    shapes graph (`reaches` is cached per shapes graph by shape_reach)."""
    kept = _pinnings_of.get(id(reaches))
    if kept is None or kept[0] is not reaches:
        found = dict.fromkeys((group, triple) for reach in reaches for branch in reach.branches
                              for group, triple in _pinnings(branch) if triple.s != THIS)
        kept = _pinnings_of[id(reaches)] = (reaches, list(found))
    return kept[1]


def _targets(r: _Renderer, reaches: Sequence[ShapeReach]) -> str:
    """Binds ?shape to the index of every shape that targets ?focus (SHACL 2.1.3)."""
    by_class = [(cls, i) for i, reach in enumerate(reaches) for cls in reach.target.classes]
    parts = []
    if by_class:
        t, c = r.term(Var("_t")), r.term(Var("_c"))
        rows = " ".join(f"({cls.n3()} {i})" for cls, i in sorted(by_class)) + \
            (f" ({NOTHING} -1)" if len(by_class) == 1 else "")
        parts.append(f"{r.triple(Triple(Var('focus'), RDF_TYPE, Var('_t')))} "
                     f"VALUES ({c} ?shape) {{ {rows} }} {t} {RDFS.subClassOf.n3()}* {c} .")
    for i, reach in enumerate(reaches):
        if reach.target.nodes:
            parts.append(f"VALUES ?focus {{ {_nodes(reach.target.nodes)} }} BIND({i} AS ?shape)")
        for pred in sorted(reach.target.subjects_of):
            parts.append(f"{r.triple(Triple(Var('focus'), pred, Var('_o')))} BIND({i} AS ?shape)")
        for pred in sorted(reach.target.objects_of):
            parts.append(f"{r.triple(Triple(Var('_s'), pred, Var('focus')))} BIND({i} AS ?shape)")
    return _union(parts)


def _fetch_query(reaches: Sequence[ShapeReach], by_shape: dict[int, list[Node]],
                 run: _Runner) -> list[str]:
    """Every triple on the reach of each (shape, focus node): each distinct walk once, from
    all the focus nodes of every shape that takes it."""
    starts: dict[Group, set[Node]] = {}
    for index, nodes in sorted(by_shape.items()):
        for branch in reaches[index].branches:
            starts.setdefault(branch, set()).update(nodes)
    arms: list[str] = []
    run.template = {}
    for branch, start in starts.items():
        r = _Renderer(run, "a_")
        arms.append(f"VALUES {r.term(THIS)} {{ {_nodes(start)} }} {r.group(branch)}")
    template = " ".join(run.template.values())  # the witnesses of the widest arm
    return [f"CONSTRUCT {{ {template} }} WHERE {{ {_union(chunk)} }}"
            for chunk in _chunks(arms, run.arms_per_query)]


def _chunks(arms: list[str], size: int) -> list[list[str]]:
    """The arms in unions of at most `size` (0: one union). Virtuoso 7.2 refuses a query whose
    SQL translation passes 10 000 lines (a project's whole reach does); the union of the
    answers to smaller unions is the same answer, in more queries."""
    size = size or max(1, len(arms))
    return [arms[i:i + size] for i in range(0, len(arms), size)]


def _union(arms: list[str]) -> str:
    """The arms' union, nested as a balanced tree: `{a} UNION {b} UNION {c} ...` is parsed
    left-deep, and the engine's planning of such a chain grows with the square of its length
    (measured: 63 arms as one chain cost twice what they cost in chunks of 16)."""
    if not arms:
        return "FILTER(false)"
    if len(arms) == 1:
        return arms[0]
    half = len(arms) // 2
    return f"{{ {_union(arms[:half])} }} UNION {{ {_union(arms[half:])} }}"


def _graph_filter(var: str, excluded: Sequence[str]) -> str:
    if not excluded:
        return ""
    return f"FILTER({var} NOT IN ({', '.join(f'<{g}>' for g in excluded)}))"


# -- running ------------------------------------------------------------------------------------


class _Runner:
    def __init__(self, store: Store, excluded: Sequence[str], timeout: float, sub: Rows):
        self.store, self.timeout, self.sub = store, timeout, sub
        self.excluded = excluded
        self.keep = _graph_filter("?g", excluded)
        self.template: dict[str, str] = {}
        self.sent: list[str] = []
        self.arms_per_query = 0
        self._by_predicate: dict[int, tuple[Rows, dict[Node, list[tuple[Node, Node, Node]]]]] = {}

    def candidates(self, t: Triple, rows: Rows) -> Rows:
        """The rows that can match `t`: those with its predicate when it names one (a
        pattern is rendered against the change's rows thousands of times per request)."""
        if isinstance(t.p, Var):
            return rows
        key = id(rows)
        kept = self._by_predicate.get(key)
        if kept is None or kept[0] is not rows:
            index: dict[Node, list[tuple[Node, Node, Node]]] = {}
            for row in rows:
                index.setdefault(row[1], []).append(row)
            kept = self._by_predicate[key] = (rows, index)
        return kept[1].get(t.p, [])

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
