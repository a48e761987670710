"""Story: a browser and an operator meet a hardened service: pages that load nothing remote
and cannot be framed, bodies never sniffed, and one access-log line per request with its id,
never a secret."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import time
from collections.abc import Iterator

import pytest
from conftest import WRITER
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from graph_service.serving import log_config
from graph_service.web import access_log
from graph_service.web.access_log import LEVEL_PREFIX, AccessLineHandler, write_line
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


@pytest.fixture
def served_access_log() -> Iterator[io.StringIO]:
    """The access logger as `smartby serve` configures it (serving.log_config), alone (pytest
    hangs its own capturing handlers on it for each test's call) and writing to a buffer;
    all of it put back afterwards."""
    access = logging.getLogger("graph_service.access")
    kept = (access.handlers[:], access.propagate, access.level, access.disabled)
    out = io.StringIO()
    logging.config.dictConfig({**log_config(), "disable_existing_loggers": False})
    (handler,) = access.handlers
    assert isinstance(handler, AccessLineHandler)
    handler.setStream(out)
    real_add = access.addHandler
    access.addHandler = lambda added: None  # type: ignore[method-assign]
    try:
        yield out
    finally:
        access.addHandler = real_add  # type: ignore[method-assign]
        access.handlers[:], access.propagate, access.level, access.disabled = kept


def _fields(line: str) -> tuple[object, ...]:
    found = json.loads(line.removeprefix(LEVEL_PREFIX))
    return found["method"], found["route"], found["status"], found["request_id"]


def test_the_served_access_log_writes_the_same_line_with_or_without_a_record(
    served_access_log: io.StringIO,
) -> None:
    """Alone, our handler is given the line without a log record (web/access_log.py); with a
    filter on it, the record goes through logging's formatter. Both write the same text."""
    scope = {"method": "GET", "route": APIRoute("/sparql", lambda: None)}
    access = logging.getLogger("graph_service.access")
    (handler,) = access.handlers
    assert isinstance(handler, AccessLineHandler)
    assert access_log._direct() is handler  # alone: no record
    write_line(scope, 200, time.perf_counter(), "0123456789abcdef")
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return True

    handler.addFilter(keep)  # the record's way from now on
    assert access_log._direct() is None
    write_line(scope, 200, time.perf_counter(), "0123456789abcdef")
    handler.removeFilter(keep)
    direct, through_logging = served_access_log.getvalue().splitlines()
    assert len(seen) == 1 and seen[0].getMessage() == through_logging.removeprefix(LEVEL_PREFIX)
    assert direct.startswith(LEVEL_PREFIX) and through_logging.startswith(LEVEL_PREFIX)
    assert _fields(direct) == _fields(through_logging) == (
        "GET", "/sparql", 200, "0123456789abcdef")


def test_anything_else_listening_gets_the_access_line_as_a_record(
    served_access_log: io.StringIO, caplog: pytest.LogCaptureFixture,
) -> None:
    """A second handler, propagation, a filter on the logger: each is given the record, as
    logging would; a logger turned down or off writes nothing."""
    access = logging.getLogger("graph_service.access")
    scope = {"method": "POST", "route": APIRoute("/update", lambda: None)}
    captured: list[logging.LogRecord] = []
    extra = logging.Handler()
    extra.emit = captured.append  # type: ignore[method-assign]
    access.handlers.append(extra)
    write_line(scope, 201, time.perf_counter(), "aaaaaaaaaaaaaaaa")
    access.handlers.remove(extra)
    access.propagate = True
    with caplog.at_level(logging.INFO):
        write_line(scope, 202, time.perf_counter(), "bbbbbbbbbbbbbbbb")
    access.propagate = False
    access.setLevel(logging.WARNING)
    write_line(scope, 203, time.perf_counter(), "cccccccccccccccc")
    access.setLevel(logging.INFO)
    access.disabled = True
    write_line(scope, 204, time.perf_counter(), "dddddddddddddddd")
    access.disabled = False
    assert [json.loads(r.getMessage())["status"] for r in captured] == [201]
    assert [json.loads(r.getMessage())["status"] for r in caplog.records
            if r.name == "graph_service.access"] == [202]
    written = [_fields(line)[2] for line in served_access_log.getvalue().splitlines()]
    assert written == [201, 202]


def test_access_lines_stay_right_past_the_kept_line_starts(
    served_access_log: io.StringIO,
) -> None:
    """A line's start is kept per method, route and status; clients choose the method, so at
    most _STARTS_KEPT are kept and the lines are right after they are forgotten."""
    for i in range(access_log._STARTS_KEPT + 10):
        write_line({"method": f"M{i}", "route": None}, 200 + i % 3, time.perf_counter(),
                   f"{i:016x}")
    lines = served_access_log.getvalue().splitlines()
    assert len(lines) == access_log._STARTS_KEPT + 10
    assert len(access_log._STARTS) <= access_log._STARTS_KEPT
    for i, line in enumerate(lines):
        assert _fields(line) == (f"M{i}", "(no route)", 200 + i % 3, f"{i:016x}")
