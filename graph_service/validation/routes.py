"""`/validate`: the validation page and SHACL validation of a submission, storing nothing.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.core.errors import BadRequest, RdfSyntaxError
from graph_service.web.html import choose_language, render_page
from graph_service.core.media import PARSEABLE_TYPES, SUFFIX_TYPES, base_media_type, negotiate
from graph_service.core.media import resolve_format as resolve_media_type
from graph_service.settings import Settings
from graph_service.validation.shacl import (
    NotConforming,
    ValidationOutcome,
    parse_submission,
    shape_anchor,
    validate_submission,
)

REPORT_TYPES = ["application/json", "text/turtle", "application/ld+json", "text/html"]
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# The syntaxes offered on the page, by media type.
SYNTAXES = {
    "text/turtle": "Turtle",
    "application/trig": "TriG",
    "application/n-triples": "N-Triples",
    "application/n-quads": "N-Quads",
    "application/ld+json": "JSON-LD",
    "application/rdf+xml": "RDF/XML",
}


@dataclass
class Submission:
    """A submitted document: its bytes, its media type and the text shown back on the page."""

    body: bytes
    media_type: str
    text: str = ""


def _media_type_for_upload(upload: UploadFile, chosen: str) -> str:
    if chosen:
        return chosen
    suffix = PurePath(upload.filename or "").suffix.lower()
    by_suffix = SUFFIX_TYPES.get(".jsonld" if suffix == ".json" else suffix)
    if by_suffix and by_suffix != "text/html":
        return by_suffix
    declared = base_media_type(upload.content_type)
    return declared if declared in PARSEABLE_TYPES else "text/turtle"


async def read_submission(request: Request) -> Submission:
    """The RDF of a request: the body by Content-Type, or a form's `file` / `data` field."""
    content_type = base_media_type(request.headers.get("content-type"))
    if content_type not in FORM_TYPES:
        return Submission(await request.body(), content_type)
    async with request.form() as form:
        return await _read_form(form)


async def _read_form(form: Any) -> Submission:
    chosen = form.get("format")
    chosen = resolve_media_type(chosen) if isinstance(chosen, str) and chosen.strip() else ""
    upload, text = form.get("file"), form.get("data")
    if isinstance(upload, UploadFile) and upload.filename:
        body = await upload.read()
        if body:
            return Submission(body, _media_type_for_upload(upload, chosen))
    if isinstance(text, str) and text.strip():
        return Submission(text.encode("utf-8"), chosen or "text/turtle", text)
    raise BadRequest(
        "Nothing to validate: send RDF in the body, a file in the 'file' field or text in the "
        "'data' field. / Ingenting å validere: send RDF i kroppen, en fil i feltet 'file' "
        "eller tekst i feltet 'data'."
    )


def check_submission(settings: Settings, store: Any, submission: Submission) -> ValidationOutcome:
    """Parse and validate together with the store's content (blocking; nothing is stored)."""
    quads = parse_submission(submission.body, submission.media_type)
    return validate_submission(settings, store, quads)


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
    return JSONResponse({"error": exc.error, "detail": exc.detail, "report": report},
                        status_code=422)


def _page_context(submission: Submission | None = None) -> dict[str, Any]:
    return {
        "syntaxes": SYNTAXES,
        "text": submission.text if submission else "",
        "chosen": submission.media_type if submission and submission.text else "text/turtle",
    }


router = APIRouter(tags=["validation"])


@router.get("/validate", include_in_schema=True)
def validation_page(request: Request) -> Response:
    """The validation page: paste or upload RDF and read the report."""
    return render_page(request, "validate.html", _page_context())


@router.post("/validate")
async def validate(request: Request, settings: SettingsDep, store: StoreDep) -> Response:
    """SHACL-validate the body (any RDF syntax) with what the graph holds; stores nothing."""
    media_type = negotiate(request.headers.get("accept"), REPORT_TYPES)
    submission = None
    try:
        submission = await read_submission(request)
        outcome = await run_in_threadpool(check_submission, settings, store, submission)
    except (RdfSyntaxError, BadRequest) as exc:
        if media_type != "text/html":
            raise
        context = _page_context(submission) | {"problem": exc}
        return render_page(request, "validate.html", context, status_code=exc.status)
    return report_response(
        request, settings, outcome, media_type=media_type, page="validate.html",
        extra=_page_context(submission),
    )
