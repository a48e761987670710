"""`/health`: liveness and store reachability."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from graph_service import __version__
from graph_service.core.errors import Unavailable
from graph_service.web.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
def read_health(request: Request, store: StoreDep) -> JSONResponse:
    """Status, store kind and quad count; 503 while the store cannot be reached or is still
    being prepared (the curated content loaded into an empty store)."""
    if not request.app.state.prepared.is_set():
        return JSONResponse({"status": "starting", "store": store.kind,
                             "detail": "The store is not reachable yet. / Lageret kan ikke nås "
                             "ennå. / Lageret kan ikkje nåast enno."}, status_code=503)
    try:
        quads = store.quad_count()
    except Unavailable as exc:
        return JSONResponse(
            {"status": "unavailable", "store": store.kind, "detail": exc.detail}, status_code=503
        )
    return JSONResponse(
        {"status": "ok", "store": store.kind, "quads": quads, "version": __version__}
    )
