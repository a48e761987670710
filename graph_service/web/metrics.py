"""`/metrics`: what an operator watches, in the Prometheus text format (prometheus-client).

Every app keeps its own `CollectorRegistry` (never the process-wide one), so several apps in
one process (the tests, a server with replicas) neither share nor collide. Requests are counted
by route template (`/id/{kind}/{slug}`, never the raw path, whose values would make a series per
URL) and status; what belongs to the store (its kind and state, the query workers in use,
the remote queries abandoned) is read when the metrics are scraped.
Exposition format: https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_service import __version__
from graph_service.core.errors import SmartbyError
from graph_service.store.embedded import EmbeddedStore
from graph_service.store.remote import RemoteStore

# The error codes (core/errors.py) that are a time limit running out, by what ran out.
TIMEOUT_CODES = {"query_timeout": "query", "validation_timeout": "validation"}
SUBMISSION = ("POST", "/submissions")
UNMATCHED = "(unmatched)"  # no route: one series for every unknown path
CHILDREN_KEPT = 1024  # labelled series looked up once and kept (methods are the client's)


class _StoreCollector(Collector):
    """Reads the app's store at scrape time: its kind and state, workers, abandoned queries."""

    def __init__(self, app: Any) -> None:
        self._app = app

    def collect(self) -> Iterator[Any]:
        store = getattr(self._app.state, "store", None)
        info = InfoMetricFamily("smartby_build", "The service's version.")
        info.add_metric([], {"version": __version__})
        yield info
        if store is None:
            return
        up = GaugeMetricFamily("smartby_store_up", "1 when the store answered, 0 when not.")
        store_info = InfoMetricFamily(
            "smartby_store", "The store's kind and its state token (it changes with every write).",
            labels=["kind", "state"])
        try:
            state = str(store.state())
        except SmartbyError:
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            store_info.add_metric([store.kind, state], {})
        yield up
        yield store_info
        if isinstance(store, EmbeddedStore):
            occupancy = store.worker_occupancy()
            workers = GaugeMetricFamily(
                "smartby_query_workers", "Query worker processes: in use, and the pool's size.",
                labels=["state"])
            workers.add_metric(["busy"], occupancy["busy"])
            workers.add_metric(["size"], occupancy["size"])
            yield workers
            yield GaugeMetricFamily("smartby_queries_waiting",
                                    "Queries waiting for a free query worker.",
                                    value=occupancy["waiting"])
        if isinstance(store, RemoteStore):
            yield CounterMetricFamily(
                "smartby_remote_abandoned_queries",
                "Remote queries given up on (the store may still be evaluating them).",
                value=RemoteStore.abandoned_queries)
            connections = GaugeMetricFamily(
                "smartby_store_connections", "Pooled connections to the remote store: holding "
                "an answer not yet closed (back to 0 when idle, however clients left), and the "
                "pool's size.", labels=["state"])
            connections.add_metric(["busy"], store.connections.in_use)
            connections.add_metric(["size"], store.max_connections)
            yield connections
            yield CounterMetricFamily(
                "smartby_store_answers", "Answers received from the remote store.",
                value=store.connections.answered)


class Metrics:
    """The app's registry and the instruments the middleware feeds."""

    def __init__(self, app: Any) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "smartby_http_requests", "HTTP requests answered, by method, route template and "
            "status.", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "smartby_http_request_duration_seconds", "Seconds from request to the last byte "
            "of the answer, by method and route template.", ["method", "route"],
            registry=self.registry)
        self.timeouts = Counter(
            "smartby_timeouts", "Requests answered 503 because a time limit ran out, by what "
            "ran out (query or validation).", ["kind"], registry=self.registry)
        self.submissions = Counter(
            "smartby_submissions", "Submissions (POST /submissions) accepted (201) or refused "
            "(any other status).", ["outcome"], registry=self.registry)
        for kind in TIMEOUT_CODES.values():
            self.timeouts.labels(kind)
        for outcome in ("accepted", "refused"):
            self.submissions.labels(outcome)
        self.registry.register(_StoreCollector(app))
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        method, route = scope["method"], route_template(scope)
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:  # the registry's label lookups, once per method, route, status
            if len(self._children) >= CHILDREN_KEPT:
                self._children.clear()
            children = self._children[key] = (self.requests.labels(method, route, str(status)),
                                              self.latency.labels(method, route))
        children[0].inc()
        children[1].observe(seconds)
        error_code = (scope.get("state") or {}).get("error_code")
        if error_code in TIMEOUT_CODES:
            self.timeouts.labels(TIMEOUT_CODES[error_code]).inc()
        if (method, route) == SUBMISSION:
            self.submissions.labels("accepted" if status == 201 else "refused").inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: Scope) -> str:
    """The path as the router declared it (`/queries/{name}`); a mount by its prefix."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template:
        return str(template)
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return UNMATCHED


class MetricsMiddleware:
    """Counts every HTTP request once its answer has gone out (streamed bodies included)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def read_metrics(request: Request) -> Response:
    """Request counts and latencies, timeouts, workers, store state (Prometheus text format)."""
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
