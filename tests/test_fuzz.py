"""Story: whatever a client sends, within or outside the published description, the service
answers as that description says: never a server error, only the statuses and media types
it lists (schemathesis against the app's own /openapi.json, over real HTTP).

Every operation runs twice, without a token and with a writer's token. The run is bounded
by examples per operation (no wall clock), derandomised so CI is repeatable, and prints
its figures (operations, requests, failures) for the CI log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import WRITER, LiveServer, make_settings
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

pytestmark = pytest.mark.fuzz
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
# RDF and SPARQL bodies are text; schemathesis sends text/* as it is, these too.
schemathesis.serializer.alias(
    ["application/sparql-query", "application/sparql-update", "application/trig",
     "application/n-triples", "application/n-quads", "application/rdf+xml",
     "application/ld+json"], "text/plain")
EXAMPLES = 20  # per operation, mode and token; SHACL-validating operations get fewer
SLOW = {"POST /validate": 4, "POST /submissions": 4, "PUT /store": 4, "POST /store": 4,
        "POST /update": 6, "GET /dataset": 4, "GET /dataset.{suffix}": 4}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings_ = make_settings(tmp_path_factory.mktemp("fuzz") / "var", query_timeout=20.0)
    with LiveServer(settings_) as live:
        yield live


def fuzz(operation: Any, mode: GenerationMode, url: str, headers: dict[str, str],
         figures: Counter[str], failures: list[str]) -> None:
    """One operation in one generation mode: every check on every generated request."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(max_examples=SLOW.get(label, EXAMPLES), deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        figures["requests"] += 1
        try:
            response = case.call_and_validate(base_url=url, headers=headers, checks=CHECKS,
                                              timeout=60)
        except (Failure, FailureGroup) as exc:
            failures.append(f"{label} [{mode}]: {exc}"[:600])
            return
        figures[f"status {response.status_code}"] += 1

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: no parameters and no body
        assert mode is GenerationMode.NEGATIVE, label


@pytest.mark.parametrize("token", ["none", "writer"])
def test_every_operation_answers_as_described(
    server: LiveServer, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    headers = WRITER if token == "writer" else {}
    figures: Counter[str] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        figures["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(result.ok(), mode, server.url, headers, figures, failures)
    statuses = ", ".join(f"{k.split()[1]}: {v}" for k, v in sorted(figures.items())
                         if k.startswith("status"))
    with capsys.disabled():  # the run's figures belong in the CI log
        print(f"\nschemathesis ({token} token): {figures['operations']} operations, "
              f"{figures['requests']} requests, {len(failures)} failures; statuses {statuses}")
    assert not failures, "\n".join(failures[:20])
