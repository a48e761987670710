"""The OpenAPI description made true: bodies with their media types, every status, one error.

FastAPI derives operations from the handlers, but most handlers read the raw request (a
SPARQL body, RDF in six syntaxes, a form) and negotiate their answers, so it sees neither
their bodies nor their statuses. This module completes the generated document from one table
per operation, so a schema-driven fuzzer (tests/test_fuzz.py, schemathesis) can hold every
route to it: a status or a Content-Type the table does not list is a failure there.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

RESULTS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values"]
GRAPHS = ["text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
DATASETS = ["application/trig", "application/n-quads", "application/ld+json", "text/turtle"]
RDF_INPUT = ["text/turtle", "application/trig", "application/n-triples", "application/n-quads",
             "application/ld+json", "application/rdf+xml"]
HTML, JSON = "text/html", "application/json"
REPORTS = [JSON, "text/turtle", "application/ld+json", HTML]
RECORDS = [JSON, HTML, *GRAPHS, "application/trig", "application/n-quads"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "Short code, e.g. syntax_error."},
        "detail": {"type": "string", "description": "What went wrong (nb/nn/en)."},
        "line": {"type": ["integer", "null"]},
        "column": {"type": ["integer", "null"]},
        "location": {"type": "string"},
        "correlation_id": {"type": "string", "description": "On 5xx: the id in the log."},
    },
    "additionalProperties": True,
}
_REASONS = {200: "OK", 201: "Created", 204: "No content", 304: "Not modified",
            400: "Bad request or syntax error (with line and column)",
            401: "Missing or invalid bearer token", 403: "Not allowed for this token",
            404: "Not found", 405: "Method not allowed", 406: "No acceptable format",
            409: "Conflict", 413: "Body over SMARTBY_MAX_BODY",
            415: "Unsupported Content-Type",
            422: "Does not conform to the shapes (the report) or an invalid parameter",
            503: "Store unavailable, query timeout or all workers busy (Retry-After)"}
READ_ERRORS = (400, 406, 503)
BODY_ERRORS = (400, 413, 415, 503)
WRITE_ERRORS = (*BODY_ERRORS, 401, 403, 422)


def _string_body(*media_types: str) -> dict[str, Any]:
    return {media_type: {"schema": {"type": "string"}} for media_type in media_types}


def _form(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"schema": {"type": "object", "properties": properties, "required": required or []}}


_SPARQL_FORM = _form({"query": {"type": "string"}, "default-graph-uri": {"type": "string"},
                      "named-graph-uri": {"type": "string"}}, ["query"])
_UPDATE_FORM = _form({"update": {"type": "string"}}, ["update"])
_RDF_BODY = _string_body(*RDF_INPUT)
_VALIDATE_FORMS = {
    "multipart/form-data": _form({"file": {"type": "string", "format": "binary"},
                                  "data": {"type": "string"}, "format": {"type": "string"}}),
    "application/x-www-form-urlencoded": _form({"data": {"type": "string"},
                                                "format": {"type": "string"}}),
}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


_PROTOCOL_PARAMS = [
    _query("query", "SPARQL 1.1 query text."),
    _query("default-graph-uri", "A graph of the default graph (repeatable)."),
    _query("named-graph-uri", "A named graph of the dataset (repeatable)."),
    _query("format", "Result format: json, xml, csv, tsv, turtle, jsonld, nt, rdf."),
]
_GRAPH_PARAMS = [_query("graph", "The graph's IRI (relative: against /store)."),
                 _query("default", "The default graph (no value).")]
_LANG = _query("lang", "Page language: nb or en (remembered in a cookie).",
               {"type": "string", "enum": ["nb", "en"]})

# (method, path) -> (success statuses, their media types, error statuses, body, parameters).
# Paths not listed are reads answered in one or more media types (see `_READS`).
Operation = tuple[tuple[int, ...], list[str], tuple[int, ...], dict[str, Any] | None,
                  list[dict[str, Any]]]
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("get", "/sparql"): ((200,), [*RESULTS, *GRAPHS, HTML], (*READ_ERRORS, 413),
                         None, _PROTOCOL_PARAMS),
    ("post", "/sparql"): ((200,), [*RESULTS, *GRAPHS], (*READ_ERRORS, *BODY_ERRORS),
                          {"application/sparql-query": {"schema": {"type": "string"}},
                           "application/x-www-form-urlencoded": _SPARQL_FORM},
                          _PROTOCOL_PARAMS[1:]),
    ("post", "/update"): ((204,), [], WRITE_ERRORS,
                          {"application/sparql-update": {"schema": {"type": "string"}},
                           "application/x-www-form-urlencoded": _UPDATE_FORM}, []),
    ("get", "/store"): ((200,), GRAPHS, (*READ_ERRORS, 404), None, _GRAPH_PARAMS),
    ("put", "/store"): ((201, 204), [], WRITE_ERRORS, _RDF_BODY, _GRAPH_PARAMS),
    ("post", "/store"): ((201, 204), [], WRITE_ERRORS, _RDF_BODY, _GRAPH_PARAMS),
    ("delete", "/store"): ((204,), [], (400, 401, 403, 404, 422, 503), None, _GRAPH_PARAMS),
    ("post", "/validate"): ((200,), REPORTS, (*READ_ERRORS, *BODY_ERRORS),
                            _RDF_BODY | _VALIDATE_FORMS, [_LANG]),
    ("post", "/submissions"): ((201,), [JSON], (*WRITE_ERRORS, 406, 409),
                               _RDF_BODY | _VALIDATE_FORMS, []),
    ("get", "/submissions"): ((200,), [JSON, HTML], READ_ERRORS, None, [
        _query("page", "Page number, from 1.", {"type": "integer"}),
        _query("per_page", "Items per page, 1 to 100.", {"type": "integer"}), _LANG]),
    ("get", "/submissions/{id}"): ((200,), RECORDS, (*READ_ERRORS, 404), None, [_LANG]),
    ("delete", "/submissions/{id}"): ((204,), [], (400, 401, 403, 404, 409, 503), None, []),
}
_READS: dict[str, list[str]] = {
    "/health": [JSON], "/queries": [JSON, HTML], "/context.jsonld": ["application/ld+json"],
    "/id/{kind}/{slug}": ["text/turtle", HTML, "application/ld+json", "application/n-triples",
                          "application/rdf+xml"],
    "/ontology": [*GRAPHS, HTML], "/shapes": [*GRAPHS, HTML], "/dataset": DATASETS,
    "/dataset.{suffix}": DATASETS, "/.well-known/void": [*GRAPHS, HTML],
    "/catalog": [*GRAPHS, HTML], "/validate": [HTML], "/": [HTML],
    "/metrics": ["text/plain"], "/browse": [JSON, HTML], "/search": [JSON, HTML],
    "/changes": ["text/turtle", "application/trig", "application/n-quads",
                 "application/ld+json"],
    "/changes/{page_id}": ["text/turtle", "application/trig", "application/n-quads",
                           "application/ld+json"],
}
_READ_PARAMS: dict[str, list[dict[str, Any]]] = {
    "/id/{kind}/{slug}": [_query("profile", "JSON-LD profile.", {
        "type": "string", "enum": ["compacted", "expanded", "framed"]}), _LANG],
    "/ontology": [_query("format", "ttl, jsonld, nt, rdf or html."), _LANG],
    "/shapes": [_query("format", "ttl, jsonld, nt, rdf or html."), _LANG],
    "/": [_LANG], "/queries": [_LANG], "/validate": [_LANG],
    "/changes/{page_id}": [_query("size", "The page size the URL was made for.")],
    "/search": [_query("q", "The words to search for."),
                _query("kind", "Only entities of this kind (project, person, ...)."),
                _query("lang", "Results in nb, nn or en.", {"type": "string",
                                                            "enum": ["nb", "nn", "en"]}),
                _query("limit", "At most this many hits, 1 to 100.", {"type": "integer"}),
                _query("ui", "Page language for browsers: nb, nn or en.")],
}


def _content(media_types: list[str], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {m: {"schema": schema or {}} for m in media_types}


def _errors(statuses: tuple[int, ...]) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Error"}
    content = {JSON: {"schema": ref}, HTML: {"schema": {"type": "string"}}}
    return {str(s): {"description": _REASONS[s], "content": dict(content)}
            for s in sorted(set(statuses))}


def _operation_for(method: str, path: str) -> Operation:
    if (method, path) in OPERATIONS:
        return OPERATIONS[(method, path)]
    if path == "/queries/{name}/embed":  # a ready query's view for an <iframe>
        return (200,), [HTML], (*READ_ERRORS, 404), None, [_LANG]
    if path.startswith("/queries/"):  # a named query (results, or its drawn page for browsers)
        return (200,), [*RESULTS, *GRAPHS, HTML], (*READ_ERRORS, 404), None, []
    path_errors = (404,) if "{" in path else ()
    media = _READS.get(path, [JSON])
    return (200,), media, (*READ_ERRORS, *path_errors), None, _READ_PARAMS.get(path, [])


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """The generated document with bodies, parameters, every status and the error schema."""
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    document["components"].setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "SMARTBY_TOKEN or SMARTBY_ADMIN_TOKEN"}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            successes, media, errors, body, params = _operation_for(method, path)
            responses: dict[str, Any] = {}
            for status in successes:
                responses[str(status)] = {"description": _REASONS[status]}
                if media and status != 204:
                    responses[str(status)]["content"] = _content(media)
            is_write = 401 in errors
            responses |= _errors((*errors, 405))
            if 422 in responses and is_write:
                responses["422"]["content"] |= _content([m for m in REPORTS if m != JSON])
            operation["responses"] = responses
            if body is not None:
                operation["requestBody"] = {"required": True, "content": body}
            known = {p["name"] for p in operation.get("parameters", [])}
            operation["parameters"] = [*operation.get("parameters", []),
                                       *(p for p in params if p["name"] not in known)]
            if is_write:
                operation["security"] = [{"bearer": []}]
    return document


def install(app: FastAPI) -> None:
    """Serve the completed description at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
