"""Blank nodes of two documents must never be the same node.

Oxigraph's parsers keep a document's blank node labels (`_:b0` stays `b0`), and the Graph
Store POST added the parsed triples as they were: two POSTs that both said `_:b0`, into two
graphs or into the same one, made one node shared across graphs and requests (an RDF union
instead of the merge the protocol asks for), and validation merged a submission's `_:b0`
with a stored `_:b0`. `rdf_input.parse_quads` now gives every document fresh blank nodes.
"""

from __future__ import annotations

import rdflib
from conftest import WRITER
from fastapi.testclient import TestClient

from graph_service.core.media import PARSEABLE_TYPES
from graph_service.core.rdf_input import parse_quads

EX = "http://example.org/"
TURTLE = {"content-type": "text/turtle", **WRITER}


def objects_by_subject(client: TestClient) -> dict[str, set[str]]:
    response = client.get("/sparql", params={
        "query": f"SELECT ?s ?o WHERE {{ GRAPH ?g {{ ?s <{EX}p> ?o }} }}"})
    found: dict[str, set[str]] = {}
    for row in response.json()["results"]["bindings"]:
        found.setdefault(row["s"]["value"], set()).add(row["o"]["value"])
    return found


def test_two_graph_store_posts_keep_their_blank_nodes_apart(client: TestClient) -> None:
    for graph, value in [("g1", "one"), ("g2", "two"), ("g1", "three")]:
        response = client.post(f"/store?graph={EX}{graph}",
                               content=f'_:b0 <{EX}p> "{value}" .'.encode(), headers=TURTLE)
        assert response.status_code in (201, 204), response.text
    groups = sorted(sorted(values) for values in objects_by_subject(client).values())
    assert groups == [["one"], ["three"], ["two"]]


def test_each_parse_gets_fresh_blank_nodes_but_keeps_them_within_a_document() -> None:
    body = f'_:x <{EX}p> _:y . _:y <{EX}p> _:x .'.encode()
    first = parse_quads(body, PARSEABLE_TYPES["text/turtle"])
    second = parse_quads(body, PARSEABLE_TYPES["text/turtle"])
    assert first[0].subject == first[1].object and first[0].object == first[1].subject
    assert {first[0].subject, first[0].object}.isdisjoint({second[0].subject, second[0].object})
    graph = rdflib.Graph()
    for quad in first + second:
        graph.add((rdflib.BNode(quad.subject.value), rdflib.URIRef(quad.predicate.value),
                   rdflib.BNode(quad.object.value)))
    assert len(set(graph.subjects())) == 4
