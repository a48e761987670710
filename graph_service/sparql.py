"""`/sparql`: the SPARQL 1.1 Protocol query endpoint. https://www.w3.org/TR/sparql11-protocol/"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from graph_service.deps import SettingsDep, StoreDep
from graph_service.errors import BadRequest
from graph_service.media import GRAPH_TYPES, RESULTS_TYPES, preferred
from graph_service.store import QueryRequest

router = APIRouter(tags=["sparql"])


@router.api_route("/sparql", methods=["GET", "POST"])
async def run_query(request: Request, store: StoreDep, settings: SettingsDep) -> StreamingResponse:
    """Run a SPARQL query (GET `query=`, form POST, or `application/sparql-query` body)."""
    query = request.query_params.get("query")
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/sparql-query"):
            query = (await request.body()).decode("utf-8")
        else:
            form = await request.form()
            value = form.get("query")
            query = value if isinstance(value, str) else None
    if not query:
        raise BadRequest("Missing the 'query' parameter.")
    accept = request.headers.get("accept")
    result = await run_in_threadpool(
        store.query,
        QueryRequest(
            query=query,
            results_type=preferred(accept, list(RESULTS_TYPES)),
            graph_type=preferred(accept, list(GRAPH_TYPES)),
            timeout=settings.query_timeout,
        ),
    )
    return StreamingResponse(result.chunks, media_type=result.media_type)
