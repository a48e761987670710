"""smartby: a linked-data knowledge graph of Norwegian smart-city practice."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
