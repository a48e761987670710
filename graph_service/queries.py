"""Named queries from queries/*.rq (placeholder until the researchers' issue)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from graph_service.errors import BadRequest
from graph_service.settings import Settings

router = APIRouter()


def resolve_cli_query(settings: Settings, query: str, params: tuple[str, ...]) -> str:
    """SPARQL text as given, or read from a .rq file."""
    if params:
        raise BadRequest("Parameters are only for named queries.")
    path = Path(query)
    if query.endswith(".rq") and path.is_file():
        return path.read_text(encoding="utf-8")
    return query
