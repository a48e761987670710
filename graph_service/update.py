"""`/update`: SPARQL 1.1 Update, with the resulting graph validated before anything is written.

https://www.w3.org/TR/sparql11-protocol/#update-operation
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from graph_service.changelog import Change, append, dataset_iri, record, touched_graphs
from graph_service.deps import Admin, SettingsDep, StoreDep, Writer
from graph_service.errors import BadRequest, ServiceError, UnsupportedMediaType
from graph_service.identifiers import graph_iri
from graph_service.loader import content_files
from graph_service.media import base_media_type
from graph_service.settings import Settings
from graph_service.sparql_errors import syntax_error_from
from graph_service.sparql_safety import refuse_remote_fetches
from graph_service.store import Store
from graph_service.validation import (
    NotConforming,
    changed_nodes,
    quads_to_live_graph,
    store_snapshot,
    validate_against,
    write_lock,
)
from graph_service.validation_routes import not_conforming_response

T = TypeVar("T")


class Forbidden(ServiceError):
    status, error = 403, "forbidden"


def is_protected(settings: Settings, graph: object) -> bool:
    """Submissions and their provenance change only through /submissions, and the curated
    graphs (one per file of ontology/ and data/) only with the administrator token or
    `smartby load`: a writer's token must not be able to lose what others wrote."""
    if not isinstance(graph, ox.NamedNode):
        return False
    return (
        graph.value == settings.graph_base + "submissions"
        or graph.value == settings.graph_base + "changes"
        or graph.value.startswith(settings.graph_base + "submission/")
        or graph.value in curated_graphs(settings)
    )


def curated_graphs(settings: Settings) -> frozenset[str]:
    return _curated_graphs(settings.content_dir, settings.base_iri)


@lru_cache(maxsize=8)
def _curated_graphs(content_dir: Path, base_iri: str) -> frozenset[str]:
    return frozenset(graph_iri(base_iri, path.stem) for path in content_files(content_dir))


def guarded_write(
    settings: Settings, store: Store, *, admin: bool,
    simulate: Callable[[ox.Store], None], apply: Callable[[list[Change] | None], T],
) -> T:
    """Try the change on an in-memory copy; write it only if it adds no violation (422) and
    leaves the submissions alone (403). The administrator token skips both checks. `apply`
    gets the graphs the copy saw change (for the change log); None when nothing was tried."""
    touched: list[Change] | None = None
    with write_lock:
        if not admin:
            snapshot = store_snapshot(store)
            copy = ox.Store()
            copy.extend(snapshot.quads)
            simulate(copy)
            after = list(copy)
            before = {q for q in snapshot.quads if is_protected(settings, q.graph_name)}
            if before != {q for q in after if is_protected(settings, q.graph_name)}:
                raise Forbidden(
                    "Submissions and their provenance change only through /submissions, and "
                    "the curated graphs only with the administrator token. / Innsendinger og "
                    "deres proveniens endres bare gjennom /submissions, og de kuraterte "
                    "grafene bare med administratornøkkelen.")
            live = quads_to_live_graph(settings, after)
            before_live = snapshot.live_graph(settings)
            changed = changed_nodes(set(live) ^ set(before_live))
            outcome = validate_against(settings, snapshot, live, changed)
            if not outcome.conforms:
                raise NotConforming(outcome)
            touched = touched_graphs(settings, snapshot.quads, after)
        return apply(touched)


def simulate_update(sparql: str) -> Callable[[ox.Store], None]:
    def run(copy: ox.Store) -> None:
        try:
            copy.update(sparql)
        except SyntaxError as exc:
            raise syntax_error_from(str(exc)) from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise BadRequest(f"The update could not be applied: {exc}. / Oppdateringen kunne "
                             "ikke utføres.") from exc

    return run


DATASET_PARAMETERS = ("using-graph-uri", "using-named-graph-uri")


async def read_update(request: Request) -> str:
    """The update text: an `application/sparql-update` body or a form's one `update` field."""
    content_type = base_media_type(request.headers.get("content-type"))
    given = [name for name in DATASET_PARAMETERS if name in request.query_params]
    if content_type == "application/sparql-update":
        raw = await request.body()
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        values = form.getlist("update")
        if len(values) > 1:
            raise BadRequest("Give the 'update' parameter once. / Oppgi parameteren 'update' "
                             "bare én gang.")
        if not values or not isinstance(values[0], str):
            raise BadRequest("Missing the 'update' parameter. / Mangler parameteren 'update'.")
        given += [name for name in DATASET_PARAMETERS if name in form and name not in given]
        raw = values[0].encode("utf-8")
    else:
        raise UnsupportedMediaType(
            "Send application/sparql-update or a form with 'update='. / Send "
            "application/sparql-update eller et skjema med 'update='.")
    if given:
        raise BadRequest(f"{' and '.join(given)}: not supported; name the graphs with USING or "
                         f"WITH in the update. / {' og '.join(given)} støttes ikke; oppgi "
                         "grafene med USING eller WITH i oppdateringen.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The update is not UTF-8: {exc}. / Oppdateringen er ikke UTF-8.") from exc
    if not text.strip():
        raise BadRequest("The update is empty. / Oppdateringen er tom.")
    return text


router = APIRouter(tags=["sparql"])


@router.post("/update", status_code=204)
async def run_update(
    request: Request, settings: SettingsDep, store: StoreDep, writer: Writer, admin: Admin
) -> Response:
    """Apply a SPARQL 1.1 Update (token); 422 with the report if the result would not conform."""
    sparql = await read_update(request)
    refuse_remote_fetches(sparql, allowed=settings.allow_service)
    def apply(touched: list[Change] | None) -> None:
        # Unsimulated (administrator): one event for the whole dataset, graphs not itemised.
        changes = touched if touched is not None else [
            Change("update", dataset_iri(settings), "update", "")]
        named = [replace(c, actor=writer) for c in changes]
        store.update(append(sparql, record(store, settings, named)))

    try:
        await run_in_threadpool(
            guarded_write, settings, store, admin=admin,
            simulate=simulate_update(sparql), apply=apply)
    except NotConforming as exc:
        return not_conforming_response(request, settings, exc)
    return Response(status_code=204)
