"""`/docs` (Swagger UI) and `/redoc` (ReDoc) over `/openapi.json`, served from the bundle.

FastAPI's own pages load their scripts from jsDelivr, so a reader's browser would fetch code
from a third party and the pages would need a policy naming it. Here the same pages (FastAPI's
HTML builders) point at copies under `/static/vendor/` (see its README for versions and
checksums), and their policy names no remote origin: Swagger UI's one inline start-up script
is allowed by its hash, not by `'unsafe-inline'`.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from graph_service.web.security_headers import content_security_policy

router = APIRouter(include_in_schema=False)

TITLE = "smartby"
OPENAPI_URL = "/openapi.json"
SWAGGER = "/static/vendor/swagger-ui"
REDOC = "/static/vendor/redoc"


def _inline_script_hashes(html: str) -> str:
    """The CSP source expressions ('sha256-…') of every inline script of a page."""
    hashes = []
    for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL):
        digest = hashlib.sha256(body.encode()).digest()
        hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return " ".join(hashes)


def _page(html: str, directives: dict[str, str]) -> HTMLResponse:
    policy = content_security_policy(None, directives)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy,
                                       "X-Frame-Options": "DENY"})


_SWAGGER_HTML = bytes(get_swagger_ui_html(
    openapi_url=OPENAPI_URL, title=f"{TITLE} – API",
    swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
    swagger_css_url=f"{SWAGGER}/swagger-ui.css",
    swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
).body).decode()
_REDOC_HTML = bytes(get_redoc_html(
    openapi_url=OPENAPI_URL, title=f"{TITLE} – API", redoc_js_url=f"{REDOC}/redoc.standalone.js",
    redoc_favicon_url=f"{SWAGGER}/favicon-32x32.png", with_google_fonts=False,
).body).decode()


@router.api_route("/docs", methods=["GET", "HEAD"])
def swagger_ui() -> HTMLResponse:
    """Swagger UI over `/openapi.json` (bundled: nothing loaded from a CDN)."""
    return _page(_SWAGGER_HTML, {"script-src": f"'self' {_inline_script_hashes(_SWAGGER_HTML)}"})


@router.api_route("/redoc", methods=["GET", "HEAD"])
def redoc() -> HTMLResponse:
    """ReDoc over `/openapi.json` (bundled: nothing loaded from a CDN)."""
    return _page(_REDOC_HTML, {"worker-src": "'self' blob:"})
