"""`/browse`: facets over projects, people and sessions, as HTML or JSON by `Accept`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.media import negotiate
from graph_service.linked_data.browse import browse, parse_state
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import LANGUAGES, choose_language, render_page

# Names on the page, in bokmål, nynorsk and English.
NAMES = {
    "project": ("Prosjekter", "Prosjekt", "Projects"),
    "person": ("Personer", "Personar", "People"),
    "session": ("Samtaler", "Samtalar", "Sessions"),
    "principle": ("Prinsipp", "Prinsipp", "Principle"),
    "municipality": ("Kommune", "Kommune", "Municipality"),
    "county": ("Fylke", "Fylke", "County"),
    "year": ("År", "År", "Year"),
    "status": ("Status", "Status", "Status"),
    "role": ("Rolle", "Rolle", "Role"),
}

router = APIRouter(tags=["html"])


@router.get("/browse")
@router.head("/browse", include_in_schema=False)
async def browse_facets(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Projects, people or sessions filtered by facets, with counts and the SPARQL behind them."""
    state = parse_state(list(request.query_params.multi_items()), settings)
    media_type = negotiate(request.headers.get("accept"), ["application/json", "text/html"])
    lang = choose_language(request)
    result = await run_in_threadpool(browse, store, settings, state, lang)
    if media_type == "application/json":
        return JSONResponse(result, headers={"Vary": "Accept"})
    column = LANGUAGES.index(lang)
    names = {key: (nb, nn, en)[column] for key, (nb, nn, en) in NAMES.items()}
    return render_page(request, "browse.html",
                       {**result, "names": names},
                       headers={"Vary": "Accept"})
