"""Identifiers: slugs, canonical entity IRIs and the service paths that serve them."""

from __future__ import annotations

import re
import unicodedata

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
