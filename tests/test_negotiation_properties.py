"""Any `Accept` / `Accept-Language` gets a documented answer, judged by oracles written here.

The headers are generated from a structure (ranges, q-values, parameters, junk), and the
oracle works on that structure, so it never uses the parser under test. The documented rules
(README, `core/media.py`): a range matches a type exactly (most specific), by `type/*`, or by
`*/*`; for each offered type the most specific matching ranges decide and among them the
highest q; q is an RFC 9110 qvalue (0-1, at most three decimals), anything else means 0; q=0
is "not acceptable"; the highest q wins, then the more specific match, then the server's
order; no header: the first offered. Elements without a `/` are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_service.core.media import GRAPH_TYPES, RESULTS_TYPES, preferred
from graph_service.linked_data.jsonld import profile_from_accept
from graph_service.web.html import language_from_header

OFFERED = [*RESULTS_TYPES, *GRAPH_TYPES, "text/html", "application/ld+json"]
TYPES = [*OFFERED, "image/png", "application/json"]


@dataclass(frozen=True)
class Range:
    media: str  # type/subtype, possibly with wildcards
    q_text: str | None  # as written; None: no q parameter
    params: tuple[tuple[str, str], ...]

    @property
    def q(self) -> float:
        """The oracle's reading of the q as written: three decimals at most, 0 to 1."""
        if self.q_text is None:
            return 1.0
        whole, _, decimals = self.q_text.partition(".")
        valid = (whole in ("0", "1") and len(decimals) <= 3
                 and all(c in "0123456789" for c in decimals)
                 and (whole == "0" or set(decimals) <= {"0"}))
        return float(self.q_text) if valid else 0.0

    def specificity(self, media_type: str) -> int:
        kind, sub = self.media.split("/")
        offered_kind, offered_sub = media_type.split("/")
        if (kind, sub) == ("*", "*"):
            return 1
        if kind == offered_kind and sub == "*":
            return 2
        return 3 if (kind, sub) == (offered_kind, offered_sub) else 0

    def text(self) -> str:
        parts = [self.media]
        parts += [f'{name}="{value}"' for name, value in self.params]
        if self.q_text is not None:
            parts.append(f"q={self.q_text}")
        return ";".join(parts)


def oracle_q(ranges: list[Range], media_type: str) -> tuple[float, int]:
    matching = [(r.specificity(media_type), r.q) for r in ranges if r.specificity(media_type)]
    if not matching:
        return 0.0, 0
    top = max(s for s, _ in matching)
    return max(q for s, q in matching if s == top), top


def oracle_choice(ranges: list[Range], offered: list[str]) -> str | None:
    best: tuple[float, int, int] | None = None
    choice = None
    for index, media_type in enumerate(offered):
        q, specificity = oracle_q(ranges, media_type)
        if q > 0 and (best is None or (q, specificity, -index) > best):
            best, choice = (q, specificity, -index), media_type
    return choice


valid_q = st.sampled_from(["0", "1", "0.5", "0.001", "0.999", "1.000", "0.0", "0.25", "1."])
invalid_q = st.sampled_from(["abc", "nan", "inf", "-1", "2", "0.1234", "1.5", "", "1e-1", "0x1"])
media = st.one_of(st.sampled_from(TYPES), st.just("*/*"),
                  st.sampled_from(["text/*", "application/*", "image/*"]))
profiles = st.sampled_from(["http://www.w3.org/ns/json-ld#expanded",
                            "http://www.w3.org/ns/json-ld#framed", "urn:x;a,b"])
ranges_strategy = st.lists(
    st.builds(Range, media, st.one_of(st.none(), valid_q, invalid_q),
              st.lists(st.tuples(st.just("profile"), profiles), max_size=1).map(tuple)),
    max_size=6)
junk = st.lists(st.sampled_from(["garbage", "", " ", "text", ";q=1"]), max_size=2)


@given(ranges_strategy, junk, st.lists(st.sampled_from(OFFERED), min_size=1, max_size=6,
                                       unique=True))
def test_preferred_is_what_the_oracle_chooses(
    ranges: list[Range], noise: list[str], offered: list[str]
) -> None:
    header = ", ".join([*(r.text() for r in ranges), *noise])
    expected = oracle_choice(ranges, offered) if header.strip() else offered[0]
    assert preferred(header, offered) == expected, header


@given(ranges_strategy)
def test_the_jsonld_profile_comes_only_from_an_acceptable_jsonld_range(
    ranges: list[Range]
) -> None:
    header = ", ".join(r.text() for r in ranges)
    candidates = [(r.q, -i, r.params[0][1].rsplit("#", 1)[-1])
                  for i, r in enumerate(ranges)
                  if r.media == "application/ld+json" and r.q > 0 and r.params
                  and r.params[0][1].startswith("http://www.w3.org/ns/json-ld#")]
    assert profile_from_accept(header) == (max(candidates)[2] if candidates else None), header


LANGUAGE_TAGS = ["nb", "nb-NO", "no", "nn", "nn-NO", "en", "en-GB", "en-US", "eng", "enx",
                 "nbx", "de", "fr", "sv", "*", "", "x-klingon"]


@given(st.lists(st.tuples(st.sampled_from(LANGUAGE_TAGS), st.one_of(st.none(), valid_q,
                                                                    invalid_q)), max_size=6))
def test_the_page_language_is_what_the_oracle_chooses(
    items: list[tuple[str, str | None]]
) -> None:
    header = ", ".join(tag + (f";q={q}" if q is not None else "") for tag, q in items)

    def language(tag: str) -> str | None:
        primary = tag.lower().split("-")[0]
        if primary in ("en", "nn"):
            return primary
        return "nb" if primary in ("nb", "no", "*") else None

    best, best_q = "nb", 0.0
    for tag, q_text in items:
        q = Range("x/y", q_text, ()).q
        if language(tag) and q > best_q:
            best, best_q = language(tag) or "nb", q
    assert language_from_header(header) == best, header


@settings(max_examples=40, deadline=None)
@given(ranges_strategy, st.sampled_from(["/id/principle/tenk-helhetlig", "/ontology",
                                         "/queries", "/dataset", "/sparql?query=ASK{}"]))
def test_any_accept_on_a_route_is_answered_200_or_406(
    reader: TestClient, ranges: list[Range], path: str
) -> None:
    header = ", ".join(r.text() for r in ranges)
    response = reader.get(path, headers={"Accept": header} if header else {})
    assert response.status_code in (200, 406), (header, response.text[:200])
    if response.status_code == 406:  # the one error shape: JSON, or a page for browsers
        if response.headers["content-type"].startswith("text/html"):
            assert "406" in response.text and "not_acceptable" in response.text
        else:
            assert response.json()["error"] == "not_acceptable"

