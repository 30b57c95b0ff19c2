"""Driving the studio page: Debian's headless Chromium through its chromedriver, REST calls to
set the scene, waits that say what they waited for, screenshots."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers import ROOT, in_ci

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 1000)
PHONE = (390, 844)
WAIT_S = 30.0
WHOLE_AD_S = 120.0  # an ad from its brief to its last step, on a loaded machine
# The studio's offline ad at CI size: 6 s, rendered 180×320 at 12 fps.
AD_SECONDS = 6.0
RENDER = {"height": 320, "fps": 12}


def _example_brief() -> dict[str, Any]:
    """examples/brief.yaml at the CI length (the API takes its snake_case names as they are)."""
    brief = yaml.safe_load((ROOT / "examples" / "brief.yaml").read_text())
    return {**brief, "duration_seconds": AD_SECONDS}


BRIEF = _example_brief()
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


def create_ad(
    base: str, *, gates: bool, key: str = "", brief: dict[str, Any] | None = None
) -> dict[str, Any]:
    options = {"render": RENDER, "gateMood": gates, "gateStoryboard": gates}
    body = {"brief": brief or BRIEF, "options": options}
    return dict(api(base, "POST", "/api/ads", body, key))


def got_when(
    base: str,
    path: str,
    done: Callable[[dict[str, Any]], bool],
    what: str,
    *,
    key: str = "",
    wait_s: float = WAIT_S,
) -> dict[str, Any]:
    """Polls GET ``path`` (the test's own check, not the page's) until ``done``."""
    deadline = time.monotonic() + wait_s
    while True:
        answer = dict(api(base, "GET", path, key=key))
        if done(answer):
            return answer
        if time.monotonic() > deadline:
            state = {k: answer.get(k) for k in ("state", "step", "error")}
            pytest.fail(f"{path} never got {what}: {state}")
        time.sleep(0.2)


def ad_when(
    base: str, ad_id: str, done: Callable[[dict[str, Any]], bool], what: str, **wait: Any
) -> dict[str, Any]:
    """got_when for the ad ``ad_id`` (``wait``: its key and wait_s)."""
    return got_when(base, f"/api/ads/{ad_id}", done, what, **wait)


def download(url: str, path: Path) -> Path:
    """What a download link on the page points to, saved as ``path``."""
    with urllib.request.urlopen(url, timeout=30) as response:
        path.write_bytes(response.read())
    return path


def bare(word: str) -> str:
    """A word as subtitles and word timings are compared: lower case, letters and digits."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


def cue_words(path: Path) -> list[str]:
    """The words of an SRT or WebVTT file's cues (not their numbers, times or the header)."""
    lines = path.read_text().splitlines()
    text = [line for line in lines if line and "-->" not in line and not line.isdigit()]
    return [bare(word) for line in text if line != "WEBVTT" for word in line.split()]


def says(words: list[str], line: str) -> bool:
    """Whether ``line``'s words come one after the other in ``words`` (bare, as cue_words)."""
    wanted = [bare(w) for w in line.split()]
    return any(words[at : at + len(wanted)] == wanted for at in range(len(words)))


def at_gate(step: str) -> Callable[[dict[str, Any]], bool]:
    return lambda ad: ad["state"] == "AD_STATE_AWAITING_INPUT" and ad["step"] == step


def completed(ad: dict[str, Any]) -> bool:
    assert ad["state"] != "AD_STATE_FAILED", ad["error"]
    return bool(ad["state"] == "AD_STATE_COMPLETED")


@dataclass
class Page:
    """The studio page in the test's browser, read and driven as a person would; screenshots go
    to the test's folder."""

    driver: Chrome
    folder: Path

    def open(self, url: str) -> None:
        """A fresh page: no key or state left from an earlier test in the browser."""
        self.driver.get("about:blank")
        self.driver.get(url)
        self.driver.execute_script("localStorage.clear(); sessionStorage.clear();")
        self.driver.refresh()

    def wait(self, condition: Callable[[WebDriver], T], what: str, wait_s: float = WAIT_S) -> T:
        """Waits until ``condition`` is truthy (elements that vanish mid-check are retried)."""
        ignored = (NoSuchElementException, StaleElementReferenceException)
        return WebDriverWait(self.driver, wait_s, ignored_exceptions=ignored).until(
            condition, f"the page never showed {what}"
        )

    def find(self, selector: str) -> WebElement:
        return self.driver.find_element("css selector", selector)

    def find_all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements("css selector", selector)

    def shown(self, selector: str, what: str, wait_s: float = WAIT_S) -> WebElement:
        """Waits until the element ``selector`` finds is displayed, and returns it."""

        def check(driver: WebDriver) -> WebElement | None:
            element = driver.find_element("css selector", selector)
            return element if element.is_displayed() else None

        element = self.wait(check, what, wait_s)
        assert element is not None
        return element

    def click(self, selector: str, what: str) -> None:
        """Clicks the element once it is there (again, when a re-render replaced it mid-click)."""

        def clicked(driver: WebDriver) -> bool:
            driver.find_element("css selector", selector).click()
            return True

        self.wait(clicked, what)

    def fill(self, selector: str, text: str) -> None:
        field = self.find(selector)
        field.clear()
        field.send_keys(text)

    def keys(self, *keys: str) -> None:
        """Keys pressed wherever the focus is, as on a keyboard."""
        ActionChains(self.driver).send_keys(*keys).perform()

    def focused(self) -> str:
        """The focused element's id (or tag name)."""
        script = "const e = document.activeElement; return e.id || e.tagName;"
        return str(self.driver.execute_script(script))

    def heading(self) -> str:
        """The title of what the page shows (waited for while the page is still opening)."""
        return str(self.wait(lambda d: d.find_element("css selector", "main h2").text, "a title"))

    def shows(self, title: str, what: str, wait_s: float = WAIT_S) -> None:
        """Waits until the page shows the step (or list) titled ``title``."""
        self.wait(lambda _: self.heading() == title, what, wait_s)

    def step(self) -> str:
        """The step the ad is at, as the step indicator marks it."""
        return self.find("#steps [aria-current='step'] .label").text

    def has_text(self, selector: str, text: str, what: str) -> None:
        self.wait(lambda _: text in self.find(selector).text, what)

    def scrolls_sideways(self) -> bool:
        script = "return document.documentElement.scrollWidth > window.innerWidth;"
        return bool(self.driver.execute_script(script))

    def shoot(self, name: str) -> Path:
        path = self.folder / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def open_final(page: Page, base: str, ad_id: str) -> dict[str, Any]:
    """The ad once completed, open on the page at its Final step."""
    ad = ad_when(base, ad_id, completed, "completed", wait_s=WHOLE_AD_S)
    page.open(f"{base}/#/ads/{ad_id}")
    page.shows("Final video", "the final step")
    return ad


def open_regenerate(page: Page, base: str, ad_id: str, scene: int) -> dict[str, Any]:
    """The completed ad from its Final step to the storyboard, scene ``scene``'s (0-based)
    "Regenerate this scene" open."""
    ad = open_final(page, base, ad_id)
    page.find("#regenerate-scene").click()
    page.shows("Storyboard", "the storyboard")
    page.find(f"#scene-{scene} .regenerate summary").click()
    return ad
