"""Refusing SPARQL that would make the server fetch remote documents (SERVICE, LOAD)."""

from __future__ import annotations

from graph_service.errors import BadRequest
from graph_service.sparql_text import keywords


def remote_keywords(text: str) -> list[str]:
    """The SERVICE/LOAD keywords in a query or update, ignoring strings, IRIs and comments."""
    return keywords(text, ("SERVICE", "LOAD"))


def refuse_remote_fetches(text: str, *, allowed: bool = False) -> None:
    """400 for SERVICE or LOAD unless the operator enabled them (SMARTBY_ALLOW_SERVICE)."""
    if allowed:
        return
    found = remote_keywords(text)
    if found:
        raise BadRequest(
            f"{' and '.join(found)} is not allowed here: the server does not fetch remote "
            "data on a client's behalf. / "
            f"{' og '.join(found)} er ikke tillatt her: tjenesten henter ikke eksterne data."
        )
