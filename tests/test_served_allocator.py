"""`smartby serve` runs its server processes on the allocator asked for (core/allocator.py):
jemalloc by default, preloaded by the supervisor, or the C library's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _processes import free_port
from _supervised import SupervisedServer

from graph_service.core.allocator import server_environment

LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/smartby/id/principle/tenk-helhetlig> ?p ?o }"


@pytest.mark.parametrize(("allocator", "preloaded"), [("jemalloc", True), ("glibc", False)])
def test_the_server_process_runs_on_the_allocator_asked_for(
        tmp_path: Path, allocator: str, preloaded: bool) -> None:
    with SupervisedServer(tmp_path / "var", free_port(), SMARTBY_ALLOCATOR=allocator) as server:
        (child,) = server.server_pids()
        maps = Path(f"/proc/{child}/maps").read_text()
        assert ("libjemalloc" in maps) is preloaded
        supervisor = Path(f"/proc/{server.process.pid}/maps").read_text()
        assert "libjemalloc" not in supervisor  # only what serves is preloaded
        answer = httpx.get(f"{server.url}/sparql", params={"query": LOOKUP}, timeout=30)
        assert answer.status_code == 200 and answer.json()["results"]["bindings"]


def test_a_preload_already_there_is_kept() -> None:
    environment = server_environment("jemalloc", {"LD_PRELOAD": "libother.so", "A": "b"})
    assert environment["LD_PRELOAD"].split() == ["libjemalloc.so.2", "libother.so"]
    assert environment["A"] == "b"
    assert server_environment("glibc", {"A": "b"}) == {"A": "b"}
