"""`smartby`: serve, load, validate, query and export from the shell (exit 0 / 1 / 2).

Each command imports its machinery inside the command, on purpose: `smartby --help` and
`smartby validate` then start without loading the web app, uvicorn or a store backend.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from graph_service.core.errors import SmartbyError
from graph_service.settings import Settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _settings(**overrides: Any) -> Settings:
    """Environment first, then the options given on the command line; bad values exit 2."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"SMARTBY_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors())
        _fail(problems)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


class _Commands(click.Group):
    """A file or directory that cannot be read or written is an input error (exit 2), not a
    traceback with exit 1, which means "does not conform"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise
        except OSError as exc:
            _fail(str(exc))


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    help="Embedded store directory (SMARTBY_DATA_DIR, default ./var).",
)
store_option = click.option(
    "--store", default=None, help="Base URL of a remote SPARQL store (SMARTBY_STORE)."
)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="smartby")
def main() -> None:
    """smartby: a linked-data knowledge graph of Norwegian smart-city practice."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (SMARTBY_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (SMARTBY_PORT, 8000).")
@data_dir_option
@store_option
def serve(host: str | None, port: int | None, data_dir: Path | None, store: str | None) -> None:
    """Serve the graph over HTTP (loads ontology/ and data/ into an empty store first)."""
    import uvicorn

    from graph_service.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir, store=store)
    click.echo(f"smartby serving on http://{settings.host}:{settings.port}", err=True)
    # Our access log (graph_service.access: route templates, no query strings or headers)
    # replaces uvicorn's, which prints every query string.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["graph_service"] = {"handlers": ["default"], "level": "INFO"}
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                log_config=log_config, access_log=False)


@main.command()
@data_dir_option
@store_option
def load(data_dir: Path | None, store: str | None) -> None:
    """Load ontology/ and data/ into the store, one named graph per file (idempotent)."""
    from graph_service.core.content import content_files
    from graph_service.store import open_store
    from graph_service.store.loading import LoadedFile, load_content

    settings = _settings(data_dir=data_dir, store=store)
    files = content_files(settings.content_dir)
    if not files:
        _fail(f"no content files under {settings.content_dir}")
    target = open_store(settings)
    try:
        with click.progressbar(length=len(files), label="loading", file=sys.stderr) as bar:

            def step(item: LoadedFile) -> None:
                bar.update(1)

            loaded = load_content(target, settings, progress=step)
        for item in loaded:
            click.echo(f"{item.path.name}: {item.triples} triples → <{item.graph}>", err=True)
        click.echo(f"{target.quad_count()} quads in the store", err=True)
    except SmartbyError as exc:
        _fail(exc.detail)
    finally:
        target.close()


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "turtle", "jsonld"]), default="text",
    show_default=True, help="Report format.",
)
@click.option("--lang", type=click.Choice(["nb", "nn", "en"]), default="en", show_default=True,
              help="Language of the messages.")
@click.option("--alone", is_flag=True,
              help="Validate the files on their own, without the curated graph as context.")
def validate(files: tuple[Path, ...], fmt: str, lang: str, alone: bool) -> None:
    """SHACL-validate RDF FILES against the shapes: exit 0 conforms, 1 not, 2 unreadable."""
    from graph_service.validation.shacl import validate_files

    settings = _settings()
    try:
        outcome = validate_files(settings, list(files), with_context=not alone)
    except SmartbyError as exc:
        _fail(exc.detail)
    except OSError as exc:
        _fail(str(exc))
    if fmt == "json":
        from graph_service.validation.outcome import report_json

        click.echo(report_json(outcome, lang))
    elif fmt in ("turtle", "jsonld"):
        click.echo(outcome.report.serialize(format="turtle" if fmt == "turtle" else "json-ld"))
    else:
        click.echo(outcome.as_text(lang))
    sys.exit(EXIT_OK if outcome.conforms else EXIT_INVALID)


@main.command()
@click.argument("query")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of a named query (repeatable).")
@click.option("--format", "fmt", default=None,
              help="json, xml, csv, tsv (SELECT/ASK); turtle, jsonld, nt, rdf (CONSTRUCT).")
@data_dir_option
@store_option
def query(
    query: str, params: tuple[str, ...], fmt: str | None, data_dir: Path | None,
    store: str | None,
) -> None:
    """Run QUERY: SPARQL text, a .rq file, or the name of a query in queries/."""
    from graph_service.app import prepare_store
    from graph_service.core.media import GRAPH_TYPES, RESULTS_TYPES, resolve_format
    from graph_service.core.sparql_text import refuse_remote_fetches
    from graph_service.sparql.catalogue import resolve_cli_query
    from graph_service.store import QueryRequest, open_store

    settings = _settings(data_dir=data_dir, store=store)
    try:
        text = resolve_cli_query(settings, query, params)
        refuse_remote_fetches(text, allowed=settings.allow_service)
    except SmartbyError as exc:
        _fail(exc.detail)
    media_type = resolve_format(fmt) if fmt else None
    if media_type and media_type not in RESULTS_TYPES and media_type not in GRAPH_TYPES:
        _fail(f"unknown format {fmt!r}")
    target = open_store(settings)
    try:
        prepare_store(target, settings)
        result = target.query(
            QueryRequest(
                query=text,
                results_type=media_type if media_type in RESULTS_TYPES else
                "application/sparql-results+json" if not media_type else None,
                graph_type=media_type if media_type in GRAPH_TYPES else
                "text/turtle" if not media_type else None,
                timeout=settings.query_timeout,
            )
        )
        for chunk in result.chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    except SmartbyError as exc:
        _fail(exc.detail)
    finally:
        target.close()


@main.command()
@click.option("--format", "fmt", default="trig", show_default=True,
              help="trig, nquads, turtle (union of graphs) or jsonld.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="File to write (default: standard output).")
@data_dir_option
@store_option
def export(fmt: str, output: Path | None, data_dir: Path | None, store: str | None) -> None:
    """Export the whole dataset."""
    from graph_service.app import prepare_store
    from graph_service.core.media import DATASET_TYPES, resolve_format
    from graph_service.store import open_store

    media_type = resolve_format(fmt)
    if media_type not in DATASET_TYPES:
        _fail(f"unknown format {fmt!r}; use one of trig, nquads, turtle, jsonld")
    settings = _settings(data_dir=data_dir, store=store)
    target = open_store(settings)
    try:
        prepare_store(target, settings)
        body = target.export(media_type)
    except SmartbyError as exc:
        _fail(exc.detail)
    finally:
        target.close()
    if output:
        output.write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
