"""The HTTP floor the three wings share: the one error renderer (domain error -> status),
dependencies (store, settings, tokens, caches), ETag caching and CORS, the body limit, result
streaming, the Jinja environment and language choice, and `/health`.

It may import the store and the core, never a wing (sparql, linked_data, validation)."""
