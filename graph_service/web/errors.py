"""Every error leaves in one shape: the table from domain errors to statuses, and its renderer.

JSON `{"error", "detail"}` (plus the error's own members), or an HTML page for browsers. A
server-side fault (5xx) carries a correlation id, in the body and in the log, so an operator
can find what a user saw; it is never blamed on the client.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from graph_service.core.errors import (
    Conflict,
    DoesNotConform,
    Forbidden,
    InvalidRequest,
    InvalidSyntax,
    NoAcceptableFormat,
    NotFound,
    SmartbyError,
    TooLarge,
    Unavailable,
    UnsupportedFormat,
    in_language,
    say,
)
from graph_service.core.media import preferred
from graph_service.web.html import choose_language, render_page

log = logging.getLogger(__name__)

# The one table: the most specific class listed for an error decides its status.
STATUS: dict[type[SmartbyError], int] = {
    InvalidRequest: 400,
    Forbidden: 403,
    NotFound: 404,
    NoAcceptableFormat: 406,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedFormat: 415,
    DoesNotConform: 422,
    Unavailable: 503,
}


class HttpError(SmartbyError):
    """An error that only exists in HTTP (authentication, methods, framework errors)."""

    def __init__(self, status: int, code: str, detail: str = "", *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.headers = status, code, dict(headers or {})


class Unauthorized(HttpError):
    def __init__(
        self, detail: str = say("A valid bearer token is required.",
                                "Et gyldig bearer-token kreves.",
                           "Eit gyldig bearer-token trengst."),
    ) -> None:
        super().__init__(401, "unauthorized", detail,
                         headers={"WWW-Authenticate": 'Bearer realm="smartby"'})


_FRAMEWORK_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
                    413: "payload_too_large", 415: "unsupported_media_type",
                    422: "does_not_conform", 503: "service_unavailable"}


# The framework's own answers (a path no route takes) in our three languages.
_FRAMEWORK_DETAILS = {
    404: say("Nothing here: no resource has this address.",
             "Ingenting her: ingen ressurs har denne adressen.",
             "Ingenting her: ingen ressurs har denne adressa."),
}


def status_of(exc: SmartbyError) -> int:
    if isinstance(exc, HttpError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def headers_of(exc: SmartbyError) -> dict[str, str]:
    headers = dict(exc.headers) if isinstance(exc, HttpError) else {}
    if isinstance(exc, Unavailable) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Conflict) and exc.location:
        headers["Location"] = exc.location
    return headers


def wants_html(request: Request) -> bool:
    """A browser asked (text/html preferred over JSON and RDF)."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and preferred(accept, ["text/html", "application/json"]) == (
        "text/html"
    )


def correlation_id(request: Request) -> str:
    """The id a 5xx answer and its log line share (one per request)."""
    return correlation_id_of(request.scope)


def correlation_id_of(scope: Scope) -> str:
    """`correlation_id`, from the ASGI scope."""
    ids: dict[str, str] = scope.setdefault("state", {})
    found = ids.get("correlation_id")
    if found is None:  # 64 random bits as 16 hex digits, without a system call per request
        found = ids["correlation_id"] = f"{random.getrandbits(64):016x}"
    return found


def error_payload(exc: SmartbyError, status: int, request: Request | None) -> dict[str, object]:
    payload: dict[str, object] = {"error": exc.code, "detail": exc.detail}
    if isinstance(exc, InvalidSyntax):
        payload.update(line=exc.line, column=exc.column)
    payload.update(exc.body)
    if status >= 500 and request is not None:
        payload["correlation_id"] = correlation_id(request)
    return payload


def render_error(request: Request, exc: SmartbyError) -> Response:
    status, headers = status_of(exc), headers_of(exc)
    request.scope.setdefault("state", {})["error_code"] = exc.code  # for /metrics
    payload = error_payload(exc, status, request)
    if status >= 500:
        log.warning("answered %d %s to %s %s [correlation id %s]: %s", status, exc.code,
                    request.method, request.url.path, payload["correlation_id"], exc.detail)
    if wants_html(request):
        shown = {**payload, "status": status,  # a page speaks its own language only
                 "detail": in_language(exc.detail, choose_language(request))}
        return render_page(request, "error.html", shown,
                           status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


def render_unexpected(request: Request, exc: BaseException) -> Response:
    """A fault of ours: logged with its traceback, answered 500 with the correlation id."""
    log.error("unhandled error on %s %s [correlation id %s]", request.method,
              request.url.path, correlation_id(request), exc_info=exc)
    return render_error(request, SmartbyError(
        say("An unexpected error occurred on the server.",
            "Det oppstod en uventet feil på tjeneren.",
            "Det oppstod ein uventa feil på tenaren.")))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's own Allow names only one)."""

    def collect(routes: list[Any], path: str) -> set[str]:
        found: set[str] = set()
        for route in routes:
            router = getattr(route, "original_router", None)  # an included router
            if router is not None:
                prefix = getattr(getattr(route, "include_context", None), "prefix", "") or ""
                if path.startswith(prefix):
                    found |= collect(router.routes, path[len(prefix):])
            elif isinstance(route, Route) and route.methods:
                match, _ = route.matches({**request.scope, "path": path, "root_path": ""})
                if match != Match.NONE:
                    found |= route.methods
        return found

    order = ["GET", "HEAD", "POST", "PUT", "DELETE"]
    methods = collect(list(request.app.router.routes), request.url.path)
    return sorted(methods, key=lambda m: (order.index(m) if m in order else len(order), m))


def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> HttpError:
    methods = allowed_methods(request)
    if not methods:
        return HttpError(405, "method_not_allowed",
                         say("The method is not allowed here.", "Metoden er ikke tillatt her.",
                             "Metoden er ikkje tillaten her."),
                         headers=dict(exc.headers or {}))
    listed = ", ".join(methods)
    return HttpError(
        405, "method_not_allowed",
        say(f"{request.method} is not allowed here; use {listed}.",
            f"{request.method} er ikke tillatt her; bruk {listed}.",
            f"{request.method} er ikkje tillate her; bruk {listed}."),
        headers={"Allow": listed})


def install_error_handlers(app: FastAPI) -> None:
    """Every error, ours or the framework's, leaves in the one shape."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SmartbyError)
        return render_error(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return render_error(request, _method_not_allowed(request, exc))
        code = _FRAMEWORK_CODES.get(exc.status_code, "internal_error")
        detail = _FRAMEWORK_DETAILS.get(exc.status_code, str(exc.detail))
        return render_error(request, HttpError(exc.status_code, code, detail,
                                               headers=dict(exc.headers or {})))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return render_error(request, InvalidRequest(say(
            "; ".join(parts), "Forespørselen har en ugyldig verdi: " + "; ".join(parts),
            "Førespurnaden har ein ugyldig verdi: " + "; ".join(parts))))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return render_unexpected(request, exc)

    app.add_exception_handler(SmartbyError, on_domain_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
