"""Story: a researcher or operator drives smartby from the shell (load, query, export, serve)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import rdflib
from conftest import ROOT, free_port

SMARTBY = [sys.executable, "-m", "graph_service"]


def run(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SMARTBY, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTBY_")}
    env.update({"SMARTBY_DATA_DIR": str(data_dir), "SMARTBY_CONTENT_DIR": str(ROOT)})
    env.update(extra)
    return env


def count_quads(env: dict[str, str], *, data_only: bool = False) -> int:
    """Quads in the named graphs; `data_only`: without the change log, which grows with
    every load that changes a graph."""
    skip = "FILTER(?g != <https://w3id.org/smartby/graph/changes>)" if data_only else ""
    result = run(["query", f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {skip} }}",
                  "--format", "json"], env)
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["results"]["bindings"][0]["n"]["value"])


def test_loading_twice_leaves_the_same_number_of_quads(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "var")
    first = run(["load"], env)
    assert first.returncode == 0, first.stderr
    assert "quads in the store" in first.stderr
    once = count_quads(env)
    second = run(["load"], env)
    assert second.returncode == 0, second.stderr
    assert count_quads(env) == once
    # Every content file was loaded into a graph of its own, and the progress said so.
    files = sorted((ROOT / "data").glob("*.ttl")) + sorted((ROOT / "ontology").glob("*.ttl"))
    for path in files:
        assert f"{path.name}:" in second.stderr


def test_editing_a_file_and_loading_again_replaces_its_graph(tmp_path: Path) -> None:
    content = tmp_path / "content"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, content / folder)
    env = cli_env(tmp_path / "var", SMARTBY_CONTENT_DIR=str(content))
    assert run(["load"], env).returncode == 0
    before = count_quads(env, data_only=True)
    extra = content / "data" / "zz-extra.ttl"
    extra.write_text('<https://w3id.org/smartby/id/x/a> <https://schema.org/name> "a", "b" .\n')
    assert run(["load"], env).returncode == 0
    assert count_quads(env, data_only=True) == before + 2
    extra.write_text('<https://w3id.org/smartby/id/x/a> <https://schema.org/name> "a" .\n')
    assert run(["load"], env).returncode == 0
    assert count_quads(env, data_only=True) == before + 1


def test_a_broken_content_file_names_its_line_and_exits_2(tmp_path: Path) -> None:
    content = tmp_path / "content"
    for folder in ("ontology", "data"):
        shutil.copytree(ROOT / folder, content / folder)
    broken = "@prefix s: <https://schema.org/> .\n\ns:a s:b .\n"  # no object on line 3
    (content / "data" / "broken.ttl").write_text(broken)
    result = run(["load"], cli_env(tmp_path / "var", SMARTBY_CONTENT_DIR=str(content)))
    assert result.returncode == 2
    assert "broken.ttl" in result.stderr
    assert "line 3" in result.stderr


@pytest.mark.parametrize(
    ("fmt", "rdflib_format", "has_graphs"),
    [("trig", "trig", True), ("nquads", "nquads", True), ("turtle", "turtle", False),
     ("jsonld", "json-ld", True)],
)
def test_export_writes_the_whole_dataset(
    tmp_path: Path, fmt: str, rdflib_format: str, has_graphs: bool
) -> None:
    env = cli_env(tmp_path / "var")
    out = tmp_path / f"dump.{fmt}"
    result = run(["export", "--format", fmt, "-o", str(out)], env)
    assert result.returncode == 0, result.stderr
    dataset = rdflib.Dataset()
    dataset.parse(out, format=rdflib_format)
    total = count_quads(env)
    if has_graphs:
        graphs = {str(g.identifier) for g in dataset.graphs() if len(g)}
        assert "https://w3id.org/smartby/graph/projects" in graphs
        assert sum(len(g) for g in dataset.graphs()) == total
    else:
        assert 0 < len(dataset) <= total


def test_query_prints_csv_and_rejects_a_bad_query_with_exit_2(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "var")
    result = run(
        ["query", "PREFIX schema: <https://schema.org/> SELECT ?name WHERE "
         "{ ?p a schema:Project ; schema:name ?name } ORDER BY ?name", "--format", "csv"], env
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "name"
    assert "Orklandbadet" in lines
    broken = run(["query", "SELECT * WHERE {\n ?s ?p }"], env)
    assert broken.returncode == 2
    assert "line 2" in broken.stderr
    unknown = run(["query", "ASK {}", "--format", "yaml"], env)
    assert unknown.returncode == 2


def test_every_command_has_help() -> None:
    env = dict(os.environ)
    for command in ("serve", "load", "validate", "query", "export"):
        result = run([command, "--help"], env)
        assert result.returncode == 0
        assert "Usage:" in result.stdout
    assert run(["no-such-command"], env).returncode == 2


def test_validate_accepts_the_curated_data() -> None:
    files = [str(p) for p in sorted((ROOT / "data").glob("*.ttl"))]
    result = run(["validate", *files], dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Conforms")


def test_serve_on_a_fresh_data_dir_answers_sparql_json(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path / "fresh", SMARTBY_PORT=str(port))
    process = subprocess.Popen(
        [*SMARTBY, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "smartby serve did not come up within 60 s"
            time.sleep(0.2)
        response = httpx.get(
            f"{base}/sparql",
            params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://schema.org/Project> }"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/sparql-results+json")
        assert response.json()["results"]["bindings"][0]["n"]["value"] == "8"
        assert httpx.get(f"{base}/health", timeout=5).json()["quads"] > 0
    finally:
        process.terminate()
        process.communicate(timeout=20)  # also closes the output pipe
