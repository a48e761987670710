"""`/health`: liveness and store reachability."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from graph_service import __version__
from graph_service.core.errors import Unavailable
from graph_service.web.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/health")
def read_health(store: StoreDep) -> JSONResponse:
    """Status, store kind and quad count; 503 when the store cannot be reached."""
    try:
        quads = store.quad_count()
    except Unavailable as exc:
        return JSONResponse(
            {"status": "unavailable", "store": store.kind, "detail": exc.detail}, status_code=503
        )
    return JSONResponse(
        {"status": "ok", "store": store.kind, "quads": quads, "version": __version__}
    )
