"""The HTML home page: what the graph holds, its counts, browsing by principle, session, place."""

from __future__ import annotations

from collections import Counter

import rdflib
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from graph_service.linked_data.describe import LABEL_PREDICATES, construct, select
from graph_service.linked_data.entity_page import href, kind_name, label
from graph_service.settings import Settings
from graph_service.store import Store
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.html import choose_language, render_page

SCHEMA = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
SKOS_NOTATION = rdflib.SKOS.notation
BROWSED = ("principle", "session", "municipality", "project")
COUNTED = ("series", "session", "principle", "project", "person", "organisation",
           "municipality")


def kind_counts(store: Store, settings: Settings) -> dict[str, int]:
    """Entities per kind (the IRI path segment after /id/); `#` parts belong to their entity."""
    rows = select(store, settings, f"""
SELECT DISTINCT ?s WHERE {{
  ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{settings.id_base}")) }}""")
    entities = {row["s"]["value"].split("#", 1)[0] for row in rows}
    counts = Counter(iri[len(settings.id_base):].split("/", 1)[0] for iri in entities)
    return dict(counts)


def overview_graph(store: Store, settings: Settings) -> rdflib.Graph:
    """Labels, numbers and the project links the home page shows, in one CONSTRUCT."""
    labels = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    kinds = " || ".join(f'STRSTARTS(STR(?x), "{settings.id_base}{k}/")' for k in BROWSED)
    number = f"<{settings.base_iri}ontology#sessionNumber>"
    return construct(store, settings, f"""
CONSTRUCT {{ ?x ?lp ?label . ?x <{SKOS_NOTATION}> ?n . ?x {number} ?sn .
             ?proj <{DCT}subject> ?pr . ?proj <{SCHEMA}location> ?m . ?x a ?t }}
WHERE {{
  {{ VALUES ?lp {{ {labels} }} ?x ?lp ?label FILTER({kinds}) }}
  UNION {{ ?x <{SKOS_NOTATION}> ?n FILTER({kinds}) }}
  UNION {{ ?x {number} ?sn }}
  UNION {{ ?x a ?t FILTER({kinds}) }}
  UNION {{ ?proj a <{SCHEMA}Project> ; <{DCT}subject> ?pr }}
  UNION {{ ?proj a <{SCHEMA}Project> ; <{SCHEMA}location> ?m }}
}}""")


def _sort_key(graph: rdflib.Graph, node: rdflib.term.Node, number: rdflib.URIRef) -> tuple:
    value = graph.value(node, SKOS_NOTATION) or graph.value(node, number)
    try:
        return (int(str(value)), str(node))
    except ValueError:
        return (999, str(node))


def overview(store: Store, settings: Settings, lang: str) -> dict:
    graph = overview_graph(store, settings)
    number = rdflib.URIRef(settings.base_iri + "ontology#sessionNumber")
    subject = rdflib.URIRef(DCT + "subject")
    location = rdflib.URIRef(SCHEMA + "location")
    projects = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(SCHEMA + "Project")))

    def nodes(kind: str) -> list[rdflib.term.Node]:
        prefix = f"{settings.id_base}{kind}/"
        # Entities only: a hash IRI (`…#en-preflabel`, a statement about the entity) is a part
        # of its document, not a thing of its own.
        found = {s for s in graph.subjects() if str(s).startswith(prefix) and "#" not in str(s)}
        return sorted(found, key=lambda n: _sort_key(graph, n, number))

    def entry(node: rdflib.term.Node, count: int | None = None) -> dict:
        return {"href": href(str(node), settings),
                "label": label(graph, node, lang) or str(node).rsplit("/", 1)[-1],
                "count": count}

    principles = [
        entry(p, len({s for s in graph.subjects(subject, p) if s in projects}))
        for p in nodes("principle")
    ]
    municipalities = [
        entry(m, len({s for s in graph.subjects(location, m) if s in projects}))
        for m in nodes("municipality")
    ]
    return {
        "principles": principles,
        "sessions": [entry(s) for s in nodes("session")],
        "municipalities": sorted(
            [m for m in municipalities if m["count"]] or municipalities, key=lambda m: m["label"]
        ),
        "chart": bar_chart(principles),
    }


def bar_chart(rows: list[dict], width: int = 640) -> dict:
    """Geometry of a horizontal bar chart (label above each bar), drawn by the template."""
    most = max([r["count"] or 0 for r in rows] + [1])
    bar_room, row_height = width - 60, 38
    bars = []
    for index, row in enumerate(rows):
        y = index * row_height
        bars.append({**row, "y_text": y + 13, "y_bar": y + 18,
                     "width": round(bar_room * (row["count"] or 0) / most),
                     "x_count": round(bar_room * (row["count"] or 0) / most) + 6})
    return {"width": width, "height": max(row_height * len(rows), row_height), "bars": bars}


def home_context(store: Store, settings: Settings, lang: str) -> dict:
    counts = kind_counts(store, settings)
    return {
        "counts": [(kind, kind_name(kind, lang, plural=True), counts.get(kind, 0))
                   for kind in COUNTED if counts.get(kind)],
        "total": store.quad_count(),
        **overview(store, settings, lang),
    }


router = APIRouter(tags=["html"])


@router.get("/", response_class=HTMLResponse)
@router.head("/", include_in_schema=False)
async def get_home(request: Request, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    """Home page: what the graph holds, counts, and browsing by principle, session, municipality."""
    lang = choose_language(request)
    context = await run_in_threadpool(home_context, store, settings, lang)
    return render_page(request, "home.html", context)
