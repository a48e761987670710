"""The ceilings a Python server reaches on this machine: a FastAPI route returning a constant,
and a bare ASGI app doing the same, both under uvicorn (uvloop, httptools) as smartby is.

`python -m benchmarks.ceilings fastapi|asgi PORT`
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

BODY = b'{"head":{"vars":["p","o"]},"results":{"bindings":[]}}'
TYPE = "application/sparql-results+json"


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.post("/sparql")
    @app.get("/sparql")
    async def constant() -> Response:
        return Response(BODY, media_type=TYPE)

    return app


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the request body, as any real endpoint must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", TYPE.encode()),
                            (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    app: Any = fastapi_app() if kind == "fastapi" else asgi_app
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
