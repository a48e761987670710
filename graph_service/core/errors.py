"""The service's domain errors: what went wrong, in words a client can act on, with no HTTP.

`graph_service.web.errors` maps each class to its status in one table; nothing here knows a
status code, so the store, the validators and the CLI raise the same errors the routes answer.
"""

from __future__ import annotations

from collections.abc import Mapping

SEPARATOR = " / "


def say(en: str, nb: str, nn: str) -> str:
    """A message for people in English, bokmål and nynorsk, always in that order.

    Every error detail is built with it, so a client reads its language in one JSON string and
    `web.html.in_language` can pick one part for a page; tests/test_nynorsk.py holds every
    raise in the package to it."""
    return SEPARATOR.join((en, nb, nn))


def in_language(detail: str, lang: str) -> str:
    """The part of a `say` message in `lang` (nb, nn or en); any other text as it is."""
    parts = detail.split(SEPARATOR)
    if len(parts) != 3:
        return detail
    return parts[("en", "nb", "nn").index(lang)] if lang in ("en", "nb", "nn") else detail


class SmartbyError(Exception):
    """Base of every error the service reports; `code` is the short name clients see."""

    code = "internal_error"

    def __init__(self, detail: str = "", *, body: Mapping[str, object] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.body = dict(body or {})  # extra JSON members of the answer (e.g. a location)


# -- the client's mistakes ---------------------------------------------------------------------


class InvalidRequest(SmartbyError):
    """The request or its data cannot be used as it is (a missing parameter, a bad value)."""

    code = "bad_request"


class InvalidSyntax(InvalidRequest):
    """Unparseable RDF or SPARQL; carries the position when the parser knows it."""

    code = "syntax_error"

    def __init__(self, detail: str, *, line: int | None = None, column: int | None = None):
        parts = detail.split(SEPARATOR)
        if len(parts) == 3 and line:  # the position in each language of a `say` message
            words = (("line", "column"), ("linje", "kolonne"), ("linje", "kolonne"))
            detail = SEPARATOR.join(part + _where(line, column, *names)
                                    for part, names in zip(parts, words, strict=True))
        elif line:
            detail += _where(line, column, "line", "column")
        super().__init__(detail)
        self.line, self.column = line, column


def _where(line: int, column: int | None, line_word: str, column_word: str) -> str:
    return f" ({line_word} {line}, {column_word} {column})" if column else f" ({line_word} {line})"


class NotFound(SmartbyError):
    code = "not_found"


class Forbidden(SmartbyError):
    """Allowed to write, but not this: e.g. a writer's token touching the curated graphs."""

    code = "forbidden"


class NoAcceptableFormat(SmartbyError):
    """None of the formats the client accepts can carry this answer."""

    code = "not_acceptable"


class Conflict(SmartbyError):
    """The change collides with what is stored; `location` names the existing resource."""

    code = "conflict"

    def __init__(self, detail: str, *, location: str | None = None) -> None:
        super().__init__(detail, body={"location": location} if location else None)
        self.location = location


class TooLarge(SmartbyError):
    code = "payload_too_large"


class UnsupportedFormat(SmartbyError):
    """A body in a syntax (Content-Type) the service does not read."""

    code = "unsupported_media_type"


class DoesNotConform(SmartbyError):
    """The data breaks the shapes; the subclass carries the report."""

    code = "does_not_conform"


# -- the service's or the store's trouble ------------------------------------------------------


class Unavailable(SmartbyError):
    """Cannot answer now; `retry_after` (seconds) when trying again soon is likely to work."""

    code = "service_unavailable"

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class QueryTimeout(Unavailable):
    code = "query_timeout"


class ValidationTimeout(Unavailable):
    code = "validation_timeout"


class StoreUnavailable(Unavailable):
    """The store cannot be reached (down, refusing connections, timing out)."""

    code = "store_unavailable"


class StoreFault(Unavailable):
    """The store answered, but wrongly or not at all: an I/O error, a worker that died, a
    truncated result. Never the client's fault."""

    code = "store_error"
