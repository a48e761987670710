"""What Virtuoso 7.2 (Debian's virtuoso-opensource) does differently: each README item, shown.

The store contract suite and the integration tests run on Virtuoso as the `virtuoso` backend;
these tests pin down the engine's own behaviour that the README's Virtuoso recipe describes,
so that a newer Virtuoso that fixes one of them makes its test fail and the README is updated.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from _virtuoso_server import SYSTEM_GRAPHS, VirtuosoServer
from conftest import ROOT, VirtuosoServers, make_settings
from rdflib.namespace import XSD
from rdflib.query import Result

from graph_service.core.content import content_files
from graph_service.core.errors import InvalidRequest, QueryTimeout, StoreUnavailable
from graph_service.settings import Settings
from graph_service.store import DEFAULT_GRAPH, QueryRequest, VersionKey
from graph_service.store.loading import load_content
from graph_service.store.remote import RemoteStore

EX = "http://example.org/"
G1, G2 = f"{EX}graph/one", f"{EX}graph/two"


@pytest.fixture
def server(virtuoso_servers: VirtuosoServers) -> VirtuosoServer:
    """The contract suite's Virtuoso, emptied."""
    virtuoso = virtuoso_servers.get("contract")
    virtuoso.clear()
    return virtuoso


@pytest.fixture
def store(server: VirtuosoServer, tmp_path: Path) -> Iterator[RemoteStore]:
    """The remote backend configured by the README's Virtuoso recipe."""
    opened = RemoteStore.from_settings(make_settings(tmp_path / "var", **server.settings()))
    yield opened
    opened.close()


VERSION = VersionKey()
CHANGES = VERSION.graph  # the version token's graph, written with every update


def count(store: RemoteStore, graph: str) -> int:
    result = store.query(QueryRequest(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
        results_type="text/csv",
    ))
    return int(result.read().decode().split()[-1])


def test_smartby_load_fills_virtuoso_and_counts_it(server: VirtuosoServer, tmp_path: Path) -> None:
    """The issue's symptom: `smartby load` wrote every file, then its count timed out."""
    from test_cli import cli_env, run

    env = cli_env(tmp_path / "var", **{
        f"SMARTBY_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in server.settings().items()
    })
    loaded = run(["load"], env)
    assert loaded.returncode == 0, loaded.stderr
    expected = sum(len(rdflib.Graph().parse(p, format="turtle")) for p in content_files(ROOT))
    store = RemoteStore.from_settings(make_settings(tmp_path / "x", **server.settings()))
    try:  # one event per file and the version token, written with the files
        log = count(store, CHANGES)
    finally:
        store.close()
    assert log > len(content_files(ROOT))
    assert f"{expected + log} quads in the store" in loaded.stderr


def test_a_query_sent_as_a_direct_post_body_is_never_answered(server: VirtuosoServer) -> None:
    """Virtuoso's issue #842: POST with `application/sparql-query` hangs. This was why
    `smartby load` and the start-up count timed out; smartby sends the URL-encoded form."""
    query = "ASK { ?s ?p ?o }"
    accept = {"Accept": "application/sparql-results+json"}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}/sparql", content=query,
                   headers={**accept, "Content-Type": "application/sparql-query"}, timeout=2.0)
    answer = httpx.post(f"{server.url}/sparql", data={"query": query}, headers=accept)
    assert answer.status_code == 200
    assert answer.json()["boolean"] is False


def test_one_update_request_is_not_one_transaction(store: RemoteStore) -> None:
    """Why the recipe sets SMARTBY_STORE_ATOMIC_UPDATES=false: an operation that fails keeps
    the ones before it in the same request."""
    store.update(f"CREATE SILENT GRAPH <{G2}>")
    with pytest.raises(StoreUnavailable):
        store.update(f'INSERT DATA {{ GRAPH <{G1}> {{ <{EX}a> <{EX}p> "kept" }} }} ;'
                     f" CREATE GRAPH <{G2}>")  # G2 exists: this operation fails
    assert count(store, G1) == 1


def test_the_default_graph_is_the_union_and_no_graph_of_its_own(store: RemoteStore) -> None:
    store.replace_graphs({G1: f'<{EX}a> <{EX}p> "1" .\n'.encode(),
                          G2: f'<{EX}b> <{EX}p> "2" .\n'.encode()})
    union = store.query(QueryRequest("SELECT ?s WHERE { ?s ?p ?o }"))  # no parameter sent
    rows = Result.parse(io.BytesIO(union.read()), format="json")
    subjects = {str(row[0]) for row in rows} - {VERSION.subject}  # type: ignore[index]
    assert subjects == {f"{EX}a", f"{EX}b"}
    with pytest.raises(InvalidRequest, match="No plain default graph"):
        store.update(f'INSERT DATA {{ <{EX}d> <{EX}p> "4" }}')
    with pytest.raises(InvalidRequest, match="No plain default graph"):  # /store?default too
        store.add_to_graph(DEFAULT_GRAPH, f'<{EX}d> <{EX}p> "4" .\n'.encode())
    # each quad once, though the union sees them too (and the version token in its graph)
    assert store.quad_count() == 2 + count(store, CHANGES)
    default = rdflib.Graph().parse(
        data=store.export("application/n-triples", DEFAULT_GRAPH), format="nt"
    )
    assert {str(s) for s in default.subjects()} - {VERSION.subject} == {f"{EX}a", f"{EX}b"}


def test_a_boolean_expression_is_answered_as_1_or_0(store: RemoteStore) -> None:
    result = store.query(QueryRequest(
        'SELECT ?b ?exists WHERE { BIND("a" != "b" AS ?b) '
        "BIND(EXISTS { ?s ?p ?o } AS ?exists) }"
    ))
    [row] = Result.parse(io.BytesIO(result.read()), format="json")
    assert [(str(v), v.datatype) for v in row] == [  # type: ignore[union-attr]
        ("1", XSD.integer), ("0", XSD.integer)  # SPARQL: "true"/"false"^^xsd:boolean
    ]


def test_str_of_a_non_ascii_literal_from_values_matches_no_text(store: RemoteStore) -> None:
    store.replace_graphs({G1: f'<{EX}a> <{EX}p> "om «Drammensmodellen»" .\n'.encode()})

    def found(needle: str) -> int:
        return len(list(Result.parse(io.BytesIO(store.query(QueryRequest(
            f"SELECT ?s WHERE {{ VALUES ?t {{ {needle} }} ?s ?p ?v "
            "FILTER(CONTAINS(STR(?v), STR(?t))) }"
        )).read()), format="json")))

    assert found('"Drammensmodellen"') == 1
    assert found('"«Drammensmodellen»"') == 0  # SPARQL: 1; without STR(?t) Virtuoso finds it


def test_blank_nodes_are_refused_in_insert_data_but_kept_by_graph_writes(
    store: RemoteStore,
) -> None:
    with pytest.raises(InvalidRequest, match="Blank node"):
        store.update(f'INSERT DATA {{ GRAPH <{G1}> {{ _:x <{EX}p> "1" }} }}')
    store.replace_graphs({G1: f'_:x <{EX}p> "1" .\n_:x <{EX}q> _:y .\n'.encode()})
    graph = rdflib.Graph().parse(data=store.export("application/n-triples", G1), format="nt")
    assert len(graph) == 2
    assert all(isinstance(s, rdflib.BNode) for s in graph.subjects())


def test_an_empty_graph_does_not_exist_and_drop_wants_created_graphs(
    store: RemoteStore,
) -> None:
    store.update(f"CREATE SILENT GRAPH <{G1}>")
    assert not store.has_graph(G1)  # SPARQL: an empty graph that exists
    store.replace_graphs({G2: f'<{EX}a> <{EX}p> "1" .\n'.encode()})
    assert store.has_graph(G2)
    with pytest.raises(StoreUnavailable, match="not been explicitly created"):
        store.update(f"DROP GRAPH <{G2}>")  # SPARQL: G2 exists, so DROP succeeds
    store.update(f"DROP SILENT GRAPH <{G2}>")
    assert not store.has_graph(G2)


def test_a_duration_is_kept_as_a_number_of_seconds(store: RemoteStore) -> None:
    duration = rdflib.Literal("PT45M", datatype=XSD.duration)
    store.replace_graphs({G1: f"<{EX}s> <{EX}p> {duration.n3()} .\n".encode()})
    graph = rdflib.Graph().parse(data=store.export("application/n-triples", G1), format="nt")
    [kept] = list(graph.objects())
    assert (str(kept), kept.datatype) == ("2700.0", XSD.duration)  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable, match="xsd:duration"):
        store.update(f"INSERT DATA {{ GRAPH <{G2}> {{ <{EX}s> <{EX}p> {duration.n3()} }} }}")


def test_tsv_results_write_iris_as_quoted_strings(store: RemoteStore) -> None:
    store.replace_graphs({G1: f'<{EX}a> <{EX}p> "1" .\n'.encode()})
    result = store.query(QueryRequest(f"SELECT ?s WHERE {{ GRAPH <{G1}> {{ ?s ?p ?o }} }}",
                                      results_type="text/tab-separated-values"))
    assert result.read().decode().splitlines() == ['"s"', f'"{EX}a"']  # SPARQL: ?s, <iri>


def test_its_system_graphs_stay_out_of_sight_once_private(
    server: VirtuosoServer, store: RemoteStore
) -> None:
    """The recipe's graph group makes Virtuoso's own graphs private; only DISTINCT over
    GRAPH ?g without a FILTER still names them (smartby always filters with isIRI)."""
    assert store.named_graphs() == []
    assert store.quad_count() == 0
    listed = httpx.post(
        f"{server.url}/sparql", data={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"},
        headers={"Accept": "application/sparql-results+json"},
    ).json()["results"]["bindings"]
    assert {row["g"]["value"] for row in listed} == set(SYSTEM_GRAPHS)
    held = server.isql(f"SPARQL SELECT COUNT(*) FROM <{SYSTEM_GRAPHS[0]}> WHERE {{ ?s ?p ?o }};")
    assert any(word.isdigit() and int(word) > 0 for word in held.split())


def test_a_query_stopped_at_its_time_limit_is_a_timeout_not_a_partial_result(
    server: VirtuosoServer, tmp_path: Path
) -> None:
    """With Virtuoso's `timeout` parameter (milliseconds; an operator may put it in
    SMARTBY_STORE_QUERY_URL so that Virtuoso stops a query itself), a query past it is
    answered 200 with the rows found so far and `X-SQL-State: S1TAT` ("anytime query");
    smartby answers that with 503 query_timeout, never with the partial rows."""
    settings: Settings = make_settings(tmp_path / "var", **server.settings())
    load_content(loader := RemoteStore.from_settings(settings), settings)
    loader.close()
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < STR(?f)) }"
    raw = httpx.post(f"{server.url}/sparql", data={"query": slow, "timeout": "300"},
                     headers={"Accept": "application/sparql-results+json"}, timeout=60.0)
    assert (raw.status_code, raw.headers["x-sql-state"]) == (200, "S1TAT")
    assert raw.json()["results"]["bindings"] == []  # not even the count, yet 200
    limited = {**server.settings(), "store_query_url": f"{server.url}/sparql?timeout=300"}
    store = RemoteStore.from_settings(make_settings(tmp_path / "var", **limited))
    try:
        with pytest.raises(QueryTimeout):
            store.query(QueryRequest(slow, timeout=60.0)).read()
    finally:
        store.close()


def test_writes_go_through_the_digest_endpoints(server: VirtuosoServer, tmp_path: Path) -> None:
    """`/sparql-auth` and `/sparql-graph-crud-auth` challenge for HTTP digest; a Virtuoso user
    with SPARQL_UPDATE writes through them (the anonymous endpoint stays read-only)."""
    user = f"writer{uuid.uuid4().hex[:8]}"
    server.isql(f"DB.DBA.USER_CREATE ('{user}', 'secret'); GRANT SPARQL_UPDATE TO \"{user}\";")
    challenge = httpx.post(f"{server.url}/sparql-auth", data={"query": "ASK {}"})
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith("Digest")
    settings = make_settings(tmp_path / "var", **{
        **server.settings(), "store_username": user, "store_password": "secret",
        "store_query_url": f"{server.url}/sparql-auth",
        "store_update_url": f"{server.url}/sparql-auth",
        "store_graph_url": f"{server.url}/sparql-graph-crud-auth",
    })
    store = RemoteStore.from_settings(settings)
    try:
        store.replace_graphs({G1: f'_:x <{EX}p> "1" .\n'.encode(),
                              G2: f'<{EX}b> <{EX}p> "2" .\n'.encode()})
        store.update(f'INSERT DATA {{ GRAPH <{G2}> {{ <{EX}b> <{EX}p> "3" }} }}')
        assert [g for g in store.named_graphs() if g != CHANGES] == [G1, G2]
        assert store.quad_count() == 3 + count(store, CHANGES)  # and the version token
        store.drop_graph(G1)
        assert [g for g in store.named_graphs() if g != CHANGES] == [G2]
    finally:
        store.close()
    wrong = RemoteStore.from_settings(make_settings(tmp_path / "var", **{
        **settings.model_dump(include={"store", "store_query_url", "store_update_url",
                                       "store_graph_url", "store_union_default_graph"}),
        "store_username": user, "store_password": "wrong",
    }))
    try:
        with pytest.raises(StoreUnavailable, match="refused our credentials"):
            wrong.quad_count()
    finally:
        wrong.close()
