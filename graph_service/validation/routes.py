"""`/validate`: the validation page and SHACL validation of a submission, storing nothing.

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from graph_service.core.errors import InvalidRequest, InvalidSyntax, say
from graph_service.core.media import PARSEABLE_TYPES, SUFFIX_TYPES, base_media_type, negotiate
from graph_service.core.media import resolve_format as resolve_media_type
from graph_service.core.rdf_input import parse_body
from graph_service.settings import Settings
from graph_service.validation.outcome import ValidationOutcome
from graph_service.validation.reports import REPORT_TYPES, report_response
from graph_service.validation.shacl import (
    validate_submission,
)
from graph_service.web.deps import SettingsDep, StoreDep
from graph_service.web.errors import status_of
from graph_service.web.html import render_page

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
    raise InvalidRequest(
        say("Nothing to validate: send RDF in the body, a file in the 'file' field or text in "
            "the 'data' field.",
            "Ingenting å validere: send RDF i kroppen, en fil i feltet 'file' eller tekst i "
            "feltet 'data'.",
            "Ingenting å validere: send RDF i kroppen, ei fil i feltet 'file' eller tekst i "
            "feltet 'data'.")
    )


def check_submission(settings: Settings, store: Any, submission: Submission) -> ValidationOutcome:
    """Parse and validate together with the store's content (blocking; nothing is stored)."""
    quads = parse_body(submission.body, submission.media_type)
    return validate_submission(settings, store, quads)


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
    except (InvalidSyntax, InvalidRequest) as exc:
        if media_type != "text/html":
            raise
        context = _page_context(submission) | {"problem": exc}
        return render_page(request, "validate.html", context, status_code=status_of(exc))
    return report_response(
        request, settings, outcome, media_type=media_type, page="validate.html",
        extra=_page_context(submission),
    )
