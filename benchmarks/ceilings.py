"""The ceilings a Python server reaches on this machine, under uvicorn (uvloop, httptools) as
smartby is: a FastAPI route returning a constant, a bare ASGI app doing the same, and a bare
ASGI app that answers the query it is sent with the engine, on the event loop's thread, and
nothing else (no protocol checks, negotiation, validators, security headers, request id, log
line or metrics), served with smartby's own HTTP protocol (`web/coalescing.py`: an answer's
head and body in one write). The last is the floor of any server that puts Python's HTTP in
front of pyoxigraph in one process: what smartby's lookups cost above it is the contract's
own work.

`python -m benchmarks.ceilings fastapi|asgi PORT`
`python -m benchmarks.ceilings engine PORT STORE_DIR`
"""

from __future__ import annotations

import sys
from typing import Any

import pyoxigraph as ox
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

from graph_service.web.coalescing import CoalescingHttpProtocol

BODY = b'{"head":{"vars":["p","o"]},"results":{"bindings":[]}}'
TYPE = "application/sparql-results+json"


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/sparql")
    @app.get("/sparql")
    async def constant() -> Response:
        return Response(BODY, media_type=TYPE)

    return app


async def read_request_body(receive: Any) -> bytes:
    """The whole body, as any real endpoint must read it."""
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await read_request_body(receive)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", TYPE.encode()),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


def engine_app(store_dir: str) -> Any:
    """The POSTed query (`application/sparql-query`, a SELECT), evaluated on the union of all
    graphs as `oxigraph serve --union-default-graph` and smartby do, its results as JSON; a
    request without one (the readiness probe's GET) gets `ASK {}`'s answer. The store is its
    own copy, opened as smartby opens its own."""
    store = ox.Store(store_dir)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = (await read_request_body(receive)).decode() or "ASK {}"
        results: Any = store.query(query, use_default_graph_as_union=True)
        body = results.serialize(None, ox.QueryResultsFormat.JSON)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", TYPE.encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "engine":  # smartby's HTTP protocol: head and body in one write, as it serves
        uvicorn.run(engine_app(sys.argv[3]), host="127.0.0.1", port=port, log_level="warning",
                    http=CoalescingHttpProtocol)
        return
    app: Any = fastapi_app() if kind == "fastapi" else asgi_app
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
