"""The bilingual HTML page of one entity, built from its description graph (one fetch)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import rdflib
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from graph_service.core import identifiers
from graph_service.linked_data.describe import LABEL_PREDICATES
from graph_service.linked_data.history import history
from graph_service.settings import Settings
from graph_service.web.html import choose_language, render_page

SCHEMA = "https://schema.org/"
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
LABELS = [rdflib.URIRef(p) for p in LABEL_PREDICATES]  # the names the description fetched
DESCRIPTIONS = [
    rdflib.URIRef(SCHEMA + "description"),
    rdflib.SKOS.definition,
    rdflib.RDFS.comment,
]
HIDDEN = {rdflib.RDF.type, rdflib.RDFS.isDefinedBy, *LABELS, *DESCRIPTIONS}
TRANSLATOR = rdflib.URIRef(SCHEMA + "translator")
# How a page marks a string the project added (an rdf:Statement node about it says so).
MARKS: dict[str, dict[str, str]] = {
    "translated": {"nb": "oversatt", "nn": "omsett", "en": "translated"},
    "inferred": {"nb": "avledet", "nn": "avleidd", "en": "inferred"},
}

# kind (the IRI path segment) → singular in nb, nn, en, then plural in nb, nn, en (a KindNames)
KINDS = identifiers.KINDS  # the kinds of entity and their names, shared with the search
OTHER = ("Annet", "Anna", "Other")
LANG_INDEX = {"nb": 0, "nn": 1, "en": 2}
# Names for common standard properties when the graph gives none: (nb, nn, en).
PROPERTY_NAMES: dict[str, tuple[str, str, str]] = {
    SCHEMA + "member": ("Personer", "Personar", "People"),
    SCHEMA + "location": ("Kommune", "Kommune", "Municipality"),
    SCHEMA + "subjectOf": ("Samtale", "Samtale", "Session"),
    SCHEMA + "parentOrganization": ("Organisasjon", "Organisasjon", "Organisation"),
    SCHEMA + "performer": ("Deltakere", "Deltakarar", "Participants"),
    SCHEMA + "subEvent": ("Samtaler", "Samtalar", "Sessions"),
    SCHEMA + "superEvent": ("Del av", "Del av", "Part of"),
    SCHEMA + "organizer": ("Arrangører", "Arrangørar", "Organisers"),
    SCHEMA + "startDate": ("Start", "Start", "Start"),
    SCHEMA + "endDate": ("Slutt", "Slutt", "End"),
    SCHEMA + "roleName": ("Rolle", "Rolle", "Role"),
    SCHEMA + "namedPosition": ("Stilling", "Stilling", "Position"),
    SCHEMA + "recordedIn": ("Opptak", "Opptak", "Recording"),
    SCHEMA + "about": ("Handler om", "Handlar om", "About"),
    SCHEMA + "inLanguage": ("Språk", "Språk", "Language"),
    SCHEMA + "sameAs": ("Samme som", "Same som", "Same as"),
    str(DCT.subject): ("Prinsipp", "Prinsipp", "Principle"),
    str(DCT.source): ("Kilde", "Kjelde", "Source"),
    str(DCT.spatial): ("Sted", "Stad", "Place"),
    str(DCT.references): ("Referanser", "Referansar", "References"),
    str(rdflib.OWL.sameAs): ("Samme som", "Same som", "Same as"),
    str(rdflib.SKOS.inScheme): ("I begrepssystem", "I omgrepssystem", "In scheme"),
    str(rdflib.SKOS.notation): ("Nummer", "Nummer", "Number"),
    str(rdflib.SKOS.editorialNote): ("Redaksjonell merknad", "Redaksjonell merknad",
                                     "Editorial note"),
    "http://www.w3.org/ns/org#headOf": ("Leder for", "Leiar for", "Head of"),
}
FORMS = [
    (".ttl", "text/turtle", "Turtle"),
    (".jsonld", "application/ld+json", "JSON-LD"),
    (".nt", "application/n-triples", "N-Triples"),
    (".rdf", "application/rdf+xml", "RDF/XML"),
]


def local_name(iri: str) -> str:
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def pick_literal(values: list[rdflib.Literal], lang: str) -> rdflib.Literal | None:
    """The value in the page language, else untagged, else Norwegian, else any."""
    for wanted in (lang, None, "nb", "en"):
        for value in values:
            if value.language == wanted:
                return value
    return values[0] if values else None


def added_mark(
    graph: rdflib.Graph, node: rdflib.term.Node, predicate: rdflib.term.Node,
    value: rdflib.term.Node, lang: str,
) -> str | None:
    """«translated» / «inferred» in the page language when the graph says the value is ours:
    an rdf:Statement node about (node, predicate, value) with a schema:translator, or with
    prov:wasDerivedFrom and a note saying how it was derived (data/translations.ttl,
    data/editorial.ttl). The description fetch brings these nodes: they are `{iri}#…`."""
    RDF = rdflib.RDF
    for statement in graph.subjects(RDF.subject, node):
        if (statement, RDF.predicate, predicate) not in graph:
            continue
        if (statement, RDF.object, value) not in graph:
            continue
        if (statement, TRANSLATOR, None) in graph:
            kind = "translated"
        elif (statement, rdflib.PROV.wasDerivedFrom, None) in graph:
            kind = "inferred"
        else:
            continue
        return MARKS[kind].get(lang, MARKS[kind]["nb"])
    return None


def marked_label(graph: rdflib.Graph, node: rdflib.term.Node, lang: str) -> tuple[str, str | None]:
    """The entity's name in the page language, and its mark if the name is a translation."""
    for predicate in LABELS:
        values = [o for o in graph.objects(node, predicate) if isinstance(o, rdflib.Literal)]
        chosen = pick_literal(values, lang)
        if chosen is not None:
            return str(chosen), added_mark(graph, node, predicate, chosen, lang)
    return "", None


def label(graph: rdflib.Graph, node: rdflib.term.Node, lang: str) -> str | None:
    for predicate in LABELS:
        values = [o for o in graph.objects(node, predicate) if isinstance(o, rdflib.Literal)]
        chosen = pick_literal(values, lang)
        if chosen is not None:
            return str(chosen)
    return None


def kind_of(iri: str, settings: Settings) -> str | None:
    if not iri.startswith(settings.id_base):
        return None
    return iri[len(settings.id_base):].split("/", 1)[0]


def kind_name(kind: str | None, lang: str, plural: bool = False) -> str:
    index = LANG_INDEX.get(lang, 0)
    names = KINDS.get(kind or "")
    if names is None:
        return kind or OTHER[index]
    return names[(3 if plural else 0) + index]


def href(iri: str, settings: Settings) -> str:
    """Entity IRIs link to their service path; other IRIs stay as they are."""
    if iri.startswith(settings.base_iri):
        return "/" + iri[len(settings.base_iri):]
    return iri


def link(graph: rdflib.Graph, iri: rdflib.term.Node, settings: Settings, lang: str) -> dict:
    text = label(graph, iri, lang) or local_name(str(iri))
    return {"href": href(str(iri), settings), "label": text,
            "kind": kind_of(str(iri), settings), "iri": str(iri)}


def property_name(graph: rdflib.Graph, predicate: rdflib.term.Node, lang: str) -> str:
    found = label(graph, predicate, lang)
    if found:
        return found
    names = PROPERTY_NAMES.get(str(predicate))
    if names:
        return names[LANG_INDEX.get(lang, 0)]
    return local_name(str(predicate))


def facts(graph: rdflib.Graph, node: rdflib.term.Node, settings: Settings, lang: str) -> list:
    """(property name, values) for the entity's own statements, links as links."""
    by_predicate: dict[rdflib.term.Node, list] = defaultdict(list)
    for predicate, value in graph.predicate_objects(node):
        if predicate not in HIDDEN:
            by_predicate[predicate].append(value)
    rows = []
    for predicate, values in by_predicate.items():
        literals = [v for v in values if isinstance(v, rdflib.Literal)]
        shown: list[dict] = []
        tagged = [v for v in literals if v.language]
        if tagged:
            chosen = pick_literal(tagged, lang)
            literals = [v for v in literals if not v.language] + ([chosen] if chosen else [])
        shown += [{"text": str(v), "mark": added_mark(graph, node, predicate, v, lang)}
                  for v in literals]
        for value in values:
            if isinstance(value, rdflib.URIRef):
                shown.append(link(graph, value, settings, lang))
            elif isinstance(value, rdflib.BNode):
                inner = facts(graph, value, settings, lang)
                text = "; ".join(
                    f"{name}: {', '.join(v.get('label') or v.get('text', '') for v in vals)}"
                    for name, vals in inner
                )
                shown.append({"text": text})
        shown.sort(key=lambda v: v.get("label") or v.get("text") or "")
        rows.append((property_name(graph, predicate, lang), shown))
    rows.sort(key=lambda row: row[0].lower())
    return rows


def incoming(graph: rdflib.Graph, node: rdflib.term.Node, settings: Settings, lang: str) -> list:
    """Things that link here, grouped by their kind (a principle lists sessions, projects)."""
    groups: dict[str, list] = defaultdict(list)
    for subject, predicate in graph.subject_predicates(node):
        if subject == node or not isinstance(subject, rdflib.URIRef):
            continue
        if (subject, rdflib.RDF.type, rdflib.RDF.Statement) in graph:
            continue  # a statement node about this entity's values, not a thing linking here
        item = link(graph, subject, settings, lang)
        item["via"] = property_name(graph, predicate, lang)
        groups[item["kind"] or ""].append(item)
    order = list(KINDS)
    return [
        (kind_name(kind or None, lang, plural=True), sorted(items, key=lambda i: i["label"]))
        for kind, items in sorted(
            groups.items(), key=lambda g: order.index(g[0]) if g[0] in order else 99
        )
    ]


def sources(graph: rdflib.Graph, node: rdflib.term.Node, settings: Settings, lang: str) -> list:
    """The named graphs the statements come from, each with its title and dct:source."""
    found = []
    for named in sorted(graph.objects(node, rdflib.RDFS.isDefinedBy), key=str):
        titles = [o for o in graph.objects(named, DCT.title) if isinstance(o, rdflib.Literal)]
        title = pick_literal(titles, lang)
        found.append({
            "graph": str(named),
            "title": str(title) if title else local_name(str(named)),
            "sources": [link(graph, s, settings, lang) for s in graph.objects(named, DCT.source)],
        })
    return found


def schema_org(graph: rdflib.Graph, node: rdflib.URIRef, lang: str) -> Markup:
    """schema.org JSON-LD for search engines, safe inside a <script> element."""
    data: dict[str, Any] = {"@context": "https://schema.org", "@id": str(node)}
    types = [local_name(str(t)) for t in graph.objects(node, rdflib.RDF.type)
             if str(t).startswith(SCHEMA)]
    if types:
        data["@type"] = types if len(types) > 1 else types[0]
    name = label(graph, node, lang)
    if name:
        data["name"] = name
    for predicate, value in graph.predicate_objects(node):
        key = str(predicate)
        if not key.startswith(SCHEMA) or key == SCHEMA + "name":
            continue
        if isinstance(value, rdflib.Literal):
            if value.language and value.language != lang:
                continue
            item: Any = str(value)
        elif isinstance(value, rdflib.URIRef):
            item = {"@id": str(value)}
            value_name = label(graph, value, lang)
            if value_name:
                item["name"] = value_name
        else:
            continue
        data.setdefault(local_name(key), []).append(item)
    text = json.dumps(data, ensure_ascii=False, indent=1)
    # `<!--<script>` in a value would keep the page's own `</script>` from ending the element.
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return Markup(text)


def render_entity(
    request: Request, settings: Settings, graph: rdflib.Graph, iri: str, base_path: str
) -> HTMLResponse:
    lang = choose_language(request)
    node = rdflib.URIRef(iri)
    kind = kind_of(iri, settings)
    descriptions = [(o, p) for p in DESCRIPTIONS for o in graph.objects(node, p)
                    if isinstance(o, rdflib.Literal)]
    description = pick_literal([o for o, _ in descriptions], lang)
    description_mark = next((added_mark(graph, node, p, o, lang)
                             for o, p in descriptions if o == description), None)
    name, name_mark = marked_label(graph, node, lang)
    types = [link(graph, t, settings, lang) for t in graph.objects(node, rdflib.RDF.type)]
    context = {
        "iri": iri,
        "name": name or local_name(iri),
        "name_mark": name_mark,
        "kind": kind_name(kind, lang),
        "kind_slug": kind,
        "types": sorted(types, key=lambda t: t["label"]),
        "description": str(description) if description else None,
        "description_mark": description_mark,
        "facts": facts(graph, node, settings, lang),
        "incoming": incoming(graph, node, settings, lang),
        "sources": sources(graph, node, settings, lang),
        "forms": [(base_path + s, t, n) for s, t, n in FORMS],
        "schema_org": schema_org(graph, node, lang),
        "history": history(graph, node, settings, lang,
                           lambda county: link(graph, county, settings, lang)),
    }
    return render_page(request, "entity.html", context)
