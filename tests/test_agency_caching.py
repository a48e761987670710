"""Agency story: ETag and Last-Modified on reads, 304 on conditional GETs, a new ETag after a
write, and CORS on read routes only."""

from __future__ import annotations

import pytest
from conftest import WRITER
from fastapi.testclient import TestClient
from starlette.datastructures import MutableHeaders

from graph_service.web.cors import vary_on_origin

READS = ["/id/project/drammensmodellen", "/dataset.ttl", "/.well-known/void", "/catalog",
         "/ontology", "/"]


@pytest.mark.parametrize("path", READS)
def test_agency_revalidates_with_etag_and_last_modified(reader: TestClient, path: str) -> None:
    first = reader.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert reader.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert reader.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    not_modified = reader.head(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    assert reader.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


def test_agency_gets_a_distinct_etag_per_representation(reader: TestClient) -> None:
    path = "/id/project/drammensmodellen"
    turtle = reader.get(path, headers={"Accept": "text/turtle"}).headers["etag"]
    html = reader.get(path, headers={"Accept": "text/html"}).headers["etag"]
    assert turtle != html
    assert reader.get(path, headers={"Accept": "text/html", "If-None-Match": turtle}
                      ).status_code == 200


def test_agency_gets_a_new_etag_after_a_change(client: TestClient) -> None:
    path = "/id/project/drammensmodellen.ttl"
    before = client.get(path)
    etag = before.headers["etag"]
    client.app.state.store.add_to_graph(  # type: ignore[attr-defined]
        "https://w3id.org/smartby/graph/test",
        b'<https://w3id.org/smartby/id/project/drammensmodellen> '
        b'<https://schema.org/alternateName> "DM"@nb .\n',
    )
    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert '"DM"@nb' in after.text
    later = after.headers["last-modified"]
    assert client.get(path, headers={"If-Modified-Since": before.headers["last-modified"]}
                      ).status_code == 200
    assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "cors"),
    [
        ("GET", "/id/project/drammensmodellen", {}, True),
        ("GET", "/dataset", {}, True),
        ("GET", "/catalog", {}, True),
        ("GET", "/sparql", {"params": {"query": "ASK {}"}}, True),
        ("POST", "/sparql", {"data": {"query": "ASK {}"}}, True),
        ("POST", "/update", {"content": "INSERT DATA {}",
                             "headers": {"Content-Type": "application/sparql-update"}}, False),
        ("PUT", "/store?graph=https://example.org/g", {"content": "",
                                                       "headers": {"Content-Type": "text/turtle"}},
         False),
        ("POST", "/store?graph=https://example.org/g", {"content": "",
                                                        "headers": {"Content-Type": "text/turtle"}},
         False),
        ("DELETE", "/store?graph=https://example.org/g", {}, False),
        ("POST", "/submissions", {"content": "", "headers": {"Content-Type": "text/turtle"}},
         False),
        ("DELETE", "/submissions/x", {}, False),
    ],
)
def test_cors_on_reads_and_not_on_writes(
    client: TestClient, method: str, path: str, kwargs: dict, cors: bool
) -> None:
    headers = {"Origin": "https://example.org", **WRITER, **kwargs.pop("headers", {})}
    response = client.request(method, path, headers=headers, **kwargs)
    assert (response.headers.get("access-control-allow-origin") == "*") is cors, (
        response.status_code, response.headers)


@pytest.mark.parametrize(("method", "allowed"), [("GET", True), ("PUT", False)])
def test_cors_preflight_only_for_reads(reader: TestClient, method: str, allowed: bool) -> None:
    response = reader.options("/sparql", headers={"Origin": "https://example.org",
                                                  "Access-Control-Request-Method": method})
    assert (response.headers.get("access-control-allow-origin") == "*") is allowed


@pytest.mark.parametrize("given", [
    [(b"content-type", b"text/turtle")],
    [(b"vary", b"Accept"), (b"content-length", b"3")],
    [(b"vary", b"Accept"), (b"etag", b'W/"x"'), (b"vary", b"Accept-Language")],
])
def test_a_read_without_origin_varies_on_origin_as_corsmiddleware_writes_it(
    given: list[tuple[bytes, bytes]],
) -> None:
    """The no-Origin shortcut in ReadOnlyCORS writes the very headers CORSMiddleware would."""
    message = {"type": "http.response.start", "headers": list(given)}
    MutableHeaders(scope=message)["Vary"] = ", ".join(
        [*MutableHeaders(scope=message).getlist("Vary"), "Origin"])
    assert vary_on_origin(list(given)) == list(message["headers"])


def test_a_sparql_answer_without_origin_varies_on_accept_and_origin(reader: TestClient) -> None:
    answer = reader.get("/sparql", params={"query": "ASK { ?s ?p ?o }"},
                        headers={"Accept": "application/sparql-results+json"})
    assert answer.status_code == 200
    assert answer.headers.get_list("vary") == ["Accept, Origin"]
    assert "access-control-allow-origin" not in answer.headers
