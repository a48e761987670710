"""Story: a researcher browses the catalogue of ready queries and runs them with parameters."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, VIRTUOSO_BOOLEANS, VIRTUOSO_STR, virtuoso_limitation
from rdflib import Graph, Literal, URIRef

from graph_service.sparql.catalogue import CatalogueError, bind_parameters, load_catalogue

QUERIES = ROOT / "queries"
ID = "https://w3id.org/smartby/id/"
Rows = list[dict[str, str]]


def rows_of(response) -> Rows:
    assert response.status_code == 200, response.text
    data = response.json()
    return [{k: v["value"] for k, v in row.items()} for row in data["results"]["bindings"]]


def check_projects_by_principle(rows: Rows) -> None:
    assert len(rows) == 8
    by_principle = {(r["notation"], r["projectName"]) for r in rows}
    assert ("1", "Drammensmodellen") in by_principle and ("3", "Orklandbadet") in by_principle


def check_tenk_helhetlig(rows: Rows) -> None:
    assert {r["projectName"] for r in rows} == {
        "Bygdepakke", "Lærende samfunn og bærekraftig verdiskaping"}
    assert {r["principle"] for r in rows} == {ID + "principle/tenk-helhetlig"}


def check_bergen(rows: Rows) -> None:
    assert {r["projectName"] for r in rows} == {
        "Bopilot Bergen – Designsprint", "Building Dignity – Bergen inkluderingssenter"}
    assert "Maria Molden" in {r["personName"] for r in rows}


def check_several_sessions(rows: Rows) -> None:
    molden = next(r for r in rows if r["name"] == "Maria Molden")
    assert molden["sessions"] == "2" and set(molden["sessionNumbers"].split(", ")) == {"1", "4"}
    assert all(int(r["sessions"]) >= 2 for r in rows)


def check_cooccurrence(rows: Rows) -> None:
    pairs = {(r["nameA"], r["nameB"]) for r in rows}
    assert ("Bergen kommune", "Drammen kommune") in pairs
    assert ("Norconsult", "Stavanger kommune") in pairs


def check_sessions_in_order(rows: Rows) -> None:
    assert [int(r["number"]) for r in rows] == list(range(1, 9))
    assert rows[0]["principleLabel"] == "Sett innbyggerne i sentrum"
    assert rows[4]["startDate"].startswith("2021-05-20")
    assert "startDate" not in rows[0]  # the source gives no date for session 1


def check_sessions_in_english(rows: Rows) -> None:
    assert rows[0]["principleLabel"] == "Put citizens at the centre"
    assert rows[0]["statusLabel"] == "recording available"


def check_counties(rows: Rows) -> None:
    county_of = {r["municipalityName"]: r["countyName"] for r in rows}
    assert county_of["Bergen"] == "Vestland" and county_of["Drammen"] == "Buskerud"
    assert county_of["Sola"] == county_of["Stavanger"] == "Rogaland"


def check_numbers(rows: Rows) -> None:
    drammen = next(r for r in rows if r["municipalityName"] == "Drammen")
    assert (drammen["number2021"], drammen["numberToday"], drammen["changed"]) == (
        "3005", "3301", "true")
    bergen = next(r for r in rows if r["municipalityName"] == "Bergen")
    assert bergen["changed"] == "false"


def on_a_date(number: str, county: str, *, since: str | None, until: str | None
              ) -> Callable[[Rows], None]:
    """Drammen's number and county on the asked date, with the period the number is valid in."""
    def check(rows: Rows) -> None:
        (drammen,) = [r for r in rows if r["municipalityName"] == "Drammen"]
        assert (drammen["number"], drammen["countyName"]) == (number, county)
        assert (drammen.get("numberValidFrom"), drammen.get("numberValidThrough")) == (
            since, until)
        assert len(rows) == 7, "one row per municipality: numbers and counties never overlap"
        bergen = next(r for r in rows if r["municipalityName"] == "Bergen")
        assert (bergen["number"], bergen["countyName"]) == ("4601", "Vestland")
    return check


check_drammen_2021 = on_a_date("3005", "Viken", since=None, until="2023-12-31")
check_drammen_2024 = on_a_date("3301", "Buskerud", since="2024-01-01", until=None)


def check_midt_telemark_last_day(rows: Rows) -> None:
    (row,) = [r for r in rows if r["municipalityName"] == "Midt-Telemark"]
    assert (row["number"], row["countyName"]) == ("3817", "Vestfold og Telemark")


def check_session_4(rows: Rows) -> None:
    assert {r["name"] for r in rows} >= {"Tina Larsen", "Maria Molden", "Anja Standal",
                                         "Maria Hatling"}
    assert {r["number"] for r in rows} == {"4"}


def check_all_participants(rows: Rows) -> None:
    assert {r["number"] for r in rows} == {"1", "2", "3", "4"}


def check_norconsult(rows: Rows) -> None:
    assert {r["personName"] for r in rows} == {"Anja Standal", "Maria Hatling"}


def check_memberships(rows: Rows) -> None:
    heads = {r["personName"] for r in rows if r["heads"] == "true"}
    assert "Maria Molden" in heads and "Celine Blanc" not in heads


def check_search(rows: Rows) -> None:
    assert ID + "municipality/bergen" in {r["thing"] for r in rows}
    assert all("bergen" in r["value"].lower() for r in rows)


def check_counts(rows: Rows) -> None:
    assert len(rows) == 8
    assert (rows[0]["projects"], rows[0]["sessions"]) == ("2", "1")
    assert sum(int(r["projects"]) for r in rows) == 8


def check_principles(rows: Rows) -> None:
    assert [r["notation"] for r in rows] == [str(n) for n in range(1, 9)]
    assert (rows[1]["nb"], rows[1]["en"]) == ("Tenk Helhetlig", "Think holistically")


def check_references(rows: Rows) -> None:
    assert len(rows) == 3 and {r["number"] for r in rows} == {"4"}
    assert not any(r.get("address") for r in rows), "the source gives no address"
    assert all("ukjent" in r["note"] for r in rows)


def check_search_service(rows: Rows) -> None:
    assert rows[0]["project"] == ID + "project/smart-mobilitet-smart-sykkelkryssing"
    assert (rows[0]["municipalityName"], rows[0]["principleLabel"]) == (
        "Sola", "Prioriter klima og miljø")


def check_search_service_compound(rows: Rows) -> None:
    assert rows[0]["projectName"] == "Building Dignity – Bergen inkluderingssenter"
    assert rows[0]["municipalityName"] == "Bergen"


# name → [(parameters, check)]: every query in queries/ must be here.
CASES: dict[str, list[tuple[dict[str, str], Callable[[Rows], None]]]] = {
    "projects-by-principle": [({}, check_projects_by_principle),
                              ({"principle": "tenk-helhetlig"}, check_tenk_helhetlig),
                              ({"principle": ID + "principle/tenk-helhetlig"},
                               check_tenk_helhetlig)],
    "projects-in-municipality": [({}, check_bergen)],
    "people-in-several-sessions": [({}, check_several_sessions)],
    "organisations-in-the-same-session": [({}, check_cooccurrence)],
    "sessions-in-order": [({}, check_sessions_in_order), ({"language": "en"},
                                                           check_sessions_in_english)],
    "municipalities-by-county": [({}, check_counties)],
    "municipality-numbers-2021-and-now": [({}, check_numbers)],
    "municipality-number-and-county-on-a-date": [
        ({"date": "2021-06-01"}, check_drammen_2021),
        ({}, check_drammen_2021),
        ({"date": "2024-06-01"}, check_drammen_2024),
        ({"date": "2023-12-31"}, check_midt_telemark_last_day)],
    "participants-of-a-session": [({"session": "samtale-4"}, check_session_4),
                                  ({}, check_all_participants)],
    "people-by-organisation": [({"organisation": "norconsult"}, check_norconsult),
                               ({}, check_memberships)],
    "search-names-and-descriptions": [({}, check_search)],
    "projects-per-principle-count": [({}, check_counts)],
    "principles-of-the-roadmap": [({}, check_principles)],
    "references-per-session": [({}, check_references)],
    "search-projects-with-their-place": [({}, check_search_service),
                                         ({"text": "inkluderingssenteret"},
                                          check_search_service_compound)],
}
GRAPH_OR_BOOLEAN = {"everything-about-a-project", "principle-has-projects"}


def test_every_query_file_has_a_checked_case() -> None:
    names = {path.stem for path in QUERIES.glob("*.rq")}
    assert len(names) >= 12
    assert names == set(CASES) | GRAPH_OR_BOOLEAN


@pytest.mark.parametrize(("name", "params", "check"), [
    (name, params, check) for name, cases in CASES.items() for params, check in cases
])
def test_named_query_gives_a_checked_answer(
    reader, name, params, check, backend: str, request: pytest.FixtureRequest
) -> None:
    if check in (check_numbers, check_memberships):  # they read a BIND of a boolean
        virtuoso_limitation(request, backend, VIRTUOSO_BOOLEANS)
    rows = rows_of(reader.get(f"/queries/{name}", params=params))
    assert rows  # non-empty
    check(rows)


def test_a_date_before_anything_known_gets_no_guess(reader) -> None:
    """FACTS.md verifies no start for the 2021 numbers: before 2021 there is no answer."""
    rows = rows_of(reader.get("/queries/municipality-number-and-county-on-a-date",
                              params={"date": "2020-06-01"}))
    assert rows == []
    rows = rows_of(reader.get("/queries/municipality-number-and-county-on-a-date",
                              params={"date": "2021-01-01"}))
    assert {r["number"] for r in rows if r["municipalityName"] == "Drammen"} == {"3005"}


def test_everything_about_a_project_is_a_graph(reader) -> None:
    response = reader.get("/queries/everything-about-a-project",
                          params={"project": "bygdepakke"}, headers={"Accept": "text/turtle"})
    assert response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.content, format="turtle")
    project = URIRef(ID + "project/bygdepakke")
    assert (project, URIRef("https://schema.org/name"), Literal("Bygdepakke", lang="nb")) in graph
    assert len(set(graph.subjects())) >= 2  # the project and the labelled things it points to


@pytest.mark.parametrize(("principle", "expected"), [
    ("sett-innbyggerne-i-sentrum", True), ("sats-pa-neste-generasjon-naeringsliv", False)])
def test_principle_has_projects_is_a_boolean(reader, principle: str, expected: bool) -> None:
    response = reader.get("/queries/principle-has-projects", params={"principle": principle})
    assert response.json()["boolean"] is expected


@pytest.mark.parametrize(("fmt", "media_type"), [
    ("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
    ("xml", "application/sparql-results+xml"), ("json", "application/sparql-results+json")])
def test_named_queries_answer_in_every_result_format(reader, fmt: str, media_type: str) -> None:
    response = reader.get("/queries/principles-of-the-roadmap", params={"format": fmt})
    assert response.headers["content-type"].split(";")[0] == media_type
    if fmt == "csv":
        assert len(list(csv.DictReader(io.StringIO(response.text)))) == 8


# -- hostile values ----------------------------------------------------------------------------

HOSTILE = ['} ; DROP ALL ; {', '" } ; DROP ALL ; { "', "' } ; CLEAR ALL ; { '",
           'Bergen" ) ) } SELECT * WHERE { ?s ?p ?o } #', "line\nbreak \\ back\\slash",
           '""" } INSERT DATA { <a:b> <c:d> <e:f> } { """']


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_stays_a_literal(reader, value: str) -> None:
    before = reader.get("/health").json()["quads"]
    response = reader.get("/queries/search-names-and-descriptions", params={"text": value})
    assert response.status_code == 200
    data = response.json()
    assert data["head"]["vars"] == ["thing", "property", "value"]  # the same question …
    assert data["results"]["bindings"] == []  # … asked about a text nothing contains
    assert reader.get("/health").json()["quads"] == before


@pytest.mark.parametrize("value", HOSTILE)
def test_binding_puts_the_value_in_one_values_row(value: str) -> None:
    named = load_catalogue(QUERIES)["search-names-and-descriptions"]
    text = bind_parameters(named, {"text": [value]})
    import pyoxigraph as ox

    assert f"VALUES ?_text {{ {ox.Literal(value)} }}" in text
    assert text.replace(f"VALUES ?_text {{ {ox.Literal(value)} }}", "") .count("DROP") == 0


def test_a_quote_in_a_real_name_is_found_as_text(
    reader, backend: str, request: pytest.FixtureRequest
) -> None:
    virtuoso_limitation(request, backend, VIRTUOSO_STR)
    rows = rows_of(reader.get("/queries/search-names-and-descriptions",
                              params={"text": "«Drammensmodellen»"}))
    assert ID + "session/samtale-1" in {r["thing"] for r in rows}
    assert all("«drammensmodellen»" in r["value"].lower() for r in rows)


@pytest.mark.parametrize(("name", "params", "status"), [
    ("projects-by-principle", {"principle": "x> } ; DROP ALL ; { <y"}, 400),
    ("projects-by-principle", {"principle": "not an iri"}, 400),
    ("sessions-in-order", {"language": "de"}, 400),
    ("people-in-several-sessions", {"min_sessions": "two"}, 400),
    ("people-in-several-sessions", {"min_sessions": "2 } ; DROP ALL"}, 400),
    ("projects-by-principle", {"nonsense": "1"}, 400),
    ("municipality-number-and-county-on-a-date", {"date": "2024-13-01"}, 400),
    ("municipality-number-and-county-on-a-date", {"date": "1 June 2024"}, 400),
    ("no-such-query", {}, 404),
])
def test_bad_parameters_are_refused(reader, name: str, params: dict, status: int) -> None:
    response = reader.get(f"/queries/{name}", params=params)
    assert response.status_code == status
    assert response.json()["detail"]


# -- the catalogue -------------------------------------------------------------------------------


def test_catalogue_as_json(reader) -> None:
    items = {q["name"]: q for q in reader.get("/queries").json()["queries"]}
    assert set(items) == {path.stem for path in QUERIES.glob("*.rq")}
    item = items["projects-in-municipality"]
    assert item["summary"]["nb"] and item["summary"]["en"] and item["tags"]
    (param,) = item["params"]
    assert (param["name"], param["type"], param["default"]) == ("municipality", "iri", "bergen")
    assert items["sessions-in-order"]["params"][0]["enum"] == ["nb", "en"]


def test_catalogue_as_html(reader) -> None:
    response = reader.get("/queries", headers={"Accept": "text/html"}, params={"lang": "en"})
    assert response.headers["content-type"].startswith("text/html")
    for path in QUERIES.glob("*.rq"):
        assert f'id="query-{path.stem}"' in response.text
    assert "Projects per principle" in response.text


# Other routers' GET+POST routes share operation ids; FastAPI warns, the schema is still whole.
def test_openapi_lists_each_query_with_its_parameters(reader) -> None:
    paths = reader.get("/openapi.json").json()["paths"]
    for path in QUERIES.glob("*.rq"):
        assert f"/queries/{path.stem}" in paths
    operation = paths["/queries/sessions-in-order"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["language"]["schema"]["enum"] == ["nb", "en"]
    assert params["language"]["schema"]["default"] == "nb"
    assert "format" in params
    assert operation["summary"] == "The sessions in order, with their principle and status"


@pytest.mark.parametrize(("decorators", "message"), [
    ("#+ summary: [unclosed\n", "not valid YAML"),
    ("#+ summary: x\n#+ params:\n#+   p: {type: colour}\n", "type must be one of"),
    ("#+ summary: x\n#+ params:\n#+   q: {type: string}\n", "differ from those declared"),
    ("#+ summary: x\n#+ colour: blue\n", "unknown decorators"),
    ("#+ summary: x\n#+ params:\n#+   p: {type: integer, default: many}\n", "type integer"),
])
def test_a_decorator_that_does_not_parse_fails_loudly(tmp_path: Path, decorators, message) -> None:
    (tmp_path / "broken.rq").write_text(decorators + "SELECT * WHERE { ?s ?p ?_p }\n")
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(tmp_path)


# -- smartby query NAME --param k=v ---------------------------------------------------------------


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SMARTBY_DATA_DIR=str(data_dir), SMARTBY_CONTENT_DIR=str(ROOT))
    env.pop("SMARTBY_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "graph_service", "query", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_cli_runs_a_named_query_with_parameters(tmp_path: Path) -> None:
    done = run_cli(tmp_path / "var", "projects-in-municipality", "--param",
                   "municipality=stavanger", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["projectName"] for r in rows} == {"Lervig Park og Kvikktest"}

    refused = run_cli(tmp_path / "var", "sessions-in-order", "--param", "language=de")
    assert refused.returncode == 2 and "must be one of" in refused.stderr
    unknown = run_cli(tmp_path / "var", "no-such-query")
    assert unknown.returncode == 2 and "No query named" in unknown.stderr
    from_file = run_cli(tmp_path / "var", str(QUERIES / "principle-has-projects.rq"),
                        "--param", "principle=tenk-helhetlig")
    assert from_file.returncode == 0 and '"boolean":true' in from_file.stdout.replace(" ", "")
