"""Story: `smartby validate` checks files with the same code path as `/validate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from fastapi.testclient import TestClient
from rdflib.namespace import RDF, SH

from graph_service.cli import main

INPUTS = Path(__file__).parent / "inputs"
BAD = INPUTS / "bad" / "person-without-name.ttl"
GOOD = INPUTS / "good" / "project-in-session.ttl"
ALONE = INPUTS / "submissions" / "person-alone.ttl"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(("args", "code"), [
    ([str(GOOD)], 0),
    ([str(ALONE), "--alone"], 0),
    ([str(INPUTS / "submissions" / "person-alone.jsonld")], 0),
    ([str(BAD)], 1),
    ([str(INPUTS / "submissions" / "person-without-name.rdf")], 1),
    ([str(INPUTS / "missing.ttl")], 2),
    (["--format", "yaml", str(GOOD)], 2),
])
def test_exit_codes(args: list[str], code: int) -> None:
    assert run(*args)[0] == code


def test_unreadable_input_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ttl"
    broken.write_text('@prefix s: <https://schema.org/> .\n<https://x.org/a> s:name "x" "y" .\n')
    code, output = run(str(broken))
    assert code == 2
    assert "line 2" in output and "column" in output


def test_json_report_equals_the_route_report(reader: TestClient) -> None:
    code, output = run("--format", "json", "--lang", "nb", str(BAD))
    assert code == 1
    cli = json.loads(output)
    route = reader.post("/validate", content=BAD.read_bytes(), headers={
        "content-type": "text/turtle", "accept-language": "nb"}).json()
    assert cli["conforms"] is route["conforms"] is False
    assert [(r["focus_node"], r["source_shape"], r["constraint"], r["message"])
            for r in cli["results"]] == [
        (r["focus_node"], r["source_shape"], r["constraint"], r["message"])
        for r in route["results"]]


def test_turtle_report_is_a_shacl_report() -> None:
    code, output = run("--format", "turtle", str(BAD))
    assert code == 1
    graph = rdflib.Graph().parse(data=output, format="turtle")
    report = graph.value(predicate=RDF.type, object=SH.ValidationReport)
    assert graph.value(report, SH.conforms).toPython() is False
    focus = rdflib.URIRef("https://w3id.org/smartby/id/person/ola-nordmann")
    assert (None, SH.focusNode, focus) in graph
