"""`/update`: SPARQL 1.1 Update, with the resulting graph validated before anything is written.

https://www.w3.org/TR/sparql11-protocol/#update-operation
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import InvalidRequest, UnsupportedFormat, say
from graph_service.core.media import base_media_type
from graph_service.core.sparql_text import refuse_remote_fetches
from graph_service.store.changelog import Change, append, dataset_iri, record
from graph_service.validation.guard import guarded_write, simulate_update
from graph_service.web.deps import Admin, SettingsDep, StoreDep, Writer

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
            raise InvalidRequest(say("Give the 'update' parameter once.",
                                     "Oppgi parameteren 'update' bare én gang.",
                                     "Oppgje parameteren 'update' berre éin gong."))
        if not values or not isinstance(values[0], str):
            raise InvalidRequest(say("Missing the 'update' parameter.",
                                     "Mangler parameteren 'update'.",
                                     "Manglar parameteren 'update'."))
        given += [name for name in DATASET_PARAMETERS if name in form and name not in given]
        raw = values[0].encode("utf-8")
    else:
        raise UnsupportedFormat(
            say("Send application/sparql-update or a form with 'update='.",
                "Send application/sparql-update eller et skjema med 'update='.",
                "Send application/sparql-update eller eit skjema med 'update='."))
    if given:
        raise InvalidRequest(say(
            f"{' and '.join(given)}: not supported; name the graphs with USING or WITH in the "
            "update.",
            f"{' og '.join(given)} støttes ikke; oppgi grafene med USING eller WITH i "
            "oppdateringen.",
            f"{' og '.join(given)} er ikkje støtta; oppgje grafane med USING eller WITH i "
            "oppdateringa."))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(say(f"The update is not UTF-8: {exc}.",
                                     "Oppdateringen er ikke UTF-8.",
                                     "Oppdateringa er ikkje UTF-8.")) from exc
    if not text.strip():
        raise InvalidRequest(say("The update is empty.", "Oppdateringen er tom.",
                                 "Oppdateringa er tom."))
    return text


router = APIRouter(tags=["sparql"])


@router.post("/update", status_code=204)
async def run_update(
    request: Request, settings: SettingsDep, store: StoreDep, writer: Writer, admin: Admin
) -> Response:
    """Apply a SPARQL 1.1 Update (token); 422 with the report if the result would not conform."""
    sparql = await read_update(request)
    refuse_remote_fetches(sparql, allowed=settings.allow_service)
    simulation = simulate_update(settings, store, sparql, settings.query_timeout)

    def apply(touched: list[Change] | None) -> None:
        # Unsimulated (administrator): one event for the whole dataset, graphs not itemised.
        changes = touched if touched is not None else [
            Change("update", dataset_iri(settings), "update", "")]
        named = [replace(c, actor=writer) for c in changes]
        text = sparql if touched is None else simulation.text_to_write()
        full = append(text, record(store, settings, named))
        if full.strip():  # an exact difference may be empty: nothing to write then
            store.update(full)

    await run_in_threadpool(
        guarded_write, settings, store, admin=admin,
        change=simulation, apply=apply)
    return Response(status_code=204)
