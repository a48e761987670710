"""Identifiers: slugs, canonical entity IRIs, the service paths that serve them, and the kinds
of entity those IRIs name (with their names in nb, nn and en)."""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

_SPECIAL = str.maketrans({"ø": "o", "Ø": "o", "å": "a", "Å": "a", "æ": "ae", "Æ": "ae"})
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str) -> str:
    """Lowercase ASCII, digits and single hyphens (ø→o, å→a, æ→ae, other accents dropped)."""
    text = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    ascii_text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def is_slug(text: str) -> bool:
    return bool(SLUG_PATTERN.match(text))


def entity_iri(base_iri: str, kind: str, slug: str) -> str:
    return f"{base_iri}id/{kind}/{slug}"


def graph_iri(base_iri: str, name: str) -> str:
    return f"{base_iri}graph/{name}"


def path_for_iri(base_iri: str, iri: str) -> str | None:
    """The service path of a canonical IRI (`.../id/project/x` → `/id/project/x`), else None."""
    if not iri.startswith(base_iri):
        return None
    return "/" + iri[len(base_iri):]


def iri_for_path(base_iri: str, path: str) -> str:
    """The canonical IRI a service path stands for."""
    return base_iri + path.lstrip("/")


class KindNames(NamedTuple):
    """What one kind of entity is called, singular and plural, in bokmål, nynorsk, English."""

    nb: str
    nn: str
    en: str
    nb_plural: str
    nn_plural: str
    en_plural: str

    def name(self, lang: str, plural: bool = False) -> str:
        """In the language (nb for any other), singular or plural."""
        chosen = lang if lang in ("nb", "nn", "en") else "nb"
        return str(getattr(self, f"{chosen}_plural" if plural else chosen))


# The kinds of entity, by the path segment of their IRI (`{base}id/{kind}/{slug}`): shared by
# the entity pages and the search, which may be limited to one of them.
KINDS: dict[str, KindNames] = {
    "series": KindNames("Samtaleserie", "Samtaleserie", "Conversation series",
                        "Samtaleserier", "Samtaleseriar", "Conversation series"),
    "session": KindNames("Samtale", "Samtale", "Session", "Samtaler", "Samtalar", "Sessions"),
    "principle": KindNames("Prinsipp", "Prinsipp", "Principle",
                           "Prinsipper", "Prinsipp", "Principles"),
    "project": KindNames("Prosjekt", "Prosjekt", "Project", "Prosjekter", "Prosjekt",
                         "Projects"),
    "person": KindNames("Person", "Person", "Person", "Personer", "Personar", "People"),
    "organisation": KindNames("Organisasjon", "Organisasjon", "Organisation",
                              "Organisasjoner", "Organisasjonar", "Organisations"),
    "municipality": KindNames("Kommune", "Kommune", "Municipality",
                              "Kommuner", "Kommunar", "Municipalities"),
    "county": KindNames("Fylke", "Fylke", "County", "Fylker", "Fylke", "Counties"),
    "participation": KindNames("Deltakelse", "Deltaking", "Participation",
                               "Deltakelser", "Deltakingar", "Participations"),
    "membership": KindNames("Medlemskap", "Medlemskap", "Membership",
                            "Medlemskap", "Medlemskap", "Memberships"),
    "role": KindNames("Rolle", "Rolle", "Role", "Roller", "Roller", "Roles"),
    "status": KindNames("Status", "Status", "Status", "Statuser", "Statusar", "Statuses"),
    "reference": KindNames("Referanse", "Referanse", "Reference",
                           "Referanser", "Referansar", "References"),
    "document": KindNames("Dokument", "Dokument", "Document", "Dokumenter", "Dokument",
                          "Documents"),
    "scheme": KindNames("Begrepssystem", "Omgrepssystem", "Concept scheme",
                        "Begrepssystemer", "Omgrepssystem", "Concept schemes"),
    "recording": KindNames("Opptak", "Opptak", "Recording", "Opptak", "Opptak", "Recordings"),
}


def agent_iri(base_iri: str, name: str) -> str:
    """The agent behind a token's name (never the token): one IRI for the submissions'
    provenance and the change log alike."""
    return f"{base_iri}id/submitter/{slugify(name) or 'default'}"
