"""Answers drawn on the server as SVG (bar chart, timeline): no script, font or request leaves.

Input is a SPARQL 1.1 JSON result (`head.vars` and `results.bindings`), so the module stays
free of HTTP and of the store. https://www.w3.org/TR/sparql11-results-json/
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

VIEWS = ("table", "bar", "timeline")  # `map` comes when the graph has coordinates
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + name for name in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "negativeInteger", "nonPositiveInteger",
    "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
DATES = {XSD + "date", XSD + "dateTime", XSD + "dateTimeStamp"}
UNKNOWN = {"nb": "ukjent", "nn": "ukjend", "en": "unknown"}
UNKNOWN_DATE = {"nb": "ukjent dato", "nn": "ukjend dato", "en": "unknown date"}
WIDTH = 640

Row = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class ViewSpec:
    """A query's default view; `label`/`value` name result columns (chosen when omitted)."""

    kind: str = "table"
    label: str | None = None
    value: str | None = None  # bar: the numeric column; timeline: the date column

    def as_json(self) -> dict[str, Any]:
        return {"type": self.kind, "label": self.label, "value": self.value}


def parse_view(value: Any) -> ViewSpec:
    """`view: bar` or `view: {type: bar, label: name, value: count}`; ValueError otherwise."""
    if value is None:
        return ViewSpec()
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise ValueError(f"'view' must be one of {VIEWS} or a mapping with 'type'")
    unknown = set(value) - {"type", "label", "value"}
    if unknown:
        raise ValueError(f"'view' has unknown keys {sorted(unknown)}")
    if value.get("type") not in VIEWS:
        raise ValueError(f"'view' type must be one of {VIEWS}, got {value.get('type')!r}")
    for key in ("label", "value"):
        if key in value and not (isinstance(value[key], str) and value[key].isidentifier()):
            raise ValueError(f"'view' {key} must name a result variable")
    return ViewSpec(value["type"], value.get("label"), value.get("value"))


# -- choosing columns -----------------------------------------------------------------------


def _is_numeric(term: Mapping[str, str] | None) -> bool:
    return term is not None and term.get("datatype") in NUMERIC


def _is_date(term: Mapping[str, str] | None) -> bool:
    return term is not None and term.get("datatype") in DATES


def label_column(variables: Sequence[str], rows: Sequence[Row], chosen: str | None) -> str | None:
    """The named column, else one called *label*/*name*, else the first non-numeric literal."""
    if chosen:
        return chosen if chosen in variables else None
    literal = [v for v in variables if rows and all(
        v not in r or (r[v].get("type") != "uri" and not _is_numeric(r[v])) for r in rows)
        and any(v in r for r in rows)]
    named = [v for v in literal if "label" in v.lower() or "name" in v.lower()]
    found = named or literal or list(variables[:1])
    return found[0] if found else None


def value_column(variables: Sequence[str], rows: Sequence[Row], chosen: str | None) -> str | None:
    """The named column, else the first whose bound values are all numbers."""
    if chosen:
        return chosen if chosen in variables else None
    for var in variables:
        bound = [r[var] for r in rows if var in r]
        if bound and all(_is_numeric(term) for term in bound):
            return var
    return None


def date_column(variables: Sequence[str], rows: Sequence[Row], chosen: str | None) -> str | None:
    """The named column, else the first holding an xsd:date or xsd:dateTime value."""
    if chosen:
        return chosen if chosen in variables else None
    for var in variables:
        if any(_is_date(r.get(var)) for r in rows):
            return var
    return None


# -- drawing ----------------------------------------------------------------------------------


def _text(row: Row, var: str | None) -> str:
    if var is None or var not in row:
        return ""
    return row[var]["value"]


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _clip(text: str, most: int = 80) -> str:
    """Long labels are shortened so they stay inside the drawing (the table has them whole)."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _format_number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _svg(width: int, height: int, kind: str, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(
    variables: Sequence[str], rows: Sequence[Row], spec: ViewSpec, title: str
) -> str | None:
    """Horizontal bars, one per row in the answer's order, the label above each bar."""
    label_var = label_column(variables, rows, spec.label)
    value_var = value_column(variables, rows, spec.value)
    if value_var is None or not rows:
        return None
    values = [_number(_text(row, value_var)) for row in rows]
    most = max([abs(v) for v in values] + [1.0])
    room, row_height = WIDTH - 70, 38
    body = []
    for index, (row, value) in enumerate(zip(rows, values, strict=True)):
        y = index * row_height
        width = round(room * abs(value) / most)
        label = escape(_clip(_text(row, label_var)))
        shown = escape(_format_number(value))
        body.append(
            f'<g class="bar"><text x="0" y="{y + 13}" class="label">{label}</text>'
            f'<rect x="0" y="{y + 18}" width="{width}" height="14">'
            f"<title>{label}: {shown}</title></rect>"
            f'<text x="{width + 6}" y="{y + 30}" class="count">{shown}</text></g>'
        )
    height = max(row_height * len(rows), row_height)
    return _svg(WIDTH, height, "bar-chart", f"{title} ({value_var})", body)


def parse_date(term: Mapping[str, str] | None) -> dt.datetime | None:
    """A date or dateTime value as written (its own offset kept), None when unknown."""
    if not term or term.get("datatype") not in DATES:
        return None
    try:
        parsed = dt.datetime.fromisoformat(term["value"])
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def _ticks(first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """Month starts between the two dates (years when the span is longer than three years)."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = 1 if months <= 36 else 12
    tick = dt.datetime(first.year, first.month if step == 1 else 1, 1)
    ticks = []
    while tick <= last:
        if tick >= first:
            ticks.append(tick)
        month = tick.month - 1 + step
        tick = dt.datetime(tick.year + month // 12, month % 12 + 1, 1)
    return ticks


def timeline(
    variables: Sequence[str], rows: Sequence[Row], spec: ViewSpec, title: str, lang: str
) -> str | None:
    """One line per row in the answer's order: a dot at its date, or in the "unknown" column."""
    label_var = label_column(variables, rows, spec.label)
    date_var = date_column(variables, rows, spec.value)
    if not rows:
        return None
    dates = [parse_date(row.get(date_var)) if date_var else None for row in rows]
    known = [d for d in dates if d is not None]
    first, last = (min(known), max(known)) if known else (dt.datetime(2000, 1, 1),) * 2
    first, last = first - dt.timedelta(days=10), last + dt.timedelta(days=10)
    left, right, unknown_x = 110, WIDTH - 20, 40
    span = (last - first).total_seconds() or 1.0

    def x_of(moment: dt.datetime) -> int:
        return round(left + (right - left) * (moment - first).total_seconds() / span)

    unknown_word = escape(UNKNOWN.get(lang, UNKNOWN["en"]))
    axis, row_height = 34, 36
    height = axis + row_height * len(rows) + 6
    body = [
        f'<text x="{unknown_x}" y="14" class="axis unknown-head" text-anchor="middle">'
        f"{unknown_word}</text>",
        f'<line x1="{unknown_x}" y1="20" x2="{unknown_x}" y2="{height}" class="unknown-lane"/>',
        f'<line x1="{left}" y1="22" x2="{right}" y2="22" class="axis"/>',
    ]
    for tick in _ticks(first, last) if known else []:
        x = x_of(tick)
        body.append(f'<line x1="{x}" y1="18" x2="{x}" y2="{height}" class="tick"/>'
                    f'<text x="{x}" y="14" class="axis" text-anchor="middle">'
                    f'{tick:%Y-%m}</text>')
    for index, (row, moment) in enumerate(zip(rows, dates, strict=True)):
        y = axis + index * row_height
        label = escape(_clip(_text(row, label_var), 72))
        if moment is None:
            said = escape(UNKNOWN_DATE.get(lang, UNKNOWN_DATE["en"]))
            body.append(
                f'<g class="event unknown"><text x="{left}" y="{y + 12}" class="label">'
                f"{label} · {said}</text>"
                f'<circle cx="{unknown_x}" cy="{y + 22}" r="6"><title>{label}: {said}</title>'
                "</circle></g>"
            )
            continue
        when = escape(_text(row, date_var)[:10])
        x = x_of(moment)
        body.append(
            f'<g class="event known"><text x="{left}" y="{y + 12}" class="label">'
            f"{label} · {when}</text>"
            f'<line x1="{left}" y1="{y + 22}" x2="{x}" y2="{y + 22}" class="guide"/>'
            f'<circle cx="{x}" cy="{y + 22}" r="6"><title>{label}: {when}</title></circle></g>'
        )
    return _svg(WIDTH, height, "timeline", title, body)


def draw(
    spec: ViewSpec, variables: Sequence[str], rows: Sequence[Row], title: str, lang: str
) -> str | None:
    """The view as SVG markup, or None for a table (or when the answer cannot be drawn)."""
    if spec.kind == "bar":
        return bar_chart(variables, rows, spec, title)
    if spec.kind == "timeline":
        return timeline(variables, rows, spec, title, lang)
    return None
