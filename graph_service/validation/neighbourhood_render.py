"""Reach patterns (validation/reach_patterns.py) written as SPARQL for
validation/neighbourhood.py: each triple pattern matched in the store's named graphs (but
the excluded ones) and in the change's triples, inlined as `VALUES`; each matched triple
bound to a witness for the CONSTRUCT template; unions nested as balanced trees; the
workarounds Virtuoso 7.2 needs, for every engine alike."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import rdflib
from rdflib.term import Node

from graph_service.core.errors import Unavailable, say
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

Rows = Sequence[tuple[Node, Node, Node]]


class NeighbourhoodUnavailable(Unavailable):
    """A focus node is a blank node of the store: it cannot be named in a later query."""


def n3(term: Node | Term) -> str:
    if isinstance(term, Var):
        return f"?{term}"
    if isinstance(term, rdflib.BNode):
        raise NeighbourhoodUnavailable(say(
            "A blank node of the store would be a focus node; it cannot be fetched by name.",
            "En blank node i lageret ville vært et fokusnode; den kan ikke hentes ved navn.",
            "Ein blank node i lageret ville vore ein fokusnode; han kan ikkje hentast ved namn."))
    return str(term.n3())



class Context:
    """What rendering needs of a request: the change's triples, the graphs left out, the
    CONSTRUCT template's witnesses."""

    def __init__(self, excluded: Sequence[str], sub: Rows):
        self.sub, self.excluded = sub, excluded
        self.keep = graph_filter("?g", excluded)
        self.template: dict[str, str] = {}
        self.subclasses: dict[Node, set[Node]] = {}  # each target class's stored subclasses
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


class Renderer:
    """Renders one arm of a union; variables get the prefix, triples a witness each.

    The arms of a CONSTRUCT share their names (?a_this, ?a_g0, ?a_w0s ...): the arms of a
    union are independent, and the template is then the widest arm's witnesses rather than
    every arm's, which the engine fills in for every solution (measured on the benchmark's
    fetch: 11 ms of engine CPU against 18 ms with names of their own per arm)."""

    def __init__(self, run: Context, prefix: str, pinned: Triple | None = None,
                 rows: Rows = ()) -> None:
        self.run, self.prefix, self.pinned, self.rows = run, prefix, pinned, rows
        self._names = itertools.count()

    def name(self, kind: str) -> str:
        return f"{self.prefix}{kind}{next(self._names)}"

    def term(self, term: Term) -> str:
        return f"?{self.prefix}{term}" if isinstance(term, Var) else n3(term)

    def group(self, group: Group, bound: frozenset[Term] = frozenset({THIS})) -> str:
        return " ".join(self.item(item) for item in ordered(group.items, bound))

    def item(self, item: Item) -> str:
        if isinstance(item, Triple):
            return self.triple(item)
        if isinstance(item, Hop):
            step = f"(^{n3(item.pred)})*" if item.inverse else f"{n3(item.pred)}*"
            return f"{self.term(item.start)} {step} {self.term(item.end)} ."
        if isinstance(item, Optional):
            return f"OPTIONAL {{ {self.group(item.group)} }}"
        return " UNION ".join(f"{{ {self.group(g)} }}" for g in item.groups)

    def triple(self, t: Triple, inline_rows: Rows | None = None) -> str:
        s, p, o = self.term(t.s), self.term(t.p), self.term(t.o)
        if t is self.pinned:
            pinned = values(self, t, self.rows)
            return f"{pinned} {KEEP_VALUES}" if pinned else "FILTER(false)"
        inline = values(self, t, self.run.sub if inline_rows is None else inline_rows)
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


def ordered(items: tuple[Item, ...], start: frozenset[Term]) -> list[Item]:
    """Triples joined to what is bound already first (the focus), so the engine starts there."""
    bound: set[object] = set(start)
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


def matches(t: Triple, row: tuple[Node, Node, Node]) -> bool:
    seen: dict[Term, Node] = {}
    for term, value in zip((t.s, t.p, t.o), row, strict=True):
        if isinstance(term, Var):
            if seen.setdefault(term, value) != value:
                return False
        elif term != value:
            return False
    return True


def values(r: Renderer, t: Triple, rows: Rows) -> str:
    """`VALUES` binding the pattern's variables to the given triples that match it."""
    names = list(dict.fromkeys(v for v in (t.s, t.p, t.o) if isinstance(v, Var)))
    lines = []
    for row in r.run.candidates(t, rows):
        if matches(t, row) and not isinstance(row[0], rdflib.Literal):
            value = dict(zip((t.s, t.p, t.o), row, strict=True))
            lines.append("(" + " ".join(n3(value[n]) for n in names) + ")")
    if not lines:
        return ""
    if not names:
        return "FILTER(true)"
    head = " ".join(r.term(n) for n in names)
    unique = list(dict.fromkeys(lines))
    if len(unique) == 1:  # see NOTHING
        unique.append("(" + " ".join(NOTHING for _ in names) + ")")
    return f"VALUES ({head}) {{ {' '.join(unique)} }}"


def pinnings(group: Group) -> Iterator[tuple[Group, Triple]]:
    """For each triple of a pattern, the pattern reduced to what must match for it to match:
    enclosing OPTIONALs made required, other OPTIONALs dropped, the UNION arm that holds it."""
    plain = tuple(i for i in group.items if isinstance(i, (Triple, Hop)))
    for item in group.items:
        if isinstance(item, Triple):
            yield Group(plain), item
        elif isinstance(item, Optional):
            for inner, triple in pinnings(item.group):
                yield Group(plain + inner.items), triple
        elif isinstance(item, Alternatives):
            for arm in item.groups:
                for inner, triple in pinnings(arm):
                    yield Group(plain + inner.items), triple


# Virtuoso 7.2 fails to compile ("SP031 ... sparp_gp_deprecate(): equiv replaces filter but
# under deprecation") a UNION whose arms each bind a variable with a one-row VALUES; a second
# row that matches nothing keeps every VALUES block at two rows or more, for all engines alike.
NOTHING = "<urn:x-smartby:matches-nothing>"
# Virtuoso 7.2 also drops the rows of a UNION arm that is nothing but a VALUES block; a FILTER
# that always holds (which other engines discard) keeps them.
KEEP_VALUES = "FILTER(true)"


def nodes(nodes: Iterable[Node]) -> str:
    listed = sorted(n3(n) for n in nodes)
    return " ".join([*listed, NOTHING] if len(listed) == 1 else listed)


def chunks(arms: list[str], size: int) -> list[list[str]]:
    """The arms in unions of at most `size` (0: one union). Virtuoso 7.2 refuses a query whose
    SQL translation passes 10 000 lines (a project's whole reach does); the union of the
    answers to smaller unions is the same answer, in more queries."""
    size = size or max(1, len(arms))
    return [arms[i:i + size] for i in range(0, len(arms), size)]


def union(arms: list[str]) -> str:
    """The arms' union, nested as a balanced tree: `{a} UNION {b} UNION {c} ...` is parsed
    left-deep, and the engine's planning of such a chain grows with the square of its length
    (measured: 63 arms as one chain cost twice what they cost in chunks of 16)."""
    if not arms:
        return "FILTER(false)"
    if len(arms) == 1:
        return arms[0]
    half = len(arms) // 2
    return f"{{ {union(arms[:half])} }} UNION {{ {union(arms[half:])} }}"


def graph_filter(var: str, excluded: Sequence[str]) -> str:
    if not excluded:
        return ""
    return f"FILTER({var} NOT IN ({', '.join(f'<{g}>' for g in excluded)}))"
