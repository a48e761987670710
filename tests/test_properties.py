"""Properties that must hold for any input: slugs, Accept negotiation, keyword refusal."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from graph_service.core.identifiers import (
    entity_iri,
    iri_for_path,
    is_slug,
    path_for_iri,
    slugify,
)
from graph_service.core.media import RESULTS_TYPES, preferred
from graph_service.core.sparql_text import remote_keywords

BASE = "https://w3id.org/smartby/"


@given(st.text())
def test_a_slug_is_always_lowercase_ascii_digits_and_single_hyphens(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or is_slug(slug)
    assert slugify(slug) == slug  # derived once, stable


def test_norwegian_letters_follow_the_slug_rule() -> None:
    assert slugify("Bærekraft på Økern") == "baerekraft-pa-okern"
    assert slugify("Ståle Undheim") == "stale-undheim"
    assert slugify("Building Dignity – Bergen inkluderingssenter") == (
        "building-dignity-bergen-inkluderingssenter"
    )


@given(st.sampled_from(["project", "person", "session"]), st.text(min_size=1))
def test_an_entity_iri_maps_to_its_path_and_back(kind: str, name: str) -> None:
    slug = slugify(name) or "x"
    iri = entity_iri(BASE, kind, slug)
    path = path_for_iri(BASE, iri)
    assert path == f"/id/{kind}/{slug}"
    assert iri_for_path(BASE, path) == iri


def test_an_iri_outside_the_namespace_has_no_path() -> None:
    assert path_for_iri(BASE, "http://www.wikidata.org/entity/Q1") is None


def test_q_values_and_wildcards_decide() -> None:
    offered = list(RESULTS_TYPES)
    assert preferred("text/csv;q=0.5, application/sparql-results+xml", offered) == (
        "application/sparql-results+xml"
    )
    assert preferred("*/*", offered) == "application/sparql-results+json"
    assert preferred("text/*", offered) == "text/csv"
    assert preferred("text/turtle", offered) is None
    assert preferred("", offered) == offered[0]


@given(st.text(alphabet=st.characters(blacklist_characters='"\\\n\r'), max_size=40))
def test_keywords_inside_strings_are_not_refused(text: str) -> None:
    query = f'SELECT * WHERE {{ ?s ?p "{text} SERVICE LOAD" }}'
    assert remote_keywords(query) == []


def test_real_keywords_are_found() -> None:
    assert remote_keywords("SELECT * { SERVICE <http://x/> { ?s ?p ?o } }") == ["SERVICE"]
    assert remote_keywords("load <http://x/> into graph <http://g>") == ["LOAD"]
    assert remote_keywords("SELECT ?service WHERE { ?s <http://x/load> ?service }") == []


def test_accept_language_q_values_decide_the_page_language() -> None:
    from graph_service.web.html import language_from_header

    assert language_from_header("en-GB;q=0.1, nb;q=0.9") == "nb"
    assert language_from_header("en-US,en;q=0.9") == "en"
    assert language_from_header("nn-NO, en;q=0.8") == "nn"  # nynorsk is offered too
    assert language_from_header("de, fr;q=0.5") == "nb"  # neither offered: Norwegian
    assert language_from_header("fr, en;q=0.3") == "en"
    assert language_from_header("en;q=0") == "nb"  # q=0 means not acceptable
