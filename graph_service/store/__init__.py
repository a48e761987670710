"""The store: the interface every backend implements (query, update, graph writes, counts,
state), the choice of backend from one setting, the embedded Oxigraph backend with its killable
query workers, the remote SPARQL backend, and loading the curated content.

It imports only core/ and settings: no HTTP framework, no wing, no web/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol

import pyoxigraph as ox

from graph_service.core.sparql_text import declares_dataset, without_literals

if TYPE_CHECKING:
    from graph_service.settings import Settings

QueryForm = Literal["solutions", "boolean", "graph"]
DEFAULT_GRAPH = "default"  # graph selector for the store's own default graph


@dataclass(frozen=True)
class QueryRequest:
    """One SPARQL query with its dataset and the result type chosen for each query form."""

    query: str
    results_type: str | None = "application/sparql-results+json"  # SELECT/ASK; None: 406
    graph_type: str | None = "text/turtle"  # CONSTRUCT/DESCRIBE; None: 406
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    timeout: float = 30.0
    row_limit: int = 0
    # What relative IRIs in the query resolve against: the endpoint's own IRI (the protocol
    # has no parameter for it; a remote store resolves against its own endpoint).
    base_iri: str | None = None
    # With no dataset named (protocol or FROM): the store's own default graph, as an update's
    # WHERE sees it, rather than the union of all graphs that queries get.
    own_default_graph: bool = False

    @property
    def union_default_graph(self) -> bool:
        """With no dataset named by FROM, the union of all graphs (unless the store's own
        default graph is asked for)."""
        return not self.own_default_graph and not declares_dataset(self.query)


@dataclass
class QueryResult:
    """A result already serialised by the store's engine, arriving as chunks."""

    form: QueryForm
    media_type: str
    chunks: Iterator[bytes] = field(repr=False)

    def read(self) -> bytes:
        return b"".join(self.chunks)


class Store(Protocol):
    """What the service needs from a quad store: query, update, graph writes, counts."""

    kind: str

    def query(self, request: QueryRequest) -> QueryResult:
        """Evaluate with the timeout; SyntaxError → InvalidSyntax, too slow → QueryTimeout."""
        ...

    def update(self, sparql: str) -> None:
        """Apply a SPARQL 1.1 Update atomically."""
        ...

    def replace_graphs(self, graphs: Mapping[str, bytes], also: str = "") -> None:
        """Atomically replace each named graph by the given N-Triples (empty bytes: drop it);
        `also`: more update operations (the change log) applied in the same transaction."""
        ...

    def add_to_graph(self, graph: str, ntriples: bytes, also: str = "") -> None:
        """Atomically add N-Triples to a graph (`DEFAULT_GRAPH` for the default graph)."""
        ...

    def drop_graph(self, graph: str, also: str = "") -> bool:
        """Remove a graph; False when it did not exist (and then `also` is not applied)."""
        ...

    def export(self, media_type: str, graph: str | None = None) -> bytes:
        """Serialise one graph (IRI or `DEFAULT_GRAPH`) or, with None, the whole dataset."""
        ...

    def named_graphs(self) -> list[str]: ...

    def has_graph(self, graph: str) -> bool: ...

    def quad_count(self) -> int: ...

    def state(self) -> str:
        """The version token the store holds, replaced by every write in the write's own
        transaction: the same on every replica (ETags, caches). May ask the store."""
        ...

    def refresh_state(self) -> str:
        """Ask the store for its version now, whatever the cache holds, and keep the answer
        as the cached version (the background check behind /health calls it)."""
        ...

    def forget_state(self) -> None:
        """Forget the cached version: a write made elsewhere on our behalf (forwarded to the
        writing replica) must show in this process's next ETag."""
        ...

    def cached_state(self, *, any_age: bool = False) -> str | None:
        """The version token if it is known without asking the store (fresh within
        Settings.state_ttl — or of any age with `any_age` — and no write through this process
        since); None otherwise. Never blocks: the event loop may call it."""
        ...

    def close(self) -> None: ...


def graph_iri_term(graph: str) -> str:
    """`<iri>` for a SPARQL text, after checking it is an IRI (nothing can break out)."""
    ox.NamedNode(graph)  # raises ValueError on anything that is not an IRI
    return f"<{graph}>"


def replace_graphs_update(graphs: Mapping[str, bytes]) -> str:
    """One SPARQL update that replaces each graph by its N-Triples (one transaction)."""
    parts = []
    for graph, ntriples in graphs.items():
        target = "DEFAULT" if graph == DEFAULT_GRAPH else f"GRAPH {graph_iri_term(graph)}"
        parts.append(f"DROP SILENT {target}")
        if ntriples.strip():
            parts.append(add_to_graph_update(graph, ntriples))
    return " ;\n".join(parts)


def add_to_graph_update(graph: str, ntriples: bytes) -> str:
    """One SPARQL update adding N-Triples to a graph. With blank nodes it is an INSERT
    template (fresh nodes, as INSERT DATA makes them), which every store takes; Virtuoso
    refuses blank nodes in INSERT DATA."""
    body = ntriples.decode("utf-8")
    inner = body if graph == DEFAULT_GRAPH else f"GRAPH {graph_iri_term(graph)} {{\n{body}\n}}"
    if "_:" in body:
        return f"INSERT {{\n{inner}\n}} WHERE {{}}"
    return f"INSERT DATA {{\n{inner}\n}}"


def joined(*operations: str) -> str:
    """SPARQL update operations as one request (one transaction); empty ones left out."""
    return " ;\n".join(op for op in operations if op.strip())


def then(update: str, operations: str) -> str:
    """A client's update followed by more operations, as one request. A trailing `;` is
    allowed by the grammar, a doubled one is not; a comment runs to the end of its line."""
    if not operations:
        return update
    if not update.strip():
        return operations
    separator = "\n" if without_literals(update).rstrip().endswith(";") else "\n;\n"
    return update + separator + operations


OWL_VERSION_INFO = "http://www.w3.org/2002/07/owl#versionInfo"
TOKEN_TIME = "%Y%m%dT%H%M%S.%fZ"


def version_time(token: str) -> float | None:
    """When the write that made this version happened (seconds since the epoch), if told."""
    try:
        return datetime.strptime(token.partition("-")[0], TOKEN_TIME).replace(
            tzinfo=UTC).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class VersionKey:
    """Where the store holds its version: one triple (the dataset's owl:versionInfo in the
    change log's graph) that every write replaces in its own update, so replicas agree."""

    subject: str = "https://w3id.org/smartby/dataset"
    graph: str = "https://w3id.org/smartby/graph/changes"

    @classmethod
    def for_base(cls, base_iri: str) -> VersionKey:
        return cls(base_iri + "dataset", base_iri + "graph/changes")

    def bump(self) -> str:
        """The update operations that replace the token by a new one: the write's time (UTC,
        for Last-Modified on every replica) and a random part."""
        now = datetime.now(UTC).strftime(TOKEN_TIME)
        token = ox.Literal(f"{now}-{uuid.uuid4().hex}")
        pattern = f"<{self.subject}> <{OWL_VERSION_INFO}>"
        return (f"DELETE WHERE {{ GRAPH <{self.graph}> {{ {pattern} ?version }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{self.graph}> {{ {pattern} {token} }} }}")

    def query(self) -> str:
        return (f"SELECT ?version WHERE {{ GRAPH <{self.graph}> {{ <{self.subject}> "
                f"<{OWL_VERSION_INFO}> ?version }} }} LIMIT 1")


def open_store(settings: Settings) -> Store:
    """The backend named by the settings: remote when SMARTBY_STORE is set, else embedded."""
    # Imported here, not at the top: each backend imports this module (a cycle otherwise), and
    # a query worker process, which imports this package, then loads neither backend.
    if settings.store:
        from graph_service.store.remote import RemoteStore

        return RemoteStore.from_settings(settings)
    from graph_service.store.embedded import EmbeddedStore

    threads = settings.query_engine == "threads"
    return EmbeddedStore(settings.data_dir,
                         workers=settings.query_threads if threads else settings.query_workers,
                         max_waiting=settings.max_waiting_queries,
                         reap_grace=settings.reap_grace,
                         engine="threads" if threads else "workers",
                         write_timeout=settings.query_timeout,
                         open_wait=settings.query_timeout if threads else 0.0,
                         version=VersionKey.for_base(settings.base_iri),
                         compact_after=settings.compact_after)


