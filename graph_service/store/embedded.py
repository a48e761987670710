"""The embedded backend: Oxigraph (`pyoxigraph`) on disk.

Two engines, chosen by SMARTBY_QUERY_ENGINE: `workers` evaluates queries in killable worker
processes over checkpoints (safe in any process: tests, the CLI, an embedding app);
`threads` evaluates them in threads of this process on the live store, with the deadline
watched and a runaway handed to `smartby serve`, which replaces the process. Writes run on a
thread of their own with the query timeout either way (store/engine.py)."""

from __future__ import annotations

import concurrent.futures
import io
import shutil
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pyoxigraph as ox

from graph_service.core.errors import StoreFault, say
from graph_service.core.media import DATASET_TYPES, GRAPH_TYPES
from graph_service.core.single_pattern import Pattern, single_pattern
from graph_service.core.sparql_text import syntax_error_from, update_refused
from graph_service.store import (
    DEFAULT_GRAPH,
    OWL_VERSION_INFO,
    QueryForm,
    QueryRequest,
    QueryResult,
    VersionKey,
    add_to_graph_update,
    graph_iri_term,
    joined,
    replace_graphs_update,
    then,
)
from graph_service.store._worker_process import dataset_options, prepare, serialize
from graph_service.store._workers import WorkerPool, error_for
from graph_service.store.compaction import Compactor
from graph_service.store.engine import (
    IN_MEMORY,
    EngineThreads,
    Spooled,
    new_spool,
    run_bounded,
    spool,
    wait,
)

LOCK_RETRY = 0.02  # seconds between tries to open a store another process still holds
# A query of one triple pattern matching at most this many stored quads is answered on the
# caller's thread (`answer_bounded`). Measured: 0.9 ms for 256 quads with literal objects
# (3.4 ms for 1,000), where a lookup of one of the curated graph's projects takes 66 µs.
BOUNDED_QUADS = 256
PATTERNS_KEPT = 4096  # patterns whose match count is remembered (until the store changes)
_UNION: dict[str, Any] = {"use_default_graph_as_union": True}  # read only


@dataclass
class _Checkpoint:
    path: Path
    generation: int
    users: int = 0
    retired: bool = False


class EmbeddedStore:
    """pyoxigraph on disk. Every write is one transaction, so a 201 survives `kill -9`."""

    kind = "embedded"

    def __init__(
        self, data_dir: Path, *, workers: int = 2, max_waiting: int = 256, reap_grace: float = 1.0,
        engine: str = "workers", write_timeout: float = 30.0, open_wait: float = 0.0,
        version: VersionKey | None = None, compact_after: float = 0.0,
    ) -> None:
        """`open_wait`: seconds to keep trying while another process (the one being replaced)
        still holds the store's lock; `compact_after`: seconds without a write after which
        the store is compacted (store/compaction.py; 0: never)."""
        self._version = version or VersionKey()
        self._state: tuple[int, str] | None = None  # (generation, version token) last read
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "oxigraph"
        self._store = _open(self.path, open_wait)
        self.engine = engine
        self._write_timeout = write_timeout
        self._checkpoints = data_dir / "checkpoints"
        self._lock = threading.Lock()
        self._generation = 0
        self._instance = uuid.uuid4().hex[:12]
        self._checkpoint: _Checkpoint | None = None
        self._count: tuple[int, int] | None = None
        self._few: dict[Pattern, tuple[int, bool]] = {}  # pattern: (generation, few match)
        self.compactor = Compactor(self._store.optimize, quiet=compact_after) if compact_after \
            else None
        self._pool: WorkerPool | None = None
        if engine == "threads":
            self._threads = EngineThreads(workers, max_waiting=max_waiting)
            return
        shutil.rmtree(self._checkpoints, ignore_errors=True)  # leftovers of an earlier run
        self._checkpoints.mkdir()
        self._pool = WorkerPool(workers, max_waiting=max_waiting, reap_grace=reap_grace)
        self._pool.warm()
        # Spooling jobs wait on the pool's own slots; the pool refuses beyond max_waiting.
        self._threads = EngineThreads(workers + max_waiting, max_waiting=0, watched=False)

    # -- reads ------------------------------------------------------------------------

    def submit(self, request: QueryRequest) -> concurrent.futures.Future[Spooled]:
        """Evaluate on an engine thread into a spool: the web's one thread hop. Nothing the
        client does afterwards can hold the engine, a worker or a checkpoint."""
        deadline = time.monotonic() + request.timeout
        if self._pool is None:
            return self._threads.submit(lambda: self._evaluate(request), deadline, request.query)

        def through_worker() -> Spooled:
            result = self._query_worker(request, deadline)
            return spool(result.form, result.media_type, result.chunks)

        return self._threads.submit(through_worker, deadline, request.query)

    def answer_bounded(self, request: QueryRequest) -> Spooled | None:
        """The answer, evaluated here and now, to a query whose cost is bounded by a handful
        of stored quads; None for any other query (it goes to an engine thread).

        The hop to an engine thread and back costs a point lookup more than the engine does
        (measured: 120 of 370-440 µs of CPU, and a third of its latency), and it is there so that
        a query that runs away can be left behind. A query of one triple pattern
        (core/single_pattern.py) on the union of all graphs cannot run away: it touches the
        quads that match the pattern's constant terms, at most BOUNDED_QUADS of them, as
        the engine counts first (`_few_match`)."""
        if (self._pool is not None or self._threads.closed or request.default_graph_uris
                or request.named_graph_uris or request.own_default_graph):
            return None
        pattern = single_pattern(request.query)
        if pattern is None or pattern == (None, None, None) or not self._few_match(pattern):
            return None
        return self._evaluate(request, _UNION)  # one pattern: no FROM, the union of all graphs

    def _few_match(self, pattern: Pattern) -> bool:
        """At most BOUNDED_QUADS stored quads, in any graph, match the pattern: one ASK that
        skips as many, remembered until the store changes (it costs as much as the lookup)."""
        generation = self._generation  # read first: a write meanwhile makes the entry stale
        known = self._few.get(pattern)
        if known is not None and known[0] == generation:
            return known[1]
        terms = " ".join(f"?v{i}" if term is None else f"<{term}>"
                         for i, term in enumerate(pattern))
        try:
            more = self._store.query(
                f"ASK {{ {{ SELECT * WHERE {{ {terms} }} OFFSET {BOUNDED_QUADS} LIMIT 1 }} }}",
                use_default_graph_as_union=True)
        except SyntaxError:  # an IRI the engine refuses: the query's own error, its own way
            return False
        if len(self._few) >= PATTERNS_KEPT:
            self._few.clear()
        self._few[pattern] = (generation, not more)
        return not more

    def query(self, request: QueryRequest) -> QueryResult:
        deadline = time.monotonic() + request.timeout
        if self._pool is None:
            done: Spooled = wait(self.submit(request), deadline)
            return QueryResult(form=cast(QueryForm, done.form), media_type=done.media_type,
                               chunks=done.chunks())
        return self._query_worker(request, deadline)

    def _evaluate(self, request: QueryRequest, options: dict[str, Any] | None = None
                  ) -> Spooled:
        """The engine in this thread, on the live store (a consistent snapshot per query);
        `options`: the dataset's, when the caller knows them already."""
        if options is None:
            options = dataset_options(request.default_graph_uris, request.named_graph_uris,
                                      request.union_default_graph)
        prepared = prepare(self._store, request.query, options,
                           results_type=request.results_type, graph_type=request.graph_type,
                           row_limit=request.row_limit, base_iri=request.base_iri)
        if prepared[0] != "ok":
            raise error_for(prepared)
        _, form, media_type, result = prepared
        failure: Exception | None = None
        try:
            # Into bytes, not a Python file object: measured 3x faster (no call into Python
            # per write), and the GIL stays free for the event loop meanwhile.
            data: bytes = serialize(result, form, media_type, None)
        except (ValueError, RuntimeError) as exc:  # the query's own fault (400)
            failure = error_for(("error", f"{type(exc).__name__}: {exc}"))
        except OSError as exc:  # e.g. a SERVICE call that failed
            failure = error_for(("fault", f"{type(exc).__name__}: {exc}"))
        if failure is not None:
            # Raised with nothing that holds the result (no chained exception, no local):
            # pyoxigraph's results may only be dropped on the thread that made them, and the
            # error travels to the event loop's thread.
            del prepared, result
            raise failure
        file = io.BytesIO(data) if len(data) <= IN_MEMORY else new_spool()
        if len(data) > IN_MEMORY:  # large: to the spool's disk file, not held in memory
            file.write(data)
        return Spooled(form, media_type, file, len(data))

    def _query_worker(self, request: QueryRequest, deadline: float) -> QueryResult:
        assert self._pool is not None
        try:
            checkpoint = self._acquire_checkpoint()
        except OSError as exc:  # the disk's fault, never the query's
            raise StoreFault(say(f"The store could not prepare a consistent view: {exc}.",
                                 "Lageret kunne ikke lage en konsistent visning.",
                                 "Lageret kunne ikkje lage ei konsistent vising.")) from exc
        form, media_type, chunks = self._pool.run(
            _job(request, str(checkpoint.path)), deadline,
            lambda: self._release_checkpoint(checkpoint)
        )
        return QueryResult(form=cast(QueryForm, form), media_type=media_type, chunks=chunks)

    def export(self, media_type: str, graph: str | None = None) -> bytes:
        out = io.BytesIO()
        dataset_format = DATASET_TYPES.get(media_type)
        if graph is None and dataset_format is not None and dataset_format.supports_datasets:
            self._store.dump(out, dataset_format)  # TriG, N-Quads, JSON-LD keep the graphs
        elif graph is None:
            # Formats without named graphs get the union of all graphs (like the SPARQL default).
            triples = self._store.query(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", use_default_graph_as_union=True
            )
            assert isinstance(triples, ox.QueryTriples)
            triples.serialize(out, GRAPH_TYPES[media_type])
        else:
            self._store.dump(out, GRAPH_TYPES[media_type], from_graph=_graph_name(graph))
        return out.getvalue()

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def has_graph(self, graph: str) -> bool:
        if graph == DEFAULT_GRAPH:
            return True
        return self._store.contains_named_graph(ox.NamedNode(graph))

    def quad_count(self) -> int:
        generation = self._generation
        if self._count is None or self._count[0] != generation:
            self._count = (generation, len(self._store))
        return self._count[1]

    def worker_occupancy(self) -> dict[str, int]:
        """The query workers in use, their number and the queries waiting (for /metrics)."""
        return self._pool.occupancy() if self._pool is not None else self._threads.occupancy()

    def state(self) -> str:
        generation = self._generation  # read first: a write meanwhile makes this entry stale
        cached = self._state
        if cached is not None and cached[0] == generation:
            return cached[1]
        version = ox.NamedNode(self._version.subject), ox.NamedNode(OWL_VERSION_INFO)
        found = next(self._store.quads_for_pattern(
            *version, None, ox.NamedNode(self._version.graph)), None)
        token = found.object.value if isinstance(found, ox.Quad) and isinstance(
            found.object, ox.Literal) else ""
        self._state = (generation, token)
        return token

    def refresh_state(self) -> str:
        return self.state()  # one process owns the store: its cache is never out of date

    def forget_state(self) -> None:
        self._state = None

    def cached_state(self, *, any_age: bool = False) -> str | None:
        # One process owns the embedded store: nothing changes it but our own writes.
        cached = self._state
        return cached[1] if cached is not None and cached[0] == self._generation else None

    # -- writes (each is one Oxigraph transaction) -------------------------------------

    def _bounded(self, work: Any, what: str) -> None:
        """A write on a thread of its own with the query timeout: 503 past it, reported as a
        runaway (under `smartby serve` the process is replaced and the transaction lost)."""
        run_bounded(work, self._write_timeout, what)

    def update(self, sparql: str) -> None:
        try:
            self._bounded(lambda: self._store.update(then(sparql, self._version.bump())), sparql)
        except SyntaxError as exc:
            raise syntax_error_from(str(exc)) from exc
        except (ValueError, RuntimeError) as exc:  # the update's own fault: DROP of a missing graph
            raise update_refused(exc) from exc
        except OSError as exc:  # the disk's, not the client's
            raise StoreFault(say(f"The store could not write: {exc}.", "Lageret kunne ikke skrive.",
                                 "Lageret kunne ikkje skrive.")) from exc
        finally:
            self._changed()

    def replace_graphs(self, graphs: Mapping[str, bytes], also: str = "") -> None:
        if graphs:
            self.update(joined(replace_graphs_update(graphs), also))

    def add_to_graph(self, graph: str, ntriples: bytes, also: str = "") -> None:
        # One update: the triples, the change log and the new version in one transaction.
        self.update(joined(add_to_graph_update(graph, ntriples), also))

    def drop_graph(self, graph: str, also: str = "") -> bool:
        if graph == DEFAULT_GRAPH:
            self.update(joined("CLEAR DEFAULT", also))
            return True
        if not self.has_graph(graph):
            return False
        self.update(joined(f"DROP GRAPH {graph_iri_term(graph)}", also))
        return True

    def bulk_load(self, path: Path, media_type: str, graph: str | None = None) -> None:
        """Fast, non-transactional load for large files (benchmarks, first loads), compacted
        afterwards as Oxigraph's own loader advises for reads: the bulk loader leaves many
        small files, and a COUNT join on the curated graph took 19.3 ms on them against
        16.8 ms compacted (17.1 ms on a store loaded by `oxigraph load`). The compaction comes
        after the version's write, whose small file alone cost 19.2 ms against 16.8 ms: every
        range scan of a join merges one more file until RocksDB compacts it."""
        fmt = DATASET_TYPES.get(media_type) or GRAPH_TYPES[media_type]
        to_graph = ox.NamedNode(graph) if graph else None
        self._store.bulk_load(path=str(path), format=fmt, to_graph=to_graph)
        self.update("")  # a new version: bulk loading is no transaction to put it in
        self._store.optimize()
        if self.compactor is not None:
            self.compactor.compacted()

    def close(self) -> None:
        self._threads.close()
        if self._pool is not None:
            self._pool.close()
            shutil.rmtree(self._checkpoints, ignore_errors=True)
        if self.compactor is not None:
            self.compactor.close()
        self._store.flush()

    # -- checkpoints --------------------------------------------------------------------

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1
        if self.compactor is not None:
            self.compactor.written()

    def _acquire_checkpoint(self) -> _Checkpoint:
        with self._lock:
            current = self._checkpoint
            if current is None or current.generation != self._generation:
                path = self._checkpoints / f"{self._generation}-{uuid.uuid4().hex[:8]}"
                self._store.backup(str(path))
                if current is not None:
                    current.retired = True
                    self._remove_if_unused(current)
                current = self._checkpoint = _Checkpoint(path, self._generation)
            current.users += 1
            return current

    def _release_checkpoint(self, checkpoint: _Checkpoint) -> None:
        with self._lock:
            checkpoint.users -= 1
            self._remove_if_unused(checkpoint)

    @staticmethod
    def _remove_if_unused(checkpoint: _Checkpoint) -> None:
        if checkpoint.retired and checkpoint.users <= 0:
            shutil.rmtree(checkpoint.path, ignore_errors=True)


def _job(request: QueryRequest, checkpoint: str) -> dict[str, Any]:
    return {
        "checkpoint": checkpoint,
        "query": request.query,
        "results_type": request.results_type,
        "graph_type": request.graph_type,
        "default_graph_uris": list(request.default_graph_uris),
        "named_graph_uris": list(request.named_graph_uris),
        "union_default_graph": request.union_default_graph,
        "row_limit": request.row_limit,
        "base_iri": request.base_iri,
    }


def _open(path: Path, wait_for: float) -> ox.Store:
    """Open read-write; while the lock is held by a process on its way out, try again."""
    give_up = time.monotonic() + wait_for
    while True:
        try:
            return ox.Store(str(path))
        except OSError as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= give_up:
                raise
            time.sleep(LOCK_RETRY)


def _graph_name(graph: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)
