"""What a SHACL shape reads around its focus node, derived from the shapes graph itself.

Validation of a change needs only the part of the stored graph that the shapes can reach
from the focus nodes the change affects (validation/neighbourhood.py fetches it). This
module turns each targeted node shape into a *reach*: graph patterns rooted at the variable
`this`, such that every triple SHACL reads while validating a focus node lies on a match of
one of them. Property paths (sequence, inverse, alternative, `*`/`+`/`?`), `sh:class` (the
value's `rdf:type` and its superclasses), `sh:node`, `sh:property`, `sh:qualifiedValueShape`,
the logical constraints, `sh:lessThan`/`sh:equals`/`sh:disjoint`, `sh:closed` and SPARQL
constraints (their own query, with FILTERs dropped and EXISTS/NOT EXISTS/MINUS read as
OPTIONAL, which only ever matches more) are followed.

It fails closed: a shapes graph using anything whose reach is not known here (a custom
constraint component, SHACL-AF rules or SPARQL targets, a recursive `sh:node`, a SPARQL
constraint with GRAPH, SERVICE, a sub-query or `$PATH` ...) raises `UnboundedShape`, so a new
shape can never be checked silently against too little data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import rdflib
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from graph_service.validation.reach_patterns import (
    THIS,
    Fresh,
    Group,
    Hop,
    Item,
    Optional,
    Term,
    Triple,
    UnboundedShape,
    canonical,
)
from graph_service.validation.sparql_reach import sparql_reach


@dataclass(frozen=True)
class Target:
    """How a shape selects its focus nodes (SHACL 2.1.3)."""

    classes: frozenset[rdflib.URIRef] = frozenset()
    nodes: frozenset[Node] = frozenset()
    subjects_of: frozenset[rdflib.URIRef] = frozenset()
    objects_of: frozenset[rdflib.URIRef] = frozenset()


@dataclass(frozen=True)
class ShapeReach:
    """A targeted shape, what it selects, and the patterns (rooted at `this`) it reads."""

    shape: Node
    target: Target
    branches: tuple[Group, ...] = field(repr=False)


# Parameters whose reach is the focus/value node itself (nothing more to fetch).
_LOCAL = {SH.datatype, SH.nodeKind, SH.minCount, SH.maxCount, SH.minExclusive,
          SH.minInclusive, SH.maxExclusive, SH.maxInclusive, SH.minLength, SH.maxLength,
          SH.pattern, SH.flags, SH.languageIn, SH.uniqueLang, SH['in'], SH.hasValue,
          SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint,
          SH.ignoredProperties}
# Not constraints: labels, messages, targets, declarations.
_INERT = {SH.message, SH.severity, SH.name, SH.description, SH.order, SH.group,
          SH.defaultValue, SH.deactivated, SH.targetClass, SH.targetNode,
          SH.targetSubjectsOf, SH.targetObjectsOf, SH.path, SH.prefixes, SH.declare,
          SH.select, SH.sparql, SH.property, SH.node, SH['not'], SH['and'], SH['or'], SH.xone,
          SH['class'], SH.qualifiedValueShape, SH.equals, SH.disjoint, SH.lessThan,
          SH.lessThanOrEquals, SH.closed}
_KNOWN = _LOCAL | _INERT


@lru_cache(maxsize=8)
def _reaches(shapes: rdflib.Graph) -> tuple[ShapeReach, ...]:
    return tuple(_derive(shapes))


def shape_reaches(shapes: rdflib.Graph) -> tuple[ShapeReach, ...]:
    """Every targeted shape with its reach (cached per shapes graph object)."""
    return _reaches(shapes)


def _derive(shapes: rdflib.Graph) -> Iterator[ShapeReach]:
    for unsupported in (SH.ConstraintComponent, SH.SPARQLTarget, SH.SPARQLRule,
                        SH.TripleRule, SH.JSConstraint):
        if any(shapes.subjects(RDF.type, unsupported)):
            raise UnboundedShape(f"{unsupported.n3()} is not supported for neighbourhoods")
    for predicate in (SH.target, SH.rule, SH.js, SH.expression, SH.condition):
        if any(shapes.subject_objects(predicate)):
            raise UnboundedShape(f"{predicate.n3()} is not supported for neighbourhoods")
    targeted: set[Node] = set()
    for predicate in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
        targeted.update(shapes.subjects(predicate))
    kinds = set(shapes.subjects(RDF.type, SH.NodeShape))
    kinds |= set(shapes.subjects(RDF.type, SH.PropertyShape))
    implicit = set(shapes.subjects(RDF.type, RDFS.Class)) & kinds
    targeted |= implicit
    for shape in sorted(targeted, key=str):
        if shapes.value(shape, SH.deactivated) == rdflib.Literal(True):
            continue
        classes = set(shapes.objects(shape, SH.targetClass))
        if shape in implicit:
            classes.add(shape)
        target = Target(
            classes=frozenset(c for c in classes if isinstance(c, rdflib.URIRef)),
            nodes=frozenset(shapes.objects(shape, SH.targetNode)),
            subjects_of=frozenset(_iris(shapes.objects(shape, SH.targetSubjectsOf))),
            objects_of=frozenset(_iris(shapes.objects(shape, SH.targetObjectsOf))),
        )
        fresh = Fresh()
        branches = [_type_branch(THIS, fresh)]
        branches += _shape_branches(shapes, shape, THIS, fresh, ())
        # the same walk, whatever its variables are called, is one branch (and is asked
        # for once across shapes: validation/neighbourhood.py)
        yield ShapeReach(shape, target, tuple(dict.fromkeys(canonical(b) for b in branches)))


def _iris(nodes: Iterator[Node]) -> Iterator[rdflib.URIRef]:
    for node in nodes:
        if not isinstance(node, rdflib.URIRef):
            raise UnboundedShape(f"target predicate {node!r} is not an IRI")
        yield node


def _type_branch(node: Term, fresh: Fresh) -> Group:
    """The node's types and their superclasses (SHACL instances follow rdfs:subClassOf*)."""
    t, m, n = fresh(), fresh(), fresh()
    return Group((Triple(node, RDF.type, t), Optional(Group((
        Hop(t, RDFS.subClassOf, False, m), Triple(m, RDFS.subClassOf, n))))))


def _shape_branches(
    g: rdflib.Graph, shape: Node, start: Term, fresh: Fresh, stack: tuple[Node, ...]
) -> list[Group]:
    """The branches a shape reads from `start` (its focus node, or a parent's value node)."""
    if shape in stack:
        raise UnboundedShape(f"{shape} refers to itself through sh:node/sh:property: its "
                             "reach has no bound")
    stack = (*stack, shape)
    for predicate in set(g.predicates(shape)):
        if str(predicate).startswith(str(SH)) and predicate not in _KNOWN:
            raise UnboundedShape(f"{shape}: the reach of {predicate.n3()} is not known")
    if g.value(shape, SH.deactivated) == rdflib.Literal(True):
        return []
    path = g.value(shape, SH.path)
    branches: list[Group] = []
    if path is None:
        values = [(Group(()), start)]
    else:
        values = [(Group(tuple(items)), end) for items, end in _path_walks(g, path, start, fresh)]
        branches += [walk for walk, _ in values]
    for walk, end in values:
        for sub in _value_branches(g, shape, end, fresh, stack):
            branches.append(Group(walk.items + sub.items))
    for predicate in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
        for other in g.objects(shape, predicate):
            branches.append(Group((Triple(start, _iri(other), fresh()),)))
    for constraint in g.objects(shape, SH.sparql):
        if path is not None:
            raise UnboundedShape(f"{shape}: SPARQL constraints on property shapes ($PATH) "
                                 "are not supported")
        branches.append(sparql_reach(g, constraint, start, fresh))
    if g.value(shape, SH.closed) == rdflib.Literal(True):
        branches.append(Group((Triple(start, fresh(), fresh()),)))
    return [b for b in branches if b.items]


def _value_branches(
    g: rdflib.Graph, shape: Node, value: Term, fresh: Fresh, stack: tuple[Node, ...]
) -> list[Group]:
    """What is read from each value node: its types for sh:class, nested shapes' reach."""
    out: list[Group] = []
    if any(g.objects(shape, SH['class'])):
        out.append(_type_branch(value, fresh))
    nested: list[Node] = []
    for predicate in (SH.node, SH['not'], SH.qualifiedValueShape, SH.property):
        nested += g.objects(shape, predicate)
    for predicate in (SH['and'], SH['or'], SH.xone):
        for head in g.objects(shape, predicate):
            nested += list(Collection(g, head))
    if g.value(shape, SH.qualifiedValueShapesDisjoint) == rdflib.Literal(True):
        for parent in g.subjects(SH.property, shape):
            for sibling in g.objects(parent, SH.property):
                nested += g.objects(sibling, SH.qualifiedValueShape)
    for inner in nested:
        out += _shape_branches(g, inner, value, fresh, stack)
    return out


def _iri(node: Node) -> rdflib.URIRef:
    if not isinstance(node, rdflib.URIRef):
        raise UnboundedShape(f"expected an IRI, found {node!r}")
    return node


Walk = tuple[list[Item], Term]


def _path_walks(g: rdflib.Graph, path: Node, start: Term, fresh: Fresh) -> list[Walk]:
    """The walks a SHACL path takes from `start`, alternatives spelt out, each with its end."""
    if isinstance(path, rdflib.URIRef):
        end = fresh()
        return [([Triple(start, path, end)], end)]
    if (path, RDF.first, None) in g:  # sequence path
        walks: list[Walk] = [([], start)]
        for step in Collection(g, path):
            walks = [(items + more, e) for items, end in walks
                     for more, e in _path_walks(g, step, end, fresh)]
        return walks
    inverse = g.value(path, SH.inversePath)
    if inverse is not None:
        if not isinstance(inverse, rdflib.URIRef):
            raise UnboundedShape("sh:inversePath of a complex path is not supported")
        end = fresh()
        return [([Triple(end, inverse, start)], end)]
    alternatives = g.value(path, SH.alternativePath)
    if alternatives is not None:
        return [walk for step in Collection(g, alternatives)
                for walk in _path_walks(g, step, start, fresh)]
    for predicate, empty, repeat in ((SH.zeroOrMorePath, True, True),
                                     (SH.oneOrMorePath, False, True),
                                     (SH.zeroOrOnePath, True, False)):
        inner = g.value(path, predicate)
        if inner is None:
            continue
        pred, inv = _simple_step(g, inner)
        end = fresh()
        if repeat:
            middle = fresh()
            hop: list[Item] = [Hop(start, pred, inv, middle)]
            items = [*hop, Triple(end, pred, middle) if inv else Triple(middle, pred, end)]
        else:
            items = [Triple(end, pred, start) if inv else Triple(start, pred, end)]
        return ([([], start)] if empty else []) + [(items, end)]
    raise UnboundedShape(f"unknown kind of SHACL path: {path!r}")


def _simple_step(g: rdflib.Graph, path: Node) -> tuple[rdflib.URIRef, bool]:
    if isinstance(path, rdflib.URIRef):
        return path, False
    inverse = g.value(path, SH.inversePath)
    if isinstance(inverse, rdflib.URIRef):
        return inverse, True
    raise UnboundedShape("repeated paths (*, +) over complex paths are not supported")
