"""`/sparql`: the SPARQL 1.1 Protocol query operation. https://www.w3.org/TR/sparql11-protocol/"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import InvalidRequest, NoAcceptableFormat, UnsupportedFormat, say
from graph_service.core.media import (
    GRAPH_TYPES,
    RESULTS_TYPES,
    base_media_type,
    preferred,
    resolve_format,
)
from graph_service.core.sparql_text import refuse_remote_fetches
from graph_service.settings import Settings
from graph_service.sparql.catalogue import editor_entries
from graph_service.sparql.search_service import answer_search_services, uses_search
from graph_service.sparql.service_description import describe_service
from graph_service.store import QueryRequest, Store
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import render_page
from graph_service.web.streaming import answer_bounded, spooled_response
from graph_service.web.streaming import run_query as run_spooled

HTML = "text/html"
# Media types clients send for the same thing under another name.
RESULTS_ALIASES = {"application/json": "application/sparql-results+json",
                   "application/xml": "application/sparql-results+xml",
                   "text/xml": "application/sparql-results+xml"}
GRAPH_ALIASES = {"application/json": "application/ld+json", "text/plain": "application/n-triples",
                 "application/x-turtle": "text/turtle", "application/xml": "application/rdf+xml"}
EITHER_FORM = {"json": ("application/sparql-results+json", "application/ld+json"),
               "xml": ("application/sparql-results+xml", "application/rdf+xml")}
_PREFIX_LINE = re.compile(r"@prefix\s+([A-Za-z][\w.-]*)?:\s*<([^>\s]+)>", re.I)
COMMON_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "https://schema.org/",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
    "sh": "http://www.w3.org/ns/shacl#",
}


@dataclass(frozen=True)
class ProtocolRequest:
    """The protocol parameters of one request, wherever they came from."""

    query: str | None
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    format: str | None = None


def check_parameters(pairs: Sequence[tuple[str, str]], body_query: str | None = None) -> (
    ProtocolRequest
):
    """Apply the protocol's rules: one query, no update, dataset IRIs as given (repeatable)."""
    queries = [v for k, v in pairs if k == "query"]
    if body_query is not None:
        queries.append(body_query)
    if any(k in ("update", "using-graph-uri", "using-named-graph-uri") for k, _ in pairs):
        raise InvalidRequest(
            say("The query endpoint does not run updates; send SPARQL Update to /update.",
                "Spørreendepunktet kjører ikke oppdateringer; send SPARQL Update til /update.",
                "Spørjeendepunktet køyrer ikkje oppdateringar; send SPARQL Update til "
                "/update.")
        )
    if len(queries) > 1:
        raise InvalidRequest(say("Exactly one query per request, got several.",
                                 "Nøyaktig én spørring per forespørsel.",
                                 "Nøyaktig éi spørjing per førespurnad."))
    formats = [v for k, v in pairs if k == "format" and v]
    return ProtocolRequest(
        query=queries[0] if queries else None,
        default_graph_uris=tuple(v for k, v in pairs if k == "default-graph-uri"),
        named_graph_uris=tuple(v for k, v in pairs if k == "named-graph-uri"),
        format=formats[0] if formats else None,
    )


def decode_query(body: bytes) -> str:
    """A query sent directly in the body: UTF-8, or 400."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(say(f"The query is not valid UTF-8: {exc}.",
                                 f"Spørringen er ikke gyldig UTF-8: {exc}.",
                                 f"Spørjinga er ikkje gyldig UTF-8: {exc}.")) from exc


async def read_protocol_request(request: Request) -> ProtocolRequest:
    """GET parameters, a form POST, or a direct `application/sparql-query` POST."""
    pairs = list(request.query_params.multi_items())
    if request.method != "POST":
        return check_parameters(pairs)
    content_type = request.headers.get("content-type", "")
    media_type = base_media_type(content_type)
    if media_type == "application/x-www-form-urlencoded":
        form = await request.form()
        pairs += [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        return check_parameters(pairs)
    if media_type == "application/sparql-query":
        charset = re.search(r"charset\s*=\s*\"?([\w-]+)", content_type, re.I)
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise UnsupportedFormat(say("A direct POST query must be UTF-8.",
                                    "En spørring sendt direkte med POST må være UTF-8.",
                                    "Ei spørjing send direkte med POST må vere UTF-8."))
        return check_parameters(pairs, body_query=decode_query(await request.body()))
    if media_type == "application/sparql-update":
        check_parameters([*pairs, ("update", "")])
    raise UnsupportedFormat(
        say("POST a query as application/x-www-form-urlencoded or application/sparql-query.",
            "Send spørringen som application/x-www-form-urlencoded eller "
            "application/sparql-query.",
            "Send spørjinga som application/x-www-form-urlencoded eller "
            "application/sparql-query.")
    )


def _preferred_with_aliases(
    accept: str | None, canonical: list[str], aliases: dict[str, str]
) -> str | None:
    choice = preferred(accept, canonical + list(aliases))
    return aliases.get(choice, choice) if choice else None


@lru_cache(maxsize=256)
def choose_result_types(accept: str | None, fmt: str | None) -> tuple[str | None, str | None]:
    """(type for SELECT/ASK, type for CONSTRUCT/DESCRIBE); `format=` wins over `Accept`.

    Cached: clients send the same few headers, so the negotiation is done once for each."""
    if fmt:
        key = fmt.strip().lower()
        if key in EITHER_FORM:  # short names clients (e.g. SPARQLWrapper) send for any form
            return EITHER_FORM[key]
        media_type = resolve_format(key)
        results = RESULTS_ALIASES.get(media_type, media_type)
        graph = GRAPH_ALIASES.get(media_type, media_type)
        chosen = (results if results in RESULTS_TYPES else None,
                  graph if graph in GRAPH_TYPES else None)
        if chosen == (None, None):
            raise NoAcceptableFormat(say(f"Unknown result format {fmt!r}.",
                                     f"Ukjent resultatformat {fmt!r}.",
                                     f"Ukjent resultatformat {fmt!r}."))
        return chosen
    results_type = _preferred_with_aliases(accept, list(RESULTS_TYPES), RESULTS_ALIASES)
    graph_type = _preferred_with_aliases(accept, list(GRAPH_TYPES), GRAPH_ALIASES)
    if results_type is None and graph_type is None:
        raise NoAcceptableFormat(
            say("No result format matches the Accept header; SELECT/ASK offer "
                f"{', '.join(RESULTS_TYPES)}; CONSTRUCT/DESCRIBE offer {', '.join(GRAPH_TYPES)}.",
                "Ingen resultatformat passer med Accept-hodet; SELECT/ASK gir "
                f"{', '.join(RESULTS_TYPES)}; CONSTRUCT/DESCRIBE gir {', '.join(GRAPH_TYPES)}.",
                "Inkje resultatformat passar med Accept-hovudet; SELECT/ASK gjev "
                f"{', '.join(RESULTS_TYPES)}; CONSTRUCT/DESCRIBE gjev {', '.join(GRAPH_TYPES)}.")
        )
    return results_type, graph_type


def browser_wants_page(accept: str | None) -> bool:
    """A browser following a link: HTML preferred over every result format."""
    offered = [*RESULTS_TYPES, *GRAPH_TYPES, HTML]
    return bool(accept) and preferred(accept, offered) == HTML


@dataclass(frozen=True)
class QueryPlan:
    """What a query's answer needs besides the engine: the request the engine gets, and
    whether the answer is a download (`format=`: it names a file). A function of the query
    text, its parameters, the Accept header, the endpoint and the settings alone, so the hot
    path keeps it for a request sent again (sparql/fast_path.py)."""

    request: QueryRequest
    download: bool


def plan_query(
    settings: Settings,
    text: str,
    *,
    accept: str | None,
    fmt: str | None = None,
    default_graph_uris: tuple[str, ...] = (),
    named_graph_uris: tuple[str, ...] = (),
    base_iri: str | None = None,
) -> QueryPlan:
    """The plan of a query whose search SERVICE calls are answered already (`answer_query`);
    400 or 406 for one that cannot be run."""
    refuse_remote_fetches(text, allowed=settings.allow_service)
    results_type, graph_type = choose_result_types(accept, fmt)
    request = QueryRequest(
        query=text,
        results_type=results_type,
        graph_type=graph_type,
        default_graph_uris=default_graph_uris,
        named_graph_uris=named_graph_uris,
        timeout=settings.query_timeout,
        row_limit=settings.row_limit,
        base_iri=base_iri,
    )
    return QueryPlan(request, bool(fmt))


_VARY = ((b"vary", b"Accept"),)
_EXTENSIONS = {"text/csv": "csv", "text/tab-separated-values": "tsv",
               "application/sparql-results+json": "json",
               "application/sparql-results+xml": "xml", "text/turtle": "ttl",
               "application/ld+json": "jsonld", "application/n-triples": "nt",
               "application/rdf+xml": "rdf"}
# A download's headers, per media type of the answer: the file is named after it.
_DOWNLOAD = {media_type: (*_VARY, (b"content-disposition",
                                   f'inline; filename="results.{extension}"'.encode()))
             for media_type, extension in _EXTENSIONS.items()}


async def answer_plan(store: Store, plan: QueryPlan, limiter: anyio.CapacityLimiter
                      ) -> Response:
    """Run a planned query and send the engine's serialised result: one thread hop, one plain
    response unless the result is large."""
    # A lookup is answered here, without the coroutine and the hop (any other query is
    # looked at once more by run_spooled: microseconds, before milliseconds of evaluation).
    result = answer_bounded(store, plan.request)
    if result is None:
        result = await run_spooled(store, plan.request)
    return spooled_response(result, _DOWNLOAD[result.media_type] if plan.download else _VARY,
                            limiter)


async def with_searches(text: str, store: Store, settings: Settings) -> str:
    """The query with its calls of our search service (SERVICE <{base}search>) answered: the
    same text when it makes none (the same object, so a caller can tell)."""
    if not uses_search(text, settings.base_iri):
        return text
    searched: str = await run_in_threadpool(answer_search_services, text, store, settings)
    return searched


async def answer_query(
    store: Store,
    settings: Settings,
    text: str,
    *,
    limiter: anyio.CapacityLimiter,
    accept: str | None,
    fmt: str | None = None,
    default_graph_uris: tuple[str, ...] = (),
    named_graph_uris: tuple[str, ...] = (),
    base_iri: str | None = None,
) -> Response:
    """Run a query and send the engine's serialised result (shared with /queries)."""
    plan = plan_query(settings, await with_searches(text, store, settings), accept=accept,
                      fmt=fmt, default_graph_uris=default_graph_uris,
                      named_graph_uris=named_graph_uris, base_iri=base_iri)
    return await answer_plan(store, plan, limiter)


def local_prefixes(settings: Settings) -> dict[str, str]:
    """Prefixes declared in the content's Turtle files, for the editor's completion."""
    found = dict(COMMON_PREFIXES)
    for folder in ("ontology", "data"):
        for path in sorted(Path(settings.content_dir, folder).glob("*.ttl")):
            for name, iri in _PREFIX_LINE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name or "kg", iri)
    return dict(sorted(found.items()))


def render_editor(request: Request, settings: Settings, query: str | None) -> Response:
    return render_page(
        request,
        "sparql.html",
        {"query": query or "", "entries": editor_entries(settings),
         "endpoint": str(request.url_for("run_query"))},
    )


router = APIRouter(tags=["sparql"])


@router.get("/sparql/prefixes.json", include_in_schema=False)
def read_prefixes(settings: SettingsDep) -> JSONResponse:
    """The prefixes of the graph (used by the editor instead of a remote prefix service)."""
    return JSONResponse(local_prefixes(settings))


async def _handle(request: Request, store: Store, settings: Settings) -> Response:
    protocol = await read_protocol_request(request)
    accept = request.headers.get("accept")
    if protocol.query is None:
        if request.method != "POST" and not protocol.format:
            choice = preferred(accept, [*GRAPH_TYPES, HTML])
            if choice == HTML:
                return render_editor(request, settings, None)
            if choice is not None:
                body = await run_in_threadpool(
                    describe_service, store, settings, str(request.url_for("run_query")), choice
                )
                return Response(body, media_type=choice, headers={"Vary": "Accept"})
        raise InvalidRequest(say("Missing the 'query' parameter.", "Parameteren 'query' mangler.",
                                 "Parameteren 'query' manglar."))
    if not protocol.query.strip():
        raise InvalidRequest(say("The query is empty.", "Spørringen er tom.", "Spørjinga er tom."))
    if request.method != "POST" and not protocol.format and browser_wants_page(accept):
        return render_editor(request, settings, protocol.query)  # a shared link
    return await answer_query(
        store, settings, protocol.query, limiter=request.app.state.stream_limiter,
        accept=accept, fmt=protocol.format,
        default_graph_uris=protocol.default_graph_uris,
        named_graph_uris=protocol.named_graph_uris,
        base_iri=str(request.url_for("run_query")),
    )


@router.get("/sparql")
@router.head("/sparql", include_in_schema=False)
async def run_query(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Run a SPARQL query given as `query=`; without one: the editor or the service description."""
    return await _handle(request, store, settings)


@router.post("/sparql")
async def run_posted_query(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """Run a SPARQL query sent as a form (`query=`) or as an `application/sparql-query` body."""
    return await _handle(request, store, settings)
