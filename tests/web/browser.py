"""Driving the studio page: Debian's headless Chromium through its chromedriver, REST calls to
set the scene, waits that say what they waited for, screenshots."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import in_ci

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 1000)
PHONE = (390, 844)
WAIT_S = 30.0
# The studio's offline ad at CI size: 6 s, rendered 180×320 at 12 fps.
AD_SECONDS = 6.0
RENDER = {"height": 320, "fps": 12}
BRIEF = {
    "productName": "Lumen Bottle",
    "productDescription": "A self-cleaning smart water bottle that glows to remind you to drink.",
    "targetAudience": "Busy urban professionals aged 25-40",
    "tone": "energetic, optimistic",
    "callToAction": "Get yours at lumenbottle.example",
    "durationSeconds": AD_SECONDS,
}
T = TypeVar("T")


def start_chromium() -> Chrome:
    """Headless Chromium; skips without it (fails under CI=true: the set-up installs it)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = f"{', '.join(missing)} missing (scripts/setup.sh installs chromium-driver)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--autoplay-policy=no-user-gesture-required", "--no-first-run",
                     "--disable-extensions", "--disable-gpu"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})
    driver = Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(*DESKTOP)
    return driver


def console(driver: Chrome) -> list[str]:
    """The browser console's messages since the last call (SEVERE: errors, failed loads)."""
    entries = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [str(entry["message"]) for entry in entries]


def api(base: str, method: str, path: str, body: Any = None, key: str = "") -> Any:
    """One REST call to a gateway, the JSON answer (HTTPError for an error status)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def status_of(base: str, path: str, key: str = "") -> int:
    try:
        api(base, "GET", path, key=key)
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def create_ad(base: str, *, gates: bool, key: str = "") -> dict[str, Any]:
    options = {"render": RENDER, "gateMood": gates, "gateStoryboard": gates}
    return dict(api(base, "POST", "/api/ads", {"brief": BRIEF, "options": options}, key))


def ad_when(
    base: str, ad_id: str, done: Callable[[dict[str, Any]], bool], what: str, key: str = ""
) -> dict[str, Any]:
    """Polls GET /api/ads/{id} (the test's own check, not the page's) until ``done``."""
    deadline = time.monotonic() + WAIT_S
    while True:
        ad = dict(api(base, "GET", f"/api/ads/{ad_id}", key=key))
        if done(ad):
            return ad
        if time.monotonic() > deadline:
            pytest.fail(f"ad {ad_id} never got {what}: {ad['state']} at {ad['step']} {ad['error']}")
        time.sleep(0.2)


def at_gate(step: str) -> Callable[[dict[str, Any]], bool]:
    return lambda ad: ad["state"] == "AD_STATE_AWAITING_INPUT" and ad["step"] == step


def completed(ad: dict[str, Any]) -> bool:
    assert ad["state"] != "AD_STATE_FAILED", ad["error"]
    return bool(ad["state"] == "AD_STATE_COMPLETED")


def wait(driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """Waits until ``condition`` is truthy (elements that vanish mid-check are retried)."""
    return WebDriverWait(
        driver, WAIT_S, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(condition, f"the page never showed {what}")


def find(driver: WebDriver, selector: str) -> WebElement:
    return driver.find_element("css selector", selector)


def shown(driver: WebDriver, selector: str, what: str) -> WebElement:
    """Waits until the element ``selector`` finds is displayed, and returns it."""

    def check(d: WebDriver) -> WebElement | None:
        element = find(d, selector)
        return element if element.is_displayed() else None

    element = wait(driver, check, what)
    assert element is not None
    return element


def text_of(selector: str, contains: str) -> Callable[[WebDriver], bool]:
    return lambda driver: contains in find(driver, selector).text


def heading(driver: WebDriver) -> str:
    return find(driver, "main h2").text


def click(driver: WebDriver, selector: str, what: str) -> None:
    """Clicks the element once it is there (again, when a re-render replaced it mid-click)."""

    def clicked(d: WebDriver) -> bool:
        find(d, selector).click()
        return True

    wait(driver, clicked, what)


def showing(title: str) -> Callable[[WebDriver], bool]:
    """The page shows the step (or page) titled ``title``."""
    return lambda driver: heading(driver) == title


def current_step(driver: WebDriver) -> str:
    return find(driver, "#steps [aria-current='step'] .label").text


def fill(element: WebElement, text: str) -> None:
    element.clear()
    element.send_keys(text)


def shoot(driver: WebDriver, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def no_horizontal_scroll(driver: WebDriver) -> bool:
    return bool(
        driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth;")
    )


def open_page(driver: WebDriver, url: str) -> None:
    """A fresh page: no key or state left from an earlier test in the browser."""
    driver.get("about:blank")
    driver.get(url)
    driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.refresh()
