"""The drawn answer of a ready query: `/queries/{name}` for browsers and its `/embed` fragment."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import NotFound, say
from graph_service.settings import Settings
from graph_service.sparql.catalogue import NamedQuery, bind_parameters, catalogue_for
from graph_service.sparql.query_views import run_for_view, view_context
from graph_service.store import Store
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import choose_language, render_page

# Nothing in these pages is fetched from elsewhere, and the fragment may sit in any frame.
PAGE_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'"
EMBED_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"


def _values(request: Request) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    return values


async def _context(
    request: Request, store: Store, settings: Settings, named: NamedQuery, text: str
) -> dict:
    answer = await run_in_threadpool(run_for_view, store, settings, text)
    lang = choose_language(request)
    context = view_context(named, answer, text, _values(request), settings, lang)
    return context


async def answer_with_page(
    request: Request, store: Store, settings: Settings, named: NamedQuery, text: str
) -> Response:
    """The page a browser gets for a ready query: the view, the table, the downloads."""
    context = await _context(request, store, settings, named, text)
    return render_page(request, "query_view.html", context,
                       headers={"Vary": "Accept", "Content-Security-Policy": PAGE_POLICY})


router = APIRouter(tags=["queries"])


@router.get("/queries/{name}/embed", response_class=HTMLResponse)
@router.head("/queries/{name}/embed", include_in_schema=False)
async def embed_named_query(
    name: str, request: Request, store: StoreDep, settings: SettingsDep
) -> Response:
    """The ready query's default view alone, as an HTML fragment page for an `<iframe>`."""
    named = catalogue_for(settings).get(name)
    if named is None:
        raise NotFound(say(f"No query named {name!r}.", f"Ingen spørring heter {name!r}.",
                            f"Inga spørjing heiter {name!r}."))
    text = bind_parameters(named, _values(request))
    context = await _context(request, store, settings, named, text)
    return render_page(request, "query_embed.html", context,
                       headers={"Content-Security-Policy": EMBED_POLICY})
