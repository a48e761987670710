"""Dumps (`/dataset`), the VoID description and the DCAT-AP-NO catalogue, figures from the store.

VoID https://www.w3.org/TR/void/ · DCAT 2 https://www.w3.org/TR/vocab-dcat-2/ ·
DCAT-AP-NO https://data.norge.no/specification/dcat-ap-no
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import rdflib
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from rdflib import RDF, XSD, BNode, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, SKOS, VOID

from graph_service.core.content import read_content_file
from graph_service.core.errors import NotFound, say
from graph_service.core.media import DATASET_TYPES, negotiate
from graph_service.core.state_cache import StateCache
from graph_service.linked_data import changes as change_feed
from graph_service.linked_data.describe import bind_prefixes, construct, select
from graph_service.linked_data.entities import rdf_response, serialize
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.web.deps import CacheDep, SettingsDep, StoreDep
from graph_service.web.html import render_page

SCHEMA = "https://schema.org/"
DUMPS = {  # suffix → (media type, EU file type, titles in nb, nn and en)
    "trig": ("application/trig", "RDF_TRIG", ("TriG med navngitte grafer",
             "TriG med namngjevne grafar", "TriG with named graphs")),
    "nq": ("application/n-quads", "RDF_N_QUADS", ("N-Quads med navngitte grafer",
           "N-Quads med namngjevne grafar", "N-Quads with named graphs")),
    "jsonld": ("application/ld+json", "JSON_LD", ("JSON-LD (unionen av grafene)",
               "JSON-LD (unionen av grafane)", "JSON-LD (the union of the graphs)")),
    "ttl": ("text/turtle", "RDF_TURTLE", ("Turtle (unionen av grafene)",
            "Turtle (unionen av grafane)", "Turtle (the union of the graphs)")),
}
WHOLE_DATASET_AS = {"nb": "Hele datasettet som", "nn": "Heile datasettet som",
                    "en": "The whole dataset as"}
SUFFIX_FOR_TYPE = {media_type: suffix for suffix, (media_type, *_) in DUMPS.items()}
DESCRIPTION_TYPES = ["text/turtle", "application/ld+json", "application/n-triples",
                     "application/rdf+xml", "text/html"]
LINK_PREDICATES = [str(OWL.sameAs), SCHEMA + "sameAs", str(SKOS.exactMatch),
                   str(SKOS.closeMatch)]
KNOWN_TARGETS = {  # host → the dataset a linkset points into
    "www.wikidata.org": "http://www.wikidata.org/",
    "wikidata.org": "http://www.wikidata.org/",
    "data.geonorge.no": "https://data.geonorge.no/",
    "register.geonorge.no": "https://register.geonorge.no/",
}
FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
IANA = "https://www.iana.org/assignments/media-types/"
_ALL = "{ ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } }"


def dataset_iri(settings: Settings) -> URIRef:
    return URIRef(settings.base_iri + "dataset")


def service_base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def export_dump(store: Store, media_type: str) -> bytes:
    return store.export(media_type)


# -- VoID ------------------------------------------------------------------------------------


def _number(row: dict, name: str) -> int:
    return int(row[name]["value"])


def void_statistics(store: Store, settings: Settings) -> dict:
    """Every figure of the VoID description, each from one SPARQL query in the store."""
    base, id_base = settings.base_iri, settings.id_base
    totals = select(store, settings, f"""
SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
       (COUNT(DISTINCT ?p) AS ?properties) (COUNT(DISTINCT ?o) AS ?objects)
WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{ {_ALL} }} }}""")[0]
    entities = select(store, settings, f"""
SELECT ?s WHERE {{ {{ SELECT DISTINCT ?s WHERE {{ {_ALL}
  FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{id_base}")) }} }} }} ORDER BY ?s""")
    classes = select(store, settings, """
SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {
  { SELECT DISTINCT ?s ?c WHERE { { ?s a ?c } UNION { GRAPH ?g { ?s a ?c } } } }
} GROUP BY ?c ORDER BY ?c""")
    properties = select(store, settings, f"""
SELECT ?p (COUNT(*) AS ?n) WHERE {{ SELECT DISTINCT ?s ?p ?o WHERE {{ {_ALL} }} }}
GROUP BY ?p ORDER BY ?p""")
    graphs = select(store, settings, """
SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g""")
    values = " ".join(f"<{p}>" for p in LINK_PREDICATES)
    links = select(store, settings, f"""
SELECT DISTINCT ?s ?p ?o WHERE {{ VALUES ?p {{ {values} }} {_ALL}
  FILTER(isIRI(?o) && !STRSTARTS(STR(?o), "{base}")) }}""")
    linksets: Counter[tuple[str, str]] = Counter()
    for row in links:
        host = urlsplit(row["o"]["value"]).netloc
        target = KNOWN_TARGETS.get(host, f"{urlsplit(row['o']['value']).scheme}://{host}/")
        linksets[(row["p"]["value"], target)] += 1
    return {
        "triples": _number(totals, "triples"),
        "distinct_subjects": _number(totals, "subjects"),
        "properties": _number(totals, "properties"),
        "distinct_objects": _number(totals, "objects"),
        "entities": [row["s"]["value"] for row in entities],
        "classes": {row["c"]["value"]: _number(row, "n") for row in classes},
        "property_triples": {row["p"]["value"]: _number(row, "n") for row in properties},
        "graphs": {row["g"]["value"]: _number(row, "n") for row in graphs},
        "linksets": dict(linksets),
    }


def _namespace(iri: str) -> str:
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


def example_resources(entities: list[str], settings: Settings) -> list[str]:
    """The first entity of a few kinds a reader would start from."""
    chosen = []
    for kind in ("project", "principle", "session", "person", "municipality"):
        prefix = f"{settings.id_base}{kind}/"
        first = next((e for e in entities if e.startswith(prefix)), None)
        if first:
            chosen.append(first)
    return chosen


def void_graph(store: Store, settings: Settings, service: str) -> rdflib.Graph:
    """The VoID description of the dataset, its named graphs, partitions and linksets."""
    stats = void_statistics(store, settings)
    graph = rdflib.Graph()
    bind_prefixes(graph, settings)
    graph.bind("void", VOID)
    ds = dataset_iri(settings)
    graph.add((ds, RDF.type, VOID.Dataset))
    for predicate, value in [
        (VOID.triples, stats["triples"]),
        (VOID.entities, len(stats["entities"])),
        (VOID.classes, len(stats["classes"])),
        (VOID.properties, stats["properties"]),
        (VOID.distinctSubjects, stats["distinct_subjects"]),
        (VOID.distinctObjects, stats["distinct_objects"]),
    ]:
        graph.add((ds, predicate, Literal(value, datatype=XSD.integer)))
    graph.add((ds, VOID.uriSpace, Literal(settings.id_base)))
    graph.add((ds, VOID.sparqlEndpoint, URIRef(service + "/sparql")))
    for series in (e for e in stats["entities"] if e.startswith(settings.id_base + "series/")):
        graph.add((ds, VOID.rootResource, URIRef(series)))
    for suffix in DUMPS:
        graph.add((ds, VOID.dataDump, URIRef(f"{service}/dataset.{suffix}")))
    for example in example_resources(stats["entities"], settings):
        graph.add((ds, VOID.exampleResource, URIRef(example)))
    vocabularies = {_namespace(i) for i in [*stats["classes"], *stats["property_triples"]]}
    for namespace in sorted(vocabularies):
        graph.add((ds, VOID.vocabulary, URIRef(namespace)))
    for cls, count in stats["classes"].items():
        partition = BNode()
        graph.add((ds, VOID.classPartition, partition))
        graph.add((partition, VOID["class"], URIRef(cls)))
        graph.add((partition, VOID.entities, Literal(count, datatype=XSD.integer)))
    for prop, count in stats["property_triples"].items():
        partition = BNode()
        graph.add((ds, VOID.propertyPartition, partition))
        graph.add((partition, VOID.property, URIRef(prop)))
        graph.add((partition, VOID.triples, Literal(count, datatype=XSD.integer)))
    for named, count in stats["graphs"].items():
        graph.add((ds, VOID.subset, URIRef(named)))
        graph.add((URIRef(named), RDF.type, VOID.Dataset))
        graph.add((URIRef(named), VOID.triples, Literal(count, datatype=XSD.integer)))
    graph += change_feed.void_triples(settings, service)  # the change feed (LDES)
    for (predicate, target), count in stats["linksets"].items():
        linkset = URIRef(f"{settings.base_iri}dataset/linkset/{urlsplit(target).netloc}-"
                         f"{_local(predicate)}")
        graph.add((ds, VOID.subset, linkset))
        graph.add((linkset, RDF.type, VOID.Linkset))
        graph.add((linkset, VOID.subjectsTarget, ds))
        graph.add((linkset, VOID.objectsTarget, URIRef(target)))
        graph.add((linkset, VOID.linkPredicate, URIRef(predicate)))
        graph.add((linkset, VOID.triples, Literal(count, datatype=XSD.integer)))
        graph.add((URIRef(target), RDF.type, VOID.Dataset))
    return graph


def _local(iri: str) -> str:
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


# -- DCAT ------------------------------------------------------------------------------------


def dataset_metadata(store: Store, settings: Settings) -> rdflib.Graph:
    """The hand-written metadata (data/dataset.ttl): from its graph in the store, else the file."""
    graph = construct(store, settings, f"""
CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{settings.graph_base}dataset> {{ ?s ?p ?o }} }}""")
    if len(graph) == 0:
        path = settings.content_dir / "data" / "dataset.ttl"
        if path.exists():
            for quad in read_content_file(settings, path):
                graph.parse(data=_nt(quad), format="nt")
    return graph


def _nt(quad: object) -> str:
    subject, predicate, obj = quad.subject, quad.predicate, quad.object  # type: ignore[attr-defined]
    return f"{subject} {predicate} {obj} .\n"


def catalog_graph(store: Store, settings: Settings, service: str) -> rdflib.Graph:
    """DCAT-AP-NO: the catalogue, the dataset, its distributions and the SPARQL data service."""
    graph = dataset_metadata(store, settings)
    bind_prefixes(graph, settings)
    graph.bind("vcard", "http://www.w3.org/2006/vcard/ns#")
    ds = dataset_iri(settings)
    catalog = URIRef(settings.base_iri + "catalog")
    if (catalog, RDF.type, DCAT.Catalog) not in graph:
        raise NotFound(say("The dataset's metadata is missing.", "Datasettets metadata mangler.",
                           "Metadata for datasettet manglar."))
    graph.add((ds, DCTERMS.identifier, Literal(str(ds))))
    license_ = graph.value(ds, DCTERMS.license)
    for suffix, (media_type, file_type, titles) in DUMPS.items():
        dist = URIRef(f"{settings.base_iri}dataset/distribution/{suffix}")
        url = URIRef(f"{service}/dataset.{suffix}")
        graph.add((ds, DCAT.distribution, dist))
        graph.add((dist, RDF.type, DCAT.Distribution))
        for lang, title in zip(("nb", "nn", "en"), titles, strict=True):
            graph.add((dist, DCTERMS.title, Literal(title, lang=lang)))
            graph.add((dist, DCTERMS.description,
                       Literal(f"{WHOLE_DATASET_AS[lang]} {title}.", lang=lang)))
        graph.add((dist, DCAT.accessURL, url))
        graph.add((dist, DCAT.downloadURL, url))
        graph.add((dist, DCAT.mediaType, URIRef(IANA + media_type)))
        graph.add((dist, DCTERMS["format"], URIRef(FILE_TYPE + file_type)))
        if license_ is not None:
            graph.add((dist, DCTERMS.license, license_))
    graph += change_feed.dcat_triples(settings, service, license_)  # the change feed (LDES)
    endpoint = URIRef(service + "/sparql")
    api = URIRef(settings.base_iri + "sparql")
    graph.add((catalog, DCAT.service, api))
    graph.add((api, RDF.type, DCAT.DataService))
    graph.add((api, DCTERMS.title, Literal("SPARQL-endepunktet til smartby", lang="nb")))
    graph.add((api, DCTERMS.title, Literal("SPARQL-endepunktet til smartby", lang="nn")))
    graph.add((api, DCTERMS.title, Literal("The smartby SPARQL endpoint", lang="en")))
    graph.add((api, DCTERMS.description, Literal(
        "SPARQL 1.1-spørringer mot hele datasettet (skrivebeskyttet).", lang="nb")))
    graph.add((api, DCTERMS.description, Literal(
        "SPARQL 1.1-spørjingar mot heile datasettet (skriveverna).", lang="nn")))
    graph.add((api, DCTERMS.description, Literal(
        "SPARQL 1.1 queries over the whole dataset (read-only).", lang="en")))
    graph.add((api, DCAT.endpointURL, endpoint))
    graph.add((api, DCAT.endpointDescription, endpoint))
    graph.add((api, DCTERMS.conformsTo, URIRef("https://www.w3.org/TR/sparql11-protocol/")))
    graph.add((api, DCAT.servesDataset, ds))
    for predicate in (DCTERMS.publisher, DCAT.contactPoint, DCTERMS.license):
        value = graph.value(ds, predicate)
        if value is not None:
            graph.add((api, predicate, value))
    graph.add((ds, FOAF.page, URIRef(service + "/.well-known/void")))
    return graph


# -- responses -------------------------------------------------------------------------------

def cached_void(
    store: Store, settings: Settings, service: str, cache: StateCache
) -> rdflib.Graph:
    return cache.get_or_build(store.state(), ("void", service),
                              lambda: void_graph(store, settings, service))


def description_response(request: Request, graph: rdflib.Graph, settings: Settings,
                         title: tuple[str, str, str]) -> Response:
    media_type = negotiate(request.headers.get("accept"), DESCRIPTION_TYPES)
    headers = {"Vary": "Accept"}
    if media_type == "text/html":
        turtle = graph.serialize(format="turtle")
        return render_page(request, "agency_rdf.html",
                           {"title": title, "turtle": turtle}, headers=headers)
    body = serialize(graph, media_type, settings, "")
    return rdf_response(request, body, media_type, headers)


def dump_response(request: Request, store: Store, media_type: str) -> Response:
    body = export_dump(store, media_type)
    suffix = SUFFIX_FOR_TYPE[media_type]
    headers = {"Content-Disposition": f'inline; filename="smartby.{suffix}"',
               "Content-Location": f"/dataset.{suffix}"}
    return rdf_response(request, body, media_type, headers)


router = APIRouter(tags=["dataset"])


@router.get("/dataset")
@router.head("/dataset", include_in_schema=False)
async def get_dataset(request: Request, store: StoreDep) -> Response:
    """The whole dataset: TriG (default), N-Quads, JSON-LD or Turtle (union) by `Accept`."""
    media_type = negotiate(request.headers.get("accept"), list(DATASET_TYPES))
    response = await run_in_threadpool(dump_response, request, store, media_type)
    response.headers["Vary"] = "Accept"
    return response


@router.get("/dataset.{suffix}")
@router.head("/dataset.{suffix}", include_in_schema=False)
async def get_dataset_file(suffix: str, request: Request, store: StoreDep) -> Response:
    """One dump by file suffix: `.trig`, `.nq`, `.jsonld`, `.ttl`."""
    if suffix not in DUMPS:
        raise NotFound(say(f"Unknown format «.{suffix}».", f"Ukjent format «.{suffix}».",
                        f"Ukjent format «.{suffix}»."))
    return await run_in_threadpool(dump_response, request, store, DUMPS[suffix][0])


@router.get("/.well-known/void")
@router.head("/.well-known/void", include_in_schema=False)
async def get_void(
    request: Request, store: StoreDep, settings: SettingsDep, cache: CacheDep
) -> Response:
    """VoID description: figures, partitions, linksets, endpoint, dumps, example resources."""
    graph = await run_in_threadpool(cached_void, store, settings, service_base(request), cache)
    return description_response(request, graph, settings, ("VoID-beskrivelse", "VoID description",
                                                                "VoID-skildring"))


@router.get("/catalog")
@router.head("/catalog", include_in_schema=False)
async def get_catalog(request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """DCAT-AP-NO catalogue of the dataset, its distributions and its SPARQL service."""
    graph = await run_in_threadpool(catalog_graph, store, settings, service_base(request))
    return description_response(request, graph, settings, ("DCAT-katalog", "DCAT catalogue",
                                                                "DCAT-katalog"))
