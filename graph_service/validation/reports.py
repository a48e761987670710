"""Validation reports in the negotiated form: JSON, `sh:ValidationReport` as Turtle or JSON-LD,
or an HTML page; and the 422 answer of every route that refuses data that does not conform.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from graph_service.core.media import negotiate
from graph_service.settings import Settings
from graph_service.validation.outcome import ValidationOutcome
from graph_service.validation.shacl import NotConforming, shape_anchor
from graph_service.web.html import choose_language, render_page

REPORT_TYPES = ["application/json", "text/turtle", "application/ld+json", "text/html"]


def group_by_entity(
    settings: Settings, outcome: ValidationOutcome, lang: str
) -> list[dict[str, Any]]:
    """The results grouped by focus node, worst first, each with a link to its shape's docs."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in outcome.results:
        item = result.as_json(lang)
        item["anchor"] = shape_anchor(settings, result.source_shape)
        groups.setdefault(result.focus_node, []).append(item)
    return [{"focus_node": focus, "results": items} for focus, items in groups.items()]


def report_context(
    settings: Settings, outcome: ValidationOutcome, lang: str
) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "summary": outcome.as_json(lang),
        "groups": group_by_entity(settings, outcome, lang),
    }


def report_response(
    request: Request, settings: Settings, outcome: ValidationOutcome, *,
    status_code: int = 200, media_type: str | None = None,
    page: str = "report.html", extra: dict[str, Any] | None = None,
) -> Response:
    """The report in the negotiated form: JSON, `sh:ValidationReport` as RDF, or HTML."""
    media_type = media_type or negotiate(request.headers.get("accept"), REPORT_TYPES)
    lang = choose_language(request)
    if media_type == "text/html":
        context = report_context(settings, outcome, lang) | (extra or {})
        return render_page(request, page, context, status_code=status_code)
    if media_type in ("text/turtle", "application/ld+json"):
        fmt = "turtle" if media_type == "text/turtle" else "json-ld"
        body = outcome.report.serialize(format=fmt)
        return Response(body, status_code=status_code, media_type=media_type)
    return JSONResponse(outcome.as_json(lang), status_code=status_code,
                        headers={"Content-Language": lang})


def not_conforming_response(request: Request, settings: Settings, exc: NotConforming) -> Response:
    """422: the error and the report (JSON), or the report itself as RDF or HTML."""
    if negotiate(request.headers.get("accept"), REPORT_TYPES) != "application/json":
        return report_response(request, settings, exc.outcome, status_code=422)
    report = exc.outcome.as_json(choose_language(request))
    return JSONResponse({"error": exc.code, "detail": exc.detail, "report": report},
                        status_code=422)


async def on_not_conforming(request: Request, exc: Exception) -> Response:
    """The app's handler for `NotConforming`, wherever it is raised (submissions, /update,
    /store): the routes raise, this answers."""
    assert isinstance(exc, NotConforming)
    return not_conforming_response(request, request.app.state.settings, exc)
