"""Turn the SPARQL parser's messages into errors that name the line and column."""

from __future__ import annotations

import re

from graph_service.errors import RdfSyntaxError

_POSITION = re.compile(r"(?:error at |line )(\d+)(?::(\d+)| between columns (\d+))")


def syntax_error_from(message: str) -> RdfSyntaxError:
    """pyoxigraph says 'error at 2:9: ...'; keep its words and pull out the position."""
    match = _POSITION.search(message)
    line = int(match.group(1)) if match else None
    column = int(match.group(2) or match.group(3)) if match else None
    return RdfSyntaxError(f"Syntax error: {message}", line=line, column=column)
