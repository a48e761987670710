"""The query worker's own process: pyoxigraph only, so it starts fast and can be killed.

Its `prepare` and `serialize` are also what the in-process engine threads run."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import pyoxigraph as ox

from graph_service.core.parent_death import die_with_parent

CHUNK_SIZE = 64 * 1024


class _PipeWriter:
    """A binary file-like object that ships what pyoxigraph writes, in chunks.

    The first chunk goes out only when CHUNK_SIZE bytes are ready (or at the end), so an
    evaluation error in the first part of a result still becomes a clean error response.
    """

    def __init__(self, conn: Connection, form: str, media_type: str) -> None:
        self._conn, self._form, self._media_type = conn, form, media_type
        self._buffer = bytearray()
        self._started = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK_SIZE:
            self._flush()
        return len(data)

    def flush(self) -> None:  # pyoxigraph may call it; chunks leave at CHUNK_SIZE anyway
        pass

    def _flush(self) -> None:
        if not self._started:
            self._conn.send(("start", self._form, self._media_type))
            self._started = True
        if self._buffer:
            self._conn.send(("chunk", bytes(self._buffer)))
            self._buffer.clear()

    def finish(self) -> None:
        self._flush()
        self._conn.send(("end",))


def _json_term(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        else:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                        "predicate": _json_term(term.predicate),
                                        "object": _json_term(term.object)}}


def _first_rows(solutions: Any, limit: int) -> Any:
    """SMARTBY_ROW_LIMIT: the first rows only, re-read as solutions so any format still works."""
    names = [v.value for v in solutions.variables]
    bindings = [
        {name: _json_term(value) for name, value in zip(names, row, strict=True)
         if value is not None}
        for row in itertools.islice(solutions, limit)
    ]
    document = {"head": {"vars": names}, "results": {"bindings": bindings}}
    return ox.parse_query_results(json.dumps(document).encode(), ox.QueryResultsFormat.JSON)


def dataset_options(default_graph_uris: Sequence[str], named_graph_uris: Sequence[str],
                    union_default_graph: bool) -> dict[str, Any]:
    """The engine's keyword arguments for a query's dataset. The protocol's dataset wins; with
    only named graphs the default graph is empty; with none, FROM in the query decides (the
    caller says whether it names one); with no FROM either, the union of all graphs."""
    options: dict[str, Any] = {}
    if default_graph_uris:
        options["default_graph"] = [ox.NamedNode(g) for g in default_graph_uris]
    elif named_graph_uris:
        options["default_graph"] = []
    elif union_default_graph:
        options["use_default_graph_as_union"] = True
    if named_graph_uris:
        options["named_graphs"] = [ox.NamedNode(g) for g in named_graph_uris]
    return options


def prepare(store: Any, query: str, options: dict[str, Any], *, results_type: str | None,
            graph_type: str | None, row_limit: int = 0, base_iri: str | None = None
            ) -> tuple[Any, ...]:
    """Evaluate a query: ("ok", form, media type, result) or a refusal message.

    Shared by the worker processes (`prepare_job`) and the in-process engine threads, which
    call it with the request's own fields: no job dictionary per query on the hot path."""
    try:
        result = store.query(query, base_iri=base_iri, **options)
    except SyntaxError as exc:
        return ("syntax", str(exc))
    if isinstance(result, ox.QuerySolutions):
        form, media_type = "solutions", results_type
    elif isinstance(result, ox.QueryBoolean):
        form, media_type = "boolean", results_type
    else:
        form, media_type = "graph", graph_type
    if media_type is None:
        return ("not_acceptable", form)
    if form == "solutions" and row_limit:
        result = _first_rows(result, int(row_limit))
    return ("ok", form, media_type, result)


def prepare_job(store: Any, job: dict[str, Any]) -> tuple[Any, ...]:
    """`prepare`, for a job sent to a worker process."""
    options = dataset_options(job["default_graph_uris"], job["named_graph_uris"],
                              job["union_default_graph"])
    return prepare(store, job["query"], options, results_type=job["results_type"],
                   graph_type=job["graph_type"], row_limit=job.get("row_limit") or 0,
                   base_iri=job.get("base_iri"))


def serialize(result: Any, form: str, media_type: str, output: Any) -> Any:
    """The engine's own serialiser, into a binary file-like object (or bytes, with None)."""
    if form == "graph":
        return result.serialize(output, ox.RdfFormat.from_media_type(media_type))
    return result.serialize(output, ox.QueryResultsFormat.from_media_type(media_type))


def _evaluate(store: Any, job: dict[str, Any], conn: Connection) -> None:
    prepared = prepare_job(store, job)
    if prepared[0] != "ok":
        conn.send(prepared)
        return
    _, form, media_type, result = prepared
    writer = _PipeWriter(conn, form, media_type)
    serialize(result, form, media_type, writer)
    writer.finish()


def worker_main(conn: Connection) -> None:
    """Serve jobs until the pipe closes; keep the current checkpoint open between jobs."""
    opened: tuple[str, Any] | None = None
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            if opened is None or opened[0] != job["checkpoint"]:
                opened = None  # drop the old checkpoint before opening the new one
                opened = (job["checkpoint"], ox.Store.read_only(job["checkpoint"]))
            _evaluate(opened[1], job, conn)
        except (ValueError, RuntimeError) as exc:  # the query's own fault (400)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except Exception as exc:  # I/O and everything else: the server's fault (5xx)
            conn.send(("fault", f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    die_with_parent(os.getppid())  # before the first job: a dead server leaves no worker
    worker_main(Connection(int(sys.argv[1])))
