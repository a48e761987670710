"""Audit: every route and method of the app that can change data refuses a request without a
valid token (missing, wrong scheme, unknown or revoked) with 401 and changes nothing; and no
token ever shows in a log line, an answer's body or its headers, or in the change feed (/changes).

The routes come from the app itself (`app.routes`), so a write route added later is audited
without anyone remembering to list it: a method that is not GET/HEAD is a write unless it is
in READ_ONLY_POSTS, and a write the audit has no request for fails the test.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import ADMIN, ROOT, WRITER, make_settings
from fastapi.testclient import TestClient
from starlette.routing import Mount

from graph_service.app import create_app
from graph_service.store import Store

# POSTs that only read: they take a body but store nothing (checked here too).
READ_ONLY_POSTS = {("POST", "/sparql"), ("POST", "/validate")}
CURATED = "https://w3id.org/smartby/graph/projects"
PROJECT = (ROOT / "tests/inputs/good/project-in-session.ttl").read_bytes()
OWN_TURTLE = b"<https://w3id.org/smartby/id/person/audit> <https://schema.org/name> \"A\" ."
# Presented instead of a valid token: nothing, another scheme, unknown, revoked (alice's
# earlier token), and near misses of a valid one.
REFUSED = {
    "missing": {},
    "basic": {"Authorization": "Basic YWxpY2U6YWxpY2UtdG9rZW4="},
    "empty bearer": {"Authorization": "Bearer "},
    "unknown": {"Authorization": "Bearer not-a-token"},
    "revoked": {"Authorization": "Bearer alice-old-token"},
    "prefix": {"Authorization": "Bearer alice-toke"},
    "suffix": {"Authorization": "Bearer alice-token2"},
    "admin prefix": {"Authorization": "Bearer admin-toke"},
}
SECRETS = ["alice-token", "bob-token", "admin-token", "alice-old-token", "not-a-token",
           "admin-toke", "YWxpY2U6YWxpY2UtdG9rZW4="]


def write_request(method: str, path: str, submission: str) -> tuple[str, dict[str, str], bytes]:
    """A request that WOULD change data with a valid token: (url, headers, body)."""
    turtle = {"Content-Type": "text/turtle"}
    requests = {
        ("POST", "/update"): ("/update", {"Content-Type": "application/sparql-update"},
                              f"DROP GRAPH <{CURATED}>".encode()),
        ("PUT", "/store"): (f"/store?graph={quote(CURATED)}", turtle, OWN_TURTLE),
        ("POST", "/store"): (f"/store?graph={quote(CURATED)}", turtle, OWN_TURTLE),
        ("DELETE", "/store"): (f"/store?graph={quote(CURATED)}", {}, b""),
        ("POST", "/submissions"): ("/submissions", turtle, PROJECT),
        ("DELETE", "/submissions/{id}"): (f"/submissions/{submission}", {}, b""),
        ("POST", "/sparql"): ("/sparql", {"Content-Type": "application/sparql-query"},
                              b"ASK {}"),
        ("POST", "/validate"): ("/validate", turtle, PROJECT),
    }
    assert (method, path) in requests, f"no audit request for the write route {method} {path}"
    return requests[(method, path)]


def routes_and_methods(routes: list[object], prefix: str = "") -> set[tuple[str, str]]:
    """(method, path) of every route, included routers opened up (FastAPI keeps them nested)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            context = getattr(route, "include_context", None)
            found |= routes_and_methods(router.routes,
                                        prefix + (getattr(context, "prefix", "") or ""))
        elif not isinstance(route, Mount):  # static files: GET only
            for method in getattr(route, "methods", None) or ():
                found.add((method, prefix + route.path))  # type: ignore[attr-defined]
    return found


def snapshot(store: Store) -> tuple[int, list[str]]:
    return store.quad_count(), store.named_graphs()


@pytest.fixture
def audited(tmp_path: Path) -> TestClient:
    settings = make_settings(tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_write_refuses_an_invalid_token_and_changes_nothing(
    audited: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = audited.post("/submissions", content=PROJECT,
                        headers={"Content-Type": "text/turtle", **WRITER})
    assert made.status_code == 201
    submission = made.json()["id"]
    store: Store = audited.app.state.store  # type: ignore[attr-defined]
    before = snapshot(store)
    every = routes_and_methods(audited.app.routes)  # type: ignore[attr-defined]
    writes = sorted((m, p) for m, p in every
                    if m not in ("GET", "HEAD") and (m, p) not in READ_ONLY_POSTS)
    assert {("POST", "/update"), ("DELETE", "/store"), ("POST", "/submissions")} <= set(writes)

    answers = []
    for method, path in [*writes, *READ_ONLY_POSTS]:
        url, headers, body = write_request(method, path, submission)
        variants = REFUSED if (method, path) not in READ_ONLY_POSTS else {
            "unknown": REFUSED["unknown"]}  # they validate: one is enough to see nothing stored
        for name, presented in variants.items():
            response = audited.request(method, url, content=body, headers=headers | presented)
            answers.append(response)
            if (method, path) in READ_ONLY_POSTS:
                assert response.status_code == 200, (method, path, name)
            else:
                assert response.status_code == 401, (method, path, name, response.text)
                assert response.json()["error"] == "unauthorized"
                assert response.headers["www-authenticate"].startswith("Bearer")
            assert snapshot(store) == before, (method, path, name)

    # The same requests with a valid token do change data: the refusals were about the token.
    for method, path in writes:
        url, headers, body = write_request(method, path, submission)
        response = audited.request(method, url, content=body, headers=headers | ADMIN)
        answers.append(response)
        assert response.status_code in (200, 201, 204), (method, path, response.text)
    assert snapshot(store) != before

    # The change feed records who changed what (a name), never with which token.
    feed = [audited.get("/changes", headers={"Accept": "application/n-quads"})]
    for page in {o for line in feed[0].text.splitlines() for o in line.split()
                 if o.startswith("<http://testserver/changes/")}:
        feed.append(audited.get(page.strip("<>"), headers={"Accept": "application/n-quads"}))
    assert all(page.status_code == 200 for page in feed) and len(feed) > 1
    answers += feed

    for response in answers:
        shown = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not [s for s in SECRETS if s in shown], response.request.url
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert caplog.records  # something was logged, so the check below means something
    assert not [s for s in SECRETS if s in logged]
