"""Story: a validator checks a submission at `/validate` in any syntax and reads the report."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from conftest import VIRTUOSO_OVERLAP_UNSEEN, VIRTUOSO_PARTICIPATION_JOIN, virtuoso_limitation
from fastapi.testclient import TestClient
from rdflib.namespace import RDF, SH

INPUTS = Path(__file__).parent / "inputs"
BAD = sorted((INPUTS / "bad").glob("*.ttl"))
GOOD = sorted((INPUTS / "good").glob("*.ttl"))
OWN = INPUTS / "submissions"
SHAPES_NS = "https://w3id.org/smartby/shapes#"
SHAPES = rdflib.Graph().parse(Path(__file__).parent.parent / "ontology" / "shapes.ttl")
TURTLE = {"content-type": "text/turtle"}
KEYS = {"focus": "focus_node", "component": "constraint", "shape": "source_shape",
        "constraint": "source_constraint", "path": "path"}


def expand(value: str) -> str:
    if value.startswith("sh:"):
        return str(SH) + value[3:]
    if value.startswith("shapes:"):
        return SHAPES_NS + value[7:]
    return value


def expectations(path: Path) -> list[dict[str, str]]:
    """The `# expect:` lines of a bad input (see tests/inputs/README.md)."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            pairs = (item.split("=", 1) for item in line[len("# expect:"):].split())
            found.append({KEYS[k]: expand(v) for k, v in pairs})
    return found


def validate(client: TestClient, body: bytes, content_type: str = "text/turtle",
             **headers: str) -> dict:
    response = client.post("/validate", content=body,
                           headers={"content-type": content_type, **headers})
    assert response.status_code == 200, response.text
    return response.json()


def test_there_are_at_least_fifteen_distinct_bad_inputs() -> None:
    assert len(BAD) >= 15
    assert all(expectations(path) for path in BAD)
    assert len({json.dumps(expectations(p), sort_keys=True) for p in BAD}) == len(BAD)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_submission_names_its_shape_and_focus_node(
    request: pytest.FixtureRequest, backend: str, reader: TestClient, path: Path
) -> None:
    if path.stem.startswith("participation-"):
        virtuoso_limitation(request, backend, VIRTUOSO_PARTICIPATION_JOIN)
    if path.stem == "municipality-number-extended-into-the-next" and backend == "virtuoso":
        request.applymarker(pytest.mark.xfail(strict=False, reason=VIRTUOSO_OVERLAP_UNSEEN))
    report = validate(reader, path.read_bytes())
    assert report["conforms"] is False
    for expected in expectations(path):
        matching = [r for r in report["results"]
                    if all(r[key] == value for key, value in expected.items())]
        assert matching, f"{expected} not in {report['results']}"


@pytest.mark.parametrize("path", [*GOOD, OWN / "person-alone.ttl"], ids=lambda p: p.stem)
def test_good_submission_conforms(reader: TestClient, path: Path) -> None:
    report = validate(reader, path.read_bytes())
    assert report["conforms"] is True, report
    assert report["violations"] == 0


def test_validation_stores_nothing(reader: TestClient) -> None:
    store = reader.app.state.store  # type: ignore[attr-defined]
    before = store.quad_count()
    validate(reader, (INPUTS / "good" / "project-in-session.ttl").read_bytes())
    assert store.quad_count() == before
    uri = "https://w3id.org/smartby/id/project/bergen-innbyggerpanel"
    assert reader.get("/store", params={"default": ""}).status_code == 200
    assert uri.encode() not in store.export("application/n-quads")


# Own inputs in other syntaxes: (file, media type, conforms, focus IRI tail, component).
SYNTAX_CASES = [
    ("project-name-number.jsonld", "application/ld+json", False, "project/tall-navn",
     "DatatypeConstraintComponent"),
    ("person-without-name.rdf", "application/rdf+xml", False, "person/uten-navn",
     "MinCountConstraintComponent"),
    ("project-without-municipality.nt", "application/n-triples", False, "project/uten-sted",
     "MinCountConstraintComponent"),
    ("person-name-with-language.trig", "application/trig", False, "person/anne-lang",
     "DatatypeConstraintComponent"),
    ("person-alone.jsonld", "application/ld+json", True, None, None),
]


@pytest.mark.parametrize(("name", "media_type", "conforms", "focus", "component"), SYNTAX_CASES)
def test_own_inputs_in_other_syntaxes(
    reader: TestClient, name: str, media_type: str, conforms: bool, focus: str | None,
    component: str | None,
) -> None:
    report = validate(reader, (OWN / name).read_bytes(), media_type)
    assert report["conforms"] is conforms
    if focus:
        assert any(r["focus_node"].endswith(focus) and r["constraint"] == str(SH) + component
                   for r in report["results"]), report["results"]


SYNTAXES = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/trig": ox.RdfFormat.TRIG,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


@pytest.mark.parametrize("media_type", list(SYNTAXES))
def test_every_syntax_gives_the_same_verdict(reader: TestClient, media_type: str) -> None:
    fmt = SYNTAXES[media_type]
    for path, conforms in ((GOOD[0], True), (INPUTS / "bad" / "person-without-name.ttl", False)):
        triples = list(ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE))
        if fmt in (ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS):
            graph = ox.NamedNode("https://example.org/g")
            triples = [ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples]
        body = ox.serialize(triples, format=fmt)
        assert validate(reader, body, media_type)["conforms"] is conforms


def test_multipart_upload_and_form_field(reader: TestClient) -> None:
    bad = (INPUTS / "bad" / "person-without-name.ttl").read_bytes()
    upload = reader.post("/validate", files={"file": ("person.ttl", bad, "text/turtle")})
    assert upload.status_code == 200 and upload.json()["conforms"] is False
    rdfxml = (OWN / "person-without-name.rdf").read_bytes()
    by_suffix = reader.post("/validate",
                            files={"file": ("p.rdf", rdfxml, "application/octet-stream")})
    assert by_suffix.json()["conforms"] is False
    form = reader.post("/validate", data={"data": GOOD[0].read_text(), "format": "text/turtle"})
    assert form.status_code == 200 and form.json()["conforms"] is True
    jsonld = reader.post("/validate", data={"data": (OWN / "person-alone.jsonld").read_text(),
                                            "format": "jsonld"})
    assert jsonld.json()["conforms"] is True


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"),
                                              ("application/ld+json", "json-ld")])
def test_report_as_shacl_validation_report(reader: TestClient, accept: str, fmt: str) -> None:
    body = (INPUTS / "bad" / "person-without-name.ttl").read_bytes()
    response = reader.post("/validate", content=body, headers={**TURTLE, "accept": accept})
    assert response.headers["content-type"].startswith(accept)
    graph = rdflib.Graph().parse(data=response.text, format=fmt)
    report = graph.value(predicate=RDF.type, object=SH.ValidationReport, any=False)
    assert report is not None
    assert graph.value(report, SH.conforms).toPython() is False
    focus = rdflib.URIRef("https://w3id.org/smartby/id/person/ola-nordmann")
    assert any(graph.value(r, SH.focusNode) == focus for r in graph.objects(report, SH.result))


class _Report(HTMLParser):
    """Collects the text of the report's messages and highlighted values."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.messages: list[str] = []
        self.values: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        self.stack.append(cls)
        if tag == "a" and "shape" in cls.split():
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "message":
            self.messages.append(data.strip())
        if self.stack and self.stack[-1] == "value":
            self.values.append(data.strip())


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_html_report_in_both_languages(reader: TestClient, lang: str) -> None:
    body = (INPUTS / "bad" / "person-name-with-language.ttl").read_bytes()
    response = reader.post("/validate", content=body, headers={
        **TURTLE, "accept": "text/html", "accept-language": lang})
    assert response.status_code == 200
    parser = _Report()
    parser.feed(response.text)
    shape = rdflib.URIRef(SHAPES_NS + "PersonShape-name")
    expected = {str(m) for m in SHAPES.objects(None, SH.message) if m.language == lang}
    assert set(parser.messages) & expected, parser.messages
    assert parser.values, "the offending value is highlighted"
    assert any(link.startswith("/shapes#") for link in parser.links)
    assert shape is not None


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_json_messages_follow_accept_language(reader: TestClient, lang: str) -> None:
    body = (INPUTS / "bad" / "person-without-name.ttl").read_bytes()
    report = validate(reader, body, **{"accept-language": lang})
    result = report["results"][0]
    shape = rdflib.URIRef(result["source_shape"])
    messages = {m.language: str(m) for m in SHAPES.objects(shape, SH.message)}
    assert result["message"] == messages[lang]
    assert result["messages"]["nb"] != result["messages"]["en"]


def test_warnings_do_not_fail(reader: TestClient) -> None:
    report = validate(reader, GOOD[0].read_bytes())
    assert report["conforms"] is True
    assert all(r["severity"] != "Violation" for r in report["results"])


def test_unparseable_input_names_line_and_column(reader: TestClient) -> None:
    body = b'@prefix schema: <https://schema.org/> .\n<https://x.org/a> schema:name "open .\n'
    response = reader.post("/validate", content=body, headers=TURTLE)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "syntax_error" and payload["line"] == 2
    assert "line 2" in payload["detail"]


def test_unparseable_input_on_the_page_shows_the_line(reader: TestClient) -> None:
    response = reader.post("/validate", data={"data": "<a> <b>", "format": "text/turtle"},
                           headers={"accept": "text/html"})
    assert response.status_code == 400
    assert 'id="problem"' in response.text and "line 1" in response.text


@pytest.mark.parametrize("content_type", ["text/html", "application/pdf", "image/png"])
def test_unsupported_type_is_415(reader: TestClient, content_type: str) -> None:
    response = reader.post("/validate", content=b"x", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_no_acceptable_report_type_is_406(reader: TestClient) -> None:
    response = reader.post("/validate", content=GOOD[0].read_bytes(),
                           headers={**TURTLE, "accept": "image/png"})
    assert response.status_code == 406


def test_validation_page_offers_paste_upload_and_syntaxes(reader: TestClient) -> None:
    page = reader.get("/validate", headers={"accept": "text/html"})
    assert page.status_code == 200
    for marker in ('name="data"', 'name="file"', 'name="format"', "application/rdf+xml"):
        assert marker in page.text


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A client whose body limit is 2 KiB."""
    from conftest import make_settings

    from graph_service.app import create_app

    settings = make_settings(tmp_path_factory.mktemp("limit") / "var", max_body=2048)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _chunks(size: int):  # type: ignore[no-untyped-def]
    line = b'<https://x.org/a> <https://x.org/p> "0123456789" .\n'
    for _ in range(size // len(line) + 1):
        yield line


@pytest.mark.parametrize("path", ["/validate", "/submissions"])
def test_too_large_is_413_declared_and_chunked(small_limit: TestClient, path: str) -> None:
    from conftest import WRITER

    big = b"".join(_chunks(4096))
    declared = small_limit.post(path, content=big, headers={
        "content-type": "application/n-triples", **WRITER})
    assert declared.status_code == 413
    chunked = small_limit.post(path, content=_chunks(4096), headers={
        "content-type": "application/n-triples", **WRITER})
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "payload_too_large"
