"""The one error type of the service and the one place that renders it (JSON or HTML)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error with the status and short code the contract promises."""

    status = 500
    error = "internal_error"

    def __init__(
        self, detail: str = "", *, headers: dict[str, str] | None = None, body: object = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.body = body  # extra JSON payload, e.g. a validation report


class BadRequest(ServiceError):
    status, error = 400, "bad_request"


class RdfSyntaxError(BadRequest):
    """Unparseable RDF or SPARQL; carries the position when the parser knows it."""

    error = "syntax_error"

    def __init__(self, detail: str, *, line: int | None = None, column: int | None = None):
        where = f" (line {line}, column {column})" if line and column else ""
        where = where or (f" (line {line})" if line else "")
        super().__init__(detail + where)
        self.line, self.column = line, column


class Unauthorized(ServiceError):
    status, error = 401, "unauthorized"

    def __init__(
        self, detail: str = "A valid bearer token is required. / Et gyldig bearer-token kreves.",
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        challenge = {"WWW-Authenticate": 'Bearer realm="smartby"'}
        super().__init__(detail, headers={**challenge, **(headers or {})})


class NotFound(ServiceError):
    status, error = 404, "not_found"


class MethodNotAllowed(ServiceError):
    status, error = 405, "method_not_allowed"


class NotAcceptable(ServiceError):
    status, error = 406, "not_acceptable"


class Conflict(ServiceError):
    status, error = 409, "conflict"


class PayloadTooLarge(ServiceError):
    status, error = 413, "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status, error = 415, "unsupported_media_type"


class Unprocessable(ServiceError):
    status, error = 422, "does_not_conform"


class ServiceUnavailable(ServiceError):
    status, error = 503, "service_unavailable"


class QueryTimeout(ServiceUnavailable):
    error = "query_timeout"


class StoreUnavailable(ServiceUnavailable):
    error = "store_unavailable"


_STATUS_ERRORS = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, NotFound, MethodNotAllowed, NotAcceptable, Conflict,
                PayloadTooLarge, UnsupportedMediaType, Unprocessable, ServiceUnavailable)
}


def wants_html(request: Request) -> bool:
    """A browser asked (text/html preferred over JSON and RDF)."""
    from graph_service.core.media import preferred

    accept = request.headers.get("accept", "")
    return "text/html" in accept and preferred(accept, ["text/html", "application/json"]) == (
        "text/html"
    )


def render_error(request: Request, exc: ServiceError) -> Response:
    headers = dict(exc.headers)
    if wants_html(request):
        from graph_service.web.html import render_page

        return render_page(
            request,
            "error.html",
            {"status": exc.status, "error": exc.error, "detail": exc.detail},
            status_code=exc.status,
            headers=headers,
        )
    payload: dict[str, object] = {"error": exc.error, "detail": exc.detail}
    if isinstance(exc, RdfSyntaxError):
        payload.update(line=exc.line, column=exc.column)
    if isinstance(exc.body, dict):
        payload.update(exc.body)
    return JSONResponse(payload, status_code=exc.status, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's own Allow names only one)."""
    from starlette.routing import Match, Route

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


def _method_not_allowed(request: Request, exc: StarletteHTTPException) -> ServiceError:
    methods = allowed_methods(request)
    if not methods:
        return MethodNotAllowed(str(exc.detail), headers=dict(exc.headers or {}))
    listed = ", ".join(methods)
    return MethodNotAllowed(
        f"{request.method} is not allowed here; use {listed}. / {request.method} er ikke "
        f"tillatt her; bruk {listed}.", headers={"Allow": listed})


def install_error_handlers(app: FastAPI) -> None:
    """Every error, ours or the framework's, leaves in the one shape."""

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return render_error(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            return render_error(request, _method_not_allowed(request, exc))
        cls = _STATUS_ERRORS.get(exc.status_code, ServiceError)
        err = cls(str(exc.detail), headers=dict(exc.headers or {}))
        err.status = exc.status_code
        return render_error(request, err)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        return render_error(request, BadRequest("; ".join(parts)))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(request, ServiceError("An unexpected error occurred."))

    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
