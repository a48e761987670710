"""Story: real SPARQL clients (SPARQLWrapper, rdflib SPARQLStore) work unchanged on /sparql."""

from __future__ import annotations

import csv
import io

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

SCHEMA = "https://schema.org/"
PROJECTS = (f"SELECT ?p ?name WHERE {{ ?p a <{SCHEMA}Project> ; <{SCHEMA}name> ?name }} "
            "ORDER BY ?name")
DRAMMEN = URIRef("https://w3id.org/smartby/id/project/drammensmodellen")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json(live_server, method: str) -> None:
    client = SPARQLWrapper(f"{live_server.url}/sparql")
    client.setMethod(method)
    client.setQuery(PROJECTS)
    client.setReturnFormat(JSON)
    bindings = client.queryAndConvert()["results"]["bindings"]
    names = [b["name"]["value"] for b in bindings]
    assert len(names) == 8 and "Drammensmodellen" in names


def test_sparqlwrapper_select_xml_and_csv(live_server) -> None:
    client = SPARQLWrapper(f"{live_server.url}/sparql")
    client.setQuery(PROJECTS)
    client.setReturnFormat(XML)
    document = client.queryAndConvert()  # an xml.dom.minidom Document
    literals = [node.firstChild.data for node in document.getElementsByTagName("literal")]
    assert "Orklandbadet" in literals
    client.setReturnFormat(CSV)
    text = client.queryAndConvert().decode("utf-8")
    # RFC 4180 lets a store quote any field (Virtuoso quotes the names): read it as CSV.
    assert next(csv.reader(io.StringIO(text))) == ["p", "name"] and "Bygdepakke" in text


def test_sparqlwrapper_ask_and_construct(live_server) -> None:
    client = SPARQLWrapper(f"{live_server.url}/sparql")
    client.setQuery(f"ASK {{ <{DRAMMEN}> a <{SCHEMA}Project> }}")
    client.setReturnFormat(JSON)
    assert client.queryAndConvert()["boolean"] is True
    client.setQuery(f"CONSTRUCT {{ ?p a <{SCHEMA}Project> }} WHERE {{ ?p a <{SCHEMA}Project> }}")
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.queryAndConvert(), format="turtle")
    assert (DRAMMEN, RDF.type, URIRef(SCHEMA + "Project")) in graph
    client.setReturnFormat(XML)  # CONSTRUCT as RDF/XML, converted to a graph by SPARQLWrapper
    assert (DRAMMEN, RDF.type, URIRef(SCHEMA + "Project")) in client.queryAndConvert()


def test_rdflib_sparqlstore(live_server) -> None:
    graph = Graph(store=SPARQLStore(f"{live_server.url}/sparql", returnFormat="xml"))
    names = {str(row.name) for row in graph.query(PROJECTS)}
    assert {"Drammensmodellen", "Orklandbadet"} <= names
    assert graph.query(f"ASK {{ <{DRAMMEN}> a <{SCHEMA}Project> }}").askAnswer is True
    assert (DRAMMEN, RDF.type, URIRef(SCHEMA + "Project")) in graph  # triple lookup via ASK
    described = graph.query(f"DESCRIBE <{DRAMMEN}>").graph
    assert (DRAMMEN, URIRef(SCHEMA + "name"), None) in described


def test_rdflib_sparqlstore_json_and_post(live_server) -> None:
    store = SPARQLStore(f"{live_server.url}/sparql", returnFormat="json", method="POST")
    rows = list(Graph(store=store).query(PROJECTS))
    assert len(rows) == 8
