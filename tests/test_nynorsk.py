"""Story: a reader or an agency that writes nynorsk gets every page, message and label in
nynorsk, beside bokmål and English; nothing exists in bokmål alone.

The first half holds the sources to it (templates, error details, the ontology and shapes, the
ready queries); the second half asks the running service as a browser and a client would."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import jinja2
import pytest
import rdflib
from click.testing import CliRunner
from conftest import ROOT
from fastapi.testclient import TestClient
from jinja2 import nodes
from rdflib.namespace import DCTERMS, RDF, RDFS, SH, SKOS

from graph_service.cli import main
from graph_service.core import errors as core_errors
from graph_service.core.errors import SEPARATOR, SmartbyError, in_language
from graph_service.sparql.catalogue import CatalogueError, load_catalogue
from graph_service.web import errors as web_errors
from graph_service.web.html import language_from_header

PACKAGE = ROOT / "graph_service"
TEMPLATES = PACKAGE / "templates"
ONTOLOGY = ROOT / "ontology"
KG = "https://w3id.org/smartby/ontology#"
SCHEMA = rdflib.Namespace("https://schema.org/")
PRINCIPLES = "https://w3id.org/smartby/id/scheme/roadmap-principles"
TEXT_PREDICATES = [RDFS.label, RDFS.comment, SKOS.prefLabel, SKOS.definition,
                   SKOS.editorialNote, DCTERMS.title, DCTERMS.description, SH.message]
BAD_PERSON = ROOT / "tests" / "inputs" / "bad" / "person-without-name.ttl"
NAME_SHAPE = "https://w3id.org/smartby/shapes#PersonShape-name"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# -- the sources: nothing in bokmål alone ---------------------------------------------------


def test_every_template_text_is_given_in_bokmal_nynorsk_and_english() -> None:
    environment = jinja2.Environment()
    calls = 0
    for path in sorted(TEMPLATES.glob("*.html")):
        for call in environment.parse(path.read_text()).find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "t":
                calls += 1
                where = f"{path.name}:{call.lineno}"
                assert len(call.args) == 3, f"{where}: t() needs nb, en and nn"
                for arg in call.args:
                    if isinstance(arg, nodes.Const):
                        assert isinstance(arg.value, str) and arg.value.strip(), where
    assert calls > 100  # the check saw the pages' texts, not an empty folder


def _error_classes() -> set[str]:
    found = set()
    for module in (core_errors, web_errors):
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, SmartbyError):
                found.add(name)
    return found


def _unsaid_details(source: str, path: str, classes: set[str]) -> list[str]:
    """Raised errors whose detail is not built with say(en, nb, nn) in this source."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in classes:
            continue
        position = 2 if name == "HttpError" else 0
        detail = node.args[position] if len(node.args) > position else next(
            (k.value for k in node.keywords if k.arg == "detail"), None)
        if detail is None:
            continue  # the class's own (said) default
        said = (isinstance(detail, ast.Call) and getattr(detail.func, "id", "") == "say"
                and len(detail.args) == 3)
        passed_on = isinstance(detail, ast.Name)  # a detail said where it was made
        if not (said or passed_on):
            problems.append(f"{path}:{node.lineno}")
    return problems


def test_every_error_detail_is_said_in_english_bokmal_and_nynorsk() -> None:
    classes = _error_classes()
    assert {"InvalidRequest", "NotFound", "QueryTimeout", "HttpError"} <= classes
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        problems += _unsaid_details(path.read_text(), str(path.relative_to(ROOT)), classes)
    assert problems == []


def test_the_detail_check_catches_a_bokmal_only_message() -> None:
    classes = _error_classes()
    bad = 'raise NotFound("Ingen graf.")\nraise InvalidRequest(f"Feil: {x}")\n'
    good = 'raise NotFound(say("No graph.", "Ingen graf.", "Ingen graf."))\n'
    assert _unsaid_details(bad, "bad.py", classes) == ["bad.py:1", "bad.py:2"]
    assert _unsaid_details(good, "good.py", classes) == []


def _texts_missing_a_language(graph: rdflib.Graph) -> list[str]:
    missing = []
    for predicate in TEXT_PREDICATES:
        for subject in set(graph.subjects(predicate, None)):
            languages = {o.language for o in graph.objects(subject, predicate)
                         if isinstance(o, rdflib.Literal)}
            if "nb" in languages and not {"nn", "en"} <= languages:
                missing.append(f"{subject} {predicate} has {sorted(languages)}")
    return missing


@pytest.mark.parametrize("files", [
    ("ontology/smartby.ttl",),
    ("ontology/shapes.ttl",),
    # the source's bokmål names, with our translations and notes kept in their own graphs
    ("ontology/principles.ttl", "data/translations.ttl", "data/editorial.ttl"),
], ids=["vocabulary", "shapes", "principles"])
def test_ontology_texts_in_bokmal_are_in_nynorsk_and_english_too(files: tuple[str]) -> None:
    graph = rdflib.Graph()
    for name in files:
        graph.parse(ROOT / name)
    assert _texts_missing_a_language(graph) == []


def test_the_ontology_check_catches_a_label_in_bokmal_only() -> None:
    graph = rdflib.Graph().parse(data=f"""
        <{KG}thing> <{RDFS.label}> "ting"@nb , "thing"@en .""", format="turtle")
    assert len(_texts_missing_a_language(graph)) == 1


def test_every_shacl_message_and_own_term_speaks_all_three() -> None:
    shapes = rdflib.Graph().parse(ONTOLOGY / "shapes.ttl")
    shapes_with_messages = set(shapes.subjects(SH.message, None))
    assert len(shapes_with_messages) > 90
    for shape in shapes_with_messages:
        languages = {o.language for o in shapes.objects(shape, SH.message)}
        assert languages == {"nb", "nn", "en"}, shape
    vocabulary = rdflib.Graph().parse(ONTOLOGY / "smartby.ttl")
    own = {s for s in vocabulary.subjects() if str(s).startswith(KG)}
    assert len(own) > 10
    for term in own:
        for predicate in (RDFS.label, RDFS.comment):
            languages = {o.language for o in vocabulary.objects(term, predicate)}
            assert not languages or {"nb", "nn", "en"} <= languages, (term, predicate)
        assert {o.language for o in vocabulary.objects(term, RDFS.label)} >= {"nb", "nn", "en"}


def test_the_principles_have_nynorsk_labels_marked_as_our_translation() -> None:
    principles_graph = rdflib.Graph().parse(ONTOLOGY / "principles.ttl")
    principles = set(principles_graph.subjects(SKOS.inScheme, rdflib.URIRef(PRINCIPLES)))
    assert len(principles) == 8
    assert not any(o.language == "nn" for o in principles_graph.objects(None, SKOS.prefLabel))
    translations = rdflib.Graph().parse(ROOT / "data" / "translations.ttl")
    for principle in principles:  # the source's graph keeps its bokmål; ours adds nn and en
        labels = {o.language: o for o in translations.objects(principle, SKOS.prefLabel)}
        assert set(labels) == {"nn", "en"}, principle
        statements = set(translations.subjects(RDF.object, labels["nn"]))
        assert any((s, RDF.subject, principle) in translations
                   and (s, SCHEMA.translator, None) in translations for s in statements)
    nn = {str(o) for o in translations.objects(None, SKOS.prefLabel) if o.language == "nn"}
    assert "Tenk heilskapleg" in nn and "Del og ta i bruk opne data" in nn
    editorial = rdflib.Graph().parse(ROOT / "data" / "editorial.ttl")
    notes = {o.language: str(o) for o in editorial.objects(rdflib.URIRef(PRINCIPLES),
                                                           SKOS.editorialNote)}
    assert "nynorske" in notes["nb"] and "Nynorsk" in notes["en"] and "nynorske" in notes["nn"]


def test_every_ready_query_speaks_all_three() -> None:
    catalogue = load_catalogue(ROOT / "queries")
    assert len(catalogue) >= 15
    for named in catalogue.values():
        texts = [named.summary, named.description, *(p.description for p in named.params)]
        for text in texts:
            assert set(text) == {"nb", "nn", "en"} and all(text.values()), named.name
        assert named.summary["nn"] != named.summary["en"], named.name  # written, not copied


def test_a_query_decorated_in_bokmal_and_english_only_is_refused(tmp_path: Path) -> None:
    (tmp_path / "two.rq").write_text(
        "#+ summary:\n#+   nb: Alle ting\n#+   en: All things\nSELECT * WHERE { ?s ?p ?o }\n")
    with pytest.raises(CatalogueError, match="'nb', 'nn' and 'en'"):
        load_catalogue(tmp_path)


# -- choosing the language --------------------------------------------------------------------


@pytest.mark.parametrize(("header", "language"), [
    ("nn", "nn"),
    ("nn-NO", "nn"),
    ("no", "nb"),
    ("nb-NO,nb;q=0.9", "nb"),
    ("nb;q=0.5, nn;q=0.9", "nn"),
    ("nn;q=0.1, en;q=0.8", "en"),
    ("en, nn;q=0.9", "en"),
    ("de, fr", "nb"),
    ("", "nb"),
])
def test_accept_language_q_values_choose_among_three(header: str, language: str) -> None:
    assert language_from_header(header) == language


def test_a_said_detail_splits_into_each_language() -> None:
    detail = core_errors.say("No graph.", "Ingen graf.", "Ingen graf her.")
    assert detail.split(SEPARATOR) == ["No graph.", "Ingen graf.", "Ingen graf her."]
    assert in_language(detail, "nn") == "Ingen graf her."
    assert in_language("a message of the framework", "nn") == "a message of the framework"


# -- the running service ----------------------------------------------------------------------


def test_the_home_page_in_nynorsk(reader: TestClient) -> None:
    response = reader.get("/", headers={"Accept-Language": "nn"})
    assert response.status_code == 200
    assert '<html lang="nn">' in response.text
    assert "berekraftige" in response.text and "Kommunar" in response.text
    assert "Tenk heilskapleg" in response.text  # the principles by their nynorsk labels
    bokmal = reader.get("/", headers={"Accept-Language": "nb"}).text
    assert '<html lang="nb">' in bokmal and "Kommuner" in bokmal and "Kommunar" not in bokmal


PAGES = ["/", "/sparql", "/queries", "/queries/projects-per-principle-count", "/browse",
         "/validate", "/ontology", "/shapes", "/catalog", "/id/project/bygdepakke",
         "/id/principle/tenk-helhetlig", "/submissions", "/no/such/page"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_speaks_nynorsk_and_offers_the_other_two(reader: TestClient,
                                                            path: str) -> None:
    response = reader.get(path, params={"lang": "nn"}, headers={"Accept": BROWSER})
    assert response.headers["content-type"].startswith("text/html"), path
    assert '<html lang="nn">' in response.text, path
    links = dict(re.findall(r'<a href="([^"]*)" hreflang="(nb|nn|en)"', response.text))
    assert sorted(links.values()) == ["en", "nb"], path
    for href, code in links.items():
        assert href.startswith(path) and href.endswith(f"lang={code}"), href


def test_the_language_switch_keeps_the_query_and_the_cookie_keeps_the_choice(
        reader: TestClient) -> None:
    first = reader.get("/browse", params={"type": "project", "lang": "nn"},
                       headers={"Accept": BROWSER})
    assert first.cookies.get("lang") == "nn"
    assert 'href="/browse?type=project&amp;lang=en"' in first.text
    later = reader.get("/queries", headers={"Accept": BROWSER})  # the cookie alone
    assert '<html lang="nn">' in later.text and "Ferdige spørjingar" in later.text


def _nn_message(shape: str) -> str:
    shapes = rdflib.Graph().parse(ONTOLOGY / "shapes.ttl")
    (message,) = [o for o in shapes.objects(rdflib.URIRef(shape), SH.message)
                  if o.language == "nn"]
    return str(message)


def test_a_validation_report_asked_for_in_nynorsk_carries_nynorsk_messages(
        reader: TestClient) -> None:
    response = reader.post("/validate", content=BAD_PERSON.read_bytes(),
                           headers={"Content-Type": "text/turtle", "Accept": "application/json",
                                    "Accept-Language": "nn"})
    report = response.json()
    assert report["lang"] == "nn" and response.headers["content-language"] == "nn"
    (result,) = [r for r in report["results"] if r["source_shape"] == NAME_SHAPE]
    assert result["message"] == _nn_message(NAME_SHAPE)
    assert result["message"] != result["messages"]["nb"]
    page = reader.post("/validate?lang=nn", headers={"Accept": BROWSER},
                       data={"data": BAD_PERSON.read_text(), "format": "text/turtle"})
    assert '<html lang="nn">' in page.text and _nn_message(NAME_SHAPE) in page.text
    assert "Innsendinga er ikkje gyldig" in page.text


def test_the_cli_reports_in_nynorsk() -> None:
    result = CliRunner().invoke(main, ["validate", str(BAD_PERSON), "--lang", "nn"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Er ikkje gyldig: 1 brot")
    assert _nn_message(NAME_SHAPE) in result.output


def test_error_details_answer_in_all_three(reader: TestClient) -> None:
    response = reader.get("/queries/no-such-query")
    assert response.status_code == 404
    english, bokmal, nynorsk = response.json()["detail"].split(SEPARATOR)
    assert english.startswith("No query named")
    assert bokmal.startswith("Ingen spørring heter")
    assert nynorsk.startswith("Inga spørjing heiter")
    missing = reader.get("/no/such/page").json()["detail"]
    assert len(missing.split(SEPARATOR)) == 3
    syntax = reader.get("/sparql", params={"query": "SELEKT *"}).json()
    assert syntax["error"] == "syntax_error"
    assert "(linje 1, kolonne" in syntax["detail"].split(SEPARATOR)[2]
