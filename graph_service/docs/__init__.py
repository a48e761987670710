"""The README generated and checked from the code: reference tables and executed examples.

Nothing here serves requests. `python -m graph_service.docs` rewrites the generated parts of
README.md; tests/test_docs.py fails, naming that command, whenever they have drifted.

It sits in the face layer beside the CLI and the app, which it imports; nothing imports it
but the tests and its own `__main__`.
"""

from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent.parent
README = CHECKOUT / "README.md"
REGENERATE = "python -m graph_service.docs"
