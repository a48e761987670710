"""The remote backend: any SPARQL 1.1 Protocol, Update and Graph Store HTTP Protocol endpoint.

Reads, exports and writes, in the protocols' words; the HTTP plumbing is `transport`.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterator, Mapping

import httpx
import pyoxigraph as ox

from graph_service.core.errors import (
    NoAcceptableFormat,
    QueryTimeout,
    StoreFault,
    StoreUnavailable,
    Unavailable,
    say,
)
from graph_service.core.media import DATASET_TYPES, GRAPH_TYPES, RESULTS_TYPES
from graph_service.core.sparql_text import with_base
from graph_service.store import (
    DEFAULT_GRAPH,
    QueryRequest,
    QueryResult,
    add_to_graph_update,
    graph_iri_term,
    joined,
    replace_graphs_update,
    then,
)
from graph_service.store.remote.describe import describe_as_construct
from graph_service.store.remote.transport import (
    STAGING_PREFIX,
    Transport,
    count_abandoned,
    graph_params,
    query_form,
)

__all__ = ["STAGING_PREFIX", "RemoteStore", "query_form"]
# How Oxigraph server ends a 200 answer whose evaluation its --timeout-s cancelled.
_CANCELLED = b"operation has been cancelled"

log = logging.getLogger(__name__)


class RemoteStore(Transport):
    """A SPARQL store over HTTP; results stream through as the store serialised them."""

    kind = "remote"

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
        params = [] if request.own_default_graph and not (
            request.default_graph_uris or request.named_graph_uris) else self._dataset_params(
            request.default_graph_uris, request.named_graph_uris, request.query)
        text = describe_as_construct(request.query) or request.query  # the same on any engine
        http_request = self._query_request(with_base(text, request.base_iri), params,
                                           accept or "*/*")
        response = self._send(http_request, read=True, timeout=request.timeout, stream=True)
        try:
            self._check(response, what="query")
            self._check_complete(response)
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            if form is None:  # the store's answer tells the form; judge by that form's type
                form = "graph" if media_type in GRAPH_TYPES else "solutions"
                wanted = request.graph_type if form == "graph" else request.results_type
            if wanted is None and accept and media_type:
                kind = "SELECT/ASK" if form != "graph" else "CONSTRUCT/DESCRIBE"
                raise NoAcceptableFormat(say(f"No acceptable media type for a {kind} result.",
                                     f"Ingen akseptabel medietype for et {kind}-resultat.",
                                     f"Ingen akseptabel medietype for eit {kind}-resultat."))
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
        """The store's bytes as they arrive, cut off at the query's deadline. The last chunk
        is held back until the body has ended, so a body the store cut off itself (Oxigraph
        server's `--timeout-s` ends a 200 with "…has been cancelled") fails before the end."""
        held = b""
        try:
            for chunk in response.iter_raw():
                if time.monotonic() > deadline:
                    count_abandoned(response.request)
                    raise QueryTimeout(say("The result did not arrive within the time limit.",
                                   "Resultatet kom ikke innen tidsgrensen.",
                                   "Resultatet kom ikkje innan tidsgrensa."))
                if chunk:
                    if held:
                        yield held
                    held = chunk
            if _CANCELLED in (held[-200:] if held else b""):
                raise StoreFault(say("The store cancelled the query and cut its result short.",
                                     "Lageret avbrøt spørringen og kuttet resultatet.",
                                     "Lageret avbraut spørjinga og kutta resultatet."))
            if held:
                yield held
        except httpx.TimeoutException as exc:
            count_abandoned(response.request)
            raise QueryTimeout(say("The result did not arrive within the time limit.",
                                   "Resultatet kom ikke innen tidsgrensen.",
                                   "Resultatet kom ikkje innan tidsgrensa.")) from exc
        except httpx.TransportError as exc:
            raise StoreUnavailable(say(f"The store broke off the result: {exc}",
                                       "Lageret brøt av resultatet.",
                                       "Lageret braut av resultatet.")) from exc
        finally:
            response.close()

    def export(self, media_type: str, graph: str | None = None) -> bytes:
        # Where the store's default graph is the union (Virtuoso has no other), it is read
        # by a query: Virtuoso's Graph Store answers `?default` with 500.
        union_default = graph == DEFAULT_GRAPH and not self.union_parameter
        if graph is not None and not union_default:
            response = self._read(
                "GET", self.graph_url, params=graph_params(graph),
                headers={"Accept": media_type}, timeout=self.write_timeout,
            )
            if response.status_code == 404:  # no such graph: an empty one, as embedded
                return ox.serialize([], format=GRAPH_TYPES[media_type]) or b""
            self._check(response, what="graph export")
            return response.content
        dataset_format = DATASET_TYPES.get(media_type)
        if graph is None and dataset_format is not None and dataset_format.supports_datasets:
            return self._export_dataset(media_type)  # graphs kept
        result = self.query(
            QueryRequest(
                "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
                graph_type=media_type,
                timeout=self.write_timeout,
            )
        )
        return result.read()

    def _export_dataset(self, media_type: str) -> bytes:
        """Whole dataset: one GET of the graph store if it offers it, else graph by graph."""
        response = self._read(
            "GET", self.graph_url, headers={"Accept": media_type}, timeout=self.write_timeout
        )
        served = response.headers.get("content-type", "").split(";")[0].strip()
        if response.is_success and served == media_type:
            return response.content
        quads: list[ox.Quad] = []
        # Where the default graph is the union (no union parameter), it is no graph of its
        # own: Virtuoso answers `?default` with 500, others would repeat every triple.
        own_default = [DEFAULT_GRAPH] if self.union_parameter else []
        for name in [*own_default, *self.named_graphs()]:
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
        ) or self._select_values(  # Virtuoso 7.2 matches `GRAPH ?g {}` to nothing
            "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } FILTER(isIRI(?g)) }", union=False
        )
        return sorted(row["g"] for row in rows if not row["g"].startswith(STAGING_PREFIX))

    def has_graph(self, graph: str) -> bool:
        if graph == DEFAULT_GRAPH:
            return True
        term = graph_iri_term(graph)
        # An empty GRAPH pattern finds empty graphs, but Virtuoso 7.2 matches it for every
        # IRI (and no ?g at all): the second branch answers there.
        ask = (f"ASK {{ {{ GRAPH ?g {{}} FILTER(?g = {term}) }} "
               f"UNION {{ GRAPH {term} {{ ?s ?p ?o }} }} }}")
        response = self._send(
            self._query_request(ask, [], "application/sparql-results+json"),
            read=True, timeout=self.timeout,
        )
        self._check(response, what="query")
        return bool(response.json().get("boolean"))

    def quad_count(self) -> int:
        """All quads (default graph and named graphs), counted by the store."""
        if self.union_parameter:  # the default graph is a graph of its own
            query = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
        else:  # the default graph is the union of the named graphs: count each quad once
            query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
        rows = self._select_values(query, union=False)
        return int(rows[0]["n"]) if rows else 0

    def state(self) -> str:
        """The store's version token: one small query, at most every `state_ttl` seconds (our
        own writes make it stale at once; other replicas' writes show within the TTL)."""
        cached = self.cached_state()
        if cached is not None:
            return cached
        return self.refresh_state()

    def refresh_state(self) -> str:
        with self._lock:
            generation = self._generation
        asked = time.monotonic()  # the answer is as old as the question (TTL from here)
        rows = self._select_values(self.version.query(), union=False)
        token = rows[0]["version"] if rows else ""
        with self._lock:  # a slower answer to an earlier question never replaces a newer one
            if self._seen is None or (generation, asked) >= (self._seen[1], self._seen[0]):
                self._seen = (asked, generation, token)
        return token

    def forget_state(self) -> None:
        self._changed()

    def cached_state(self, *, any_age: bool = False) -> str | None:
        with self._lock:
            seen, generation = self._seen, self._generation
        if seen is None or seen[1] != generation:
            return None
        if not any_age and time.monotonic() - seen[0] > self.state_ttl:
            return None
        return seen[2]

    # -- writes (never retried blindly) --------------------------------------------------

    def update(self, sparql: str) -> None:
        """One update request, carrying the new version token (one transaction)."""
        response = self._write(
            "POST",
            self.update_url,
            content=then(sparql, self.version.bump()).encode(),
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
        try:
            for graph in graphs:
                target = ("DEFAULT" if graph == DEFAULT_GRAPH
                          else f"GRAPH {graph_iri_term(graph)}")
                extra = also if graph == last else ""  # the change log goes with the last MOVE
                if graph in staged:
                    self.update(joined(f"MOVE SILENT GRAPH <{staged[graph]}> TO {target}",
                                       extra))
                    del staged[graph]  # moved: nothing left to drop
                else:
                    self.update(joined(f"DROP SILENT {target}", extra))
        finally:  # a failed MOVE leaves no staging graph behind (the moved ones are gone)
            for staging in staged.values():
                self._drop_quietly(staging)

    def _drop_quietly(self, graph: str) -> None:
        with contextlib.suppress(Unavailable):
            self.update(f"DROP SILENT GRAPH <{graph}>")

    def _post_graph(self, graph: str, ntriples: bytes) -> None:
        response = self._write(
            "POST",
            self.graph_url,
            params=graph_params(graph),
            content=ntriples,
            headers={"Content-Type": "application/n-triples"},
        )
        self._check(response, what="graph write")

    def add_to_graph(self, graph: str, ntriples: bytes, also: str = "") -> None:
        if graph != DEFAULT_GRAPH:
            graph_iri_term(graph)
        if not self.atomic_updates and graph != DEFAULT_GRAPH:
            self._add_by_staging(graph, ntriples, also)
            return
        # One update request: the triples, the change log and the new version together.
        self.update(joined(add_to_graph_update(graph, ntriples), also))

    def _add_by_staging(self, graph: str, ntriples: bytes, also: str = "") -> None:
        """Without one-request transactions (Virtuoso): the triples by the Graph Store into a
        private staging graph, then one ADD. Virtuoso's SPARQL compiler runs out of memory on
        an INSERT DATA of some 20,000 triples; its Graph Store endpoint takes any size."""
        if not ntriples.strip():
            if also:
                self.update(also)
            return
        staging = f"{STAGING_PREFIX}{uuid.uuid4()}"
        try:
            self._post_graph(staging, ntriples)
            self.update(joined(f"ADD SILENT GRAPH <{staging}> TO GRAPH {graph_iri_term(graph)}",
                               f"DROP SILENT GRAPH <{staging}>", also))
        except BaseException:
            self._drop_quietly(staging)
            raise

    def drop_graph(self, graph: str, also: str = "") -> bool:
        if graph != DEFAULT_GRAPH and not self.has_graph(graph):
            return False
        target = "DEFAULT" if graph == DEFAULT_GRAPH else f"GRAPH {graph_iri_term(graph)}"
        self.update(joined(f"DROP SILENT {target}", also))
        return True

    def close(self) -> None:
        self._client.close()
