"""Properties of what takes hostile input, for any input hypothesis can think of.

- a string bound into a ready query stays one literal (judged by the engine evaluating it);
- a malformed document in any RDF syntax is a 400 with line and column where the syntax has
  lines, never a 5xx;
- entity paths never name an IRI outside the namespace, and no path reads a file outside
  the bundled static files;
- SERVICE and LOAD are refused in any spelling with `\\u` escapes (judged after unescaping).
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import ROOT
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graph_service.core.errors import InvalidSyntax, UnsupportedFormat
from graph_service.core.rdf_input import parse_body
from graph_service.core.sparql_text import remote_keywords
from graph_service.sparql.catalogue import bind_parameters, load_query

CLIENT_SETTINGS = settings(max_examples=40, deadline=None,
                           suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- a bound string is one literal ------------------------------------------------------------


@pytest.fixture(scope="module")
def echo_query(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A ready query that returns its parameter: what the engine received is what is seen."""
    path = tmp_path_factory.mktemp("queries") / "echo.rq"
    path.write_text("#+ summary: {nb: Ekko, nn: Ekko, en: Echo}\n"
                    "#+ description: {nb: Ekko, nn: Ekko, en: Echo}\n"
                    "#+ params:\n#+   text:\n#+     type: string\n#+     description: "
                    "{nb: Tekst, nn: Tekst, en: Text}\nSELECT ?_text WHERE { }\n",
                    encoding="utf-8")
    return load_query(path)


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_any_bound_string_comes_back_as_exactly_one_literal(
    echo_query: object, text: str
) -> None:
    assume(text != "")  # an empty value means "not given"
    bound = bind_parameters(echo_query, {"text": [text]})  # type: ignore[arg-type]
    rows = list(ox.Store().query(bound))  # type: ignore[union-attr]
    assert len(rows) == 1
    value = rows[0]["_text"]
    assert isinstance(value, ox.Literal) and value.value == text


# -- malformed documents ------------------------------------------------------------------------

GOOD = (ROOT / "tests/inputs/good/project-in-session.ttl").read_bytes()
_DATASET = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode("urn:g"))
                      for t in ox.parse(GOOD, format=ox.RdfFormat.TURTLE))
DOCUMENTS = {fmt.media_type: ox.serialize(_DATASET, format=fmt) for fmt in (
    ox.RdfFormat.TRIG, ox.RdfFormat.N_QUADS)}
DOCUMENTS |= {fmt.media_type: ox.serialize(list(ox.parse(GOOD, format=ox.RdfFormat.TURTLE)),
                                           format=fmt)
              for fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.JSON_LD,
                          ox.RdfFormat.RDF_XML)}
LINED = {"text/turtle", "application/trig", "application/n-triples", "application/n-quads"}
SPOILERS = [b"<", b">", b"\"", b"{", b"}", b"@", b".", b";", b"\\u12", b"\x00", b"\xff",
            b"_:", b"^^", b"<!ENTITY a \"b\">", b"&a;", b"]]", b"[", b"\n", b"@context",
            b"\"@id\": 1", b"<rdf:Description>", b"\xc3\x28", b"'", b"#"]


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, bytes]:
    media_type = draw(st.sampled_from(sorted(DOCUMENTS)))
    document = DOCUMENTS[media_type]
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(document)))
        cut = draw(st.integers(0, 8))
        spoiler = draw(st.one_of(st.sampled_from(SPOILERS), st.binary(max_size=6)))
        document = document[:at] + spoiler + document[at + cut:]
    return media_type, document


@settings(max_examples=400, deadline=None)
@given(malformed())
def test_a_malformed_document_is_a_syntax_error_with_its_position(
    case: tuple[str, bytes]
) -> None:
    media_type, document = case
    try:
        parse_body(document, media_type)
    except InvalidSyntax as exc:
        if media_type in LINED:
            assert exc.line is not None and exc.line >= 1, (media_type, exc.detail)
            assert exc.column is not None and exc.column >= 1, (media_type, exc.detail)
    except UnsupportedFormat:
        pytest.fail("a known syntax was refused as unknown")


@CLIENT_SETTINGS
@given(malformed())
def test_a_malformed_submission_is_answered_400_never_5xx(
    reader: TestClient, case: tuple[str, bytes]
) -> None:
    media_type, document = case
    response = reader.post("/validate", content=document, headers={"Content-Type": media_type})
    assert response.status_code in (200, 400), response.text[:300]
    if response.status_code == 400:
        body = response.json()
        assert body["error"] in ("syntax_error", "bad_request")
        if media_type in LINED:
            assert body["line"] and body["column"], body


# -- the namespace and the file system -----------------------------------------------------------

segment = st.one_of(
    st.sampled_from(["..", ".", "%2e%2e", "%2E%2e", "..%2f..", "%2f", "\\..", "project",
                     "drammensmodellen", "etc", "passwd", "", "~", "%00", "..;", "x.ttl"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8).map(
        lambda s: urllib.parse.quote(s, safe="")))
OUTSIDE = [(ROOT / "pyproject.toml").read_bytes()[:200], Path("/etc/passwd").read_bytes()[:32]]


@CLIENT_SETTINGS
@given(st.lists(segment, min_size=1, max_size=5))
def test_no_path_reads_a_file_outside_the_static_files(
    reader: TestClient, parts: list[str]
) -> None:
    for prefix in ("/static/", "/id/", "/submissions/", "/queries/", "/dataset."):
        response = reader.get(prefix + "/".join(parts), headers={"Accept": "*/*"})
        assert response.status_code < 500, (prefix, parts, response.text[:200])
        assert not [o for o in OUTSIDE if o and o in response.content], (prefix, parts)


@CLIENT_SETTINGS
@given(st.sampled_from(["project", "person", "..", "%2e%2e", "x"]), segment)
def test_an_entity_page_describes_only_an_iri_in_the_namespace(
    reader: TestClient, kind: str, slug: str
) -> None:
    # Clients resolve dot segments before sending (RFC 3986 §5.2.4): /id/../.. is "/".
    assume(kind != ".." and slug not in (".", "..", ""))
    response = reader.get(f"/id/{kind}/{slug}", headers={"Accept": "application/n-triples"})
    assert response.status_code in (200, 404, 406), response.text[:200]
    if response.status_code == 200:
        subjects = {t.subject for t in ox.parse(response.content,
                                                format=ox.RdfFormat.N_TRIPLES)}
        described = response.headers["content-location"].removesuffix(".nt")
        iri = "https://w3id.org/smartby" + described
        assert "/../" not in iri and "/./" not in iri
        assert not subjects or ox.NamedNode(iri) in subjects


# -- SERVICE and LOAD in any spelling -------------------------------------------------------------


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    out = []
    for letter in word:
        letter = draw(st.sampled_from([letter, letter.lower()]))
        how = draw(st.sampled_from(["plain", "u", "U"]))
        out.append(letter if how == "plain" else
                   f"\\u{ord(letter):04X}" if how == "u" else f"\\U{ord(letter):08x}")
    return "".join(out)


SERVICE_TEMPLATES = ["SELECT * {{ {} <http://127.0.0.1:9/> {{ ?s ?p ?o }} }}",
                     'SELECT * {{ BIND("\\u0022" AS ?x) {} <http://x/> {{}} }}',
                     "ASK {{ ?s ?p ?o . {} <http://x/> {{ }} }}"]


@given(spelled("SERVICE"), st.sampled_from(SERVICE_TEMPLATES))
def test_any_spelling_of_service_is_refused(spelling: str, template: str) -> None:
    assert "SERVICE" in remote_keywords(template.format(spelling))


@given(spelled("LOAD"))
def test_any_spelling_of_load_is_refused(spelling: str) -> None:
    assert remote_keywords(f"{spelling} <http://127.0.0.1:9/x> INTO GRAPH <urn:g>") == ["LOAD"]


@given(spelled("SERVICE"))
def test_a_spelling_inside_a_string_or_iri_is_not_a_keyword(spelling: str) -> None:
    assume("\\u0022" not in spelling and "\\U00000022" not in spelling)
    assert remote_keywords(f'SELECT * {{ ?s <http://x/{spelling}> "{spelling}" }}') == []
