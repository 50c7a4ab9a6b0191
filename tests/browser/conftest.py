"""Browser tests: Playwright drives Debian's chromium against the app served on loopback.

The app runs in a thread (werkzeug's server) on a real SQLite file, migrated like production,
with CSRF switched on; data is committed, not rolled back. Never ``playwright install``: the
browser is the distribution's. When chromium is missing the tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from mda.extensions import db, make_engine
from tests.conftest import make_test_app, migrate
from tests.support.servers import free_port, unavailable

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
]


@dataclass
class LiveServer:
    app: Flask
    url: str

    def session(self) -> Any:
        """A database session of its own (the caller closes it); its commits are real."""
        return db.new_session(self.app)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'mda-browser.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
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
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
