"""Markdown of the hot-path benchmark: ratios to Oxigraph first, absolute figures beside."""

from __future__ import annotations

from typing import Any


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "–"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def render(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"# Hot path: smartby vs `oxigraph serve` ({results['dataset']}, "
        f"{results.get('quads', '?')} quads)", "",
        f"Commit {machine['commit']}; {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB; Python {machine['python']}; load average "
        f"{machine['load_average_at_start']} at start, {machine.get('load_average_at_end')} "
        f"at end. Medians of {results['rounds']} interleaved rounds; native load client "
        "(benchmarks/load.py, fixed request counts, keep-alive).", "",
        "Throughput ratio to Oxigraph (req/s; above 1: faster than Oxigraph), and p50 / p99 "
        "in ms:", "",
        "| query @ clients | threads (serve) | workers | Oxigraph req/s | threads p50/p99 | "
        "workers p50/p99 | Oxigraph p50/p99 | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, row in results["table"].items():
        s = row["servers"]
        ox = s["oxigraph"]
        failed = sum(v["failed"] for v in s.values())
        lines.append(
            f"| {key} | {_ratio(s['smartby-threads']['requests_per_s'], ox['requests_per_s'])} "
            f"({s['smartby-threads']['requests_per_s']:.0f}) "
            f"| {_ratio(s['smartby-workers']['requests_per_s'], ox['requests_per_s'])} "
            f"({s['smartby-workers']['requests_per_s']:.0f}) | {ox['requests_per_s']:.0f} "
            f"| {_fmt(s['smartby-threads']['p50_ms'])} / {_fmt(s['smartby-threads']['p99_ms'])} "
            f"| {_fmt(s['smartby-workers']['p50_ms'])} / {_fmt(s['smartby-workers']['p99_ms'])} "
            f"| {_fmt(ox['p50_ms'])} / {_fmt(ox['p99_ms'])} | {failed} |")
    lines += ["", "Ceilings (the same lookup request, answered by a Python server doing nothing "
              "else), ratio to Oxigraph's lookups: throughput (req/s) and p99. The last is "
              "the engine behind a bare ASGI app: the floor of Python's HTTP in front of "
              "pyoxigraph.", "", "| clients | FastAPI constant | raw ASGI constant | "
              "raw ASGI + engine | smartby (serve) |", "| --- | ---: | ---: | ---: | ---: |"]
    for key, row in results["table"].items():
        if not key.startswith("point_lookup"):
            continue
        s = row["servers"]
        ox = s["oxigraph"]
        cells = []
        for name in ("ceiling-fastapi", "ceiling-asgi", "ceiling-engine", "smartby-threads"):
            server = s.get(name)
            cells.append("–" if server is None else (
                f"{_ratio(server['requests_per_s'], ox['requests_per_s'])} "
                f"({server['requests_per_s']:.0f}), p99 "
                f"{_ratio(server['p99_ms'], ox['p99_ms'])}"))
        lines.append(f"| {key.split('@')[1]} | " + " | ".join(cells) + " |")
    raw = results.get("read_after_write", {})
    if raw:
        lines += ["", "Read after write (one-triple INSERT DATA, then the first read), medians:",
                  "", "| server | write ms | first read ms | slowest first read ms |",
                  "| --- | ---: | ---: | ---: |"]
        for name, r in raw.items():
            lines.append(f"| {name} | {r['write_median_ms']:.1f} | "
                         f"{r['first_read_median_ms']:.2f} | {r['first_read_max_ms']:.1f} |")
    run = results.get("runaway")
    if run:
        lines += ["", f"Runaway query (timeout {results['query_timeout_s']} s) among "
                  f"{run['bystander_requests']} bystander lookups on 4 connections: answered "
                  f"{run['status']} `{run['error']}` after {run['answered_s']:.2f} s; the "
                  f"process holding the engine stopped using CPU after "
                  f"{run.get('cpu_idle_s', float('nan')):.2f} s and had exited after "
                  f"{run['engine_stopped_s']:.2f} s "
                  f"(replaced by {run['replacement']}); bystanders: "
                  f"{run['bystander_statuses']}, {run['bystander_errors']} failed, slowest "
                  f"{run['bystander_slowest_ms']:.0f} ms."]
    spy = results.get("profile", {})
    if spy.get("top_self"):
        lines += ["", f"py-spy, smartby's server process under 4 clients of lookups "
                  f"({spy['samples']} samples over {spy['seconds']} s, "
                  f"{spy['requests_per_s_while_sampled']:.0f} req/s while sampled). "
                  "Top frames by own time:", "", "| share | frame |", "| ---: | --- |"]
        lines += [f"| {f['share']:.1%} | `{f['frame']}` |" for f in spy["top_self"]]
        lines += ["", "Top frames including callees:", "", "| share | frame |", "| ---: | --- |"]
        lines += [f"| {f['share']:.1%} | `{f['frame']}` |" for f in spy["top_inclusive"]]
    return "\n".join(lines) + "\n"
