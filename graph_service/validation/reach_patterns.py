"""The pattern language of a shape's reach: triple patterns, repeated hops, OPTIONAL and
alternatives rooted at the variable `this`, plus the walks of a SPARQL property path.

Shared by `shape_reach` (SHACL core paths and shapes) and `sparql_reach` (SHACL-SPARQL
constraints) and rendered to SPARQL by `neighbourhood`; a module of its own so the two
derivations can use each other's pieces without an import cycle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import rdflib
from rdflib.paths import AlternativePath, InvPath, MulPath, Path, SequencePath


class UnboundedShape(ValueError):
    """The shapes use something whose reach this module cannot derive."""


class Var(str):
    """A pattern variable (its name, without `?`)."""


Term: TypeAlias = Var | rdflib.URIRef | rdflib.Literal
THIS = Var("this")


@dataclass(frozen=True)
class Triple:
    """A triple pattern; matched in the store and in the submission alike."""

    s: Term
    p: Term
    o: Term


@dataclass(frozen=True)
class Hop:
    """`start (^)pred* end` (no triples of its own: the triples come with a `Triple` after it)."""

    start: Term
    pred: rdflib.URIRef
    inverse: bool
    end: Term


@dataclass(frozen=True)
class Optional:
    group: Group


@dataclass(frozen=True)
class Alternatives:
    groups: tuple[Group, ...]


Item: TypeAlias = Triple | Hop | Optional | Alternatives


@dataclass(frozen=True)
class Group:
    items: tuple[Item, ...]

    def triples(self) -> Iterator[Triple]:
        for item in self.items:
            if isinstance(item, Triple):
                yield item
            elif isinstance(item, Optional):
                yield from item.group.triples()
            elif isinstance(item, Alternatives):
                for group in item.groups:
                    yield from group.triples()


class Fresh:
    """Fresh pattern variables n0, n1, ... for one shape's reach."""

    def __init__(self) -> None:
        self._count = itertools.count()

    def __call__(self) -> Var:
        return Var(f"n{next(self._count)}")



def rdflib_path_walks(path: Any, start: Term, end: Term, fresh: Fresh) -> list[list[Item]]:
    """Walks for a SPARQL property path (rdflib's Path objects) from `start` to `end`."""
    if isinstance(path, rdflib.URIRef):
        return [[Triple(start, path, end)]]
    if isinstance(path, InvPath):
        return rdflib_path_walks(path.arg, end, start, fresh)
    if isinstance(path, SequencePath):
        walks: list[list[Item]] = [[]]
        current: Term = start
        for index, step in enumerate(path.args):
            nxt = end if index == len(path.args) - 1 else fresh()
            walks = [w + more for w in walks
                     for more in rdflib_path_walks(step, current, nxt, fresh)]
            current = nxt
        return walks
    if isinstance(path, AlternativePath):
        return [w for step in path.args for w in rdflib_path_walks(step, start, end, fresh)]
    if isinstance(path, MulPath) and isinstance(path.path, (rdflib.URIRef, InvPath)):
        inner = path.path
        inv = isinstance(inner, InvPath)
        pred = inner.arg if isinstance(inner, InvPath) else inner
        if not isinstance(pred, rdflib.URIRef):
            raise UnboundedShape("repeated complex SPARQL paths are not supported")
        middle = fresh()
        triple: Item = Triple(end, pred, middle) if inv else Triple(middle, pred, end)
        plus: list[Item] = [Hop(start, pred, inv, middle), triple]
        if path.mod == "+":
            return [plus]
        if path.mod == "?":  # p* is a superset of p? (a walk of length 0 or 1)
            return [*rdflib_path_walks(inner, start, end, fresh), [Hop(start, pred, inv, end)]]
        return [plus, [Hop(start, pred, inv, end)]]
    if isinstance(path, Path):
        raise UnboundedShape(f"SPARQL path {path!r} is not supported for neighbourhoods")
    raise UnboundedShape(f"unknown SPARQL path {path!r}")


def canonical(group: Group) -> Group:
    """The group with its variables (all but `this`) renamed in order of first appearance,
    so that the same walk derived for different shapes (each numbering its own variables)
    compares equal and is asked for once."""
    names: dict[Var, Var] = {THIS: THIS}

    def term(t: Term) -> Term:
        if isinstance(t, Var):
            return names.setdefault(t, Var(f"c{len(names) - 1}"))
        return t

    def item(i: Item) -> Item:
        if isinstance(i, Triple):
            return Triple(term(i.s), term(i.p), term(i.o))
        if isinstance(i, Hop):
            return Hop(term(i.start), i.pred, i.inverse, term(i.end))
        if isinstance(i, Optional):
            return Optional(walk(i.group))
        return Alternatives(tuple(walk(g) for g in i.groups))

    def walk(g: Group) -> Group:
        return Group(tuple(item(i) for i in g.items))

    return walk(group)
