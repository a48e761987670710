"""Issue 11 (remote backend): the store's answer is judged by what it is, never relayed blindly.

Oxigraph server's `--timeout-s` cancels a query mid-result and still ends the 200 answer
with "The SPARQL operation has been cancelled": that is a store fault, never a result.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _oxigraph_server import OxigraphServer
from conftest import make_settings

from graph_service.core.errors import StoreFault
from graph_service.store import QueryRequest
from graph_service.store.remote import RemoteStore

pytestmark = pytest.mark.remote


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[RemoteStore]:
    """A store whose server gives up on a query after one second, filled with enough triples
    that a cartesian product streams for longer than that."""
    server = OxigraphServer(tmp_path / "oxigraph", timeout_s=1).start()
    store = RemoteStore.from_settings(make_settings(tmp_path / "var", store=server.url))
    triples = "".join(f"<http://example.org/s{i}> <http://example.org/p> {i} .\n"
                      for i in range(3000))
    store.add_to_graph("http://example.org/g", triples.encode())
    yield store
    store.close()
    server.stop()


def test_a_result_the_server_cut_short_is_a_fault_not_an_answer(
    impatient: RemoteStore,
) -> None:
    runaway = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"  # 9 million rows
    with pytest.raises(StoreFault):
        impatient.query(QueryRequest(runaway, timeout=60)).read()
