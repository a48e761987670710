"""create_app(settings): the one ASGI application, its store, routers and error handling."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from graph_service import __version__
from graph_service.core.errors import Unavailable
from graph_service.core.state_cache import StateCache
from graph_service.linked_data import browse_routes, changes, dataset, entities, home
from graph_service.settings import Settings
from graph_service.sparql import (
    graph_store,
    protocol,
    queries,
    query_view_routes,
    search,
    update,
)
from graph_service.sparql.fast_path import SparqlFastPath
from graph_service.store import Store, open_store
from graph_service.store.loading import load_content, store_is_empty
from graph_service.validation import routes as validation_routes
from graph_service.validation import submissions
from graph_service.validation.pool import ValidationCollector
from graph_service.validation.reports import on_not_conforming
from graph_service.validation.shacl import NotConforming
from graph_service.web import api_docs, health, openapi
from graph_service.web.access_log import AccessLog
from graph_service.web.caching import CachingMiddleware, Validators
from graph_service.web.cors import ReadOnlyCORS
from graph_service.web.errors import install_error_handlers
from graph_service.web.forwarding import WriteForwarding
from graph_service.web.health import StoreCheck
from graph_service.web.limits import BodySizeLimit
from graph_service.web.metrics import Metrics, MetricsMiddleware
from graph_service.web.metrics import router as metrics_router
from graph_service.web.security_headers import SecurityHeaders
from graph_service.web.streaming import size_thread_pools

log = logging.getLogger(__name__)

DESCRIPTION = """smartby serves a linked-data knowledge graph of Norwegian smart-city practice:
the conversation series *Smarte og bærekraftige lokalsamfunn* (2021), the eight principles of
the national roadmap, the municipal projects, municipalities, people and organisations.
"""


def prepare_store(store: Store, settings: Settings) -> None:
    """On an empty store, load ontology/ and data/ first (the fresh-clone path)."""
    if store_is_empty(store, settings):
        loaded = load_content(store, settings)
        log.info("loaded %d content files into an empty store", len(loaded))


def prepare_when_reachable(
    store: Store, settings: Settings, stop: threading.Event, tried: threading.Event,
    prepared: threading.Event,
) -> None:
    """Prepare the store, trying again every `startup_retry` seconds while it cannot be
    reached: a store that is down at start-up gives a service that starts and answers
    /health 503 until the store is back, never one that does not start."""
    while not stop.is_set():
        try:
            prepare_store(store, settings)
            prepared.set()
            return
        except Unavailable as exc:
            log.warning("the store cannot be reached yet (%s); trying again in %s s",
                        exc.detail, settings.startup_retry)
        finally:
            tried.set()
        stop.wait(settings.startup_retry)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app; it opens (and closes) its own store unless one is handed in."""
    settings = settings or Settings()
    owns_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.stream_limiter = size_thread_pools(settings.request_threads,
                                                      settings.stream_threads)
        stop, tried = threading.Event(), threading.Event()
        preparing: threading.Thread | None = None
        if app.state.store is None:
            app.state.store = open_store(settings)
            preparing = threading.Thread(
                target=prepare_when_reachable,
                args=(app.state.store, settings, stop, tried, app.state.prepared),
                name="smartby-prepare-store", daemon=True)
            preparing.start()
            # A reachable store is ready before the first request; for one that is down only
            # the first try is waited for (the thread keeps trying).
            await anyio.to_thread.run_sync(tried.wait)
            app.state.store_check = StoreCheck(app.state.store, settings.health_interval,
                                              settings.health_stale_after)
        checking = threading.Thread(
            target=app.state.store_check.run, args=(stop, app.state.prepared),
            name="smartby-store-check", daemon=True)
        checking.start()
        try:
            yield
        finally:
            stop.set()
            if preparing is not None:
                preparing.join()
            # A check waiting on a hung store ends with the store's own time limit; shutdown
            # does not wait that long (the thread is a daemon).
            checking.join(timeout=1.0)
            if owns_store and app.state.store is not None:
                app.state.store.close()
                app.state.store = None

    app = SmartbyApp(
        title="smartby",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from the bundle by web/api_docs.py, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.prepared = threading.Event()  # the store is reachable and holds the content
    if store is not None:
        app.state.prepared.set()
        app.state.store_check = StoreCheck(store, settings.health_interval,
                                             settings.health_stale_after)
    app.state.cache = StateCache(settings.cache_entries)
    app.state.validators = Validators()  # ETag/Last-Modified: the stack's and the edge's
    install_error_handlers(app)
    app.add_exception_handler(NotConforming, on_not_conforming)
    if settings.writer:  # inside the body limit: a body too large is refused here first
        app.add_middleware(WriteForwarding, writer=settings.writer,
                           timeout=settings.store_write_timeout)
    app.add_middleware(BodySizeLimit, max_body=settings.max_body)
    app.add_middleware(CachingMiddleware, validators=app.state.validators)
    app.add_middleware(ReadOnlyCORS)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)  # sees every answer of the layers below, with its duration
    if settings.metrics:  # outermost, so it counts what the other layers answer too
        app.state.metrics = Metrics(app)
        app.state.metrics.registry.register(ValidationCollector(
            settings.validation_workers, settings.max_waiting_validations))
        app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
        app.include_router(metrics_router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in (
        health.router,
        protocol.router,
        update.router,
        graph_store.router,
        query_view_routes.router,
        queries.build_router(settings),
        entities.router,
        dataset.router,
        changes.router,
        validation_routes.router,
        submissions.router,
        search.router,
        home.router,
        browse_routes.router,
        api_docs.router,
    ):
        app.include_router(router)
    openapi.install(app)
    app.fast_path = SparqlFastPath(app)
    return app


class SmartbyApp(FastAPI):
    """FastAPI, with the hot path's requests answered before its stack (sparql/fast_path.py,
    web/edge.py): SPARQL queries are most of the traffic, and each layer of the stack cost
    more than the engine's lookup."""

    fast_path: SparqlFastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast_path = self.fast_path
        if scope["type"] == "http" and fast_path is not None and fast_path.takes(scope):
            scope["app"] = self  # as Starlette sets it, for what reads the app's state
            await fast_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
