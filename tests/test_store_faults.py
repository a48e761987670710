"""A fault of the server or its store is a 5xx with a correlation id, never the client's 400."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from conftest import make_settings
from fastapi.testclient import TestClient

from graph_service.app import create_app

QUERY = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def test_a_store_io_error_is_a_server_fault_with_a_correlation_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path / "var", query_workers=1)
    with TestClient(create_app(settings)) as client:
        # The store takes its consistent views (checkpoints) under the data directory: make
        # that impossible, as a full or broken disk would.
        checkpoints = settings.data_dir / "checkpoints"
        shutil.rmtree(checkpoints)
        checkpoints.write_text("not a directory")
        with caplog.at_level(logging.WARNING, logger="graph_service"):
            response = client.get("/sparql", params={"query": QUERY})
    assert response.status_code in (500, 503), response.text
    body = response.json()
    assert body["error"] == "store_error"
    assert body["correlation_id"]
    assert body["correlation_id"] in caplog.text  # the operator finds what the user saw


def test_a_query_the_engine_refuses_is_still_the_clients_400(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", query_workers=1)
    with TestClient(create_app(settings)) as client:
        response = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert "correlation_id" not in response.json()


def test_the_content_folder_of_the_settings_decides_the_named_queries(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    content = tmp_path / "content"
    for folder in ("ontology", "data"):
        shutil.copytree(root / folder, content / folder)
    (content / "queries").mkdir()
    shutil.copy(root / "queries" / "sessions-in-order.rq", content / "queries")
    (content / "queries" / "count-everything.rq").write_text(
        "#+ summary:\n#+   nb: Tell alt\n#+   nn: Tel alt\n#+   en: Count everything\n"
        "#+ description:\n#+   nb: Antall tripler.\n#+   nn: Talet på triplar.\n"
        "#+   en: The number of triples.\n"
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }\n")
    settings = make_settings(tmp_path / "var", content_dir=content, query_workers=1)
    with TestClient(create_app(settings)) as client:
        names = {q["name"] for q in client.get("/queries").json()["queries"]}
        operations = client.get("/openapi.json").json()["paths"]
        counted = client.get("/queries/count-everything", params={"format": "json"})
        missing = client.get("/queries/projects-by-principle")
    assert names == {"sessions-in-order", "count-everything"}
    assert "/queries/count-everything" in operations
    assert "/queries/projects-by-principle" not in operations
    assert counted.status_code == 200
    assert int(counted.json()["results"]["bindings"][0]["n"]["value"]) > 0
    assert missing.status_code == 404
