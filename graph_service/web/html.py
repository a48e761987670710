"""Jinja2 environment, language choice (nb/nn/en) and page rendering shared by the HTML views."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from graph_service import __version__
from graph_service.core.media import parse_qvalue

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LANGUAGES = ("nb", "nn", "en")  # bokmål, nynorsk, English: every page speaks all three

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def choose_language(request: Request, parameter: str = "lang") -> str:
    """`?ui=` wins, then the page's own language parameter (`?lang=`, except on pages where
    `lang` means something else: /search filters its results by it and passes ""), then a
    `lang` cookie, then Accept-Language; bokmål by default."""
    params = request.query_params
    for asked in (params.get("ui"), params.get(parameter) if parameter else None,
                  request.cookies.get("lang")):
        if asked in LANGUAGES:
            return asked
    return language_from_header(request.headers.get("accept-language", ""))


def language_from_header(header: str) -> str:
    """The best of nb, nn and en by Accept-Language q-values (RFC 9110 §12.5.4, RFC 4647 basic
    filtering on the primary subtag: `no` counts as nb, `*` is nb); nb if none."""
    best, best_q = "nb", 0.0
    for element in header.split(","):
        tag, *params = (p.strip().lower() for p in element.split(";"))
        primary = tag.split("-")[0]
        lang = {"en": "en", "nb": "nb", "no": "nb", "nn": "nn", "*": "nb"}.get(primary)
        q = next((parse_qvalue(value) for name, _, value in (p.partition("=") for p in params)
                  if name.strip() == "q"), 1.0)
        if lang and q > best_q:  # on a tie the first listed wins
            best, best_q = lang, q
    return best


def t(lang: str, nb: str, en: str, nn: str) -> str:
    """Pick the text for the page language; every text is given in all three."""
    return {"nb": nb, "nn": nn, "en": en}.get(lang, nb)


def lang_link(request: Request, parameter: str = "lang") -> Callable[[str], str]:
    """The same page in another language: the query string kept (a search keeps its `q`),
    the page-language parameter (`lang`, or `ui` where `lang` means something else)
    replaced."""
    name = parameter or "ui"

    def href(code: str) -> str:
        pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("ui", name)]
        return f"{request.url.path}?{urlencode([*pairs, (name, code)])}"

    return href


def render_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    language_parameter: str = "lang",
) -> HTMLResponse:
    """The template in the page language; `language_parameter` names the query parameter
    that sets it on this page ("" where `lang` means something else: then only `ui`)."""
    lang = choose_language(request, language_parameter)
    page = environment.get_template(template).render(
        request=request,
        lang=lang,
        languages=LANGUAGES,
        lang_href=lang_link(request, language_parameter),
        t=lambda nb, en, nn: t(lang, nb, en, nn),
        version=__version__,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(page, status_code=status_code, headers=headers)
    asked = request.query_params.get("ui") or (
        request.query_params.get(language_parameter) if language_parameter else None)
    if asked in LANGUAGES:
        response.set_cookie("lang", asked, samesite="lax")
    return response
