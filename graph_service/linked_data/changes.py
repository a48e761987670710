"""`/changes`: the change log as a Linked Data Event Stream (LDES 1.0) over TREE pages.

https://w3id.org/ldes/specification · https://w3id.org/tree/specification

Shape of the stream, chosen for the reference client `ldes-client` (rdf-connect): with saved
state it skips a page it once saw as immutable *and everything reachable only through it*, and a
one-shot run starts again from the view. So the view (`/changes`) is a mutable root node with one
`tree:relation` to every page (each page has exactly one parent, so no page is fetched twice in
a run); pages are chronological, bounded by `tree:GreaterThanOrEqualToRelation` and, once full,
`tree:LessThanOrEqualToRelation` on `as:published`. A full page never changes again and is served
`immutable` with an ETag of its bytes; the root and the newest page are `no-cache` with the
store-state ETag (CachingMiddleware). Page URLs carry the page size, so a new size never gives an
old immutable URL new content.
"""

from __future__ import annotations

import hashlib
import threading

import pyoxigraph as ox
import rdflib
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from graph_service.core.errors import NotFound, say
from graph_service.core.media import DATASET_TYPES, negotiate
from graph_service.settings import Settings
from graph_service.store import Store, changelog
from graph_service.web.deps import SettingsDep, StoreDep

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
DCT = changelog.DCT
XSD = "http://www.w3.org/2001/XMLSchema#"
Triple3 = tuple[rdflib.term.Node, rdflib.term.Node, rdflib.term.Node]
FEED_TYPES = ["text/turtle", "application/trig", "application/n-quads", "application/ld+json"]
PREFIXES = {"ldes": LDES, "tree": TREE, "as": changelog.AS, "dct": DCT, "xsd": XSD,
            "prov": changelog.PROV, "foaf": changelog.FOAF, "owl": changelog.OWL}
TITLES = {"nb": "Endringsstrømmen til smartby", "nn": "Endringsstraumen til smartby",
          "en": "The smartby change feed"}
DESCRIPTIONS = {
    "nb": "Hver endring i kunnskapsgrafen (kuratert graf lastet inn, innsending godtatt eller "
          "trukket tilbake, graf skrevet) som en Linked Data Event Stream (LDES).",
    "nn": "Kvar endring i kunnskapsgrafen (kuratert graf lasta inn, innsending godteken eller "
          "trekt tilbake, graf skriven) som ein Linked Data Event Stream (LDES).",
    "en": "Every change of the knowledge graph (curated graph loaded, submission accepted or "
          "withdrawn, graph written) as a Linked Data Event Stream (LDES).",
}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def feed_url(service: str) -> str:
    return f"{service}/changes"


def page_url(service: str, page_id: str, size: int) -> str:
    return f"{service}/changes/{page_id}?size={size}"


def stream_triples(settings: Settings, service: str) -> list[ox.Triple]:
    """The ldes:EventStream: its paths, its view and its names (also used by VoID and DCAT)."""
    stream = _n(changelog.stream_iri(settings))
    triples = [
        ox.Triple(stream, changelog.RDF_TYPE, _n(LDES + "EventStream")),
        ox.Triple(stream, _n(LDES + "timestampPath"), _n(changelog.PUBLISHED)),
        ox.Triple(stream, _n(LDES + "versionOfPath"), _n(changelog.VERSION_OF)),
        ox.Triple(stream, _n(TREE + "view"), _n(feed_url(service))),
        ox.Triple(stream, _n(DCT + "isPartOf"), _n(changelog.dataset_iri(settings))),
    ]
    for lang in ("nb", "nn", "en"):
        triples.append(ox.Triple(stream, _n(DCT + "title"), ox.Literal(TITLES[lang],
                                                                       language=lang)))
        triples.append(ox.Triple(stream, _n(DCT + "description"),
                                 ox.Literal(DESCRIPTIONS[lang], language=lang)))
    return triples


def _relation(node: str, kind: str, value: ox.Literal) -> list[ox.Triple]:
    relation = ox.BlankNode()
    return [
        ox.Triple(relation, changelog.RDF_TYPE, _n(TREE + kind)),
        ox.Triple(relation, _n(TREE + "node"), _n(node)),
        ox.Triple(relation, _n(TREE + "path"), _n(changelog.PUBLISHED)),
        ox.Triple(relation, _n(TREE + "value"), value),
    ]


def root_triples(settings: Settings, service: str, events: list[changelog.Event]
                 ) -> list[ox.Triple]:
    """The stream and its view: a root node with a relation to every chronological page."""
    root = _n(feed_url(service))
    triples = stream_triples(settings, service)
    triples.append(ox.Triple(root, changelog.RDF_TYPE, _n(TREE + "Node")))
    size = settings.changes_page_size
    for page in changelog.pages(events, size):
        url = page_url(service, page.first.id, size)
        bounds = _relation(url, "GreaterThanOrEqualToRelation",
                           changelog.xsd_datetime(page.first.published))
        if page.full:
            bounds += _relation(url, "LessThanOrEqualToRelation",
                                changelog.xsd_datetime(page.events[-1].published))
        for triple in bounds:
            if triple.predicate == _n(TREE + "node"):
                triples.append(ox.Triple(root, _n(TREE + "relation"), triple.subject))
            triples.append(triple)
    return triples


def page_triples(store: Store, settings: Settings, service: str, page: changelog.Page
                 ) -> list[ox.Triple]:
    """One page: the stream's members on it, in order, with their actors."""
    stream = _n(changelog.stream_iri(settings))
    node = _n(page_url(service, page.first.id, page.size))
    triples = stream_triples(settings, service)
    triples += [ox.Triple(node, changelog.RDF_TYPE, _n(TREE + "Node")),
                ox.Triple(node, _n(DCT + "isPartOf"), stream)]
    triples += [ox.Triple(stream, _n(TREE + "member"), _n(e.iri)) for e in page.events]
    return triples + changelog.event_descriptions(store, settings, page.events)


def serialise(triples: list[ox.Triple], media_type: str) -> bytes:
    """By pyoxigraph: Turtle and JSON-LD as triples, TriG and N-Quads in the default graph."""
    fmt = DATASET_TYPES[media_type]
    by_subject: dict[object, list[ox.Triple]] = {}  # one block per subject in Turtle and TriG
    for triple in triples:
        by_subject.setdefault(triple.subject, []).append(triple)
    triples = [t for group in by_subject.values() for t in group]
    if fmt.supports_datasets and media_type != "application/ld+json":
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
        return ox.serialize(quads, format=fmt, prefixes=PREFIXES) or b""
    return ox.serialize(triples, format=fmt, prefixes=PREFIXES) or b""


# -- responses ----------------------------------------------------------------------------------

_root_cache: dict[tuple[str, str, int], list[changelog.Event]] = {}
_lock = threading.Lock()


def cached_events(store: Store, settings: Settings) -> list[changelog.Event]:
    """Every event, read once per store state (the root lists them all, page by page)."""
    key = (store.state(), changelog.changes_graph(settings), settings.changes_page_size)
    with _lock:
        found = _root_cache.get(key)
    if found is None:
        found = changelog.all_events(store, settings)
        with _lock:
            _root_cache.clear()
            _root_cache[key] = found
    return found


def _service(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _respond(request: Request, body: bytes, media_type: str, headers: dict[str, str]
             ) -> Response:
    charset = "; charset=utf-8" if media_type.startswith("text/") else ""
    if request.method == "HEAD":
        headers = dict(headers, **{"content-length": str(len(body))})
        body = b""
    return Response(body, headers=headers, media_type=media_type + charset)


router = APIRouter(tags=["linked data"])


@router.get("/changes")
@router.head("/changes", include_in_schema=False)
async def get_stream(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """The change feed (LDES): the stream, its view and a relation to every page."""
    media_type = negotiate(request.headers.get("accept"), FEED_TYPES)
    events = await run_in_threadpool(cached_events, store, settings)
    body = serialise(root_triples(settings, _service(request), events), media_type)
    return _respond(request, body, media_type, {"Vary": "Accept"})


@router.get("/changes/{page_id}")
@router.head("/changes/{page_id}", include_in_schema=False)
async def get_page(page_id: str, request: Request, store: StoreDep,
                   settings: SettingsDep) -> Response:
    """One chronological page of members; immutable (with an ETag of its bytes) once full."""
    media_type = negotiate(request.headers.get("accept"), FEED_TYPES)
    size = settings.changes_page_size
    asked = request.query_params.get("size")
    if asked is not None and asked != str(size):
        raise NotFound(say(f"No page of size {asked!r} here; this feed has pages of {size}.",
                           f"Ingen side med størrelse {asked!r}; sidene har {size} medlemmer.",
                           f"Inga side med storleik {asked!r}; sidene har {size} medlemmer."))
    page = await run_in_threadpool(changelog.read_page, store, settings, page_id, size)
    if page is None:
        raise NotFound(say(f"No page {page_id!r} in the change feed.",
                           f"Ingen side {page_id!r} i endringsstrømmen.",
                           f"Inga side {page_id!r} i endringsstraumen."))
    triples = await run_in_threadpool(page_triples, store, settings, _service(request), page)
    body = serialise(triples, media_type)
    headers = {"Vary": "Accept"}
    if page.full and asked is not None:  # only the size-pinned URL is promised never to change
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        headers |= {"ETag": etag, "Cache-Control":
                    f"public, max-age={settings.changes_max_age}, immutable"}
        wanted = request.headers.get("if-none-match", "")
        if etag in (tag.strip().removeprefix("W/") for tag in wanted.split(",")):
            return Response(status_code=304, headers=headers)
    return _respond(request, body, media_type, headers)


# -- the stream in VoID and DCAT ----------------------------------------------------------------


def void_triples(settings: Settings, service: str) -> list[Triple3]:
    """The dataset points to its change feed (`rdfs:seeAlso`), described as an LDES."""
    dataset = rdflib.URIRef(changelog.dataset_iri(settings))
    stream = rdflib.URIRef(changelog.stream_iri(settings))
    out: list[Triple3] = [(dataset, rdflib.RDFS.seeAlso, stream)]
    return out + [_rdflib(t) for t in stream_triples(settings, service)]


def dcat_triples(settings: Settings, service: str, license_: rdflib.term.Node | None
                 ) -> list[Triple3]:
    """A DCAT distribution of the dataset: the change feed, by access URL and its standard."""
    dcat = rdflib.Namespace("http://www.w3.org/ns/dcat#")
    dataset = rdflib.URIRef(changelog.dataset_iri(settings))
    dist = rdflib.URIRef(f"{settings.base_iri}dataset/distribution/changes")
    dct = rdflib.DCTERMS
    out: list[Triple3] = [
        (dataset, dcat.distribution, dist),
        (dist, rdflib.RDF.type, dcat.Distribution),
        (dist, dcat.accessURL, rdflib.URIRef(feed_url(service))),
        (dist, dcat.downloadURL, rdflib.URIRef(feed_url(service))),  # the root: Turtle
        (dist, dcat.mediaType, rdflib.URIRef("https://www.iana.org/assignments/media-types/"
                                             "text/turtle")),
        (dist, dct["format"], rdflib.URIRef("http://publications.europa.eu/resource/"
                                             "authority/file-type/RDF_TURTLE")),
        (dist, dct.conformsTo, rdflib.URIRef("https://w3id.org/ldes/specification")),
    ]
    for lang in ("nb", "nn", "en"):
        out.append((dist, dct.title, rdflib.Literal(TITLES[lang], lang=lang)))
        out.append((dist, dct.description, rdflib.Literal(DESCRIPTIONS[lang], lang=lang)))
    if license_ is not None:
        out.append((dist, dct.license, license_))
    return out


def _rdflib(triple: ox.Triple) -> Triple3:
    def term(value: object) -> rdflib.term.Node:
        if isinstance(value, ox.NamedNode):
            return rdflib.URIRef(value.value)
        assert isinstance(value, ox.Literal)
        return rdflib.Literal(value.value, lang=value.language)
    return term(triple.subject), term(triple.predicate), term(triple.object)
