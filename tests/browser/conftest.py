"""Browser tests: Playwright drives Debian's chromium against the app served on loopback.

The app runs in a thread (werkzeug's server) on a PostgreSQL database of its own on the suite's
real server (``postgres_server``), migrated like production, with CSRF switched on; data is
committed, not rolled back, so every test makes its own users and trajectories. Never
``playwright install``: the browser is the distribution's. When chromium or PostgreSQL is
missing the tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from mda.extensions import db
from tests.conftest import fresh_postgres_database, make_test_app, migrate, url_of
from tests.support.servers import PostgresServer, free_port, unavailable

CHROMIUM = os.environ.get("MDA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Same pixels on every machine: the screenshots in docs/ are made by these tests.
    "--force-device-scale-factor=1",
    "--font-render-hinting=none",
]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test needs chromium and the PostgreSQL server."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.postgres)


@dataclass
class LiveServer:
    app: Flask
    url: str

    def session(self) -> Any:
        """A database session of its own (the caller closes it); its commits are real."""
        return db.new_session(self.app)


@pytest.fixture(scope="session")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser")
    engine = fresh_postgres_database(postgres_server, f"mda_browser_{os.getpid()}")
    migrate(engine)
    url = url_of(engine)
    engine.dispose()
    app = make_test_app(
        url,
        INSTANCE_PATH=str(folder / "instance"),
        WTF_CSRF_ENABLED=True,
        # Throttling is tested elsewhere; the browser tests all come from 127.0.0.1.
        LOGIN_MAX_FAILURES_PER_ADDRESS=1000,
    )
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{port}")
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)
    db.state(app).engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        unavailable(f"chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        unavailable(f"chromium could not be started: {exc}")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Any]:
    """Pages in browser contexts of their own (cookies apart): ``new_page()`` is another
    person at another computer. All are closed at the end of the test."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = chromium.new_context(
            locale="nl-NL", timezone_id="Europe/Amsterdam", reduced_motion="reduce", **options
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()
