"""Turn the parsers' messages (SPARQL and RDF) into errors that name the line and column."""

from __future__ import annotations

import re

from graph_service.errors import RdfSyntaxError

# pyoxigraph writes 'error at 2:9', 'line 3 between columns 7 and 11' or 'line 4 column 1'.
_POSITION = re.compile(r"(?:error at |line )(\d+)(?::(\d+)| between columns (\d+)| column (\d+))?")


def position_in(message: str) -> tuple[int | None, int | None]:
    """The (line, column) a parser's message names, as far as it names them."""
    match = _POSITION.search(message)
    if not match:
        return None, None
    column = match.group(2) or match.group(3) or match.group(4)
    return int(match.group(1)), int(column) if column else None


def syntax_error_from(message: str) -> RdfSyntaxError:
    """Keep the SPARQL parser's words and pull out the position."""
    line, column = position_in(message)
    return RdfSyntaxError(f"Syntax error: {message}", line=line, column=column)
