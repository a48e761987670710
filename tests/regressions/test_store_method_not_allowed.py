"""405 answers name every method the resource supports (RFC 9110 §15.5.6: Allow is required).

Starlette fills `Allow` from the last route it tried for the path, so `PATCH /store` said
`Allow: HEAD` (the store takes GET, HEAD, PUT, POST and DELETE), `/submissions` said `POST`
and `/validate` said `GET`: a client that follows Allow could not find the right method. The
detail was the bare English phrase; it now names the methods in both languages.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("PATCH", "/store", {"GET", "HEAD", "PUT", "POST", "DELETE"}),
    ("PUT", "/submissions", {"GET", "POST"}),
    ("PATCH", "/submissions/20260101T000000Z-00000000", {"GET", "DELETE"}),
    ("DELETE", "/validate", {"GET", "POST"}),
    ("GET", "/update", {"POST"}),
    ("POST", "/health", {"GET"}),
])
def test_allow_lists_every_method_of_the_resource(
    reader: TestClient, method: str, path: str, expected: set[str]
) -> None:
    response = reader.request(method, path)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert expected <= allowed and method not in allowed
    body = response.json()
    assert set(body) == {"error", "detail"} and body["error"] == "method_not_allowed"
    assert "/" in body["detail"] and all(m in body["detail"] for m in expected)
