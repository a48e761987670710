"""Story: a browser and an operator meet a hardened service: pages that load nothing remote
and cannot be framed, bodies never sniffed, and one access-log line per request with its id,
never a secret."""

from __future__ import annotations

import json
import logging
import time

import pytest
from conftest import WRITER
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from graph_service.web.access_log import write_line
from graph_service.web.security_headers import FRAMING, content_security_policy

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize("path", ["/", "/sparql", "/validate", "/queries",
                                  "/id/project/drammensmodellen", "/ontology", "/nowhere",
                                  "/docs", "/redoc"])
def test_html_pages_carry_a_policy_without_remote_origins(reader: TestClient, path: str) -> None:
    response = reader.get(path, headers=HTML)
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(d.strip().split(" ", 1) for d in
                  response.headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert not [v for v in policy.values() if "http:" in v or "https:" in v or "*" in v]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_rdf_and_json_are_never_sniffed_and_carry_no_page_policy(reader: TestClient) -> None:
    for path in ("/id/project/drammensmodellen.ttl", "/queries", "/health"):
        response = reader.get(path)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers


def test_only_the_listed_routes_may_be_framed() -> None:
    assert "frame-ancestors *" in content_security_policy("/queries/{name}/embed")
    assert set(FRAMING) == {"/queries/{name}/embed"}
    assert "frame-ancestors 'none'" in content_security_policy("/id/{kind}/{slug}")


def test_one_access_line_per_request_with_its_id_and_no_secret(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="graph_service.access")
    secret_query = "ASK { ?s ?p 'secret-in-a-query' }"
    read = client.get("/sparql", params={"query": secret_query})
    write = client.post("/update", content="nonsense",
                        headers={"Content-Type": "application/sparql-update", **WRITER})
    refused = client.post("/update", content="x", headers={"Authorization": "Bearer wrong"})
    lines = [json.loads(r.getMessage()) for r in caplog.records
             if r.name == "graph_service.access"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("GET", "/sparql", 200), ("POST", "/update", 400), ("POST", "/update", 401)]
    for line, response in zip(lines, (read, write, refused), strict=True):
        assert line["request_id"] == response.headers["x-request-id"]
        assert isinstance(line["duration_ms"], float) and set(line) == {
            "method", "route", "status", "duration_ms", "request_id"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "alice-token" not in logged and "wrong" not in logged and "secret" not in logged


def test_a_callers_request_id_is_kept_only_when_it_is_plainly_an_id(client: TestClient) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "trace-0123456789"})
    assert kept.headers["x-request-id"] == "trace-0123456789"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\" with quotes"})
    assert replaced.headers["x-request-id"] != "bad id\" with quotes"
    assert len(replaced.headers["x-request-id"]) == 16


def test_no_cross_origin_request_may_send_authorization(reader: TestClient) -> None:
    asked = reader.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert not 200 <= asked.status_code < 300  # the browser will not send the request
    allowed = asked.headers.get("access-control-allow-headers", "").lower()
    assert "authorization" not in allowed
    plain = reader.options("/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert plain.status_code == 200 and plain.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in plain.headers


def test_a_cross_origin_read_sees_its_request_id(reader: TestClient) -> None:
    response = reader.get("/health", headers={"Origin": "https://example.org"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(("method", "route"), [
    ("GET", "/sparql"), ("PROPFIND", None), ('BR"EW\\', "/id/{kind}/{slug}"),
    ("GËT\n", "/queries/{name}")])
def test_an_access_line_is_the_json_of_its_fields_whatever_they_hold(
    caplog: pytest.LogCaptureFixture, method: str, route: str | None
) -> None:
    """The line is put together by hand (web/access_log.py); it must be what json.dumps
    would write, quotes, backslashes, control and non-ASCII characters escaped."""
    caplog.set_level(logging.INFO, logger="graph_service.access")
    scope = {"method": method, "route": APIRoute(route, lambda: None) if route else None}
    write_line(scope, 418, time.perf_counter(), "0123456789abcdef")
    (record,) = [r for r in caplog.records if r.name == "graph_service.access"]
    line = record.getMessage()
    fields = json.loads(line)
    assert line == json.dumps(fields)  # json's own spelling, byte for byte
    assert fields["method"] == method and fields["route"] == (route or "(no route)")
    assert fields["status"] == 418 and fields["request_id"] == "0123456789abcdef"
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
