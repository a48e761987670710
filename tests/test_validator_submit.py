"""Story: a validator submits what conforms (token, provenance, withdrawal), and writes through
/update and /store are validated unless an administrator writes; nothing unsafe is fetched."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from conftest import ADMIN, OTHER_WRITER, WRITER
from fastapi.testclient import TestClient
from rdflib.namespace import DCTERMS, PROV, RDF, SH, XSD

INPUTS = Path(__file__).parent / "inputs"
GOOD = INPUTS / "good" / "project-in-session.ttl"
BAD = INPUTS / "bad" / "person-without-name.ttl"
TURTLE = {"content-type": "text/turtle"}
SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
BASE = "https://w3id.org/smartby/"
PROJECT = rdflib.URIRef(BASE + "id/project/bergen-innbyggerpanel")


def submit(client: TestClient, path: Path, headers: dict[str, str] = WRITER,
           **extra: str) -> object:
    return client.post("/submissions", content=path.read_bytes(),
                       headers={**TURTLE, **headers, **extra})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic YWxpY2U6eA=="}])
def test_submission_without_a_valid_token_is_401(reader: TestClient,
                                                 headers: dict[str, str]) -> None:
    response = reader.post("/submissions", content=GOOD.read_bytes(),
                           headers={**TURTLE, **headers})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_submit_list_read_resubmit_withdraw(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    created = submit(client, GOOD)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    submission_id = location.rsplit("/", 1)[-1]
    graph_iri = rdflib.URIRef(f"{BASE}graph/submission/{submission_id}")

    # The data and its provenance, as a dataset with two graphs.
    trig = client.get(location, headers={"accept": "application/trig"})
    assert trig.status_code == 200
    dataset = rdflib.Dataset()
    dataset.parse(data=trig.text, format="trig")
    data = dataset.graph(graph_iri)
    assert (PROJECT, RDF.type, rdflib.URIRef("https://schema.org/Project")) in data
    prov = dataset.graph(rdflib.URIRef(BASE + "graph/submissions"))
    agent = prov.value(graph_iri, PROV.wasAttributedTo)
    assert str(prov.value(agent, rdflib.URIRef("http://xmlns.com/foaf/0.1/name"))) == "alice"
    assert prov.value(graph_iri, PROV.generatedAtTime).datatype == XSD.dateTime
    assert str(prov.value(graph_iri, DCTERMS.conformsTo)).startswith(BASE + "shapes")
    checksum = prov.value(graph_iri, SPDX.checksum)
    assert len(str(prov.value(checksum, SPDX.checksumValue))) == 64
    activity = prov.value(graph_iri, PROV.wasGeneratedBy)
    report = prov.value(activity, PROV.generated)
    assert (report, RDF.type, SH.ValidationReport) in prov
    assert prov.value(report, SH.conforms).toPython() is True

    # Listed, and readable as JSON and HTML.
    listing = client.get("/submissions").json()
    assert [item["id"] for item in listing["items"]] == [submission_id]
    record = client.get(location).json()
    assert record["submitter"] == "alice" and record["withdrawn"] is None
    assert record["triples"] == len(data)
    page = client.get(location, headers={"accept": "text/html"})
    assert page.status_code == 200 and submission_id in page.text

    # The same triples again, even in another syntax, are detected.
    nt = data.serialize(format="nt")
    again = client.post("/submissions", content=nt.encode(),
                        headers={"content-type": "application/n-triples", **WRITER})
    assert again.status_code == 409
    assert again.headers["location"] == location

    # Someone else may not withdraw it; the submitter may, and it is recorded.
    assert client.delete(location, headers=OTHER_WRITER).status_code == 403
    assert client.delete(location).status_code == 401
    assert client.delete(location, headers=WRITER).status_code == 204
    assert not store.has_graph(str(graph_iri))
    record = client.get(location).json()
    assert record["withdrawn"] and record["withdrawn_by"] == "alice"
    turtle = client.get(location, headers={"accept": "text/turtle"})
    history = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert history.value(graph_iri, PROV.invalidatedAtTime) is not None
    assert (PROJECT, None, None) not in history
    assert client.delete(location, headers=WRITER).status_code == 409
    # Withdrawn content may be submitted anew.
    assert submit(client, GOOD).status_code == 201


def test_non_conforming_submission_is_422_and_stores_nothing(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    before = store.quad_count()
    response = submit(client, BAD, **{"accept-language": "en"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "does_not_conform"
    assert body["report"]["conforms"] is False
    assert body["report"]["results"][0]["focus_node"] == BASE + "id/person/ola-nordmann"
    assert store.quad_count() == before
    assert client.get("/submissions").json()["total"] == 0
    as_turtle = submit(client, BAD, accept="text/turtle")
    assert as_turtle.status_code == 422
    graph = rdflib.Graph().parse(data=as_turtle.text, format="turtle")
    assert (None, RDF.type, SH.ValidationReport) in graph


def test_listing_is_paged(client: TestClient) -> None:
    for n in range(3):
        body = (f'<{BASE}id/person/p-{n}> a <https://schema.org/Person> , '
                f'<http://xmlns.com/foaf/0.1/Person> ; <https://schema.org/name> "P {n}" .')
        assert client.post("/submissions", content=body.encode(),
                           headers={**TURTLE, **WRITER}).status_code == 201
    first = client.get("/submissions", params={"per_page": 2})
    assert first.json()["total"] == 3 and len(first.json()["items"]) == 2
    assert 'rel="next"' in first.headers["link"]
    second = client.get(first.json()["links"]["next"]).json()
    assert len(second["items"]) == 1
    ids = {i["id"] for i in first.json()["items"]} | {i["id"] for i in second["items"]}
    assert len(ids) == 3
    html = client.get("/submissions", headers={"accept": "text/html"})
    assert html.status_code == 200 and 'id="submissions"' in html.text
    assert client.get("/submissions", params={"per_page": 0}).status_code == 400
    assert client.get("/submissions/nope").status_code == 404


BAD_UPDATE = (f"PREFIX schema: <https://schema.org/> INSERT DATA {{ GRAPH <{BASE}graph/extra> "
              f"{{ <{BASE}id/person/uten-navn> a schema:Person }} }}")


def test_update_validates_unless_admin(client: TestClient) -> None:
    headers = {"content-type": "application/sparql-update"}
    assert client.post("/update", content=BAD_UPDATE, headers=headers).status_code == 401
    refused = client.post("/update", content=BAD_UPDATE, headers={**headers, **WRITER})
    assert refused.status_code == 422
    assert refused.json()["report"]["results"][0]["focus_node"] == BASE + "id/person/uten-navn"
    assert client.get("/store", params={"graph": BASE + "graph/extra"}).status_code == 404
    ok = client.post("/update", data={"update": BAD_UPDATE}, headers=ADMIN)
    assert ok.status_code == 204
    assert client.get("/store", params={"graph": BASE + "graph/extra"}).status_code == 200
    load = client.post("/update", data={"update": "LOAD <http://127.0.0.1:9/x>"}, headers=WRITER)
    assert load.status_code == 400
    wrong = client.post("/update", content=b"x", headers={"content-type": "text/plain", **WRITER})
    assert wrong.status_code == 415
    broken = client.post("/update", data={"update": "INSERT DATA {"}, headers=WRITER)
    assert broken.status_code == 400 and broken.json()["line"] == 1
    assert submit(client, GOOD).status_code == 201
    protect = client.post("/update", data={"update": f"CLEAR GRAPH <{BASE}graph/submissions>"},
                          headers=WRITER)
    assert protect.status_code == 403  # provenance changes only through /submissions
    assert client.get("/submissions").json()["total"] == 1


def test_graph_store_protocol(client: TestClient) -> None:
    graph = BASE + "graph/extra"
    good = GOOD.read_bytes()
    assert client.put("/store", params={"graph": graph}, content=good,
                      headers=TURTLE).status_code == 401
    assert client.put("/store", params={"graph": graph}, content=good,
                      headers={**TURTLE, **WRITER}).status_code == 201
    assert client.put("/store", params={"graph": graph}, content=good,
                      headers={**TURTLE, **WRITER}).status_code == 204
    got = client.get("/store", params={"graph": graph}, headers={"accept": "text/turtle"})
    assert (PROJECT, None, None) in rdflib.Graph().parse(data=got.text, format="turtle")
    head = client.head("/store", params={"graph": graph})
    assert head.status_code == 200 and head.content == b""
    bad = client.post("/store", params={"graph": graph}, content=BAD.read_bytes(),
                      headers={**TURTLE, **WRITER})
    assert bad.status_code == 422
    assert client.post("/store", params={"graph": graph}, content=BAD.read_bytes(),
                       headers={**TURTLE, **ADMIN}).status_code == 204
    assert client.delete("/store", params={"graph": graph}, headers=WRITER).status_code in (
        204, 422)
    assert client.delete("/store", params={"graph": graph}, headers=ADMIN).status_code in (
        204, 404)
    assert client.get("/store", params={"graph": graph}).status_code == 404
    assert client.delete("/store", params={"graph": graph}, headers=ADMIN).status_code == 404
    assert client.get("/store", params={"graph": "not an iri"}).status_code == 400


# -- no local file leaks, no outbound request ------------------------------------------------



def _payloads(port: int, secret: Path) -> list[tuple[str, bytes]]:
    return [
        ("application/rdf+xml", f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
  <!ENTITY local SYSTEM "file://{secret}">
  <!ENTITY remote SYSTEM "http://127.0.0.1:{port}/xxe">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:schema="https://schema.org/">
  <schema:Person rdf:about="{BASE}id/person/xxe">
    <schema:name>&local;&remote;</schema:name>
  </schema:Person>
</rdf:RDF>""".encode()),
        ("application/ld+json", f"""{{"@context": "http://127.0.0.1:{port}/context.jsonld",
  "@id": "{BASE}id/person/ctx", "@type": "Person", "name": "Remote"}}""".encode()),
        ("application/ld+json", f"""{{"@context": [{{"@import": "http://127.0.0.1:{port}/i"}}],
  "@id": "{BASE}id/person/ctx2", "name": "Remote"}}""".encode()),
    ]


def test_no_entity_or_context_is_ever_fetched(
    client: TestClient, listener: tuple[int, list[bytes]], tmp_path: Path
) -> None:
    port, seen = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LOCAL-CONTENT")
    for path in ("/validate", "/submissions", "/store?graph=urn:x:g"):
        for content_type, body in _payloads(port, secret):
            for auth in (WRITER, ADMIN):
                response = client.post(path, content=body,
                                       headers={"content-type": content_type, **auth})
                assert response.status_code < 500, response.text
                assert "TOP-SECRET" not in response.text
    assert seen == []
    store = client.app.state.store  # type: ignore[attr-defined]
    assert b"TOP-SECRET" not in store.export("application/n-quads")
