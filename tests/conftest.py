"""Shared fixtures: settings, stores (per backend), clients, a live server and a browser."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from graph_service.app import create_app
from graph_service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKENS = "alice:alice-token,bob:bob-token"
WRITER = {"Authorization": "Bearer alice-token"}
OTHER_WRITER = {"Authorization": "Bearer bob-token"}
ADMIN = {"Authorization": "Bearer admin-token"}
CHROMIUM = os.environ.get("SMARTBY_CHROMIUM", "/usr/bin/chromium")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: its own data directory, known tokens, the checkout's content."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "content_dir": ROOT,
        "token": TOKENS,
        "admin_token": "admin-token",
        "query_timeout": 20.0,
        "query_workers": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=["embedded"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend the integration tests run on."""
    return str(request.param)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "var")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on a fresh store loaded with the curated graph: free to write."""
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def reader_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("reader") / "var")


@pytest.fixture(scope="session")
def reader(reader_settings: Settings) -> Iterator[TestClient]:
    """One client shared by read-only tests (never write through it)."""
    with TestClient(create_app(reader_settings)) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn in a thread on a free loopback port, for real HTTP clients and browsers."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the live server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the live server did not start within 30 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real HTTP server on the curated graph (tests may write to it with the token)."""
    settings = make_settings(tmp_path_factory.mktemp("live") / "var")
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (its own browser download cannot work).

    Without Chromium the browser tests are skipped on a developer machine, but fail in CI
    (`CI=true`), where `.ci/run` installs it.
    """
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context and page (downloads allowed)."""
    context = browser.new_context(accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()
