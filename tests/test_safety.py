"""Safe by default: one error shape everywhere, body limits before parsing, read-only publics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import make_settings
from fastapi.testclient import TestClient

from graph_service.app import create_app

# (method, path, body, headers): requests that must fail with a JSON error of this status.
BAD_REQUESTS = [
    ("GET", "/no/such/route", None, {}, 404),
    ("GET", "/sparql?query=SELECT%20*%20WHERE%20%7B", None, {}, 400),
    ("GET", "/sparql?query=ASK%7B%7D", None, {"Accept": "image/png"}, 406),
    ("POST", "/update", "INSERT DATA { <http://a> <http://b> <http://c> }",
     {"Content-Type": "application/sparql-update"}, 401),
    ("PUT", "/store?default", "<http://a> <http://b> <http://c> .",
     {"Content-Type": "text/turtle"}, 401),
    ("POST", "/submissions", "<http://a> <http://b> <http://c> .",
     {"Content-Type": "text/turtle"}, 401),
    ("POST", "/validate", "<http://a> <http://b> .", {"Content-Type": "text/turtle"}, 400),
    ("POST", "/validate", "hello", {"Content-Type": "image/png"}, 415),
    ("GET", "/id/project/no-such-project", None, {"Accept": "text/turtle"}, 404),
    ("GET", "/queries/no-such-query", None, {}, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), BAD_REQUESTS)
def test_every_error_has_the_one_json_shape(
    reader: TestClient, method: str, path: str, body: str | None, headers: dict[str, str],
    status: int,
) -> None:
    response = reader.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert isinstance(payload["error"], str) and payload["error"]
    assert isinstance(payload["detail"], str) and payload["detail"]


def test_a_browser_gets_the_error_as_a_page(reader: TestClient) -> None:
    response = reader.get("/no/such/route", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "404" in response.text


def test_a_syntax_error_names_line_and_column(reader: TestClient) -> None:
    response = reader.get("/sparql", params={"query": "SELECT *\nWHERE { ?s ?p }"})
    assert response.status_code == 400
    payload = response.json()
    assert payload["line"] == 2
    assert 1 <= payload["column"] <= len("WHERE { ?s ?p }") + 1  # the parser's own column
    assert "line 2" in payload["detail"]


@pytest.fixture
def small_limit_client(tmp_path: object) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "var", max_body=1000)  # type: ignore[operator]
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("path", ["/sparql", "/validate", "/submissions", "/update", "/store"])
def test_a_declared_large_body_gets_413_before_parsing(
    small_limit_client: TestClient, path: str
) -> None:
    body = b"#" * 1001
    response = small_limit_client.post(
        path, content=body, headers={"Content-Type": "text/turtle", "Authorization": "Bearer x"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


def test_a_chunked_large_body_gets_413(small_limit_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"#" * 100

    response = small_limit_client.post(
        "/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
        "select * { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
    ],
)
def test_service_is_refused(reader: TestClient, query: str) -> None:
    response = reader.get("/sparql", params={"query": query})
    assert response.status_code == 400
    assert "SERVICE" in response.json()["detail"]


def test_writes_are_refused_when_no_token_is_configured(tmp_path: object) -> None:
    settings = make_settings(tmp_path / "var", token="", admin_token="")  # type: ignore[operator]
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/update",
            content="INSERT DATA { <http://a> <http://b> <http://c> }",
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer "},
        )
        assert response.status_code == 401
        assert client.get("/health").json()["quads"] > 0
