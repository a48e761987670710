"""The remote backend: any SPARQL 1.1 Protocol, Update and Graph Store HTTP Protocol endpoint.

Specs: https://www.w3.org/TR/sparql11-protocol/ , https://www.w3.org/TR/sparql11-update/ ,
https://www.w3.org/TR/sparql11-http-rdf-update/
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import httpx
import pyoxigraph as ox

from graph_service.errors import (
    BadRequest,
    NotAcceptable,
    QueryTimeout,
    ServiceUnavailable,
    StoreUnavailable,
)
from graph_service.media import DATASET_TYPES, GRAPH_TYPES, RESULTS_TYPES
from graph_service.sparql_errors import syntax_error_from
from graph_service.sparql_text import declares_dataset
from graph_service.store import (
    DEFAULT_GRAPH,
    QueryForm,
    QueryRequest,
    QueryResult,
    add_to_graph_update,
    graph_iri_term,
    joined,
    replace_graphs_update,
)

if TYPE_CHECKING:
    from graph_service.settings import Settings

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3  # connection errors on reads are retried; writes are sent once
RETRY_PAUSE = 0.2
STATE_TTL = 1.0  # seconds a remote count stands in for "nothing changed" (see state())
WRITE_TIMEOUT = 120.0
STAGING_PREFIX = "urn:smartby:staging:"
# Skip the prologue (BASE/PREFIX, comments) to find the query form without a parser.
_PROLOGUE = re.compile(
    r"(?:\s+|#[^\n]*(?:\n|$)|(?i:base)\s*<[^>]*>|(?i:prefix)\s*[^\s:<]*:\s*<[^>]*>)*"
)
_FORM_KEYWORD = re.compile(r"(?i)(select|ask|construct|describe)\b")
_UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError,
                httpx.ReadError, httpx.WriteError, httpx.PoolTimeout)


def query_form(query: str) -> QueryForm | None:
    """SELECT → solutions, ASK → boolean, CONSTRUCT/DESCRIBE → graph; None if unclear."""
    start = _PROLOGUE.match(query)
    keyword = _FORM_KEYWORD.match(query, start.end() if start else 0)
    if not keyword:
        return None
    word = keyword.group(1).lower()
    return "solutions" if word == "select" else "boolean" if word == "ask" else "graph"


def derive_endpoints(settings: Settings) -> tuple[str, str, str]:
    """Query, update and graph-store URLs: set one by one, or Oxigraph server's layout."""
    base = settings.store.rstrip("/")
    return (
        settings.store_query_url or f"{base}/query",
        settings.store_update_url or f"{base}/update",
        settings.store_graph_url or f"{base}/store",
    )


def _graph_params(graph: str) -> dict[str, str]:
    return {"default": ""} if graph == DEFAULT_GRAPH else {"graph": graph}


class RemoteStore:
    """A SPARQL store over HTTP; results stream through as the store serialised them."""

    kind = "remote"
    # Queries we gave up on. Not every store stops evaluating when the client goes away
    # (Oxigraph server 0.5 keeps counting even past --timeout-s), so operators watch this.
    abandoned_queries = 0

    def __init__(
        self,
        query_url: str,
        update_url: str,
        graph_url: str,
        *,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        union_parameter: str = "union-default-graph",
        atomic_updates: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.query_url, self.update_url, self.graph_url = query_url, update_url, graph_url
        self.union_parameter = union_parameter
        self.atomic_updates = atomic_updates
        self.timeout = timeout
        self._client = httpx.Client(
            auth=auth,
            headers=dict(headers or {}),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._instance = uuid.uuid4().hex[:12]
        self._generation = 0
        self._seen: tuple[float, int, int] | None = None  # (when, generation, count)

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteStore:
        query_url, update_url, graph_url = derive_endpoints(settings)
        auth: httpx.Auth | None = None
        headers: dict[str, str] = {}
        if settings.store_username:
            auth = httpx.BasicAuth(settings.store_username, settings.store_password)
        elif settings.store_bearer:
            headers["Authorization"] = f"Bearer {settings.store_bearer}"
        return cls(
            query_url,
            update_url,
            graph_url,
            auth=auth,
            headers=headers,
            union_parameter=settings.store_union_default_graph,
            atomic_updates=settings.store_atomic_updates,
            timeout=settings.query_timeout,
        )

    # -- HTTP ---------------------------------------------------------------------------

    def _send(
        self, request: httpx.Request, *, read: bool, timeout: float, stream: bool = False
    ) -> httpx.Response:
        """Send with retries on connection errors for reads only; 503 when unreachable."""
        deadline = time.monotonic() + timeout
        attempts = READ_ATTEMPTS if read else 1
        for attempt in range(1, attempts + 1):
            remaining = max(0.05, deadline - time.monotonic())
            request.extensions["timeout"] = httpx.Timeout(
                remaining, connect=min(5.0, remaining)
            ).as_dict()
            try:
                return self._client.send(request, stream=stream)
            except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
                if read:
                    _abandoned(request)
                    raise QueryTimeout(
                        "The store did not answer within the time limit "
                        "(Lagret svarte ikke innen tidsgrensen)."
                    ) from exc
                raise StoreUnavailable(
                    f"The store did not confirm the write in time; its outcome is unknown: {exc}"
                ) from exc
            except _UNREACHABLE as exc:
                if attempt < attempts and time.monotonic() + RETRY_PAUSE < deadline:
                    time.sleep(RETRY_PAUSE * attempt)
                    continue
                raise StoreUnavailable(
                    f"The SPARQL store at {request.url.copy_with(query=None)} cannot be reached "
                    f"(SPARQL-lageret svarer ikke): {type(exc).__name__}: {exc}"
                ) from exc
        raise AssertionError("unreachable")

    def _check(self, response: httpx.Response, *, what: str) -> None:
        """Store answers become our errors: 400 keeps the store's words, 5xx becomes 503."""
        if response.is_success:
            return
        if not response.is_stream_consumed:
            response.read()
        message = response.text.strip()[:2000]
        status = response.status_code
        if status == 400:
            raise syntax_error_from(message)
        if status in (401, 403):
            raise StoreUnavailable(
                f"The store refused our credentials for {what} ({status}): {message}"
            )
        if status == 406:
            raise NotAcceptable(f"The store cannot produce that media type: {message}")
        if status in (408, 504) or "timeout" in message.lower() or "timed out" in message.lower():
            raise QueryTimeout(f"The store stopped the {what} at its time limit: {message}")
        if 400 < status < 500:
            raise BadRequest(f"The store refused the {what} ({status}): {message}")
        raise StoreUnavailable(f"The store failed on the {what} ({status}): {message}")

    def _read(self, method: str, url: str, *, timeout: float | None = None,
              **kwargs: object) -> httpx.Response:
        request = self._client.build_request(method, url, **kwargs)  # type: ignore[arg-type]
        return self._send(request, read=True, timeout=timeout or self.timeout)

    def _write(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        request = self._client.build_request(method, url, **kwargs)  # type: ignore[arg-type]
        try:
            return self._send(request, read=False, timeout=WRITE_TIMEOUT)
        finally:
            self._changed()

    def _dataset_params(
        self,
        default_graphs: tuple[str, ...] = (),
        named_graphs: tuple[str, ...] = (),
        query: str = "",
    ) -> list[tuple[str, str]]:
        """The protocol's dataset wins (only named graphs: an empty default graph, as the
        protocol says); with none, the query's FROM decides; with neither, the union."""
        if default_graphs or named_graphs:
            return [("default-graph-uri", g) for g in default_graphs] + [
                ("named-graph-uri", g) for g in named_graphs
            ]
        if query and declares_dataset(query):
            return []
        return [(self.union_parameter, "")] if self.union_parameter else []

    def _select_values(self, query: str, *, union: bool = True) -> list[dict[str, str]]:
        """A small SELECT evaluated remotely, as plain strings."""
        params = self._dataset_params() if union else []
        response = self._read(
            "POST",
            self.query_url,
            params=params,
            content=query.encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        self._check(response, what="query")
        bindings = response.json()["results"]["bindings"]
        return [{k: v["value"] for k, v in row.items()} for row in bindings]

    # -- reads --------------------------------------------------------------------------

    def query(self, request: QueryRequest) -> QueryResult:
        form = query_form(request.query)
        wanted = {
            "solutions": request.results_type,
            "boolean": request.results_type,
            "graph": request.graph_type,
            None: None,
        }[form]
        if form is None:  # let the store decide; the Content-Type tells the form
            accept = ", ".join(t for t in (request.results_type, request.graph_type) if t)
        else:
            accept = wanted or (
                "application/sparql-results+json" if form != "graph" else "text/turtle"
            )
        deadline = time.monotonic() + request.timeout
        http_request = self._client.build_request(
            "POST",
            self.query_url,
            params=tuple(self._dataset_params(  # a tuple: httpx's types want it covariant
                request.default_graph_uris, request.named_graph_uris, request.query
            )),
            content=request.query.encode(),
            headers={"Content-Type": "application/sparql-query", "Accept": accept or "*/*"},
        )
        response = self._send(http_request, read=True, timeout=request.timeout, stream=True)
        try:
            self._check(response, what="query")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            if form is None:
                form = "graph" if media_type in GRAPH_TYPES else "solutions"
            if wanted is None and form is not None and accept and media_type:
                kind = "SELECT/ASK" if form != "graph" else "CONSTRUCT/DESCRIBE"
                raise NotAcceptable(f"No acceptable media type for a {kind} result.")
        except BaseException:
            response.close()
            raise
        if media_type not in RESULTS_TYPES and media_type not in GRAPH_TYPES:
            media_type = wanted or media_type
        return QueryResult(
            form=form, media_type=media_type, chunks=self._stream(response, deadline)
        )

    @staticmethod
    def _stream(response: httpx.Response, deadline: float) -> Iterator[bytes]:
        """The store's bytes as they arrive, cut off at the query's deadline."""
        try:
            for chunk in response.iter_raw():
                if time.monotonic() > deadline:
                    _abandoned(response.request)
                    raise QueryTimeout("The result did not arrive within the time limit.")
                if chunk:
                    yield chunk
        except httpx.TimeoutException as exc:
            _abandoned(response.request)
            raise QueryTimeout("The result did not arrive within the time limit.") from exc
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"The store broke off the result: {exc}") from exc
        finally:
            response.close()

    def export(self, media_type: str, graph: str | None = None) -> bytes:
        if graph is not None:
            response = self._read(
                "GET", self.graph_url, params=_graph_params(graph),
                headers={"Accept": media_type}, timeout=WRITE_TIMEOUT,
            )
            if response.status_code == 404:  # no such graph: an empty one, as embedded
                return ox.serialize([], format=GRAPH_TYPES[media_type]) or b""
            self._check(response, what="graph export")
            return response.content
        dataset_format = DATASET_TYPES.get(media_type)
        if dataset_format is not None and dataset_format.supports_datasets:  # graphs kept
            return self._export_dataset(media_type)
        result = self.query(
            QueryRequest(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                graph_type=media_type,
                timeout=WRITE_TIMEOUT,
            )
        )
        return result.read()

    def _export_dataset(self, media_type: str) -> bytes:
        """Whole dataset: one GET of the graph store if it offers it, else graph by graph."""
        response = self._read(
            "GET", self.graph_url, headers={"Accept": media_type}, timeout=WRITE_TIMEOUT
        )
        served = response.headers.get("content-type", "").split(";")[0].strip()
        if response.is_success and served == media_type:
            return response.content
        quads: list[ox.Quad] = []
        for name in [DEFAULT_GRAPH, *self.named_graphs()]:
            body = self.export("application/n-triples", name)
            target = ox.DefaultGraph() if name == DEFAULT_GRAPH else ox.NamedNode(name)
            quads += [
                ox.Quad(t.subject, t.predicate, t.object, target)
                for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)
            ]
        return ox.serialize(quads, format=DATASET_TYPES[media_type]) or b""

    def named_graphs(self) -> list[str]:
        rows = self._select_values(
            "SELECT DISTINCT ?g WHERE { GRAPH ?g {} FILTER(isIRI(?g)) }", union=False
        )
        return sorted(row["g"] for row in rows if not row["g"].startswith(STAGING_PREFIX))

    def has_graph(self, graph: str) -> bool:
        if graph == DEFAULT_GRAPH:
            return True
        response = self._read(
            "POST",
            self.query_url,
            content=f"ASK {{ GRAPH {graph_iri_term(graph)} {{}} }}".encode(),
            headers={
                "Content-Type": "application/sparql-query",
                "Accept": "application/sparql-results+json",
            },
        )
        self._check(response, what="query")
        return bool(response.json().get("boolean"))

    def quad_count(self) -> int:
        """All quads (default graph and named graphs), counted by the store."""
        rows = self._select_values(
            "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
            union=False,
        )
        count = int(rows[0]["n"]) if rows else 0
        with self._lock:
            self._seen = (time.monotonic(), self._generation, count)
        return count

    def state(self) -> str:
        """Our writes bump a counter at once; others' writes show through a count (≤1 s old)."""
        with self._lock:
            seen, generation = self._seen, self._generation
        if seen is None or seen[1] != generation or time.monotonic() - seen[0] > STATE_TTL:
            count = self.quad_count()
        else:
            count = seen[2]
        return f"{self._instance}-{generation}-{count}"

    # -- writes (never retried blindly) --------------------------------------------------

    def update(self, sparql: str) -> None:
        response = self._write(
            "POST",
            self.update_url,
            content=sparql.encode(),
            headers={"Content-Type": "application/sparql-update"},
        )
        self._check(response, what="update")

    def replace_graphs(self, graphs: Mapping[str, bytes], also: str = "") -> None:
        """One update request (one transaction on Oxigraph), or staging graphs then MOVE."""
        if not graphs:
            return
        if not self.atomic_updates:
            self._replace_by_staging(graphs, also)
            return
        self.update(joined(replace_graphs_update(graphs), also))

    def _replace_by_staging(self, graphs: Mapping[str, bytes], also: str = "") -> None:
        """Fill private staging graphs first; then each graph changes by one MOVE operation."""
        staged: dict[str, str] = {}
        try:
            for graph, ntriples in graphs.items():
                if ntriples.strip():
                    staging = f"{STAGING_PREFIX}{uuid.uuid4()}"
                    staged[graph] = staging
                    self._post_graph(staging, ntriples)
        except BaseException:
            for staging in staged.values():
                self._drop_quietly(staging)
            raise
        last = list(graphs)[-1]
        for graph in graphs:
            target = "DEFAULT" if graph == DEFAULT_GRAPH else f"GRAPH {graph_iri_term(graph)}"
            extra = also if graph == last else ""  # the change log goes with the last MOVE
            if graph in staged:
                self.update(joined(f"MOVE SILENT GRAPH <{staged[graph]}> TO {target}", extra))
            else:
                self.update(joined(f"DROP SILENT {target}", extra))

    def _drop_quietly(self, graph: str) -> None:
        with contextlib.suppress(ServiceUnavailable):
            self.update(f"DROP SILENT GRAPH <{graph}>")

    def _post_graph(self, graph: str, ntriples: bytes) -> None:
        response = self._write(
            "POST",
            self.graph_url,
            params=_graph_params(graph),
            content=ntriples,
            headers={"Content-Type": "application/n-triples"},
        )
        self._check(response, what="graph write")

    def add_to_graph(self, graph: str, ntriples: bytes, also: str = "") -> None:
        if graph != DEFAULT_GRAPH:
            graph_iri_term(graph)
        if also:  # with the change log: one update request, one transaction
            self.update(joined(add_to_graph_update(graph, ntriples), also))
            return
        self._post_graph(graph, ntriples)

    def drop_graph(self, graph: str, also: str = "") -> bool:
        if also:  # with the change log: one update request, one transaction
            if graph != DEFAULT_GRAPH and not self.has_graph(graph):
                return False
            target = "DEFAULT" if graph == DEFAULT_GRAPH else f"GRAPH {graph_iri_term(graph)}"
            self.update(joined(f"DROP SILENT {target}", also))
            return True
        response = self._write("DELETE", self.graph_url, params=_graph_params(graph))
        if response.status_code == 404:
            return graph == DEFAULT_GRAPH
        self._check(response, what="graph drop")
        return True

    def close(self) -> None:
        self._client.close()

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1


def _abandoned(request: httpx.Request) -> None:
    RemoteStore.abandoned_queries += 1
    log.warning("gave up waiting for %s; the store may still be evaluating it", request.url)
