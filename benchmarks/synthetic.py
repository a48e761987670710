"""A seeded generator of a synthetic smartby graph of realistic shape, as N-Quads.

The shape follows `data/` and `ontology/`: series → sessions → participations
(schema:Role) → people → organisations / municipalities → counties; projects with a
principle, a session, a municipality, members, nb/en descriptions and references; each
kind in the named graph the loader gives its file (`https://w3id.org/smartby/graph/{stem}`).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

BASE = "https://w3id.org/smartby/"
ID = BASE + "id/"
KG = BASE + "ontology#"
SCHEMA = "https://schema.org/"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
FOAF = "http://xmlns.com/foaf/0.1/"
ORG = "http://www.w3.org/ns/org#"
PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"

DEFAULT_SEED = 20210120
SESSIONS_PER_SERIES = 8
PROJECTS_PER_SESSION = 2
MUNICIPALITIES = 357  # Norway's count since 2024
COUNTIES = 15
SEARCH_WORD = "sykkel"  # appears in a minority of nb descriptions (the text-search query)

PRINCIPLES = [
    ("sett-innbyggerne-i-sentrum", "Sett innbyggerne i sentrum", "Put citizens at the centre"),
    ("tenk-helhetlig", "Tenk helhetlig", "Think holistically"),
    ("prioriter-klima-og-miljo", "Prioriter klima og miljø", "Prioritise climate and environment"),
    ("vektlegg-inkludering-og-samskaping", "Vektlegg inkludering og samskaping",
     "Emphasise inclusion and co-creation"),
    ("sats-pa-neste-generasjon-naeringsliv", "Sats på neste generasjon næringsliv",
     "Invest in the next generation of business"),
    ("del-og-ta-i-bruk-apne-data", "Del og ta i bruk åpne data", "Share and use open data"),
    ("sats-pa-kompetanseutvikling-omstilling-og-innovasjon",
     "Sats på kompetanseutvikling, omstilling og innovasjon",
     "Invest in skills development, transformation and innovation"),
    ("begynn-lokalt-men-tenk-globalt", "Begynn lokalt, men tenk globalt",
     "Start locally, but think globally"),
]
# Parallel nb/en word lists, so a description's two languages say the same thing.
WORDS = [
    ("kommunen", "the municipality"), ("innbyggerne", "the citizens"),
    ("prosjektet", "the project"),
    ("bærekraftig", "sustainable"), ("smart", "smart"), ("data", "data"), ("mobilitet", "mobility"),
    ("samarbeid", "collaboration"), ("medvirkning", "participation"), ("klima", "climate"),
    ("energi", "energy"), ("skole", "school"), ("helse", "health"), ("bolig", "housing"),
    ("innovasjon", "innovation"), ("næringsliv", "business"), ("digital", "digital"),
    ("tjenester", "services"), ("utvikling", "development"), ("og", "and"), ("med", "with"),
    ("for", "for"), ("i", "in"), ("nye", "new"), ("lokalt", "locally"), ("åpne", "open"),
    ("sensorer", "sensors"), ("plattform", "platform"), ("kompetanse", "skills"),
    ("omstilling", "transformation"), ("vann", "water"), ("avfall", "waste"),
]
THEME = (SEARCH_WORD, "bicycle")
FIRST = ["Anne", "Ola", "Kari", "Per", "Ingrid", "Lars", "Silje", "Knut", "Maria", "Ståle",
         "Hilde", "Einar", "Tina", "Sindre", "Elin", "Bjørn", "Åse", "Jørgen", "Line", "Øystein"]
LAST = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg",
        "Haugen", "Dahl", "Flø", "Mjøen", "Sæverud", "Vikshåland", "Undheim", "Lie", "Moen"]
TITLES = [("Prosjektleder", "Project manager"), ("Rådgiver", "Adviser"),
          ("Seniorarkitekt", "Senior architect"), ("Kommunalsjef", "Director of services"),
          ("Innovasjonsleder", "Head of innovation"), ("Spesialrådgiver", "Special adviser")]
ROLES = ["deltaker", "innleder", "moderator"]


def entity(kind: str, slug: str) -> str:
    """The canonical IRI of a synthetic entity."""
    return f"{ID}{kind}/{slug}"


def graph(name: str) -> str:
    return f"{BASE}graph/{name}"


def municipality_slug(index: int) -> str:
    return f"kommune-{index:03d}"


def county_slug(index: int) -> str:
    return f"fylke-{index:02d}"


@dataclass
class Manifest:
    """What was generated: counts and the entities the query mix points at."""

    seed: int
    target_triples: int
    triples: int = 0
    series: int = 0
    sessions: int = 0
    projects: int = 0
    people: int = 0
    participations: int = 0
    references: int = 0
    counts_by_graph: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace('"', '\\"')
            .replace("\n", "\\n").replace("\r", "\\r"))


class _Quads:
    """Writes N-Quads lines into one named graph at a time and counts them."""

    def __init__(self, out: TextIO, manifest: Manifest) -> None:
        self.out, self.manifest, self.graph = out, manifest, ""

    def use(self, name: str) -> None:
        self.graph = name

    def _line(self, s: str, p: str, o: str) -> None:
        self.out.write(f"<{s}> <{p}> {o} <{graph(self.graph)}> .\n")
        self.manifest.triples += 1
        counts = self.manifest.counts_by_graph
        counts[self.graph] = counts.get(self.graph, 0) + 1

    def iri(self, s: str, p: str, o: str) -> None:
        self._line(s, p, f"<{o}>")

    def a(self, s: str, *classes: str) -> None:
        for c in classes:
            self._line(s, RDF_TYPE, f"<{c}>")

    def text(self, s: str, p: str, value: str, lang: str | None = None) -> None:
        self._line(s, p, f'"{_escape(value)}"' + (f"@{lang}" if lang else ""))

    def typed(self, s: str, p: str, value: str, datatype: str) -> None:
        self._line(s, p, f'"{_escape(value)}"^^<{XSD}{datatype}>')

    def provenance(self, title_nb: str, title_en: str) -> None:
        g = graph(self.graph)
        self.a(g, PROV + "Entity")
        self.text(g, DCT + "title", title_nb, "nb")
        self.text(g, DCT + "title", title_en, "en")


def _description(rng: random.Random, themed: bool) -> tuple[str, str]:
    words = [rng.choice(WORDS) for _ in range(rng.randint(25, 60))]
    if themed:
        words.insert(rng.randrange(len(words)), THEME)
    nb = " ".join(w[0] for w in words).capitalize() + "."
    en = " ".join(w[1] for w in words).capitalize() + "."
    return nb, en


def _fixed_part(q: _Quads) -> None:
    """Principles, counties, municipalities (places, enrichment, the kommune bodies)."""
    q.use("principles")
    scheme = entity("scheme", "roadmap-principles")
    q.a(scheme, SKOS + "ConceptScheme")
    for number, (slug, nb, en) in enumerate(PRINCIPLES, 1):
        p = entity("principle", slug)
        q.a(p, SKOS + "Concept", KG + "RoadmapPrinciple")
        q.iri(p, SKOS + "inScheme", scheme)
        q.typed(p, SKOS + "notation", str(number), "string")
        q.text(p, SKOS + "prefLabel", nb, "nb")
        q.text(p, SKOS + "prefLabel", en, "en")
    q.use("enrichment")
    for c in range(COUNTIES):
        county = entity("county", county_slug(c))
        q.a(county, SCHEMA + "AdministrativeArea", DCT + "Location")
        q.text(county, SCHEMA + "name", f"Fylke {c}", "nb")
    for m in range(MUNICIPALITIES):
        slug = municipality_slug(m)
        place, body = entity("municipality", slug), entity("organisation", f"{slug}-kommune")
        q.use("municipalities")
        q.a(place, SCHEMA + "AdministrativeArea", DCT + "Location")
        q.text(place, SCHEMA + "name", f"Kommune {m}", "nb")
        q.use("enrichment")
        q.text(place, KG + "municipalityNumber", f"{3000 + m:04d}")
        q.iri(place, SCHEMA + "containedInPlace", entity("county", county_slug(m % COUNTIES)))
        q.use("organisations")
        q.a(body, SCHEMA + "GovernmentOrganization", FOAF + "Organization")
        q.text(body, SCHEMA + "name", f"Kommune {m} kommune", "nb")
        q.text(body, SCHEMA + "name", f"Kommune {m} municipality", "en")
        q.iri(body, DCT + "spatial", place)


def _series(q: _Quads, rng: random.Random, i: int, people_by_m: dict[int, list[str]],
            weights: list[float]) -> None:
    """One series: 8 sessions, 2 projects each, participants, memberships, references."""
    m = q.manifest
    series = entity("series", f"serie-{i}")
    sessions = [entity("session", f"serie-{i}-samtale-{n}") for n in range(1, 9)]
    q.use("series")
    q.a(series, SCHEMA + "EventSeries")
    q.text(series, SCHEMA + "name", f"Samtaleserie {i}", "nb")
    q.text(series, SCHEMA + "name", f"Conversation series {i}", "en")
    nb, en = _description(rng, themed=False)
    q.text(series, SCHEMA + "description", nb, "nb")
    q.text(series, SCHEMA + "description", en, "en")
    q.typed(series, SCHEMA + "startDate", f"{2015 + i % 10}-01", "gYearMonth")
    for s in sessions:
        q.iri(series, SCHEMA + "subEvent", s)
    m.series += 1
    for n, session in enumerate(sessions):
        slug, p_nb, p_en = PRINCIPLES[n]
        principle = entity("principle", slug)
        q.use("series")
        q.a(session, SCHEMA + "Event")
        q.typed(session, KG + "sessionNumber", str(n + 1), "positiveInteger")
        q.text(session, SCHEMA + "name", f"Samtale #{n + 1}: {p_nb}", "nb")
        q.text(session, SCHEMA + "name", f"Conversation #{n + 1}: {p_en}", "en")
        nb, en = _description(rng, themed=False)
        q.text(session, SCHEMA + "description", nb, "nb")
        q.text(session, SCHEMA + "description", en, "en")
        q.iri(session, SCHEMA + "superEvent", series)
        q.iri(session, DCT + "subject", principle)
        q.typed(session, SCHEMA + "startDate", f"{2015 + i % 10}-{n + 1:02d}-15T10:00:00+02:00",
                "dateTime")
        m.sessions += 1
        for k in range(PROJECTS_PER_SESSION):
            muni = rng.choices(range(MUNICIPALITIES), weights)[0]
            _project(q, rng, f"serie-{i}-samtale-{n + 1}-{k}", session, principle, muni,
                     people_by_m)
        if rng.random() < 0.25:
            _reference(q, rng, session, f"serie-{i}-samtale-{n + 1}")


def _project(q: _Quads, rng: random.Random, slug: str, session: str, principle: str,
             muni: int, people_by_m: dict[int, list[str]]) -> None:
    m = q.manifest
    project = entity("project", slug)
    place = entity("municipality", municipality_slug(muni))
    body = entity("organisation", f"{municipality_slug(muni)}-kommune")
    members = []
    for _ in range(rng.choice((1, 2, 2, 3))):
        known = people_by_m.setdefault(muni, [])
        if known and rng.random() < 0.25:  # one person, one IRI: people come back
            again = rng.choice(known)
            if again not in members:
                members.append(again)
            continue
        members.append(_person(q, rng, muni, body))
        known.append(members[-1])
    q.use("projects")
    q.a(project, SCHEMA + "Project")
    q.text(project, SCHEMA + "name", f"Prosjekt {slug}", "nb")
    nb, en = _description(rng, themed=rng.random() < 0.05)
    q.text(project, SCHEMA + "description", nb, "nb")
    q.text(project, SCHEMA + "description", en, "en")
    q.iri(project, DCT + "subject", principle)
    q.iri(project, SCHEMA + "subjectOf", session)
    q.iri(project, SCHEMA + "location", place)
    q.iri(project, SCHEMA + "parentOrganization", body)
    for person in members:
        q.iri(project, SCHEMA + "member", person)
    m.projects += 1
    q.use("people")
    for person in members:
        part = entity("participation", f"{slug}-{person.rsplit('/', 1)[1]}")
        title_nb, title_en = rng.choice(TITLES)
        q.a(part, SCHEMA + "Role")
        q.iri(part, SCHEMA + "performer", person)
        q.iri(part, SCHEMA + "roleName", entity("role", rng.choice(ROLES)))
        q.iri(part, KG + "representing", body)
        q.text(part, SCHEMA + "namedPosition", title_nb, "nb")
        q.text(part, SCHEMA + "namedPosition", title_en, "en")
        m.participations += 1
        q.use("series")
        q.iri(session, SCHEMA + "performer", part)
        q.use("people")


def _person(q: _Quads, rng: random.Random, muni: int, body: str) -> str:
    m = q.manifest
    person = entity("person", f"person-{m.people}")
    q.use("people")
    q.a(person, SCHEMA + "Person", FOAF + "Person")
    q.text(person, SCHEMA + "name", f"{rng.choice(FIRST)} {rng.choice(LAST)}")
    membership = entity("membership", f"person-{m.people}-{municipality_slug(muni)}")
    q.a(membership, ORG + "Membership")
    q.iri(membership, ORG + "member", person)
    q.iri(membership, ORG + "organization", body)
    m.people += 1
    return person


def _reference(q: _Quads, rng: random.Random, session: str, slug: str) -> None:
    reference = entity("reference", slug)
    q.use("references")
    q.a(reference, DCT + "BibliographicResource", SCHEMA + "CreativeWork")
    q.text(reference, DCT + "title", f"Bakgrunn for {slug}", "nb")
    nb, en = _description(rng, themed=False)
    q.text(reference, SCHEMA + "description", nb, "nb")
    q.text(reference, SCHEMA + "description", en, "en")
    q.text(reference, KG + "linkText", "Lenke", "nb")
    q.text(reference, SKOS + "editorialNote", "Kilden viser bare «Lenke»; adressen er ukjent.",
           "nb")
    q.use("series")
    q.iri(session, DCT + "references", reference)
    q.manifest.references += 1


def generate(path: Path, triples: int, seed: int = DEFAULT_SEED,
             progress: Callable[[int], None] | None = None) -> Manifest:
    """Write about `triples` quads (whole series, so slightly more) to `path` as N-Quads."""
    rng = random.Random(seed)
    manifest = Manifest(seed=seed, target_triples=triples)
    weights = [1.0 / (rank + 1) for rank in range(MUNICIPALITIES)]  # big towns, many projects
    people_by_m: dict[int, list[str]] = {}
    with path.open("w", encoding="utf-8", buffering=1 << 20) as out:
        q = _Quads(out, manifest)
        for name in ("series", "projects", "people", "organisations", "municipalities",
                     "references", "enrichment", "principles"):
            q.use(name)
            q.provenance(f"Syntetisk graf: {name}", f"Synthetic graph: {name}")
        _fixed_part(q)
        while manifest.triples < triples:
            _series(q, rng, manifest.series, people_by_m, weights)
            if progress and manifest.series % 100 == 0:
                progress(manifest.triples)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--triples", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, required=True, help="N-Quads file to write")
    args = parser.parse_args()
    manifest = generate(args.out, args.triples, args.seed)
    print(manifest.as_dict())


if __name__ == "__main__":
    main()
