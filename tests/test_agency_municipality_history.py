"""Agency story: a municipality's page shows its history, its numbers and counties with their
periods, in bokmål, nynorsk and English, marked as our addition (checked outside facts)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import rdflib
from conftest import make_settings
from fastapi.testclient import TestClient

from graph_service.linked_data.history import ADMS_IDENTIFIER, history

ID = "https://w3id.org/smartby/id/"
GRAPH = "https://w3id.org/smartby/graph/"


class _History(HTMLParser):
    """The text of each list item in the page's history section, by list class, and the marks
    in its heading."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, list[str]] = {}
        self.marks: list[str] = []
        self.county_links: list[str] = []
        self.graphs: list[str] = []  # the <code> of the named graphs the history is stated in
        self._section = 0  # depth inside <section class="history">
        self._list: str | None = None
        self._in_item = False
        self._in_heading_mark = False
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "section" and ("history" in classes or self._section):
            self._section += 1
        if not self._section:
            return
        if tag == "ul":
            self._list = classes[0] if classes else ""
            self.items.setdefault(self._list, [])
        elif tag == "li" and self._list is not None:
            self._in_item = True
            self.items[self._list].append("")
        elif tag == "small" and "added" in classes:
            self._in_heading_mark = True
            self.marks.append("")
        elif tag == "a" and "county" in classes:
            self.county_links.append(dict(attrs).get("href") or "")
        elif tag == "code":
            self._in_code = True
            self.graphs.append("")

    def handle_endtag(self, tag: str) -> None:
        if not self._section:
            return
        if tag == "section":
            self._section -= 1
        elif tag == "ul":
            self._list = None
        elif tag == "li":
            self._in_item = False
        elif tag == "small":
            self._in_heading_mark = False
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_item and self._list is not None:
            self.items[self._list][-1] += data
        if self._in_heading_mark:
            self.marks[-1] += data
        if self._in_code:
            self.graphs[-1] += data


def history_of(reader: TestClient, path: str, lang: str) -> _History:
    response = reader.get(path, headers={"Accept": "text/html", "Accept-Language": lang})
    assert response.status_code == 200
    parser = _History()
    parser.feed(response.text)
    return parser


@pytest.mark.parametrize(("lang", "first_number", "second_number", "counties", "mark"), [
    ("nb", "3005 — gyldig i 2021, starten er ikke kontrollert; til og med 2023-12-31",
     "3301 — fra og med 2024-01-01; gjelder fortsatt",
     ["Viken — gyldig i 2021, starten er ikke kontrollert; til og med 2023-12-31",
      "Buskerud — fra og med 2024-01-01; gjelder fortsatt"], "(vårt tillegg)"),
    ("nn", "3005 — gyldig i 2021, starten er ikkje kontrollert; til og med 2023-12-31",
     "3301 — frå og med 2024-01-01; gjeld framleis",
     ["Viken — gyldig i 2021, starten er ikkje kontrollert; til og med 2023-12-31",
      "Buskerud — frå og med 2024-01-01; gjeld framleis"], "(vårt tillegg)"),
    ("en", "3005 — valid in 2021, start not verified; through 2023-12-31",
     "3301 — from 2024-01-01; still valid",
     ["Viken — valid in 2021, start not verified; through 2023-12-31",
      "Buskerud — from 2024-01-01; still valid"], "(our addition)"),
])
def test_drammens_page_lists_both_numbers_and_both_counties_with_their_periods(
    reader: TestClient, lang: str, first_number: str, second_number: str,
    counties: list[str], mark: str,
) -> None:
    history = history_of(reader, "/id/municipality/drammen", lang)
    assert history.items["numbers"] == [first_number, second_number], "in order of time"
    assert history.items["counties"] == counties
    assert history.marks == [mark], "the history is checked outside facts, not the source's"
    assert history.county_links == ["/id/county/viken", "/id/county/buskerud"]
    assert history.graphs == ["https://w3id.org/smartby/graph/enrichment"]


def test_an_unchanged_number_is_one_period_still_valid(reader: TestClient) -> None:
    history = history_of(reader, "/id/municipality/bergen", "en")
    assert history.items["numbers"] == ["4601 — valid in 2021, start not verified; still valid"]
    assert history.items["counties"] == [
        "Vestland — valid in 2021, start not verified; still valid"]


def test_a_page_without_history_has_no_history_section(reader: TestClient) -> None:
    history = history_of(reader, "/id/session/samtale-1", "en")
    assert history.items == {} and history.marks == []


def test_history_stated_in_a_source_graph_is_not_marked_as_ours(tmp_path) -> None:
    """The mark follows the graph the nodes are stated in, not the kind of node."""
    settings = make_settings(tmp_path)
    town = rdflib.URIRef(ID + "municipality/eksempelby")
    number = rdflib.URIRef(f"{town}#kommunenummer-4699")
    graph = rdflib.Graph()
    graph.add((town, ADMS_IDENTIFIER, number))
    graph.add((number, rdflib.SKOS.notation, rdflib.Literal("4699")))
    for stem, ours in (("municipalities", False), ("enrichment", True)):
        graph.set((number, rdflib.RDFS.isDefinedBy, rdflib.URIRef(GRAPH + stem)))
        found = history(graph, town, settings, "en", lambda county: {})
        assert found is not None and found.added is ours
        assert [p.text("en") for p in found.numbers] == ["start not known; still valid"]
