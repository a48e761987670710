"""Error details a submitter reads are in Norwegian and English, like every other message.

401 (no token, wrong token), 413, the submissions' paging 400 and an update that cannot be
applied on the embedded store (DROP of a missing graph) answered in English only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from graph_service.core.errors import InvalidRequest
from graph_service.store.embedded import EmbeddedStore


@pytest.mark.parametrize(("method", "path", "headers", "body", "status"), [
    ("POST", "/submissions", {"content-type": "text/turtle"}, b"", 401),
    ("POST", "/submissions", {"content-type": "text/turtle", "authorization": "Bearer nope"},
     b"", 401),
    ("POST", "/validate", {"content-type": "text/turtle"}, b"#" * (10 * 1024 * 1024 + 1), 413),
    ("GET", "/submissions?per_page=1000", {}, b"", 400),
], ids=["no-token", "wrong-token", "too-large", "paging"])
def test_error_details_are_bilingual(client: TestClient, method: str, path: str,
                                     headers: dict[str, str], body: bytes, status: int) -> None:
    response = client.request(method, path, headers=headers, content=body)
    assert response.status_code == status
    detail = response.json()["detail"]
    english, _, norwegian = detail.partition(" / ")
    assert english and norwegian, detail


def bilingual(detail: str) -> bool:
    english, _, norwegian = detail.partition(" / ")
    return bool(english and norwegian)


def test_an_update_the_embedded_store_cannot_apply_says_so_in_both(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "var", workers=1)
    try:
        with pytest.raises(InvalidRequest) as raised:
            store.update("DROP GRAPH <http://example.org/missing>")
        assert bilingual(raised.value.detail), raised.value.detail
    finally:
        store.close()
