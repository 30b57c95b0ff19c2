"""The whole wizard in a real browser: a chat and a brief file → moods → storyboard → clips →
a playable video, downloaded and probed; then one scene regenerated; brand files uploaded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.request
from pathlib import Path

from PIL import Image
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.helpers import ROOT
from tests.web.browser import AD_SECONDS, Page, ad_when, api, completed
from tests.web.stack import LiveStack

CAPTION = "Hydrate brighter today"
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<circle cx="5" cy="5" r="4" fill="#1d4ed8"/></svg>'
)
LOADED_PREVIEWS = (
    "return [...document.querySelectorAll('.previews img')].filter(i => i.naturalWidth > 0).length;"
)
FIRST_MESSAGE = "Hi! I want an ad for a water bottle called Lumen Bottle"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def converse_reply(base: str, text: str) -> str:
    """What the planner answers to ``text``, read from the same stream the page reads."""
    body = {"messages": [{"role": "ROLE_USER", "content": text}]}
    request = urllib.request.Request(
        base + "/api/brief/converse",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/x-ndjson"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = [json.loads(line) for line in response.read().splitlines() if line]
    return "".join(line.get("delta", "") for line in lines)


def load_example_brief(page: Page) -> None:
    """examples/brief.yaml through the file input, shortened to the CI length, rendered small."""
    brief_file = page.folder / "brief.yaml"
    brief_file.write_text((ROOT / "examples" / "brief.yaml").read_text())
    page.find("#brief-file").send_keys(str(brief_file))
    page.has_text(".summary", "Purifies water with UV-C light", "the file's key messages")
    page.find("#edit-brief").click()
    page.fill("#brief-durationSeconds", str(int(AD_SECONDS)))
    page.find("#edit-brief").click()
    page.find(".options summary").click()
    Select(page.find("#opt-height")).select_by_value("320")
    page.fill("#opt-fps", "12")


def brief_step(page: Page, stack: LiveStack) -> None:
    page.shown("#chat-input", "the chat box").send_keys(FIRST_MESSAGE, Keys.ENTER)
    reply = converse_reply(stack.open_url, FIRST_MESSAGE)
    page.has_text(".message.assistant p:not(.streaming)", reply, "the planner's reply")
    page.has_text(".summary", "Lumen Bottle", "the product name extracted from the chat")
    load_example_brief(page)
    tone = [t.text for t in page.find_all(".summary .tags li")][:3]
    assert tone == ["energetic", "optimistic", "modern"]  # the tone as tags
    page.has_text("#estimate", "Estimated cost", "the quote")
    page.shoot("1-brief")
    page.find("#create-ad").click()


def mood_step(page: Page) -> str:
    page.shows("Choose a mood", "the mood step")
    cards = page.wait(lambda _: page.find_all(".mood-card input:enabled"), "the moods")
    assert len(cards) == 3
    second = page.find(f".mood-card[data-mood='{cards[1].get_attribute('value')}']")
    second.click()
    choose = page.shown("#mood-continue:enabled", "Continue once the images loaded")
    page.shoot("2-moods")
    name = second.find_element("css selector", ".mood-name").text
    assert choose.text == f"Continue with {name}"
    choose.click()
    return name


def storyboard_step(page: Page, mood: str) -> None:
    page.shown("#scene-0-caption", "the storyboard to edit")
    assert page.find("#chosen-mood").text.startswith(f"Mood: {mood}")
    assert 5 <= len(page.find_all(".timeline .block")) <= 7
    page.fill("#scene-0-caption", CAPTION)
    page.shoot("3-storyboard")
    page.find("#storyboard-approve").click()


def final_step(page: Page) -> None:
    page.wait(lambda _: page.heading() in ("Clips", "Final video"), "the clips step")
    if page.heading() == "Clips":
        page.shoot("4-clips")
        # A reload mid-generation lands on the step the ad is at, and follows it live.
        page.driver.refresh()
        page.wait(lambda _: page.heading() in ("Clips", "Final video"), "the clips step again")
    page.shows("Final video", "the final video")
    video = page.shown("#final-video", "the player")
    script = "const v = arguments[0]; return v.readyState >= 2 && [v.duration, v.muted, v.loop];"
    ready = page.wait(lambda d: d.execute_script(script, video), "a playable video")
    duration, muted, loop = ready
    assert abs(duration - AD_SECONDS) <= 0.2 and muted and loop
    assert page.step() == "Final video"
    page.shoot("5-final")


def test_the_wizard_makes_a_playable_ad(page: Page, stack: LiveStack) -> None:
    page.open(stack.open_url + "/")
    brief_step(page, stack)
    mood = mood_step(page)
    storyboard_step(page, mood)
    final_step(page)

    # The download is the MP4 the server made: the ad's length, H.264 + AAC.
    href = page.find("#download-mp4").get_attribute("href")
    assert href is not None and href.startswith(stack.open_url + "/api/composition/download/")
    mp4 = page.folder / "ad.mp4"
    with urllib.request.urlopen(href, timeout=30) as response:
        mp4.write_bytes(response.read())
    info = asyncio.run(probe(mp4))
    assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    # What the person chose is what the server made.
    ad_id = page.driver.current_url.rsplit("/", 1)[1]
    ad = api(stack.open_url, "GET", f"/api/ads/{ad_id}")
    assert ad["state"] == "AD_STATE_COMPLETED"
    assert ad["chosenMoodId"] == ad["moods"][1]["id"]
    assert ad["storyboard"][0]["scene"]["caption"] == CAPTION
    assert ad["brief"]["keyMessages"][0].startswith("Purifies water")


def test_one_scene_is_regenerated_with_its_cost_shown(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = ad_when(stack.open_url, finished_ad, completed, "completed")
    page.open(f"{stack.open_url}/#/ads/{ad['id']}")
    page.shows("Final video", "the final step")
    page.find("#regenerate-scene").click()
    page.shows("Storyboard", "the storyboard")
    page.find("#scene-1 .regenerate summary").click()
    page.has_text("#regen-1-cost", "Estimated cost: $0.00", "the scene's cost")
    assert "offline" in page.find("#regen-1-cost").text  # the generator's pricing basis
    page.fill("#regen-1-hint", "warmer light")
    page.find("#regen-1-go").click()
    page.has_text("#renders li:nth-child(2)", "completed", "render 2 completed")
    assert not page.find_all("main .loading")
    page.shoot("regenerated")
    after = ad_when(stack.open_url, ad["id"], completed, "completed again")
    versions = [len(scene["versions"]) for scene in after["storyboard"]]
    assert versions[1] == 2 and versions.count(1) == len(versions) - 1
    assert after["storyboard"][1]["versions"][1]["hint"] == "warmer light"
    assert [r["state"] for r in after["renders"]] == ["COMPOSITION_STATE_COMPLETED"] * 2


def test_brand_files_are_uploaded_and_sent_with_the_brief(page: Page, stack: LiveStack) -> None:
    page.open(stack.open_url + "/")
    load_example_brief(page)
    not_an_image = page.folder / "logo.png"
    not_an_image.write_bytes(b"this is not a picture")
    page.find("#brand-logo").send_keys(str(not_an_image))
    page.has_text("#brand-error", "image", "the gateway's refusal of the file")
    logo = page.folder / "logo.svg"
    logo.write_text(LOGO_SVG)
    photo = page.folder / "photo.png"
    Image.new("RGB", (48, 64), "#1d4ed8").save(photo)
    page.fill("#brand-name", "Lumen")
    page.find("#brand-logo").send_keys(str(logo))
    page.find("#product-images").send_keys(str(photo))
    page.wait(lambda d: d.execute_script(LOADED_PREVIEWS) == 2, "the logo and photo previews")
    assert page.find("#brand-error").text == ""
    page.shoot("brand")
    page.find("#create-ad").click()
    page.shows("Choose a mood", "the mood step")
    ad_id = page.driver.current_url.rsplit("/", 1)[1]
    brief = api(stack.open_url, "GET", f"/api/ads/{ad_id}")["brief"]
    assert (brief["brand"]["name"], brief["brand"]["logo"]) == ("Lumen", sha256_of(logo))
    assert brief["productImages"] == [sha256_of(photo)]
