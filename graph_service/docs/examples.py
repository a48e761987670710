"""The README's shell examples, run in README order: ```sh lines must succeed, ```console
blocks show what their `$` commands really print.

A ```sh block is a list of commands (a `\\` at the end of a line continues it, `#` starts a
comment); each must exit 0, so curl runs with `--fail-with-body`. A ```console block holds
`$ command` lines, each followed by its output; a command that is meant to fail says so in
a comment (`# exit 1`). Running the walk gives the README as it should read; the test
compares it with the README as it does read, and `python -m graph_service.docs` writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from graph_service.docs.sandbox import ExampleError, Sandbox

FENCE = re.compile(r"^```(\w*)\s*$")
EXPECTED_EXIT = re.compile(r"#\s*exits?\s+(\d+)")


@dataclass
class Walk:
    """The README as its examples make it read, and the examples that did not succeed."""

    text: str
    problems: list[str] = field(default_factory=list)


def _commands(lines: list[str], console: bool) -> Iterator[tuple[int, str, list[str]]]:
    """(index, command, the lines after it up to the next command) in a block; a `$`
    prefix marks commands in console blocks, every non-comment line in sh blocks."""
    i = 0
    while i < len(lines):
        line = lines[i]
        starts = line.startswith("$ ") if console else bool(line.strip()) and not (
            line.lstrip().startswith("#"))
        start = i
        i += 1
        if not starts:
            continue
        command = [line]
        while command[-1].rstrip().endswith("\\") and i < len(lines):
            command.append(lines[i])
            i += 1
        following: list[str] = []
        while console and i < len(lines) and not lines[i].startswith("$ "):
            following.append(lines[i])
            i += 1
        yield start, "\n".join(command), following


def _shell_text(command: str) -> str:
    """The command as one shell line: `$ ` and line continuations removed."""
    return re.sub(r"\\\n\s*", " ", command.removeprefix("$ "))


def walk(text: str, box: Sandbox) -> Walk:
    """Run every example of `text` in order; console outputs are replaced by fresh ones."""
    out: list[str] = []
    problems: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        out.append(lines[i])
        i += 1
        if opened is None:
            continue
        end = next(j for j in range(i, len(lines)) if lines[j].startswith("```"))
        body = lines[i:end]
        if opened.group(1) in ("sh", "console") and not _is_quick_start(body):
            body = _run_block(opened.group(1), body, box, problems, line_number=i)
        out += body
        out.append(lines[end])
        i = end + 1
    return Walk("\n".join(out), problems)


def _is_quick_start(body: list[str]) -> bool:
    """`make serve` / `make test` are the quick start; tests/test_docs.py checks those."""
    return any(line.startswith("make ") for line in body)


def _run_block(
    kind: str, body: list[str], box: Sandbox, problems: list[str], line_number: int
) -> list[str]:
    rebuilt: list[str] = []
    for index, command, shown in _commands(body, console=kind == "console"):
        where = f"README.md line {line_number + index + 1}"
        expected = EXPECTED_EXIT.search(command)
        want = int(expected.group(1)) if expected else 0
        try:
            outcome = box.run(_shell_text(command))
        except ExampleError as exc:
            problems.append(f"{where}: {exc}")
            rebuilt += [command, *shown]
            continue
        if outcome.exit_code != want:
            problems.append(
                f"{where}: `{_shell_text(command)}` exited {outcome.exit_code}, not {want}:\n"
                + outcome.output[-2000:]
            )
        rebuilt.append(command)
        if kind == "console":
            rebuilt += outcome.output.rstrip("\n").split("\n") if outcome.output else []
    return rebuilt if kind == "console" else body
