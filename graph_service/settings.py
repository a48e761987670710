"""All settings in one typed class, read from `SMARTBY_*` environment variables."""

from __future__ import annotations

import hmac
import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CANONICAL_BASE_IRI = "https://w3id.org/smartby/"


def default_content_dir() -> Path:
    """The folder holding ontology/, data/ and queries/: the checkout, or the installed copy."""
    package = Path(__file__).resolve().parent
    checkout = package.parent
    if (checkout / "ontology").is_dir() and (checkout / "data").is_dir():
        return checkout
    return package / "_content"


class Settings(BaseSettings):
    """Every knob of the service; the CLI options carry the same names."""

    model_config = SettingsConfigDict(env_prefix="SMARTBY_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Address `smartby serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `smartby serve` listens on.")
    data_dir: Path = Field(Path("var"), description="Directory of the embedded store.")
    content_dir: Path = Field(
        default_factory=default_content_dir,
        description="Folder with ontology/, data/ and queries/ (the checkout or the package).",
    )
    store: str = Field("", description="Base URL of a remote SPARQL store; empty: embedded.")
    store_query_url: str = Field("", description="Remote query endpoint (derived from store).")
    store_update_url: str = Field("", description="Remote update endpoint (derived from store).")
    store_graph_url: str = Field("", description="Remote graph store endpoint (derived).")
    store_username: str = Field("", description="Remote store user (basic, or digest when asked).")
    store_password: str = Field("", description="Remote store password (basic or digest).")
    store_bearer: str = Field("", description="Bearer token towards the remote store.")
    store_union_default_graph: str = Field(
        "union-default-graph",
        description="Query parameter asking the remote store for the union default graph "
        "(Oxigraph server); empty when the store's default graph already is the union.",
    )
    store_atomic_updates: bool = Field(
        True,
        description="The remote store applies a multi-operation update in one transaction; "
        "off: write into staging graphs, then MOVE each with one operation.",
    )
    token: str = Field(
        "", description="Write token, or comma-separated `name:token` pairs; empty: no writes."
    )
    admin_token: str = Field(
        "", description="Token that may write without SHACL validation (administrators)."
    )
    query_timeout: float = Field(30.0, gt=0, description="Seconds before a query gets 503.")
    query_workers: int = Field(2, ge=1, description="Worker processes evaluating queries.")
    query_engine: Literal["auto", "workers", "threads"] = Field(
        "auto", description="Where the embedded store evaluates queries: `workers` (killable "
        "processes over checkpoints), `threads` (in the server process on the live store; a "
        "runaway makes `smartby serve` replace the process), `auto`: threads under `smartby "
        "serve`, workers elsewhere.",
    )
    query_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 2, ge=1,
        description="Engine threads evaluating queries at once (query_engine threads); default "
        "the number of cores: more ran joins and scans slower under load (measured).",
    )
    max_waiting_queries: int = Field(
        256, ge=0, description="Queries that may wait for a busy worker; beyond them 503 at once."
    )
    validation_timeout: float = Field(
        30.0, gt=0, description="Seconds a SHACL validation may run before its worker is killed "
        "and the request gets 503 validation_timeout.",
    )
    validation_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1,
        description="Worker processes running SHACL validations at once (default: the cores).",
    )
    validation_arms_per_query: int = Field(
        0, ge=0, description="Patterns per neighbourhood query of a validation (0: all in one). "
        "Virtuoso 7.2 needs a few (6): it refuses queries whose SQL passes 10 000 lines.",
    )
    max_waiting_validations: int = Field(
        4, ge=0, description="Validations that may wait for a busy worker; beyond them 503 with "
        "Retry-After at once.",
    )
    malloc_arenas: int = Field(
        0, ge=0, description="glibc malloc arenas of the server process, with SMARTBY_ALLOCATOR="
        "glibc (0: glibc's default, "
        "eight per core). A cap keeps memory that short-lived indexing threads free from "
        "staying with their arenas, but engine threads sharing an arena wait on its lock "
        "(heavy concurrent queries cost up to twice the CPU with 2).",
    )
    allocator: Literal["jemalloc", "glibc"] = Field(
        "jemalloc", description="Memory allocator of `smartby serve`'s server processes: "
        "jemalloc (preloaded, where Debian's libjemalloc2 is installed; joins 7 % faster, "
        "measured) or the C library's.",
    )
    compact_after: float = Field(
        5.0, ge=0, description="Seconds without a write after which the embedded store is "
        "compacted (0: never). Writes leave data that every range scan merges: after twenty "
        "one-triple writes a COUNT join took 22.7-27.9 ms against 18.2 ms, and 19.4 ms once "
        "compacted (measured). At most a tenth of the time is spent compacting.",
    )
    reap_grace: float = Field(
        1.0, gt=0, description="Seconds past its deadline before an abandoned query's worker is "
        "killed and replaced.",
    )
    request_threads: int = Field(
        512, ge=8, description="Threads for blocking work of requests (most of them wait on the "
        "store); above max_waiting_queries so waiters never starve other routes.",
    )
    stream_threads: int = Field(
        256, ge=1, description="Threads sending result chunks, apart from request_threads.",
    )
    cache_entries: int = Field(
        1024, ge=1, description="Documents derived from the store (descriptions, VoID) kept per "
        "store state.",
    )
    state_ttl: float = Field(
        1.0, ge=0, description="Seconds a replica may serve an ETag or a cached page derived "
        "from the remote store's version before asking the store again.",
    )
    health_interval: float = Field(
        1.0, gt=0, description="Seconds between the background checks of the store that "
        "/health reports (its version, and its quad count when the version changed): /health "
        "answers from the last check and never waits on the store.",
    )
    health_stale_after: float = Field(
        10.0, gt=0, description="Seconds without an answer to that check after which /health "
        "says 503: a store that hangs (rather than refuses) is unavailable too.",
    )
    store_write_timeout: float = Field(
        120.0, gt=0, description="Seconds a write to the remote store may take.",
    )
    store_read_attempts: int = Field(
        3, ge=1, description="Tries of an idempotent read when the remote store's connection "
        "fails; writes are sent once.",
    )
    store_retry_pause: float = Field(
        0.2, ge=0, description="Seconds between those tries.",
    )
    writer: str = Field(
        "", description="Base URL of the replica that performs every write (submissions, "
        "withdrawals, /update, /store); this replica forwards its writes there. Empty: it writes "
        "itself. Needed on the other replicas when the store does not serialise concurrent "
        "updates (Oxigraph server).",
    )
    startup_retry: float = Field(
        5.0, gt=0, description="Seconds between tries to reach a store that is down when "
        "`smartby serve` starts (the service answers /health 503 meanwhile).",
    )
    store_max_connections: int = Field(
        32, ge=1, description="Pooled HTTP connections to the remote store.",
    )
    row_limit: int = Field(0, ge=0, description="Maximum SELECT rows returned; 0: no limit.")
    max_body: int = Field(10 * 1024 * 1024, gt=0, description="Largest request body in bytes.")
    base_iri: str = Field(CANONICAL_BASE_IRI, description="The canonical namespace.")
    allow_service: bool = Field(False, description="Allow SERVICE and LOAD (off: 400).")
    changes_page_size: int = Field(
        100, ge=1, le=10_000,
        description="Members per page of the change feed (/changes); a full page never "
        "changes again and is served as immutable.",
    )
    changes_max_age: int = Field(
        31_536_000, ge=0,
        description="Seconds a client or proxy may keep a full (immutable) /changes page.",
    )
    metrics: bool = Field(
        True, description="Serve `/metrics` in the Prometheus text format (not behind the "
        "token); off: the route is absent (404).",
    )
    search_catch_up_overlap: float = Field(
        60.0, ge=0,
        description="Seconds of the change log the search index reads again on each "
        "catch-up, skipping the events it has applied: an event another replica timed "
        "earlier but committed later is still found.",
    )

    @field_validator("base_iri")
    @classmethod
    def _base_ends_with_slash(cls, value: str) -> str:
        if not value.endswith("/"):
            raise ValueError("SMARTBY_BASE_IRI must end with '/'")
        return value

    @field_validator("token")
    @classmethod
    def _tokens_well_formed(cls, value: str) -> str:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            if ":" in pair and not all(pair.split(":", 1)):
                raise ValueError("SMARTBY_TOKEN pairs must be name:token")
        return value

    @model_validator(mode="after")
    def _writer_needs_a_shared_store(self) -> Settings:
        if self.writer and not self.store:
            raise ValueError("SMARTBY_WRITER forwards writes to another replica of a shared "
                             "store: set SMARTBY_STORE too")
        return self

    @cached_property
    def tokens(self) -> dict[str, str]:
        """Submitter name by token; a bare token is named 'default'."""
        named: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in self.token.split(","))):
            name, _, secret = pair.rpartition(":")
            named[secret] = name or "default"
        return named

    def submitter_for(self, presented: str) -> str | None:
        """The name behind a presented token, compared in constant time."""
        found = None
        for secret, name in self.tokens.items():
            if hmac.compare_digest(secret.encode(), presented.encode()):
                found = name
        return found

    def is_admin(self, presented: str) -> bool:
        return bool(self.admin_token) and hmac.compare_digest(
            self.admin_token.encode(), presented.encode()
        )

    @property
    def graph_base(self) -> str:
        return self.base_iri + "graph/"

    @property
    def id_base(self) -> str:
        return self.base_iri + "id/"
