"""Security headers: what a browser may load, frame and leak, decided per route template.

Every answer gets `X-Content-Type-Options: nosniff` (an RDF or JSON body is never sniffed into
HTML) and `Referrer-Policy`. HTML pages get a `Content-Security-Policy` that names no remote
origin: everything a page uses is bundled under /static, so nothing else may load, and no
site may frame a page unless its route template is listed in FRAMING. A page that sets
its own policy (the drawn query views) keeps it, alone.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",  # YASGUI/CodeMirror set style attributes
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Route templates that other sites may frame (embeds): one line per route.
FRAMING: dict[str, str] = {
    "/queries/{name}/embed": "*",
}
# Route templates whose pages need more than POLICY: none today (`/docs` and `/redoc` set
# their own, see web/api_docs.py).
EXCEPTIONS: dict[str, dict[str, str]] = {}
ALWAYS = [(b"x-content-type-options", b"nosniff"),
          (b"referrer-policy", b"strict-origin-when-cross-origin")]


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (`/id/{kind}/{slug}`), once routing has run."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def content_security_policy(template: str | None, extra: dict[str, str] | None = None) -> str:
    """The policy of a route template's pages; `extra` replaces directives of POLICY."""
    directives = dict(POLICY) | EXCEPTIONS.get(template or "", {}) | (extra or {})
    if template in FRAMING:
        directives["frame-ancestors"] = FRAMING[template]
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(template: str | None, headers: Sequence[tuple[bytes, bytes]],
                     present: Set[bytes]) -> list[tuple[bytes, bytes]]:
    """What an answer of the route `template` with these headers gets (`present`: their
    lower-cased names)."""
    extra = [(k, v) for k, v in ALWAYS if k not in present]
    content_type = next((v for k, v in headers if k == b"content-type"), b"")
    if content_type.startswith(b"text/html") and (
            b"content-security-policy" not in present):  # a route's own wins
        extra.append((b"content-security-policy", content_security_policy(template).encode()))
        if template not in FRAMING:
            extra.append((b"x-frame-options", b"DENY"))
    return extra


class SecurityHeaders:
    """Adds the headers above to every answer (the policy only to HTML)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + security_headers(route_template(scope), headers,
                                                                present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
