"""The page as served: its routes beside the API, behind an API key, on a phone, and with
reduced motion."""

from __future__ import annotations

import urllib.error
import urllib.request

from tests.web.browser import PHONE, WHOLE_AD_S, Page, ad_when, completed, create_ad, status_of
from tests.web.stack import API_KEY, LiveStack

BLOB_IMAGES = (
    "const i = [...document.querySelectorAll('.mood-card img')];"
    "return i.length === 3 && i.every(e => e.src.startsWith('blob:') && e.naturalWidth > 0);"
)


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
    page: Page, stack: LiveStack
) -> None:
    base = stack.keyed_url
    assert status_of(base, "/api/ads") == 401
    assert status_of(base, "/api/ads", key="wrong") == 401
    assert fetch(base + "/")[0] == 200 and fetch(base + "/web/studio.css")[0] == 200
    assert fetch(base + "/web/../api/ads")[0] != 200
    ad = create_ad(base, gates=True, key=API_KEY)
    page.open(f"{base}/#/ads")
    page.shown("#key-dialog[open] #key-input", "the key dialog")
    page.shoot("key-dialog")
    page.fill("#key-input", API_KEY)
    page.find("#key-dialog button[value='ok']").click()
    page.click(f"#ad-{ad['id']}", "the ads once the key is entered")
    page.shows("Choose a mood", "the ad's moods")
    # Images cannot send the key: they are fetched with it and shown from blob: URLs.
    page.wait(lambda d: d.execute_script(BLOB_IMAGES), "the mood images loaded with the key")
    page.driver.refresh()  # entered once: kept for the next visit
    page.shows("Choose a mood", "the moods again without a dialog")
    assert not page.find_all("#key-dialog[open]")


def fits_the_phone(page: Page, name: str) -> None:
    assert page.driver.execute_script("return window.innerWidth") == PHONE[0]
    assert not page.scrolls_sideways(), f"{name} scrolls sideways"
    page.shoot(f"phone-{name}")


def test_every_step_fits_a_phone_without_sideways_scrolling(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad_when(stack.open_url, finished_ad, completed, "completed", wait_s=WHOLE_AD_S)
    phone = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True}
    page.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone)
    try:
        page.open(stack.open_url + "/")
        page.shown("#chat-input", "the brief step")
        fits_the_phone(page, "new-ad")
        page.open(f"{stack.open_url}/#/ads/{finished_ad}")
        page.shows("Final video", "the finished ad")
        titles = []
        for number, name in enumerate(("brief", "mood", "storyboard", "clips", "final"), 1):
            page.click(f"#steps li:nth-child({number}) button", f"step {number}")
            titles.append(page.heading())
            fits_the_phone(page, name)
        assert titles == ["Vision & brief", "Choose a mood", "Storyboard", "Clips", "Final video"]
    finally:
        page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_reduced_motion_stops_autoplay_and_animations(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad_when(stack.open_url, finished_ad, completed, "completed", wait_s=WHOLE_AD_S)
    try:
        for preference, moving in (("reduce", False), ("no-preference", True)):
            feature = {"name": "prefers-reduced-motion", "value": preference}
            page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [feature]})
            page.open(f"{stack.open_url}/#/ads/{finished_ad}")
            video = page.shown("#final-video", "the player")
            assert video.get_property("autoplay") is moving, preference
            page.click("#steps li:nth-child(2) button", "the mood step")
            card = page.shown(".mood-card", "a mood card")
            transition = card.value_of_css_property("transition-duration")
            assert (transition != "0s") is moving, (preference, transition)
    finally:
        page.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
