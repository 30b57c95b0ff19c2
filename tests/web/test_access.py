"""The page as served: its routes beside the API, behind an API key, and on a phone."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from selenium.webdriver import Chrome
from selenium.webdriver.remote.webdriver import WebDriver

from tests.web.browser import (
    PHONE,
    ad_when,
    click,
    completed,
    create_ad,
    fill,
    find,
    heading,
    no_horizontal_scroll,
    open_page,
    shoot,
    shown,
    status_of,
    wait,
)
from tests.web.stack import API_KEY, LiveStack


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_page_is_served_beside_the_api(stack: LiveStack) -> None:
    status, headers, body = fetch(stack.open_url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'src="/web/js/app.js"' in body
    status, headers, body = fetch(stack.open_url + "/web/js/app.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, _, body = fetch(stack.open_url + "/web/js/nothing.js")
    assert status == 404 and b'"code": "NOT_FOUND"' in body  # the gateway's JSON errors
    assert fetch(stack.open_url + "/web/../pyproject.toml")[0] == 404
    assert fetch(stack.open_url + "/", method="POST")[0] == 405
    # The API, the probes and the docs are where they were.
    for path in ("/health", "/metrics", "/docs", "/openapi.json", "/api/ads"):
        assert fetch(stack.open_url + path)[0] == 200, path


def test_behind_an_api_key_the_page_asks_once_and_the_api_refuses_without_it(
    browser: WebDriver, stack: LiveStack, tmp_path: Path
) -> None:
    base = stack.keyed_url
    assert status_of(base, "/api/ads") == 401
    assert status_of(base, "/api/ads", key="wrong") == 401
    assert fetch(base + "/")[0] == 200 and fetch(base + "/web/studio.css")[0] == 200
    assert fetch(base + "/web/../api/ads")[0] != 200
    ad = create_ad(base, gates=True, key=API_KEY)
    open_page(browser, f"{base}/#/ads")
    key = shown(browser, "#key-dialog[open] #key-input", "the key dialog")
    shoot(browser, tmp_path, "key-dialog")
    fill(key, API_KEY)
    find(browser, "#key-dialog button[value='ok']").click()
    shown(browser, f"#ad-{ad['id']}", "the ads once the key is entered").click()
    wait(browser, lambda d: heading(d) == "Choose a mood", "the ad's moods")
    # Images cannot send the key: they are fetched with it and shown from blob: URLs.
    wait(
        browser,
        lambda d: d.execute_script(
            "const i = [...document.querySelectorAll('.mood-card img')];"
            "return i.length === 3 && i.every(e => e.src.startsWith('blob:') && e.naturalWidth > 0);"
        ),
        "the mood images loaded with the key",
    )
    browser.refresh()  # entered once: kept for the next visit
    wait(browser, lambda d: heading(d) == "Choose a mood", "the moods again without a dialog")
    assert not browser.find_elements("css selector", "#key-dialog[open]")


def fits_the_phone(browser: WebDriver, folder: Path, name: str) -> None:
    assert browser.execute_script("return window.innerWidth") == PHONE[0]
    assert no_horizontal_scroll(browser), f"{name} scrolls sideways"
    shoot(browser, folder, f"phone-{name}")


def test_every_step_fits_a_phone_without_sideways_scrolling(
    browser: WebDriver, stack: LiveStack, finished_ad: str, tmp_path: Path
) -> None:
    ad_when(stack.open_url, finished_ad, completed, "completed")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        open_page(browser, stack.open_url + "/")
        shown(browser, "#chat-input", "the brief step")
        fits_the_phone(browser, tmp_path, "new-ad")
        open_page(browser, f"{stack.open_url}/#/ads/{finished_ad}")
        wait(browser, lambda d: heading(d) == "Final video", "the finished ad")
        titles = []
        for number, name in enumerate(("brief", "mood", "storyboard", "clips", "final"), 1):
            click(browser, f"#steps li:nth-child({number}) button", f"step {number}")
            titles.append(heading(browser))
            fits_the_phone(browser, tmp_path, name)
        assert titles == ["Vision & brief", "Choose a mood", "Storyboard", "Clips", "Final video"]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_reduced_motion_stops_autoplay_and_animations(
    browser: Chrome, stack: LiveStack, finished_ad: str
) -> None:
    ad_when(stack.open_url, finished_ad, completed, "completed")
    try:
        for preference, moving in (("reduce", False), ("no-preference", True)):
            browser.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-reduced-motion", "value": preference}]},
            )
            open_page(browser, f"{stack.open_url}/#/ads/{finished_ad}")
            video = shown(browser, "#final-video", "the player")
            assert video.get_property("autoplay") is moving, preference
            click(browser, "#steps li:nth-child(2) button", "the mood step")
            card = shown(browser, ".mood-card", "a mood card")
            transition = card.value_of_css_property("transition-duration")
            assert (transition != "0s") is moving, (preference, transition)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
