"""The catalogue of named queries from queries/*.rq: grlc-style `#+` decorators, parameters
bound via VALUES.

Decorator format (YAML after `#+ `): https://github.com/CLARIAH/grlc#decorator-syntax
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import yaml

from graph_service.core.errors import InvalidRequest, say
from graph_service.settings import Settings
from graph_service.sparql.charts import ViewSpec, parse_view

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAM_TYPES = ("iri", "string", "integer", "decimal", "boolean", "date")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_LEXICAL = {
    "integer": re.compile(r"^[+-]?\d+$"),
    "decimal": re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$"),
    "boolean": re.compile(r"^(true|false)$"),
}
# Blank out strings, IRIs and comments (keeping offsets) before looking for keywords.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
    re.S,
)
_WHERE = re.compile(r"\bWHERE\s*\{", re.I)
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", re.I)
OWN_PARAMETERS = {"format", "lang"}


class CatalogueError(ValueError):
    """A query file whose decorators do not parse or do not match the query."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    description: dict[str, str]
    default: str | None = None
    enum: tuple[str, ...] = ()
    required: bool = False
    prefix: str | None = None  # an iri parameter may be given as a local name after this
    lang: str | None = None  # a string parameter's language tag

    def schema(self) -> dict[str, Any]:
        """The parameter's JSON schema, for OpenAPI and the catalogue."""
        kinds = {"integer": "integer", "decimal": "number", "boolean": "boolean"}
        schema: dict[str, Any] = {"type": kinds.get(self.type, "string")}
        if self.type == "iri":
            schema["format"] = "iri"
        if self.type == "date":
            schema["format"] = "date"
        if self.enum:
            schema["enum"] = list(self.enum)
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class NamedQuery:
    name: str
    text: str
    summary: dict[str, str]
    description: dict[str, str]
    tags: tuple[str, ...]
    params: tuple[Parameter, ...] = field(default=())
    form: str = "SELECT"
    view: ViewSpec = field(default=ViewSpec())

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "description": self.description,
            "tags": list(self.tags),
            "form": self.form,
            "url": f"{base_url}queries/{self.name}",
            "params": [
                {"name": p.name, "type": p.type, "required": p.required,
                 "description": p.description, "default": p.default,
                 "enum": list(p.enum), "prefix": p.prefix, "schema": p.schema()}
                for p in self.params
            ],
            "query": self.text,
            "view": self.view.as_json(),
        }


def _trilingual(value: Any, what: str, source: str) -> dict[str, str]:
    """A text in bokmål, nynorsk and English (one plain string stands for all three)."""
    if isinstance(value, str):
        return {"nb": value, "nn": value, "en": value}
    if isinstance(value, dict) and {"nb", "nn", "en"} <= set(value) and all(
        isinstance(v, str) for v in value.values()
    ):
        return {"nb": value["nb"], "nn": value["nn"], "en": value["en"]}
    raise CatalogueError(f"{source}: '{what}' needs 'nb', 'nn' and 'en' texts")


def parse_decorators(text: str, source: str) -> dict[str, Any]:
    """The YAML in the leading `#+` lines; a decorator that does not parse is an error."""
    lines = [line[2:].removeprefix(" ") for line in text.splitlines() if line.startswith("#+")]
    if not lines:
        raise CatalogueError(f"{source}: no '#+' decorators")
    try:
        data = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: decorators are not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: decorators must be a YAML mapping")
    unknown = set(data) - {"summary", "description", "tags", "params", "view"}
    if unknown:
        raise CatalogueError(f"{source}: unknown decorators {sorted(unknown)}")
    return data


def _parse_parameter(name: str, spec: Any, source: str) -> Parameter:
    if not _PARAM_NAME.match(name) or not isinstance(spec, dict):
        raise CatalogueError(f"{source}: parameter {name!r} must be a lowercase name with a map")
    kind = spec.get("type")
    if kind not in PARAM_TYPES:
        raise CatalogueError(f"{source}: parameter {name!r} type must be one of {PARAM_TYPES}")
    unknown = set(spec) - {"type", "description", "default", "enum", "required", "prefix", "lang"}
    if unknown:
        raise CatalogueError(f"{source}: parameter {name!r} has unknown keys {sorted(unknown)}")
    default = spec.get("default")
    param = Parameter(
        name=name,
        type=kind,
        description=_trilingual(spec.get("description", name), "description", source),
        default=None if default is None else str(default).lower()
        if isinstance(default, bool) else str(default),
        enum=tuple(str(v) for v in spec.get("enum") or ()),
        required=bool(spec.get("required", False)),
        prefix=spec.get("prefix"),
        lang=spec.get("lang"),
    )
    for value in ([param.default] if param.default is not None else []) + list(param.enum):
        try:
            _term_for(param, value, check_enum=False)
        except InvalidRequest as exc:
            raise CatalogueError(f"{source}: {exc.detail}") from exc
    return param


def _blank_opaque(text: str) -> str:
    return _OPAQUE.sub(lambda m: " " * len(m.group(0)), text)


def load_query(path: Path) -> NamedQuery:
    """One .rq file, checked: decorators, parameter names used as `?_name` in the query."""
    source = path.name
    name = path.stem
    if not _NAME.match(name):
        raise CatalogueError(f"{source}: file names are kebab-case")
    text = path.read_text(encoding="utf-8")
    data = parse_decorators(text, source)
    if "summary" not in data:
        raise CatalogueError(f"{source}: a 'summary' decorator is required")
    raw_params = data.get("params") or {}
    if not isinstance(raw_params, dict):
        raise CatalogueError(f"{source}: 'params' must map names to their specification")
    params = tuple(_parse_parameter(str(k), v, source) for k, v in raw_params.items())
    code = _blank_opaque(text)
    used = set(re.findall(r"[?$]_([A-Za-z0-9_]+)", code))
    declared = {p.name for p in params}
    if used != declared:
        raise CatalogueError(
            f"{source}: parameters used as ?_name {sorted(used)} differ from those declared "
            f"{sorted(declared)}"
        )
    if params and not _WHERE.search(code):
        raise CatalogueError(f"{source}: a query with parameters needs an explicit 'WHERE {{'")
    form = _FORM.search(code)
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise CatalogueError(f"{source}: 'tags' must be a list")
    try:
        view = parse_view(data.get("view"))
    except ValueError as exc:
        raise CatalogueError(f"{source}: {exc}") from exc
    named_columns = {c for c in (view.label, view.value) if c}
    if not named_columns <= set(re.findall(r"[?$]([A-Za-z0-9_]+)", code)):
        raise CatalogueError(f"{source}: 'view' names columns the query does not have")
    return NamedQuery(
        name=name,
        text=text,
        summary=_trilingual(data["summary"], "summary", source),
        description=_trilingual(data.get("description", data["summary"]), "description", source),
        tags=tuple(str(t) for t in tags),
        params=params,
        form=form.group(1).upper() if form else "SELECT",
        view=view,
    )


@lru_cache(maxsize=8)
def _load_catalogue(folder: Path, stamp: tuple[tuple[str, float], ...]) -> dict[str, NamedQuery]:
    return {q.name: q for q in (load_query(folder / name) for name, _ in stamp)}


def load_catalogue(folder: Path) -> dict[str, NamedQuery]:
    """Every query in the folder by name (re-read when a file changes)."""
    files = sorted(folder.glob("*.rq")) if folder.is_dir() else []
    return _load_catalogue(folder, tuple((p.name, p.stat().st_mtime) for p in files))


def catalogue_for(settings: Settings) -> dict[str, NamedQuery]:
    return load_catalogue(Path(settings.content_dir) / "queries")


# -- binding ----------------------------------------------------------------------------


def _term_for(param: Parameter, value: str, *, check_enum: bool = True) -> str:
    """The value as a checked SPARQL term; 400 when it is not of the parameter's type."""
    bad = InvalidRequest(
        say(f"Parameter {param.name!r} must be of type {param.type}: {value!r}.",
            f"Parameteren {param.name!r} må være av typen {param.type}.",
            f"Parameteren {param.name!r} må vere av typen {param.type}.")
    )
    if param.type == "iri":
        iri = value.strip()
        if param.prefix and not _ABSOLUTE_IRI.match(iri):
            iri = param.prefix + iri
        if not _ABSOLUTE_IRI.match(iri):
            raise bad
        try:
            term: ox.NamedNode | ox.Literal = ox.NamedNode(iri)
        except ValueError as exc:
            raise bad from exc
        allowed = [param.prefix + v if param.prefix and not _ABSOLUTE_IRI.match(v) else v
                   for v in param.enum]
        if check_enum and param.enum and iri not in allowed:
            raise InvalidRequest(
                say(f"Parameter {param.name!r} must be one of {list(param.enum)}.",
                    f"Parameteren {param.name!r} må være en av {list(param.enum)}.",
                    f"Parameteren {param.name!r} må vere ein av {list(param.enum)}.")
            )
        return str(term)
    if check_enum and param.enum and value not in param.enum:
        raise InvalidRequest(
            say(f"Parameter {param.name!r} must be one of {list(param.enum)}.",
                f"Parameteren {param.name!r} må være en av {list(param.enum)}.",
                f"Parameteren {param.name!r} må vere ein av {list(param.enum)}.")
        )
    if param.type == "string":
        return str(ox.Literal(value, language=param.lang) if param.lang else ox.Literal(value))
    if param.type == "date":
        try:  # written back as YYYY-MM-DD: Python also reads 20240601 and 2024-W22-6
            day = dt.date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise bad from exc
        return str(ox.Literal(day, datatype=ox.NamedNode(XSD + "date")))
    if not _LEXICAL[param.type].match(value):
        raise bad
    return str(ox.Literal(value, datatype=ox.NamedNode(XSD + param.type)))


def bind_parameters(query: NamedQuery, values: Mapping[str, Sequence[str]]) -> str:
    """The query text with each given (or default) value in a VALUES block inside WHERE."""
    known = {p.name for p in query.params}
    unknown = set(values) - known - OWN_PARAMETERS
    if unknown:
        raise InvalidRequest(
            say(f"Unknown parameters {sorted(unknown)}; {query.name} takes "
                f"{sorted(known) or 'none'}.",
                f"Ukjente parametere {sorted(unknown)}; {query.name} tar "
                f"{sorted(known) or 'ingen'}.",
                f"Ukjende parametrar {sorted(unknown)}; {query.name} tek "
                f"{sorted(known) or 'ingen'}.")
        )
    blocks = []
    for param in query.params:
        given = [v for v in values.get(param.name, ()) if v != ""]
        if not given and param.default is not None:
            given = [param.default]
        if not given:
            if param.required:
                raise InvalidRequest(say(f"Parameter {param.name!r} is required.",
                                     f"Parameteren {param.name!r} er påkrevd.",
                                     f"Parameteren {param.name!r} er påkravd."))
            continue
        terms = " ".join(_term_for(param, v) for v in given)
        blocks.append(f"VALUES ?_{param.name} {{ {terms} }}")
    if not blocks:
        return query.text
    where = _WHERE.search(_blank_opaque(query.text))
    assert where is not None  # checked when the file was loaded
    cut = where.end()
    return query.text[:cut] + "\n  " + "\n  ".join(blocks) + query.text[cut:]


def parse_cli_params(params: Sequence[str]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidRequest(say(f"--param takes NAME=VALUE, got {item!r}.",
                                     f"--param tar NAVN=VERDI, fikk {item!r}.",
                                     f"--param tek NAMN=VERDI, fekk {item!r}."))
        values.setdefault(name.strip(), []).append(value)
    return values


def resolve_cli_query(settings: Settings, query: str, params: tuple[str, ...]) -> str:
    """A catalogue NAME with `--param k=v` bindings, a .rq file, or SPARQL text."""
    catalogue = catalogue_for(settings)
    if query in catalogue:
        return bind_parameters(catalogue[query], parse_cli_params(params))
    path = Path(query)
    if query.endswith(".rq") and path.is_file():
        named = load_query(path) if params else None
        return bind_parameters(named, parse_cli_params(params)) if named else path.read_text(
            encoding="utf-8")
    if params:
        raise InvalidRequest(say(
            f"Parameters are only for named queries; no query named {query!r}.",
            f"Parametere gjelder bare ferdige spørringer; ingen spørring heter {query!r}.",
            f"Parametrar gjeld berre ferdige spørjingar; inga spørjing heiter {query!r}."))
    if _NAME.match(query):
        raise InvalidRequest(say(
            f"No query named {query!r}; known: {', '.join(sorted(catalogue))}.",
            f"Ingen spørring heter {query!r}; kjente: {', '.join(sorted(catalogue))}.",
            f"Inga spørjing heiter {query!r}; kjende: {', '.join(sorted(catalogue))}."))
    return query


def editor_entries(settings: Settings) -> list[dict[str, Any]]:
    """The catalogue for the editor page: each query with its defaults bound, ready to run."""
    entries = []
    for named in catalogue_for(settings).values():
        try:
            text = bind_parameters(named, {})
        except InvalidRequest:  # a required parameter without default: show the raw text
            text = named.text
        entries.append({"name": named.name, "summary": named.summary, "query": text})
    return entries
