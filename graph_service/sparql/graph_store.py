"""`/store`: the SPARQL 1.1 Graph Store HTTP Protocol; writes validated unless by an administrator.

https://www.w3.org/TR/sparql11-http-rdf-update/
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, urljoin

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import InvalidRequest, NotFound, say
from graph_service.core.media import GRAPH_TYPES, negotiate
from graph_service.core.rdf_input import ntriples, parse_body
from graph_service.settings import Settings
from graph_service.store import DEFAULT_GRAPH, Store, graph_iri_term, joined
from graph_service.store.changelog import Change, Kind, dataset_iri, record
from graph_service.validation.delta import Delta, graph_delete_delta, graph_write_delta
from graph_service.validation.guard import guarded_write
from graph_service.web.deps import Admin, SettingsDep, StoreDep, Writer

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def target_graph(request: Request) -> str | None:
    """`?graph=IRI` or `?default` (DEFAULT_GRAPH); None when neither is given. A relative
    reference is resolved against the request IRI, as Oxigraph server and Fuseki do."""
    params = request.query_params
    if "default" in params and "graph" in params:
        raise InvalidRequest(say("Give either 'graph' or 'default', not both.",
                                 "Oppgi enten 'graph' eller 'default', ikke begge.",
                                 "Oppgje anten 'graph' eller 'default', ikkje begge."))
    if "default" in params:
        return DEFAULT_GRAPH
    if len(params.getlist("graph")) > 1:
        raise InvalidRequest(say("Give 'graph' once.", "Oppgi 'graph' bare én gang.",
                                 "Oppgje 'graph' berre éin gong."))
    graph = params.get("graph")
    if graph is None:
        return None
    if not graph.strip():
        raise InvalidRequest(say("'graph' is empty.", "'graph' er tom.", "'graph' er tom."))
    if not _SCHEME.match(graph):
        graph = urljoin(str(request.url.replace(query="", fragment="")), graph)
    try:
        ox.NamedNode(graph)
    except ValueError as exc:
        raise InvalidRequest(say(f"'graph' is not an IRI: {exc}.", "'graph' er ikke en IRI.",
                                 "'graph' er ikkje ein IRI.")) from exc
    return graph


def _required(graph: str | None) -> str:
    if graph is None:
        raise InvalidRequest(say("Name the graph: '?graph=IRI' or '?default'.",
                                 "Oppgi grafen: '?graph=IRI' eller '?default'.",
                                 "Oppgje grafen: '?graph=IRI' eller '?default'."))
    return graph


def _term(graph: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)


def _exists(store: Store, graph: str) -> bool:
    return graph == DEFAULT_GRAPH or store.has_graph(graph)


def write_graph(
    settings: Settings, store: Store, graph: str, body: bytes, content_type: str | None,
    *, replace: bool, admin: bool, who: str = "admin",
) -> bool:
    """PUT (replace) or POST (merge) RDF into a graph; True when the graph is new."""
    quads = parse_body(body, content_type)
    data = ntriples(quads)

    def change() -> Delta:
        return graph_write_delta(store, graph, quads, replace=replace)

    def apply(touched: list[Change] | None) -> bool:
        created = not _exists(store, graph)
        changed = created or touched is None or any(c.graph == event_graph for c in touched)
        event = record(store, settings, [Change("create" if created else "update", event_graph,
                                                "store", who)] if changed else [])
        if not data.strip() and graph != DEFAULT_GRAPH:
            # No triples: the graph still exists afterwards (empty), as the protocol expects.
            term = graph_iri_term(graph)
            store.update(joined((f"DROP SILENT GRAPH {term} ; " if replace else "")
                                + f"CREATE SILENT GRAPH {term}", event))
        elif replace:
            store.replace_graphs({graph: data}, also=event)
        elif data.strip():
            store.add_to_graph(graph, data, also=event)
        return created

    event_graph = dataset_iri(settings) if graph == DEFAULT_GRAPH else graph

    return guarded_write(settings, store, admin=admin, change=change, apply=apply)


def delete_graph(settings: Settings, store: Store, graph: str, *, admin: bool,
                 who: str = "admin") -> None:
    if not _exists(store, graph):
        raise NotFound(say(f"No graph <{graph}>.", f"Ingen graf <{graph}>.",
                           f"Ingen graf <{graph}>."))

    def change() -> Delta:
        return graph_delete_delta(store, graph)

    def apply(touched: list[Change] | None) -> None:
        target = dataset_iri(settings) if graph == DEFAULT_GRAPH else graph
        kind: Kind = "update" if graph == DEFAULT_GRAPH else "delete"
        store.drop_graph(graph, also=record(store, settings, [Change(kind, target, "store",
                                                                     who)]))

    guarded_write(settings, store, admin=admin, change=change, apply=apply)


def _location(graph: str) -> str:
    return "/store?default" if graph == DEFAULT_GRAPH else f"/store?graph={quote(graph, safe='')}"


router = APIRouter(tags=["graph store"])


@router.get("/store")
@router.head("/store", include_in_schema=False)
def read_graph(request: Request, store: StoreDep) -> Response:
    """A graph (`?graph=IRI` or `?default`) in the negotiated RDF syntax; 404 if unknown."""
    graph = _required(target_graph(request))
    media_type = negotiate(request.headers.get("accept"), list(GRAPH_TYPES))
    if not _exists(store, graph):
        raise NotFound(say(f"No graph <{graph}>.", f"Ingen graf <{graph}>.",
                           f"Ingen graf <{graph}>."))
    body = store.export(media_type, graph=graph)
    if request.method == "HEAD":
        return Response(media_type=media_type, headers={"Content-Length": str(len(body))})
    return Response(body, media_type=media_type)


async def _write(
    request: Request, settings: Settings, store: Store, graph: str, *, replace: bool,
    admin: bool, who: str,
) -> Response:
    body = await request.body()
    created = await run_in_threadpool(
        write_graph, settings, store, graph, body, request.headers.get("content-type"),
        replace=replace, admin=admin, who=who)
    return Response(status_code=201 if created else 204,
                    headers={"Location": _location(graph)} if created else None)


@router.put("/store")
async def put_graph(request: Request, settings: SettingsDep, store: StoreDep, writer: Writer,
                    admin: Admin) -> Response:
    """Replace a graph (token): 201 when new, 204 otherwise; 422 if it would not conform."""
    graph = _required(target_graph(request))
    return await _write(request, settings, store, graph, replace=True, admin=admin, who=writer)


@router.post("/store")
async def post_graph(request: Request, settings: SettingsDep, store: StoreDep, writer: Writer,
                     admin: Admin) -> Response:
    """Merge RDF into a graph (token); without `graph`, create a new graph (201, Location)."""
    graph = target_graph(request) or f"{settings.graph_base}store/{uuid.uuid4().hex}"
    return await _write(request, settings, store, graph, replace=False, admin=admin,
                        who=writer)


@router.delete("/store", status_code=204)
def remove_graph(request: Request, settings: SettingsDep, store: StoreDep, writer: Writer,
                 admin: Admin) -> Response:
    """Delete a graph (token): 204, or 404 for an unknown graph."""
    graph = _required(target_graph(request))
    delete_graph(settings, store, graph, admin=admin, who=writer)
    return Response(status_code=204)
