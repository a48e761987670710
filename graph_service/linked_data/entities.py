"""Dereferenceable entity IRIs (`/id/{kind}/{slug}`), by `Accept` or suffix, in RDF and HTML.

Cool URIs for the Semantic Web https://www.w3.org/TR/cooluris/ (answered 200 directly, with
`Content-Location`); concise bounded description https://www.w3.org/submissions/CBD/
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

import pyoxigraph as ox
import rdflib
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from graph_service.linked_data import jsonld
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.core.errors import NotAcceptable, NotFound
from graph_service.core.media import SUFFIX_TYPES, negotiate, resolve_format
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store

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
LABEL_PREDICATES = [
    "https://schema.org/name",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
    "http://xmlns.com/foaf/0.1/name",
    # Last resorts for nodes without a name: a participation's position, an identifier's code.
    "https://schema.org/namedPosition",
    "http://www.w3.org/2004/02/skos/core#notation",
]
_LABELS = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
DEFINED_BY = rdflib.RDFS.isDefinedBy
DCT = "http://purl.org/dc/terms/"

# -- reading the store ---------------------------------------------------------------------


def construct(store: Store, settings: Settings, sparql: str) -> rdflib.Graph:
    """Run a CONSTRUCT in the store's engine and parse its N-Triples (works on any backend)."""
    result = store.query(
        QueryRequest(sparql, graph_type="application/n-triples", timeout=settings.query_timeout)
    )
    graph = rdflib.Graph()
    bind_prefixes(graph, settings)
    graph.parse(data=result.read().decode("utf-8"), format="nt")
    return graph


def select(store: Store, settings: Settings, sparql: str) -> list[dict[str, Any]]:
    """Run a SELECT; each row maps a variable to its SPARQL JSON term (`type`, `value`, …)."""
    result = store.query(QueryRequest(sparql, timeout=settings.query_timeout))
    rows: list[dict[str, Any]] = json.loads(result.read())["results"]["bindings"]
    return rows


def bind_prefixes(graph: rdflib.Graph, settings: Settings) -> None:
    for prefix, namespace in jsonld.PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    graph.bind("kg", settings.base_iri + "ontology#", override=True, replace=True)


def describe_query(iri: str) -> str:
    """The CBD (blank nodes followed two levels) and the document's hash IRIs (`{iri}#x`), labels
    of linked things, incoming links with their subjects' labels, and the named graphs the
    statements come from with their source."""
    e = f"<{iri}>"
    labels = f"VALUES ?lp {{ {_LABELS} }}"
    return f"""
CONSTRUCT {{
  ?s ?p ?o . ?x ?lp ?label . ?g ?gp ?go . {e} <{DEFINED_BY}> ?g . ?src ?lp ?srcLabel .
}} WHERE {{
  {{ BIND({e} AS ?s) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?b . FILTER(isBlank(?b)) ?b ?p2 ?s . FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ {e} ?p1 ?x . FILTER(isIRI(?x)) {labels} ?x ?lp ?label }}
  UNION {{ ?s ?p {e} . BIND({e} AS ?o) }}
  UNION {{ ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{iri}#")) }}
  UNION {{ ?x ?p1 {e} . {labels} ?x ?lp ?label }}
  UNION {{ {e} ?x ?o1 . {labels} ?x ?lp ?label }}
  UNION {{ ?s1 ?x {e} . {labels} ?x ?lp ?label }}
  UNION {{ {{ SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ {e} ?p1 ?o1 }} }} }}
           OPTIONAL {{ VALUES ?gp {{ <{DCT}source> <{DCT}title> }} ?g ?gp ?go }}
           OPTIONAL {{ ?g <{DCT}source> ?src . {labels} ?src ?lp ?srcLabel }} }}
}}"""


class _DescriptionCache:
    """Descriptions by (store state, IRI): a page is built from one fetch per state."""

    def __init__(self, size: int = 512) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], rdflib.Graph] = OrderedDict()
        self._size = size

    def get(self, key: tuple[str, str]) -> rdflib.Graph | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str], graph: rdflib.Graph) -> None:
        with self._lock:
            self._items[key] = graph
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_cache = _DescriptionCache()


def _not_found(iri: str) -> NotFound:
    return NotFound(
        f"Ingen ressurs med IRI {iri} i grafen. / No resource with IRI {iri} in the graph."
    )


def describe_resource(store: Store, settings: Settings, iri: str) -> rdflib.Graph:
    """The entity's description; 404 when the graph does not mention the IRI at all."""
    try:  # the IRI goes into SPARQL text: only a valid one (no `>`, `"`, spaces …) may
        ox.NamedNode(iri)
    except ValueError:
        raise _not_found(iri) from None
    key = (store.state(), iri)
    graph = _cache.get(key)
    if graph is None:
        graph = construct(store, settings, describe_query(iri))
        _cache.put(key, graph)
    node = rdflib.URIRef(iri)
    if (node, None, None) not in graph and (None, None, node) not in graph:
        raise _not_found(iri)
    return graph


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
    accept = request.headers.get("accept", "")
    for name in ("framed", "expanded", "compacted"):
        if asked == name or f"json-ld#{name}" in accept:
            return name
    return "compacted"


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
        raise NotFound(f"Ukjent format «.{ext}». / Unknown format «.{ext}».")
    return stem, media_type


def entity_response(request: Request, store: Store, settings: Settings, path: str) -> Response:
    """The whole dereferencing answer for one canonical path (`/id/kind/slug[.ext]`)."""
    from graph_service.linked_data.entity_page import render_entity

    kind, _, slug = path.removeprefix("/id/").partition("/")
    slug, by_suffix = split_suffix(slug)
    media_type = by_suffix or negotiate(request.headers.get("accept"), ENTITY_TYPES)
    base_path = f"/id/{kind}/{slug}"
    iri = settings.id_base + f"{kind}/{slug}"
    graph = describe_resource(store, settings, iri)
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
    kind: str, slug: str, request: Request, store: StoreDep, settings: SettingsDep
) -> Response:
    """One entity: Turtle, HTML, JSON-LD, N-Triples or RDF/XML by `Accept` or by suffix."""
    return await run_in_threadpool(
        entity_response, request, store, settings, f"/id/{kind}/{slug}"
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
    from graph_service.web.html import choose_language, render_page
    from graph_service.linked_data.vocabulary_page import ontology_context, shapes_context

    asked = request.query_params.get("format")
    if asked:  # a suffix or a `format=` name as on /sparql; anything else is not offered
        media_type = SUFFIX_TYPES.get(f".{asked.strip().lower()}") or resolve_format(asked)
        if media_type not in VOCABULARY_TYPES:
            raise NotAcceptable(f"Ukjent format «{asked}». / Unknown format «{asked}»; "
                                f"offered: {', '.join(VOCABULARY_TYPES)}.")
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
