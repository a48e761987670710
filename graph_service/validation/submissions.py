"""`/submissions`: validate, store in its own named graph with PROV-O provenance, list, withdraw.

https://www.w3.org/TR/prov-o/
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pyoxigraph as ox
import rdflib
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from rdflib.namespace import DCTERMS, FOAF, PROV, RDF, SH, VOID, XSD
from starlette.concurrency import run_in_threadpool

from graph_service.core.errors import Conflict, Forbidden, InvalidRequest, NotFound, say
from graph_service.core.identifiers import agent_iri
from graph_service.core.media import DATASET_TYPES, GRAPH_TYPES, negotiate
from graph_service.core.rdf_input import ntriples, parse_body
from graph_service.settings import Settings
from graph_service.store import QueryRequest, Store, changelog
from graph_service.validation.outcome import ValidationOutcome
from graph_service.validation.routes import read_submission
from graph_service.validation.shacl import (
    NotConforming,
    content_hash,
    shapes_version,
    validate_submission,
    write_lock,
)
from graph_service.web.deps import SettingsDep, StoreDep, Writer
from graph_service.web.html import choose_language, render_page

SPDX = rdflib.Namespace("http://spdx.org/rdf/terms#")
RECORD_TYPES = ["application/json", "text/html", *GRAPH_TYPES, "application/trig",
                "application/n-quads"]
PER_PAGE, MAX_PER_PAGE = 20, 100


def metadata_graph(settings: Settings) -> str:
    """The one graph that holds every submission's provenance (kept after a withdrawal)."""
    return settings.graph_base + "submissions"


def submission_graph(settings: Settings, submission_id: str) -> str:
    return f"{settings.graph_base}submission/{submission_id}"


def new_submission_id() -> str:
    """Sortable by time, unguessable enough to never collide: `20260127T101500Z-9f3a1c2b`."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)


def _now() -> rdflib.Literal:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return rdflib.Literal(stamp, datatype=XSD.dateTime)


def provenance(
    settings: Settings, submission_id: str, submitter: str, digest: str, triples: int,
    outcome: ValidationOutcome,
) -> rdflib.Graph:
    """PROV-O + DCTERMS for one stored submission; the report is kept, blank nodes named."""
    g = rdflib.URIRef(submission_graph(settings, submission_id))
    agent = rdflib.URIRef(agent_iri(settings.base_iri, submitter))
    activity, report, checksum = (rdflib.URIRef(f"{g}#{n}")
                                  for n in ("submission", "report", "checksum"))
    shapes = rdflib.URIRef(shapes_version(settings).iri)
    now = _now()
    out = rdflib.Graph()
    out += [
        (g, RDF.type, PROV.Entity),
        (g, DCTERMS.identifier, rdflib.Literal(submission_id)),
        (g, PROV.wasAttributedTo, agent),
        (g, PROV.generatedAtTime, now),
        (g, PROV.wasGeneratedBy, activity),
        (g, DCTERMS.conformsTo, shapes),
        (g, SPDX.checksum, checksum),
        (g, VOID.triples, rdflib.Literal(triples)),
        (checksum, RDF.type, SPDX.Checksum),
        (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256),
        (checksum, SPDX.checksumValue, rdflib.Literal(digest, datatype=XSD.hexBinary)),
        (activity, RDF.type, PROV.Activity),
        (activity, PROV.wasAssociatedWith, agent),
        (activity, PROV.used, shapes),
        (activity, PROV.endedAtTime, now),
        (activity, PROV.generated, report),
        (agent, RDF.type, PROV.Agent),
        (agent, FOAF.name, rdflib.Literal(submitter)),
    ]
    names: dict[rdflib.BNode, rdflib.URIRef] = {}

    def named(term: Any) -> Any:
        if not isinstance(term, rdflib.BNode):
            return term
        if term not in names:
            is_root = (term, RDF.type, SH.ValidationReport) in outcome.report
            names[term] = report if is_root else rdflib.URIRef(f"{g}#report-{len(names)}")
        return names[term]

    for s, p, o in outcome.report:
        out.add((named(s), p, named(o)))
    return out


def _ntriples(graph: rdflib.Graph) -> str:
    return graph.serialize(format="nt")


def _select(store: Store, settings: Settings, sparql: str) -> list[dict[str, str]]:
    result = store.query(QueryRequest(sparql, timeout=settings.query_timeout))
    rows = json.loads(result.read())["results"]["bindings"]
    return [{k: v["value"] for k, v in row.items()} for row in rows]


def _live_with_hash(settings: Settings, digest: str) -> str:
    """The graph pattern of a live (not withdrawn) submission with this content hash."""
    return f"""GRAPH <{metadata_graph(settings)}> {{
          ?g <{SPDX.checksum}>/<{SPDX.checksumValue}> ?v .
          FILTER(STR(?v) = "{digest}")
          FILTER NOT EXISTS {{ ?g <{PROV.invalidatedAtTime}> ?t }} }}"""


def find_by_hash(store: Store, settings: Settings, digest: str) -> str | None:
    """The live submission with the same content, if any (the earliest, should a store that
    does not serialise updates have let two in)."""
    rows = _select(store, settings, f"""
        SELECT ?g WHERE {{ {_live_with_hash(settings, digest)} }} ORDER BY STR(?g) LIMIT 1""")
    return rows[0]["g"] if rows else None


def _duplicate(settings: Settings, existing: str) -> Conflict:
    location = f"/submissions/{_id_of(settings, existing)}"
    return Conflict(say(f"The same content has already been submitted: {location}",
                        f"Det samme innholdet er allerede sendt inn: {location}",
                        f"Det same innhaldet er alt sendt inn: {location}"),
                    location=location)


def _id_of(settings: Settings, graph: str) -> str:
    return graph.rsplit("/", 1)[-1]


def submit(
    settings: Settings, store: Store, body: bytes, media_type: str, submitter: str
) -> tuple[str, ValidationOutcome]:
    """Validate and, if it conforms, store data and provenance in ONE update (atomic)."""
    quads = parse_body(body, media_type)
    if not quads:
        raise InvalidRequest(say("The submission holds no triples.",
                                 "Innsendingen har ingen tripler.",
                                 "Innsendinga har ingen triplar."))
    digest = content_hash(quads)
    with write_lock:
        existing = find_by_hash(store, settings, digest)
        if existing:
            raise _duplicate(settings, existing)
        outcome = validate_submission(settings, store, quads)
        if not outcome.conforms:
            raise NotConforming(outcome)
        submission_id = new_submission_id()
        graph = submission_graph(settings, submission_id)
        triples = {(q.subject, q.predicate, q.object) for q in quads}
        record = provenance(settings, submission_id, submitter, digest, len(triples), outcome)
        data = ntriples(quads).decode("utf-8")
        event = changelog.record_conditional(store, settings, [
            changelog.Change("create", graph, "accepted", submitter, submission_id)])
        # One conditional update: the data, its record and its event are written only if no
        # live submission holds the same content by then (another replica's, say), decided by
        # the store (exactly once where the store serialises updates; see the README).
        store.update(f"""
            DELETE {{ {event.delete} }}
            INSERT {{ GRAPH <{graph}> {{\n{data}\n}}
                      GRAPH <{metadata_graph(settings)}> {{\n{_ntriples(record)}\n}}
                      {event.insert} }}
            WHERE {{ {event.where}
                     FILTER NOT EXISTS {{ {_live_with_hash(settings, digest)} }} }}""")
        winner = find_by_hash(store, settings, digest)
        if winner != graph:
            raise _duplicate(settings, winner or graph)
    return submission_id, outcome


def withdraw(settings: Settings, store: Store, submission_id: str, who: str) -> None:
    """Drop the data graph and record who withdrew it and when, in one update."""
    with write_lock:
        record = read_record(store, settings, submission_id)
        if record["withdrawn"]:
            raise Conflict(say("The submission is already withdrawn.",
                               "Innsendingen er allerede trukket tilbake.",
                               "Innsendinga er alt trekt tilbake."))
        if who not in ("admin", record["submitter"]):
            raise Forbidden(say("Only the submitter or an administrator may withdraw it.",
                                "Bare innsenderen eller en administrator kan trekke den tilbake.",
                                "Berre innsendaren eller ein administrator kan trekkje ho "
                                "tilbake."))
        g = submission_graph(settings, submission_id)
        agent, now = agent_iri(settings.base_iri, who), _now()
        activity = f"{g}#withdrawal-{uuid.uuid4().hex[:12]}"  # this withdrawal's, and no other's
        event = changelog.record_conditional(store, settings, [
            changelog.Change("delete", g, "withdrawn", who, submission_id)])
        meta = metadata_graph(settings)
        # Conditional like a submission: only the first withdrawal empties the graph and
        # records itself; a second one (another replica's) changes nothing and gets 409.
        store.update(f"""
            DELETE {{ GRAPH <{g}> {{ ?s ?p ?o }} {event.delete} }}
            INSERT {{ GRAPH <{meta}> {{
              <{g}> <{PROV.invalidatedAtTime}> {now.n3()} ;
                    <{PROV.wasInvalidatedBy}> <{activity}> .
              <{activity}> a <{PROV.Activity}> ; <{PROV.wasAssociatedWith}> <{agent}> ;
                    <{PROV.endedAtTime}> {now.n3()} .
              <{agent}> a <{PROV.Agent}> ; <{FOAF.name}> {rdflib.Literal(who).n3()} . }}
              {event.insert} }}
            WHERE {{ {event.where} OPTIONAL {{ GRAPH <{g}> {{ ?s ?p ?o }} }}
                     FILTER NOT EXISTS {{ GRAPH <{meta}> {{
                       <{g}> <{PROV.invalidatedAtTime}> ?earlier }} }} }} ;
            DROP SILENT GRAPH <{g}>""")  # emptied by whichever withdrawal won: drop the name too
        done_by = _select(store, settings, f"""SELECT ?a WHERE {{ GRAPH <{meta}> {{
            <{g}> <{PROV.wasInvalidatedBy}> ?a }} }}""")
        if [row["a"] for row in done_by] != [activity]:
            raise Conflict(say("The submission is already withdrawn.",
                               "Innsendingen er allerede trukket tilbake.",
                               "Innsendinga er alt trekt tilbake."))


_RECORD_SELECT = f"""
    PREFIX prov: <{PROV}> PREFIX dct: <{DCTERMS}> PREFIX spdx: <{SPDX}>
    PREFIX foaf: <{FOAF}> PREFIX void: <{VOID}>
    SELECT ?g ?id ?submitter ?generated ?sha256 ?conformsTo ?triples ?withdrawn ?withdrawnBy
    WHERE {{ GRAPH <META> {{
      ?g a prov:Entity ; dct:identifier ?id ; prov:generatedAtTime ?generated ;
         prov:wasAttributedTo/foaf:name ?submitter ; dct:conformsTo ?conformsTo ;
         spdx:checksum/spdx:checksumValue ?sha256 ; void:triples ?triples .
      FILTER_HERE
      OPTIONAL {{ ?g prov:invalidatedAtTime ?withdrawn ;
                     prov:wasInvalidatedBy/prov:wasAssociatedWith/foaf:name ?withdrawnBy }}
    }} }}"""


def _record(settings: Settings, row: dict[str, str]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "graph": row["g"],
        "url": f"/submissions/{row['id']}",
        "submitter": row["submitter"],
        "generated": row["generated"],
        "sha256": row["sha256"],
        "conforms_to": row["conformsTo"],
        "triples": int(row["triples"]),
        "withdrawn": row.get("withdrawn"),
        "withdrawn_by": row.get("withdrawnBy"),
    }


def list_submissions(
    store: Store, settings: Settings, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of records, newest first, and the total number."""
    query = _RECORD_SELECT.replace("META", metadata_graph(settings)).replace("FILTER_HERE", "")
    rows = _select(store, settings, query + f" ORDER BY DESC(?generated) DESC(?id) "
                   f"LIMIT {per_page} OFFSET {(page - 1) * per_page}")
    total = _select(store, settings, f"""SELECT (COUNT(?g) AS ?n) WHERE {{
        GRAPH <{metadata_graph(settings)}> {{ ?g a <{PROV.Entity}> }} }}""")
    return [_record(settings, r) for r in rows], int(total[0]["n"]) if total else 0


def read_record(store: Store, settings: Settings, submission_id: str) -> dict[str, Any]:
    if not submission_id.replace("-", "").isalnum():
        raise NotFound(say(f"No submission {submission_id!r}.",
                                 f"Ingen innsending {submission_id!r}.",
                                 f"Inga innsending {submission_id!r}."))
    graph = submission_graph(settings, submission_id)
    query = _RECORD_SELECT.replace("META", metadata_graph(settings)).replace(
        "FILTER_HERE", f"FILTER(?g = <{graph}>)")
    rows = _select(store, settings, query)
    if not rows:
        raise NotFound(say(f"No submission {submission_id!r}.",
                                 f"Ingen innsending {submission_id!r}.",
                                 f"Inga innsending {submission_id!r}."))
    return _record(settings, rows[0])


def record_quads(store: Store, settings: Settings, submission_id: str) -> list[ox.Quad]:
    """The submission's triples (in its graph) and its provenance (in the metadata graph)."""
    g, meta = submission_graph(settings, submission_id), metadata_graph(settings)
    result = store.query(QueryRequest(f"""
        CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{meta}> {{
          {{ ?s ?p ?o FILTER(?s = <{g}> || STRSTARTS(STR(?s), "{g}#")) }} UNION
          {{ ?x ?link ?s . ?s a <{PROV.Agent}> ; ?p ?o
             FILTER(?x = <{g}> || STRSTARTS(STR(?x), "{g}#")) }} }} }}""",
        graph_type="application/n-triples", timeout=settings.query_timeout))
    metadata = ox.NamedNode(meta)
    quads = [ox.Quad(t.subject, t.predicate, t.object, metadata)
             for t in ox.parse(result.read(), format=ox.RdfFormat.N_TRIPLES)]
    if store.has_graph(g):
        data = store.export("application/n-triples", graph=g)
        quads += [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g))
                  for t in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
    return quads


def _serialise(quads: list[ox.Quad], media_type: str) -> bytes:
    if media_type in DATASET_TYPES and media_type != "text/turtle":
        return ox.serialize(quads, format=DATASET_TYPES[media_type]) or b""
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    return ox.serialize(triples, format=GRAPH_TYPES[media_type]) or b""


def _page_number(request: Request, name: str, default: int, upper: int) -> int:
    raw = request.query_params.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        raise InvalidRequest(say(f"'{name}' must be a whole number from 1 to {upper}.",
                                 f"'{name}' må være et heltall fra 1 til {upper}.",
                                 f"'{name}' må vere eit heiltal frå 1 til {upper}."))
    return int(raw)


router = APIRouter(tags=["submissions"])


@router.post("/submissions", status_code=201)
async def create_submission(
    request: Request, settings: SettingsDep, store: StoreDep, submitter: Writer
) -> Response:
    """Submit RDF (token): 201 with Location if it conforms, 422 with the report if not."""
    submission = await read_submission(request)
    submission_id, outcome = await run_in_threadpool(
        submit, settings, store, submission.body, submission.media_type, submitter)
    location = f"/submissions/{submission_id}"
    return JSONResponse(
        {"id": submission_id, "location": location,
         "graph": submission_graph(settings, submission_id),
         "report": outcome.as_json(choose_language(request))},
        status_code=201, headers={"Location": location},
    )


@router.get("/submissions")
def list_all(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """The submissions, newest first, paged (`page`, `per_page`); JSON or HTML."""
    page = _page_number(request, "page", 1, 1_000_000)
    per_page = _page_number(request, "per_page", PER_PAGE, MAX_PER_PAGE)
    items, total = list_submissions(store, settings, page, per_page)
    pages = max(1, -(-total // per_page))
    links = {"self": f"/submissions?page={page}&per_page={per_page}"}
    if page < pages:
        links["next"] = f"/submissions?page={page + 1}&per_page={per_page}"
    if page > 1:
        links["prev"] = f"/submissions?page={page - 1}&per_page={per_page}"
    body = {"items": items, "page": page, "per_page": per_page, "total": total,
            "pages": pages, "links": links}
    link_header = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
    if negotiate(request.headers.get("accept"), ["application/json", "text/html"]) == "text/html":
        return render_page(request, "submissions.html", body, headers={"Link": link_header})
    return JSONResponse(body, headers={"Link": link_header})


@router.get("/submissions/{id}")
def read_one(id: str, request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """One submission with its provenance: JSON, HTML, or RDF (TriG keeps the two graphs)."""
    submission_id = id
    media_type = negotiate(request.headers.get("accept"), RECORD_TYPES)
    record = read_record(store, settings, submission_id)
    quads = record_quads(store, settings, submission_id)
    g = submission_graph(settings, submission_id)
    data = [q for q in quads if q.graph_name == ox.NamedNode(g)]
    if media_type in ("application/json", "text/html"):
        turtle = _serialise(data, "text/turtle").decode("utf-8")
        prov = [q for q in quads if q.graph_name != ox.NamedNode(g)]
        body = record | {"content": turtle,
                         "provenance": _serialise(prov, "text/turtle").decode("utf-8")}
        if media_type == "text/html":
            return render_page(request, "submission.html", {"record": body})
        return JSONResponse(body)
    return Response(_serialise(quads, media_type), media_type=media_type)


@router.delete("/submissions/{id}", status_code=204)
def withdraw_one(id: str, settings: SettingsDep, store: StoreDep, who: Writer) -> Response:
    """Withdraw a submission (token): its data leaves the graph, the record stays."""
    withdraw(settings, store, id, who)
    return Response(status_code=204)
