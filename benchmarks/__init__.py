"""Reproducible performance runs of smartby against a real Oxigraph server."""
