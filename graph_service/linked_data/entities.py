"""Dereferenceable entity IRIs (`/id/{kind}/{slug}`), by `Accept` or suffix, in RDF and HTML.

Cool URIs for the Semantic Web https://www.w3.org/TR/cooluris/ (answered 200 directly, with
`Content-Location`); concise bounded description https://www.w3.org/submissions/CBD/
"""

from __future__ import annotations

import json
from typing import Any

import rdflib
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from graph_service.core.errors import NoAcceptableFormat, NotFound, say
from graph_service.core.media import SUFFIX_TYPES, negotiate, resolve_format
from graph_service.core.state_cache import StateCache
from graph_service.linked_data import jsonld
from graph_service.linked_data.describe import (
    construct,
    describe_resource,
)
from graph_service.linked_data.entity_page import render_entity
from graph_service.linked_data.vocabulary_page import ontology_context, shapes_context
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.web.deps import CacheDep, SettingsDep, StoreDep
from graph_service.web.html import choose_language, render_page

# Offered in this order: Turtle is what `curl` (`*/*`) gets; browsers ask for HTML.
ENTITY_TYPES = [
    "text/turtle",
    "text/html",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
]
ENTITY_SUFFIXES = {s: t for s, t in SUFFIX_TYPES.items() if t in ENTITY_TYPES}
SUFFIX_FOR = {t: s for s, t in ENTITY_SUFFIXES.items()}
RDFLIB_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/rdf+xml": "xml",
}
def serialize(graph: rdflib.Graph, media_type: str, settings: Settings, iri: str,
              profile: str = "compacted") -> bytes:
    """One RDF form of a description; JSON-LD is compacted with the context embedded."""
    if media_type == "application/ld+json":
        if profile == "expanded":
            document: Any = jsonld.expanded(graph)
        elif profile == "framed":
            document = jsonld.framed_project(graph, settings.base_iri, iri)
        else:
            document = jsonld.compacted(graph, settings.base_iri)
        return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    return graph.serialize(format=RDFLIB_FORMATS[media_type], encoding="utf-8")


def jsonld_profile(request: Request) -> str:
    """`?profile=` or the JSON-LD `profile` media-type parameter (RFC 6839, JSON-LD §9)."""
    asked = request.query_params.get("profile", "")
    if asked in jsonld.PROFILES:
        return asked
    return jsonld.profile_from_accept(request.headers.get("accept")) or "compacted"


# -- responses -------------------------------------------------------------------------------


def alternate_links(path: str, current: str | None) -> str:
    """`Link` header value naming each other form of the resource."""
    return ", ".join(
        f'<{path}{suffix}>; rel="alternate"; type="{media_type}"'
        for suffix, media_type in ENTITY_SUFFIXES.items()
        if media_type != current
    )


def rdf_response(
    request: Request, body: bytes, media_type: str, headers: dict[str, str]
) -> Response:
    """200 with the body, or for HEAD the same headers and no body."""
    charset = "; charset=utf-8" if media_type.startswith("text/") else ""
    if request.method == "HEAD":
        headers = dict(headers, **{"content-length": str(len(body))})
        return Response(b"", headers=headers, media_type=media_type + charset)
    return Response(body, headers=headers, media_type=media_type + charset)


def split_suffix(slug: str) -> tuple[str, str | None]:
    """`x.ttl` → (`x`, `text/turtle`); a slug never holds a dot, so an unknown suffix is 404."""
    stem, dot, ext = slug.rpartition(".")
    if not dot:
        return slug, None
    media_type = ENTITY_SUFFIXES.get("." + ext)
    if media_type is None:
        raise NotFound(say(f"Unknown format «.{ext}».", f"Ukjent format «.{ext}».",
                        f"Ukjent format «.{ext}»."))
    return stem, media_type


def entity_response(
    request: Request, store: Store, settings: Settings, cache: StateCache, path: str
) -> Response:
    """The whole dereferencing answer for one canonical path (`/id/kind/slug[.ext]`)."""
    kind, _, slug = path.removeprefix("/id/").partition("/")
    slug, by_suffix = split_suffix(slug)
    media_type = by_suffix or negotiate(request.headers.get("accept"), ENTITY_TYPES)
    base_path = f"/id/{kind}/{slug}"
    iri = settings.id_base + f"{kind}/{slug}"
    graph = describe_resource(store, settings, iri, cache)
    headers = {
        "Content-Location": base_path + SUFFIX_FOR[media_type],
        "Link": alternate_links(base_path, media_type),
        # JSON-LD by suffix still picks its profile (compacted, expanded, framed) from Accept.
        "Vary": "Accept-Language" if by_suffix and by_suffix != "application/ld+json"
        else "Accept, Accept-Language",
    }
    if media_type == "text/html":
        page = render_entity(request, settings, graph, iri, base_path)
        body = page.body
        return rdf_response(request, bytes(body), "text/html", headers | _cookies(page))
    body = serialize(graph, media_type, settings, iri, jsonld_profile(request))
    return rdf_response(request, body, media_type, headers)


def _cookies(page: Response) -> dict[str, str]:
    cookie = page.headers.get("set-cookie")
    return {"set-cookie": cookie} if cookie else {}


router = APIRouter(tags=["linked data"])


@router.get("/id/{kind}/{slug}")
@router.head("/id/{kind}/{slug}", include_in_schema=False)
async def get_entity(
    kind: str, slug: str, request: Request, store: StoreDep, settings: SettingsDep,
    cache: CacheDep,
) -> Response:
    """One entity: Turtle, HTML, JSON-LD, N-Triples or RDF/XML by `Accept` or by suffix."""
    return await run_in_threadpool(
        entity_response, request, store, settings, cache, f"/id/{kind}/{slug}"
    )


@router.get(jsonld.CONTEXT_PATH, include_in_schema=True)
@router.head(jsonld.CONTEXT_PATH, include_in_schema=False)
def get_context(settings: SettingsDep) -> Response:
    """The stable JSON-LD `@context` (short names for the terms the graph uses)."""
    body = json.dumps(jsonld.context_document(settings.base_iri), ensure_ascii=False, indent=2)
    return Response(body.encode("utf-8"), media_type="application/ld+json")


# -- the vocabulary and the shapes -------------------------------------------------------------

VOCABULARY_TYPES = [*RDFLIB_FORMATS, "application/ld+json", "text/html"]
VOCABULARY_GRAPHS = {"ontology": ("smartby", "principles"), "shapes": ("shapes",)}


def vocabulary_graph(store: Store, settings: Settings, which: str) -> rdflib.Graph:
    """The ontology (with the principles) or the shapes, from their named graphs."""
    names = " ".join(f"<{settings.graph_base}{n}>" for n in VOCABULARY_GRAPHS[which])
    return construct(store, settings, f"""
CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ ?s ?p ?o }} }}""")


def vocabulary_response(request: Request, store: Store, settings: Settings, which: str) -> Response:
    asked = request.query_params.get("format")
    if asked:  # a suffix or a `format=` name as on /sparql; anything else is not offered
        media_type = SUFFIX_TYPES.get(f".{asked.strip().lower()}") or resolve_format(asked)
        if media_type not in VOCABULARY_TYPES:
            raise NoAcceptableFormat(say(
            f"Unknown format «{asked}»; offered: {', '.join(VOCABULARY_TYPES)}.",
            f"Ukjent format «{asked}»; tilbys: {', '.join(VOCABULARY_TYPES)}.",
            f"Ukjent format «{asked}»; blir tilbode: {', '.join(VOCABULARY_TYPES)}."))
    else:
        media_type = negotiate(request.headers.get("accept"), VOCABULARY_TYPES)
    graph = vocabulary_graph(store, settings, which)
    headers = {"Vary": "Accept, Accept-Language"}
    if media_type == "text/html":
        build = ontology_context if which == "ontology" else shapes_context
        context = build(graph, settings, choose_language(request))
        return render_page(request, f"{which}.html", context, headers=headers)
    body = serialize(graph, media_type, settings, "")
    return rdf_response(request, body, media_type, headers)


@router.get("/ontology")
@router.head("/ontology", include_in_schema=False)
async def get_ontology(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """The vocabulary and the principles: HTML documentation, or RDF by `Accept`."""
    return await run_in_threadpool(vocabulary_response, request, store, settings, "ontology")


@router.get("/shapes")
@router.head("/shapes", include_in_schema=False)
async def get_shapes(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """The SHACL shapes: HTML documentation (what constrains what), or RDF by `Accept`."""
    return await run_in_threadpool(vocabulary_response, request, store, settings, "shapes")
