"""Agency story: dumps in every format, VoID figures checked against the store, and a DCAT
catalogue validated against our SHACL encoding of DCAT-AP-NO (tests/shapes/dcat-ap-no.ttl).

No official DCAT-AP-NO shapes are available as files from PyPI or npm, so the shapes are ours.
Mandatory (sh:Violation): Catalog dct:title, dct:description, dct:publisher, dcat:dataset;
Dataset dct:title, dct:description, dct:identifier, dct:publisher, dcat:theme (EU data theme);
Distribution dcat:accessURL; DataService dcat:endpointURL, dct:title; Agent foaf:name.
Recommended (sh:Warning): Catalog dct:language, dct:license, foaf:homepage, dcat:themeTaxonomy,
dcat:service; Dataset dcat:contactPoint, dcat:distribution, dcat:keyword, dct:accessRights,
dct:spatial, dct:temporal, dct:language, dct:license; Distribution dcat:downloadURL,
dct:description, dct:format, dcat:mediaType (IANA), dct:license, dct:title; DataService
dct:publisher, dct:description, dcat:endpointDescription, dcat:servesDataset, dcat:contactPoint;
contact point with an e-mail, URL or telephone.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib.namespace import DCAT, DCTERMS, VOID

SHAPES = Path(__file__).parent / "shapes" / "dcat-ap-no.ttl"
DATASET = rdflib.URIRef("https://w3id.org/smartby/dataset")


def sparql_number(reader: TestClient, query: str) -> int:
    response = reader.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def distinct_triples(reader: TestClient) -> int:
    return sparql_number(reader, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                                 "WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } }")


@pytest.mark.parametrize(
    ("accept", "path", "fmt", "has_graphs"),
    [
        ("application/trig", "/dataset.trig", ox.RdfFormat.TRIG, True),
        ("application/n-quads", "/dataset.nq", ox.RdfFormat.N_QUADS, True),
        ("application/ld+json", "/dataset.jsonld", ox.RdfFormat.JSON_LD, False),
        ("text/turtle", "/dataset.ttl", ox.RdfFormat.TURTLE, False),
    ],
)
def test_agency_downloads_dumps_that_match_the_store(
    reader: TestClient, accept: str, path: str, fmt: ox.RdfFormat, has_graphs: bool
) -> None:
    quads = sparql_number(reader, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    for response in (reader.get("/dataset", headers={"Accept": accept}), reader.get(path)):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(accept)
        parsed = list(ox.parse(response.content, format=fmt))
        if has_graphs:
            assert len(parsed) == quads
            assert len({q.graph_name for q in parsed}) > 5
        else:
            assert len(set(parsed)) == distinct_triples(reader)


def test_agency_gets_trig_by_default(reader: TestClient) -> None:
    assert reader.get("/dataset").headers["content-type"].startswith("application/trig")
    assert reader.get("/dataset", headers={"Accept": "image/png"}).status_code == 406


def turtle_at(reader: TestClient, path: str) -> rdflib.Graph:
    response = reader.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    return rdflib.Graph().parse(data=response.content, format="turtle")


def void(reader: TestClient) -> rdflib.Graph:
    return turtle_at(reader, "/.well-known/void")


def test_agency_checks_void_figures_against_the_store(reader: TestClient) -> None:
    graph = void(reader)
    figures = {
        VOID.triples: distinct_triples(reader),
        VOID.entities: sparql_number(
            reader, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o "
            "FILTER(STRSTARTS(STR(?s), 'https://w3id.org/smartby/id/')) }"),
        VOID.classes: sparql_number(reader, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?s a ?c }"),
        VOID.properties: sparql_number(reader, "SELECT (COUNT(DISTINCT ?p) AS ?n) "
                                       "WHERE { ?s ?p ?o }"),
        VOID.distinctSubjects: sparql_number(reader, "SELECT (COUNT(DISTINCT ?s) AS ?n) "
                                             "WHERE { ?s ?p ?o }"),
        VOID.distinctObjects: sparql_number(reader, "SELECT (COUNT(DISTINCT ?o) AS ?n) "
                                            "WHERE { ?s ?p ?o }"),
    }
    for predicate, expected in figures.items():
        assert graph.value(DATASET, predicate).toPython() == expected, predicate
    subsets = [graph.value(s, VOID.triples).toPython() for s in graph.objects(DATASET, VOID.subset)
               if (s, rdflib.RDF.type, VOID.Linkset) not in graph]
    quads = sparql_number(reader, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert sum(subsets) == quads
    partitions = list(graph.objects(DATASET, VOID.classPartition))
    assert len(partitions) == figures[VOID.classes]
    project = next(p for p in partitions
                   if graph.value(p, VOID["class"]) == rdflib.URIRef("https://schema.org/Project"))
    assert graph.value(project, VOID.entities).toPython() == 8
    assert len(list(graph.objects(DATASET, VOID.propertyPartition))) == figures[VOID.properties]


def test_agency_finds_endpoint_dumps_examples_and_linksets_in_void(reader: TestClient) -> None:
    graph = void(reader)
    endpoint = graph.value(DATASET, VOID.sparqlEndpoint)
    assert str(endpoint).endswith("/sparql")
    dumps = {str(d).rsplit("/", 1)[-1] for d in graph.objects(DATASET, VOID.dataDump)}
    assert dumps == {"dataset.trig", "dataset.nq", "dataset.jsonld", "dataset.ttl"}
    examples = list(graph.objects(DATASET, VOID.exampleResource))
    assert examples and all(reader.get(str(e).removeprefix("https://w3id.org/smartby"))
                            .status_code == 200 for e in examples)
    assert rdflib.URIRef("https://schema.org/") in set(graph.objects(DATASET, VOID.vocabulary))
    wikidata_links = sparql_number(reader, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?o "
                                   "WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?o), "
                                   "'http://www.wikidata.org/entity/')) } }")
    linksets = [s for s in graph.subjects(rdflib.RDF.type, VOID.Linkset)
                if graph.value(s, VOID.objectsTarget) == rdflib.URIRef("http://www.wikidata.org/")]
    assert (len(linksets) > 0) == (wikidata_links > 0)


def catalog(reader: TestClient) -> rdflib.Graph:
    return turtle_at(reader, "/catalog")


def test_agency_catalogue_validates_against_dcat_ap_no(reader: TestClient) -> None:
    graph = catalog(reader)
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    conforms, report, text = validate(graph, shacl_graph=shapes, allow_warnings=False)
    assert conforms, text
    results = list(report.subjects(rdflib.RDF.type, rdflib.SH.ValidationResult))
    assert results == [], text  # no warnings either: the recommended properties are there


def test_agency_catalogue_links_downloadable_distributions(reader: TestClient) -> None:
    graph = catalog(reader)
    distributions = list(graph.objects(DATASET, DCAT.distribution))
    assert len(distributions) == 5  # the four dumps and the change feed (/changes)
    for dist in distributions:
        url = str(graph.value(dist, DCAT.downloadURL))
        media_type = str(graph.value(dist, DCAT.mediaType)).split("/media-types/")[1]
        response = reader.head(url.removeprefix("http://testserver"))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
    assert graph.value(DATASET, DCTERMS.spatial) == rdflib.URIRef(
        "http://publications.europa.eu/resource/authority/country/NOR")
    titles = {t.language for t in graph.objects(DATASET, DCTERMS.title)}
    assert titles == {"nb", "en"}


def test_catalogue_shapes_catch_a_missing_mandatory_property(reader: TestClient) -> None:
    """The shapes are not vacuous: without a title the catalogue does not conform."""
    graph = catalog(reader)
    graph.remove((DATASET, DCTERMS.title, None))
    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    conforms, _, _ = validate(graph, shacl_graph=shapes)
    assert not conforms
