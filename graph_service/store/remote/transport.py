"""Talking to a remote SPARQL store: one pooled HTTP client, retries on idempotent reads only,
and the store's answers turned into domain errors. What is asked lives in `remote/__init__`.

Specs: https://www.w3.org/TR/sparql11-protocol/ , https://www.w3.org/TR/sparql11-update/ ,
https://www.w3.org/TR/sparql11-http-rdf-update/
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Self

import httpx

from graph_service.core.errors import (
    InvalidRequest,
    NoAcceptableFormat,
    QueryTimeout,
    StoreUnavailable,
    say,
)
from graph_service.core.sparql_text import declares_dataset, syntax_error_from
from graph_service.settings import Settings
from graph_service.store import (
    DEFAULT_GRAPH,
    QueryForm,
    VersionKey,
)

log = logging.getLogger(__name__)

STAGING_PREFIX = "urn:smartby:staging:"
# Skip the prologue (BASE/PREFIX, comments) to find the query form without a parser.
_PROLOGUE = re.compile(
    r"(?:\s+|#[^\n]*(?:\n|$)|(?i:base)\s*<[^>]*>|(?i:prefix)\s*[^\s:<]*:\s*<[^>]*>)*"
)
_FORM_KEYWORD = re.compile(r"(?i)(select|ask|construct|describe)\b")
# A store's words for "stopped at its time limit" (Virtuoso refuses a query whose estimated
# cost exceeds MaxQueryCostEstimationTime with 500 "The estimated execution time … exceeds").
_TIME_LIMIT_WORDS = ("timeout", "timed out", "estimated execution time")
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


def graph_params(graph: str) -> dict[str, str]:
    return {"default": ""} if graph == DEFAULT_GRAPH else {"graph": graph}


class Transport:
    """The HTTP side of a remote store: endpoints, the client, sending and checking."""

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
        write_timeout: float = 120.0,
        state_ttl: float = 1.0,
        read_attempts: int = 3,
        retry_pause: float = 0.2,
        max_connections: int = 32,
        version: VersionKey | None = None,
    ) -> None:
        self.version = version or VersionKey()
        self.query_url, self.update_url, self.graph_url = query_url, update_url, graph_url
        self.union_parameter = union_parameter
        self.atomic_updates = atomic_updates
        self.timeout, self.write_timeout = timeout, write_timeout
        self.state_ttl = state_ttl  # seconds a remote count stands in for "nothing changed"
        self.read_attempts, self.retry_pause = read_attempts, retry_pause  # reads only
        self.max_connections = max_connections
        self.connections = CountingTransport(limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max(1, max_connections // 2)))
        self._client = httpx.Client(
            auth=auth,
            headers=dict(headers or {}),
            transport=self.connections,
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            follow_redirects=False,
        )
        self._lock = threading.Lock()
        self._instance = uuid.uuid4().hex[:12]
        self._generation = 0
        self._seen: tuple[float, int, str] | None = None  # (when, generation, version)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        query_url, update_url, graph_url = derive_endpoints(settings)
        auth: httpx.Auth | None = None
        headers: dict[str, str] = {}
        if settings.store_username:
            auth = BasicOrDigestAuth(settings.store_username, settings.store_password)
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
            write_timeout=settings.store_write_timeout,
            state_ttl=settings.state_ttl,
            read_attempts=settings.store_read_attempts,
            retry_pause=settings.store_retry_pause,
            max_connections=settings.store_max_connections,
            version=VersionKey.for_base(settings.base_iri),
        )

    # -- HTTP ---------------------------------------------------------------------------

    def _send(
        self, request: httpx.Request, *, read: bool, timeout: float, stream: bool = False
    ) -> httpx.Response:
        """Send with retries on connection errors for reads only; 503 when unreachable."""
        deadline = time.monotonic() + timeout
        attempts = self.read_attempts if read else 1
        for attempt in range(1, attempts + 1):
            remaining = max(0.05, deadline - time.monotonic())
            request.extensions["timeout"] = httpx.Timeout(
                remaining, connect=min(5.0, remaining)
            ).as_dict()
            try:
                return self._client.send(request, stream=stream)
            except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
                if read:
                    count_abandoned(request)
                    raise QueryTimeout(
                        say("The store did not answer within the time limit.",
                            "Lageret svarte ikke innen tidsgrensen.",
                            "Lageret svara ikkje innan tidsgrensa.")
                    ) from exc
                raise StoreUnavailable(
                    say("The store did not confirm the write in time; its outcome is unknown: "
                        f"{exc}",
                        "Lageret bekreftet ikke skrivingen i tide; utfallet er ukjent.",
                        "Lageret stadfesta ikkje skrivinga i tide; utfallet er ukjent.")
                ) from exc
            except _UNREACHABLE as exc:
                if attempt < attempts and time.monotonic() + self.retry_pause < deadline:
                    time.sleep(self.retry_pause * attempt)
                    continue
                raise StoreUnavailable(
                    say(f"The SPARQL store at {request.url.copy_with(query=None)} cannot be "
                        "reached: "
                        f"{type(exc).__name__}: {exc}",
                        "SPARQL-lageret svarer ikke.", "SPARQL-lageret svarar ikkje.")
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
        if status == 400 and "memory exhausted" in message.lower():  # Virtuoso's compiler
            raise StoreUnavailable(
                say(f"The store ran out of memory compiling the {what}: {message}",
                    "Lageret gikk tom for minne.", "Lageret gjekk tom for minne."))
        if status == 400:
            raise syntax_error_from(message)
        if status in (401, 403):
            raise StoreUnavailable(
                say(f"The store refused our credentials for {what} ({status}): {message}",
                    f"Lageret avviste påloggingen vår ({status}).",
                    f"Lageret avviste pålogginga vår ({status}).")
            )
        if status == 406:
            raise NoAcceptableFormat(say(f"The store cannot produce that media type: {message}",
                                     "Lageret kan ikke lage den medietypen.",
                                     "Lageret kan ikkje lage den medietypen."))
        lowered = message.lower()
        if status in (408, 504) or any(word in lowered for word in _TIME_LIMIT_WORDS):
            raise QueryTimeout(say(f"The store stopped the {what} at its time limit: {message}",
                               "Lageret stoppet ved tidsgrensen sin.",
                               "Lageret stoppa ved tidsgrensa si."))
        if 400 < status < 500:
            raise InvalidRequest(say(f"The store refused the {what} ({status}): {message}",
                                 f"Lageret avviste forespørselen ({status}): {message}",
                                 f"Lageret avviste førespurnaden ({status}): {message}"))
        raise StoreUnavailable(say(f"The store failed on the {what} ({status}): {message}",
                                   f"Lageret feilet ({status}).", f"Lageret feila ({status})."))

    @staticmethod
    def _check_complete(response: httpx.Response) -> None:
        """Virtuoso answers a query stopped at its time limit with 200 and what it had so far
        ("anytime query", `X-SQL-State: S1TAT`): that is a timeout, never a result."""
        if response.headers.get("x-sql-state", "").upper() == "S1TAT":
            count_abandoned(response.request)
            raise QueryTimeout(say(
                "The store stopped the query at its time limit and sent incomplete results.",
                "Lageret stoppet spørringen ved tidsgrensen og sendte ufullstendige svar.",
                "Lageret stoppa spørjinga ved tidsgrensa og sende ufullstendige svar."))

    def _read(self, method: str, url: str, *, timeout: float | None = None,
              **kwargs: object) -> httpx.Response:
        request = self._client.build_request(method, url, **kwargs)  # type: ignore[arg-type]
        return self._send(request, read=True, timeout=timeout or self.timeout)

    def _write(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        request = self._client.build_request(method, url, **kwargs)  # type: ignore[arg-type]
        try:
            return self._send(request, read=False, timeout=self.write_timeout)
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

    def _query_request(
        self, query: str, params: list[tuple[str, str]], accept: str
    ) -> httpx.Request:
        """The protocol's "query via URL-encoded POST": every store takes it, while a direct
        `application/sparql-query` body is never answered by Virtuoso 7.2 (its issue #842)."""
        return self._client.build_request(
            "POST", self.query_url, data=dict(_grouped([("query", query), *params])),
            headers={"Accept": accept},
        )

    def _select_values(self, query: str, *, union: bool = True) -> list[dict[str, str]]:
        """A small SELECT evaluated remotely, as plain strings."""
        params = self._dataset_params() if union else []
        request = self._query_request(query, params, "application/sparql-results+json")
        response = self._send(request, read=True, timeout=self.timeout)
        self._check(response, what="query")
        self._check_complete(response)
        bindings = response.json()["results"]["bindings"]
        return [{k: v["value"] for k, v in row.items()} for row in bindings]

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Repeated protocol parameters (default-graph-uri, named-graph-uri) as httpx form data."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


class BasicOrDigestAuth(httpx.Auth):
    """HTTP basic or digest, whichever the store challenges for (Virtuoso's `-auth`
    endpoints want digest and refuse a basic header without a new challenge).

    The first request goes without credentials; the scheme of its 401 challenge is kept for
    good, and httpx's DigestAuth reuses its nonce, so later requests take one round trip."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self._scheme: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme is None:
            response = yield request
            if response.status_code != 401:
                return
            challenge = response.headers.get("www-authenticate", "").lower()
            self._scheme = self._digest if challenge.startswith("digest") else self._basic
        yield from self._scheme.auth_flow(request)


class CountingTransport(httpx.BaseTransport):
    """httpx's own transport, counting the store's answers not yet closed. Each holds one
    pooled connection until it is closed, so `in_use` is the number to watch for a leak (an
    answer dropped unclosed whatever way the client left); `answered` counts them all."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._inner = httpx.HTTPTransport(limits=limits)
        self._lock = threading.Lock()
        self.in_use = 0
        self.answered = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)  # a sync transport's
        with self._lock:
            self.in_use += 1
            self.answered += 1
        return httpx.Response(
            response.status_code, headers=response.headers, extensions=response.extensions,
            stream=_CountedStream(response.stream, self._returned))

    def _returned(self) -> None:
        with self._lock:
            self.in_use -= 1

    def close(self) -> None:
        self._inner.close()


class _CountedStream(httpx.SyncByteStream):
    """An answer's body; closing it (once) returns its connection and the count."""

    def __init__(self, stream: httpx.SyncByteStream, returned: Callable[[], None]) -> None:
        self._stream, self._returned, self._open = stream, returned, True

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            if self._open:
                self._open = False
                self._returned()


def count_abandoned(request: httpx.Request) -> None:
    Transport.abandoned_queries += 1
    log.warning("gave up waiting for %s; the store may still be evaluating it", request.url)
