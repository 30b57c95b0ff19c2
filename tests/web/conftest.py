"""Fixtures of the browser tests: one stack and one Chromium for the whole package (start-up is
the slow part), an ad that runs straight through from the first test on, a fresh window size
per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver import Chrome

from tests.web.browser import DESKTOP, Page, console, create_ad, start_chromium
from tests.web.stack import LiveStack, live_stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("web-data")) as running:
        yield running


@pytest.fixture(scope="package", autouse=True)
def finished_ad(stack: LiveStack) -> str:
    """The id of an ad without gates, started before the first test so that it is done (or
    nearly) when a test needs a finished ad."""
    return str(create_ad(stack.open_url, gates=False)["id"])


@pytest.fixture(scope="package")
def chromium() -> Iterator[Chrome]:
    driver = start_chromium()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(chromium: Chrome, tmp_path: Path) -> Iterator[Page]:
    chromium.set_window_size(*DESKTOP)
    console(chromium)  # what earlier tests left
    yield Page(chromium, tmp_path)
    # A script error or a failed load is a bug even when the test's checks passed; the API's
    # refusals (400 for a broken rule, 401 before the key, 413 for a file too large, 415 for one that is no picture)
    # and a gateway that stops (its streams cut, its port closed) are what some tests provoke.
    problems = [message for message in console(chromium) if not _refusal(message)]
    assert not problems, problems


def _refusal(message: str) -> bool:
    provoked = (
        "status of 400 ",
        "status of 401 ",
        "status of 413 ",
        "status of 415 ",
        "net::ERR_CONNECTION_REFUSED",
        "net::ERR_INCOMPLETE_CHUNKED_ENCODING",
    )
    return any(sign in message for sign in provoked)
