"""Agency story: every entity IRI dereferences in five forms, by Accept and by suffix."""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest
import rdflib
from conftest import REMOTE_BACKENDS
from fastapi.testclient import TestClient

from graph_service.settings import Settings

BASE = "https://w3id.org/smartby/"
FORMS = {  # media type → (suffix, parser; None for HTML)
    "text/turtle": (".ttl", ox.RdfFormat.TURTLE),
    "application/ld+json": (".jsonld", ox.RdfFormat.JSON_LD),
    "application/n-triples": (".nt", ox.RdfFormat.N_TRIPLES),
    "application/rdf+xml": (".rdf", ox.RdfFormat.RDF_XML),
    "text/html": (".html", None),
}


def entity_iris(reader: TestClient) -> list[str]:
    query = f"""SELECT DISTINCT ?s WHERE {{ ?s ?p ?o
      FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{BASE}id/")) }} ORDER BY ?s"""
    response = reader.get("/sparql", params={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    return [row["s"]["value"] for row in response.json()["results"]["bindings"]]


def subjects(body: bytes, parser: ox.RdfFormat) -> set[str]:
    """Parse offline (pyoxigraph never fetches a remote JSON-LD context): the subjects' IRIs."""
    if parser == ox.RdfFormat.JSON_LD:
        assert isinstance(json.loads(body)["@context"], dict), "the context is embedded"
    return {q.subject.value for q in ox.parse(body, format=parser)
            if isinstance(q.subject, ox.NamedNode)}


def entity_name(reader: TestClient, iri: str) -> str | None:
    turtle = reader.get(iri.removeprefix(BASE.rstrip("/")), headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=turtle.content, format="turtle")
    for predicate in (rdflib.URIRef("https://schema.org/name"), rdflib.SKOS.prefLabel,
                      rdflib.RDFS.label, rdflib.DCTERMS.title):
        names = [o for o in graph.objects(rdflib.URIRef(iri), predicate)
                 if isinstance(o, rdflib.Literal) and o.language in (None, "nb")]
        if names:
            return str(names[0])
    return None


def one_per_kind(iris: list[str]) -> list[str]:
    chosen: dict[str, str] = {}
    for iri in iris:
        chosen.setdefault(iri[len(BASE) + 3:].split("/")[0], iri)
    return list(chosen.values())


def test_agency_dereferences_every_entity_in_every_form(reader: TestClient, backend: str) -> None:
    """Every entity on the embedded store; on the remote one (slower per query), one per kind."""
    iris = entity_iris(reader)
    assert len(iris) > 100, "the curated graph is loaded"
    kinds = {iri[len(BASE) + 3:].split("/")[0] for iri in iris}
    assert {"project", "person", "principle", "session", "municipality"} <= kinds
    if backend in REMOTE_BACKENDS:
        iris = one_per_kind(iris)
    for iri in iris:  # a hash IRI (`…/bergen#fylke-vestland`) is described by its document
        path = "/" + iri[len(BASE):].split("#")[0]
        for media_type, (suffix, parser) in FORMS.items():
            for response in (reader.get(path, headers={"Accept": media_type}),
                             reader.get(path + suffix)):
                assert response.status_code == 200, (path, media_type)
                assert response.headers["content-type"].startswith(media_type)
                assert response.headers["content-location"] == path + suffix
                if parser is None:
                    name = entity_name(reader, iri) if "#" not in iri else None
                    assert name is None or name in response.text, (path, name)
                    assert f'href="{path}.ttl"' in response.text
                    continue
                assert iri in subjects(response.content, parser), (path, media_type)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle", "text/turtle"),
        ("application/ld+json", "application/ld+json"),
        ("application/n-triples", "application/n-triples"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("text/html;q=0.5, text/turtle;q=0.9", "text/turtle"),
        ("application/ld+json;q=0.9, application/rdf+xml", "application/rdf+xml"),
        ("*/*", "text/turtle"),
        ("", "text/turtle"),
    ],
)
def test_agency_negotiates_by_accept_with_q_values(
    reader: TestClient, accept: str, expected: str
) -> None:
    response = reader.get("/id/project/drammensmodellen", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(expected)
    assert "Accept" in [v.strip() for v in response.headers["vary"].split(",")]


def test_agency_gets_content_location_and_alternate_links(reader: TestClient) -> None:
    response = reader.get("/id/project/drammensmodellen", headers={"Accept": "text/turtle"})
    assert response.headers["content-location"] == "/id/project/drammensmodellen.ttl"
    links = response.headers["link"]
    for suffix, media_type in [(".jsonld", "application/ld+json"), (".rdf", "application/rdf+xml"),
                               (".nt", "application/n-triples"), (".html", "text/html")]:
        target = f"</id/project/drammensmodellen{suffix}>"
        assert f'{target}; rel="alternate"; type="{media_type}"' in links
    assert ".ttl>" not in links


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/id/project/no-such-project", {}, 404),
        ("/id/nothing/here", {"Accept": "text/html"}, 404),
        ("/id/project/drammensmodellen.exe", {}, 404),
        ("/id/project/drammensmodellen", {"Accept": "image/png"}, 406),
        ("/id/project/drammensmodellen", {"Accept": "text/turtle;q=0"}, 406),
    ],
)
def test_agency_gets_404_and_406(reader: TestClient, path: str, headers: dict, status: int) -> None:
    response = reader.get(path, headers=headers)
    assert response.status_code == status
    if "text/html" not in headers.get("Accept", ""):
        assert set(response.json()) >= {"error", "detail"}


def test_agency_head_has_headers_and_no_body(reader: TestClient) -> None:
    get = reader.get("/id/principle/tenk-helhetlig.ttl")
    head = reader.head("/id/principle/tenk-helhetlig.ttl")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]
    assert reader.head("/id/principle/no-such").status_code == 404


def test_agency_description_holds_labels_and_incoming_links(reader: TestClient) -> None:
    """One fetch renders the page: names of linked things, and who links here."""
    response = reader.get("/id/principle/sett-innbyggerne-i-sentrum.ttl")
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    principle = rdflib.URIRef(BASE + "id/principle/sett-innbyggerne-i-sentrum")
    project = rdflib.URIRef(BASE + "id/project/drammensmodellen")
    assert (project, rdflib.DCTERMS.subject, principle) in graph
    assert graph.value(project, rdflib.URIRef("https://schema.org/name")) is not None
    assert (principle, rdflib.RDFS.isDefinedBy, rdflib.URIRef(BASE + "graph/principles")) in graph


def test_agency_reads_a_project_as_plain_json(reader: TestClient) -> None:
    compact = reader.get("/id/project/drammensmodellen.jsonld").json()
    node = next(n for n in compact["@graph"] if n["id"].endswith("/drammensmodellen"))
    assert node["name"] == {"nb": "Drammensmodellen"}
    assert node["municipality"] == BASE + "id/municipality/drammen"
    assert node["principle"] == BASE + "id/principle/sett-innbyggerne-i-sentrum"
    assert node["session"] == BASE + "id/session/samtale-1"
    assert len(node["people"]) == 2
    framed = reader.get("/id/project/drammensmodellen.jsonld?profile=framed").json()
    names = sorted(p["name"]["@none"] for p in framed["people"])
    assert names == ["Einar Jørstad", "Mads Hilden"]
    assert framed["municipality"]["name"]["nb"] == "Drammen"


def test_agency_gets_the_published_context(reader: TestClient, settings: Settings) -> None:
    response = reader.get("/context.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    context = response.json()["@context"]
    for term in ("name", "municipality", "principle", "session", "people"):
        assert term in context
    # The referenced context gives the same triples as the embedded one.
    document = reader.get("/id/project/drammensmodellen.jsonld").json()
    embedded = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    document["@context"] = context
    again = rdflib.Graph().parse(data=json.dumps(document), format="json-ld")
    assert len(embedded) == len(again) > 0


@pytest.mark.parametrize(
    ("path", "accept", "check"),
    [
        ("/ontology", "text/turtle", (None, rdflib.OWL.versionInfo, None)),
        ("/ontology", "text/turtle", (None, rdflib.OWL.versionIRI, None)),
        ("/ontology", "application/n-triples", (None, rdflib.RDF.type, rdflib.OWL.Class)),
        ("/shapes", "text/turtle", (None, rdflib.RDF.type, rdflib.SH.NodeShape)),
        ("/shapes", "application/ld+json", (None, rdflib.SH.targetClass, None)),
    ],
)
def test_agency_gets_ontology_and_shapes_as_rdf(
    reader: TestClient, path: str, accept: str, check: tuple
) -> None:
    response = reader.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    parser = {"text/turtle": "turtle", "application/n-triples": "nt",
              "application/ld+json": "json-ld"}[accept]
    assert check in rdflib.Graph().parse(data=response.content, format=parser)


@pytest.mark.parametrize(("lang", "heading"), [("nb", "Klasser"), ("en", "Classes")])
def test_agency_reads_ontology_documentation(reader: TestClient, lang: str, heading: str) -> None:
    # Accept-Language, not ?lang=: that would leave a cookie on the shared reader client.
    headers = {"Accept": "text/html", "Accept-Language": lang}
    response = reader.get("/ontology", headers=headers)
    assert response.status_code == 200 and heading in response.text
    assert 'id="version-info"' in response.text
    shapes = reader.get("/shapes", headers=headers)
    assert shapes.status_code == 200 and 'class="target"' in shapes.text


def test_home_counts_each_kind_as_the_source_does(reader: TestClient) -> None:
    """Hash IRIs (a municipality's number history) are parts of their entity, not entities."""
    page = reader.get("/", headers={"Accept": "text/html", "Accept-Language": "en"}).text
    counts = dict(re.findall(r'data-kind="([a-z]+)"><strong>(\d+)</strong>', page))
    expected = {"series": 1, "session": 8, "principle": 8, "project": 8, "person": 16,
                "municipality": 7}
    assert {k: int(v) for k, v in counts.items() if k in expected} == expected


def _page(reader: TestClient, path: str, lang: str) -> str:
    headers = {"Accept": "text/html", "Accept-Language": lang}
    response = reader.get(path, headers=headers)
    assert response.status_code == 200
    return response.text


def test_agency_page_marks_our_translations_and_inferences(reader: TestClient) -> None:
    """The source is Norwegian only: an English string on a page says it is our translation,
    an inferred value says it is inferred; the source's own words carry no mark."""
    heading = re.compile(r'<h1>(.*?)</h1>', re.S)
    english = _page(reader, "/id/session/samtale-1", "en")
    (name,) = heading.findall(english)
    assert "Conversation #1: Put citizens at the centre" in name and "(translated)" in name
    assert re.search(r'class="description">In the first conversation.*?\(translated\)', english)
    assert "#en-name" not in english, "statement nodes are not things that link here"
    norwegian = _page(reader, "/id/session/samtale-1", "nb")
    (name,) = heading.findall(norwegian)
    assert name == '<span id="entity-name">Samtale #1: Sett innbyggerne i sentrum</span>'
    assert "oversatt" not in norwegian and "avledet" not in norwegian
    position = _page(reader, "/id/participation/samtale-1-celine-blanc", "en")
    (name,) = heading.findall(position)  # a participation is named by its title
    assert "Senior architect" in name and "(translated)" in name
    scheduled = _page(reader, "/id/session/samtale-5", "nb")
    assert re.search(r"2021-05-20T10:00:00\+02:00</span> <small[^>]*>\(avledet\)", scheduled)
