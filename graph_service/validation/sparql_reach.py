"""What a SHACL-SPARQL constraint reads: its own query, relaxed into a pattern to fetch.

The constraint's SELECT is parsed (rdflib's SPARQL parser and algebra) and turned into a
`Group` rooted at the focus node: basic graph patterns and property paths as triples,
OPTIONAL and UNION kept, FILTERs and BINDs dropped, and the patterns inside EXISTS,
NOT EXISTS and MINUS kept as OPTIONAL. Every change only lets the pattern match more, so
each triple a solution of the original query (or the absence of one) depends on lies on a
match of the relaxed pattern. Anything else (GRAPH, SERVICE, sub-queries, aggregates,
`$PATH`, `$shapesGraph`) raises `UnboundedShape`.
"""

from __future__ import annotations

from typing import Any

import rdflib
from rdflib.namespace import SH
from rdflib.plugins.sparql.algebra import translateGroupGraphPattern, translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from graph_service.validation.reach_patterns import (
    Alternatives,
    Fresh,
    Group,
    Item,
    Optional,
    Term,
    Triple,
    UnboundedShape,
    rdflib_path_walks,
)

_PREBOUND_UNSUPPORTED = {"PATH", "shapesGraph", "currentShape"}
_PASS_THROUGH = {"SelectQuery", "Project", "Distinct", "Reduced", "Slice", "OrderBy"}


def prefixes(g: rdflib.Graph, constraint: Node) -> dict[str, str]:
    """The prefixes the constraint declares through sh:prefixes (SHACL 5.2.1)."""
    found: dict[str, str] = {}
    for owner in g.objects(constraint, SH.prefixes):
        for declaration in g.objects(owner, SH.declare):
            prefix, namespace = g.value(declaration, SH.prefix), g.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                found[str(prefix)] = str(namespace)
    return found


def sparql_reach(g: rdflib.Graph, constraint: Node, start: Term, fresh: Fresh) -> Group:
    """The relaxed pattern of one sh:sparql constraint, its `$this` being `start`."""
    if g.value(constraint, SH.deactivated) == rdflib.Literal(True):
        return Group(())
    select = g.value(constraint, SH.select)
    if select is None:
        raise UnboundedShape(f"{constraint}: a SPARQL constraint without sh:select")
    head = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes(g, constraint).items())
    try:
        query = translateQuery(parseQuery(head + str(select)))
    except Exception as exc:
        raise UnboundedShape(f"{constraint}: the query cannot be read: {exc}") from exc
    names: dict[str, Term] = {"this": start}

    def var(term: Any) -> Term:
        if isinstance(term, (rdflib.Variable, rdflib.BNode)):
            name = str(term)
            if name in _PREBOUND_UNSUPPORTED:
                raise UnboundedShape(f"{constraint}: ${name} is not supported")
            if name not in names:
                names[name] = fresh()
            return names[name]
        if isinstance(term, (rdflib.URIRef, rdflib.Literal)):
            return term
        raise UnboundedShape(f"{constraint}: unsupported term {term!r}")

    def triples(block: list[Any]) -> list[Item]:
        items: list[Item] = []
        for s, p, o in block:
            if isinstance(p, (rdflib.Variable, rdflib.URIRef)):
                items.append(Triple(var(s), var(p), var(o)))
                continue
            walks = rdflib_path_walks(p, var(s), var(o), fresh)
            items += walks[0] if len(walks) == 1 else [
                Alternatives(tuple(Group(tuple(w)) for w in walks))]
        return items

    def exists_patterns(expr: Any) -> list[Item]:
        found: list[Item] = []
        if isinstance(expr, CompValue):
            if expr.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):
                graph = expr.graph
                if graph.name == "GroupGraphPatternSub":
                    graph = translateGroupGraphPattern(graph)
                found.append(Optional(Group(tuple(walk(graph)))))
            for value in expr.values():
                found += exists_patterns(value)
        elif isinstance(expr, list):
            for value in expr:
                found += exists_patterns(value)
        return found

    def walk(node: Any) -> list[Item]:
        if not isinstance(node, CompValue):
            raise UnboundedShape(f"{constraint}: unsupported query part {node!r}")
        name = node.name
        if name in _PASS_THROUGH:
            return walk(node.p)
        if name == "BGP":
            return triples(node.triples)
        if name == "Join":
            return walk(node.p1) + walk(node.p2)
        if name == "LeftJoin":
            inner = walk(node.p2) + exists_patterns(node.get("expr"))
            return [*walk(node.p1), Optional(Group(tuple(inner)))]
        if name == "Minus":
            return [*walk(node.p1), Optional(Group(tuple(walk(node.p2))))]
        if name == "Union":
            return [Alternatives((Group(tuple(walk(node.p1))), Group(tuple(walk(node.p2)))))]
        if name == "Filter":
            return walk(node.p) + exists_patterns(node.expr)
        if name == "Extend":  # BIND: dropping it only lets the pattern match more
            return walk(node.p) + exists_patterns(node.expr)
        if name == "ToMultiSet" and isinstance(node.p, CompValue) and node.p.name == "values":
            return []  # VALUES: dropped, the same way
        raise UnboundedShape(f"{constraint}: {name} is not supported in SPARQL constraints "
                             "for neighbourhoods")

    items = walk(query.algebra)
    if start not in {t for triple in Group(tuple(items)).triples() for t in
                     (triple.s, triple.o)}:
        raise UnboundedShape(f"{constraint}: the query does not read anything around $this")
    return Group(tuple(items))
