"""`/search`: Norwegian full-text search over the entities, JSON or an HTML page.

The work is in `search_index` and `search_sync`; this module checks the parameters (400 for
anything out of range), brings the index up to date with the store, and renders the hits.
Here `lang` filters the results by language, so the page language is chosen by `?ui=`, the
`lang` cookie or Accept-Language (the page's language link sets `ui` and keeps `q`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import InvalidRequest, say
from graph_service.core.identifiers import KINDS, path_for_iri
from graph_service.core.media import negotiate
from graph_service.settings import Settings
from graph_service.sparql.search_documents import LANGUAGES
from graph_service.sparql.search_index import MAX_LIMIT, Hit, SearchIndex, shared_search_index
from graph_service.sparql.search_sync import sync
from graph_service.store import Store
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import choose_language, render_page

MAX_QUERY = 500
DEFAULT_LIMIT = 10
PAGE_LANGUAGE = ""  # `lang` filters results here: the page language comes by `ui` only


def check_query(q: str | None) -> str:
    text = (q or "").strip()
    if not text:
        raise InvalidRequest(say("Missing or empty 'q': say what to search for.",
                                 "'q' mangler eller er tom: skriv hva du vil søke etter.",
                                 "'q' manglar eller er tom: skriv kva du vil søkje etter."))
    if len(text) > MAX_QUERY:
        raise InvalidRequest(say(f"'q' is longer than {MAX_QUERY} characters.",
                                 f"'q' er lengre enn {MAX_QUERY} tegn.",
                                 f"'q' er lengre enn {MAX_QUERY} teikn."))
    return text


def check_kind(kind: str | None) -> str | None:
    if kind in (None, ""):
        return None
    if kind not in KINDS:
        known = ", ".join(KINDS)
        raise InvalidRequest(say(f"Unknown kind {kind!r}; use one of {known}.",
                                 f"Ukjent slag {kind!r}; bruk et av {known}.",
                                 f"Ukjend slag {kind!r}; bruk eitt av {known}."))
    return kind


def check_lang(lang: str | None) -> str | None:
    if lang in (None, ""):
        return None
    if lang not in LANGUAGES:
        raise InvalidRequest(say(f"'lang' must be nb, nn or en, not {lang!r}.",
                                 f"'lang' må være nb, nn eller en, ikke {lang!r}.",
                                 f"'lang' må vere nb, nn eller en, ikkje {lang!r}."))
    return lang


def check_limit(limit: str | None) -> int:
    if limit in (None, ""):
        return DEFAULT_LIMIT
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidRequest(say(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.",
                                 f"'limit' må være et heltall fra 1 til {MAX_LIMIT}.",
                                 f"'limit' må vere eit heiltal frå 1 til {MAX_LIMIT}."))
    return int(limit)


def search_now(index: SearchIndex, store: Store, settings: Settings, q: str,
               kind: str | None, lang: str | None, limit: int) -> list[Hit]:
    """Catch up with the store, then search (so a write a moment ago, on any replica, is
    found)."""
    sync(index, store, settings)
    return index.search(q, kind=kind, lang=lang, limit=limit)


def _segments(hit: Hit) -> list[tuple[str, bool]]:
    """The snippet cut into (text, highlighted) pieces for the page (escaped by Jinja)."""
    pieces, at = [], 0
    for start, end in hit.highlights:
        if start > at:
            pieces.append((hit.snippet[at:start], False))
        pieces.append((hit.snippet[start:end], True))
        at = end
    if at < len(hit.snippet):
        pieces.append((hit.snippet[at:], False))
    return pieces


def _page(request: Request, settings: Settings, q: str, kind: str | None, lang: str | None,
          hits: list[Hit]) -> Response:
    page_lang = choose_language(request, PAGE_LANGUAGE)
    results: list[dict[str, Any]] = [
        {**hit.as_json(), "href": path_for_iri(settings.base_iri, hit.iri) or hit.iri,
         "segments": _segments(hit),
         "kind_name": _kind_name(hit.kind, page_lang)}
        for hit in hits
    ]
    return render_page(request, "search.html", {
        "query": q, "kind": kind or "", "search_lang": lang or "", "results": results,
        "kinds": [(k, _kind_name(k, page_lang)) for k in KINDS],
    }, language_parameter=PAGE_LANGUAGE)


def _kind_name(kind: str, lang: str) -> str:
    names = KINDS.get(kind)
    return kind if names is None else names.name(lang)


router = APIRouter(tags=["search"])


@router.get("/search")
async def search(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Norwegian full-text search: `q`, optional `kind`, `lang` (nb|nn|en: results in that
    language), `limit` (1–100); for a browser the page language is `ui` (nb|nn|en)."""
    params = request.query_params
    q = check_query(params.get("q"))
    kind, lang = check_kind(params.get("kind")), check_lang(params.get("lang"))
    limit = check_limit(params.get("limit"))
    index = shared_search_index(settings)
    hits = await run_in_threadpool(search_now, index, store, settings, q, kind, lang, limit)
    if negotiate(request.headers.get("accept"), ["application/json", "text/html"]) == (
        "text/html"
    ):
        return _page(request, settings, q, kind, lang, hits)
    return JSONResponse({"query": q, "results": [hit.as_json() for hit in hits]},
                        headers={"Vary": "Accept"})
