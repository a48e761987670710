"""The RDF core: domain errors, identifiers, media types and negotiation, safe parsing of RDF
from outside, reading SPARQL text, the curated content files, and caches keyed by store state.

Plain functions and values over RDF terms and bytes. It must not import FastAPI, Starlette or
any other part of the package but `settings` (import-linter: layers, forbidden)."""
