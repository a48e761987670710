"""The hot-path benchmark's scenarios: py-spy's top frames, read after write, a runaway."""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load import Target, read_response, run_load
from benchmarks.servers import Server

RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
           "?m ?n2 ?o }")


def server_processes(supervisor: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{supervisor}/task").iterdir():
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def wait_for_exit(pid: int, timeout: float) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def _top(stacks: Counter[tuple[str, ...]], leaf: bool, count: int) -> list[dict[str, Any]]:
    frames: Counter[str] = Counter()
    total = sum(stacks.values())
    for stack, samples in stacks.items():
        for frame in ({stack[-1]} if leaf else set(stack)):
            frames[frame] += samples
    return [{"frame": frame, "share": round(samples / total, 3)}
            for frame, samples in frames.most_common(count)]


def profile(server: Server, lookup: str, root: Path, seconds: int = 6) -> dict[str, Any]:
    """py-spy (sampling, non-blocking) of the server process under 4 clients of lookups."""
    spy = Path(sys.executable).with_name("py-spy")
    binary = str(spy) if spy.exists() else shutil.which("py-spy")
    if binary is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    (pid,) = server_processes(server.process.pid)
    out = root / "profile.txt"
    recorder = subprocess.Popen(
        [binary, "record", "-p", str(pid), "-d", str(seconds), "-r", "250", "--nonblocking",
         "-f", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = Target.post_query(server.query_url, lookup, "application/sparql-results+json")
    loads = []
    while recorder.poll() is None:
        loads.append(run_load(target, 4, 400))
    if not out.exists():
        return {"skipped": f"py-spy exited {recorder.returncode} without a profile"}
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in out.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack:
            stacks[tuple(stack.split(";"))] += int(samples)
    return {"pid": pid, "samples": sum(stacks.values()), "seconds": seconds,
            "requests_per_s_while_sampled": statistics.median(r["requests_per_s"] for r in loads),
            "top_self": _top(stacks, True, 15), "top_inclusive": _top(stacks, False, 25)}


def read_after_write(servers: list[Server], repeat: int) -> dict[str, Any]:
    """A one-triple INSERT DATA, then the first read that must see it."""
    out: dict[str, Any] = {}
    for server in servers:
        base = server.query_url.rsplit("/", 1)[0]
        writes, reads = [], []
        with httpx.Client(timeout=60) as client:
            for number in range(repeat):
                triple = f'<http://example.org/raw> <http://example.org/v> "{number}"'
                started = time.perf_counter()
                written = client.post(f"{base}/update", content=f"INSERT DATA {{ {triple} }}",
                                      headers={**server.write_headers,
                                               "Content-Type": "application/sparql-update"})
                wrote = time.perf_counter()
                seen = client.post(server.query_url, content=f"ASK {{ {triple} }}",
                                   headers={"Content-Type": "application/sparql-query",
                                            "Accept": "application/sparql-results+json"})
                read = time.perf_counter()
                if written.status_code >= 300 or seen.json()["boolean"] is not True:
                    raise RuntimeError(f"{server.name}: {written.status_code} {seen.text[:200]}")
                writes.append((wrote - started) * 1000)
                reads.append((read - wrote) * 1000)
        out[server.name] = {"write_median_ms": statistics.median(writes),
                            "first_read_median_ms": statistics.median(reads),
                            "first_read_max_ms": max(reads), "n": repeat}
    return out


async def _bystander(target: Target, stop: threading.Event, tally: dict[str, Any]) -> None:
    reader = writer = None
    while not stop.is_set() or tally["done"] < tally["at_least"]:
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(target.host, target.port)
            assert reader is not None
            writer.write(target.raw)
            status, _, kept = await read_response(reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally["errors"].append(repr(exc)[:200])
            reader = writer = None
            continue
        tally["done"] += 1
        tally["statuses"][status] += 1
        tally["slowest_ms"] = max(tally["slowest_ms"], (time.perf_counter() - started) * 1000)
        if not kept:
            writer.close()
            reader = writer = None


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def cpu_stops(pid: int, started: float) -> float:
    """Seconds from `started` until the process burns no more CPU (its ticks stop growing
    over 0.1 s, or it is gone): the engine is idle even if the exit itself is still pending
    (a thread in disk I/O delays the end of a process, not its CPU)."""
    last = _cpu_ticks(pid)
    while last is not None:
        time.sleep(0.1)
        now = _cpu_ticks(pid)
        if now is None or now == last:
            break
        last = now
    return time.perf_counter() - started


def runaway(server: Server, lookup: str, bystanders: int = 4) -> dict[str, Any]:
    """A runaway query among at least 1,000 lookups from other clients."""
    target = Target.post_query(server.query_url, lookup, "application/sparql-results+json")
    stop = threading.Event()
    tally: dict[str, Any] = {"done": 0, "at_least": 1000, "statuses": Counter(), "errors": [],
                             "slowest_ms": 0.0}

    async def crowd() -> None:
        await asyncio.gather(*(_bystander(target, stop, tally) for _ in range(bystanders)))

    thread = threading.Thread(target=lambda: asyncio.run(crowd()))
    before = server_processes(server.process.pid)
    thread.start()
    while tally["done"] < 100 and thread.is_alive():
        time.sleep(0.01)
    started = time.perf_counter()
    answer = httpx.post(server.query_url, content=RUNAWAY, timeout=120,
                        headers={"Content-Type": "application/sparql-query"})
    answered = time.perf_counter() - started
    (old,) = before
    idle = cpu_stops(old, started)
    exited = wait_for_exit(old, 60)
    gone = time.perf_counter() - started
    stop.set()
    thread.join(timeout=300)
    return {"status": answer.status_code, "error": answer.json().get("error"),
            "answered_s": answered, "engine_process_exited": exited, "engine_stopped_s": gone,
            "cpu_idle_s": idle, "started_monotonic": started,
            "replacement": sorted(server_processes(server.process.pid) - before),
            "bystander_requests": tally["done"], "bystander_statuses":
                {str(k): v for k, v in tally["statuses"].items()},
            "bystander_errors": len(tally["errors"]), "first_errors": tally["errors"][:3],
            "bystander_slowest_ms": tally["slowest_ms"]}
