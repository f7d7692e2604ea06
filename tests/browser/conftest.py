"""Headless Chromium and a live server, for the page and Swagger UI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.apps import make_app
from tests.support.browser import chromium, served


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    """Debian's chromium, headless, with a fresh profile; its requests and console are logged."""
    with chromium(tmp_path) as driver:
        yield driver


@pytest.fixture
def live_server(seeded_database_url) -> Iterator[str]:
    """The app on a free 127.0.0.1 port, served from a thread."""
    with served(make_app(seeded_database_url)) as url:
        yield url
