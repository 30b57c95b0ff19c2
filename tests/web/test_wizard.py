"""The whole wizard in a real browser: a chat and a brief file → moods → storyboard → clips →
a playable video, downloaded and probed; then one scene regenerated."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.helpers import ROOT
from tests.web.browser import (
    AD_SECONDS,
    ad_when,
    api,
    completed,
    current_step,
    fill,
    find,
    heading,
    open_page,
    shoot,
    shown,
    text_of,
    wait,
)
from tests.web.stack import LiveStack

CAPTION = "Hydrate brighter today"
FIRST_MESSAGE = "Hi! I want an ad for a water bottle called Lumen Bottle"


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


def write_brief_file(folder: Path) -> Path:
    # The example brief, as a person would pick it, only shorter: the length is edited later.
    path = folder / "brief.yaml"
    path.write_text((ROOT / "examples" / "brief.yaml").read_text())
    return path


def brief_step(browser: WebDriver, stack: LiveStack, tmp_path: Path) -> None:
    chat = shown(browser, "#chat-input", "the chat box")
    chat.send_keys(FIRST_MESSAGE, Keys.ENTER)
    expected = converse_reply(stack.open_url, FIRST_MESSAGE)
    wait(browser, text_of(".message.assistant p:not(.streaming)", expected), "the planner's reply")
    wait(browser, text_of(".summary", "Lumen Bottle"), "the product name extracted from the chat")
    find(browser, "#brief-file").send_keys(str(write_brief_file(tmp_path)))
    wait(browser, text_of(".summary", "Purifies water with UV-C light"), "the file's key messages")
    tone = [t.text for t in browser.find_elements("css selector", ".summary .tags li")][:3]
    assert tone == ["energetic", "optimistic", "modern"]  # the tone as tags
    find(browser, "#edit-brief").click()
    fill(find(browser, "#brief-durationSeconds"), str(int(AD_SECONDS)))
    find(browser, "#edit-brief").click()
    find(browser, ".options summary").click()
    Select(find(browser, "#opt-height")).select_by_value("320")
    fill(find(browser, "#opt-fps"), "12")
    wait(browser, text_of("#estimate", "Estimated cost"), "the quote")
    shoot(browser, tmp_path, "1-brief")
    find(browser, "#create-ad").click()


def mood_step(browser: WebDriver, tmp_path: Path) -> str:
    wait(browser, lambda d: heading(d) == "Choose a mood", "the mood step")
    cards = wait(
        browser, lambda d: d.find_elements("css selector", ".mood-card input:enabled"), "moods"
    )
    assert len(cards) == 3
    second = find(browser, f".mood-card[data-mood='{cards[1].get_attribute('value')}']")
    second.click()
    choose = shown(browser, "#mood-continue:enabled", "Continue once the images loaded")
    shoot(browser, tmp_path, "2-moods")
    name = second.find_element("css selector", ".mood-name").text
    assert choose.text == f"Continue with {name}"
    choose.click()
    return name


def storyboard_step(browser: WebDriver, tmp_path: Path, mood: str) -> None:
    caption = shown(browser, "#scene-0-caption", "the storyboard to edit")
    assert find(browser, "#chosen-mood").text.startswith(f"Mood: {mood}")
    blocks = browser.find_elements("css selector", ".timeline .block")
    assert 5 <= len(blocks) <= 7
    fill(caption, CAPTION)
    shoot(browser, tmp_path, "3-storyboard")
    find(browser, "#storyboard-approve").click()


def final_step(browser: WebDriver, tmp_path: Path) -> None:
    wait(browser, lambda d: heading(d) in ("Clips", "Final video"), "the clips step")
    if heading(browser) == "Clips":
        shoot(browser, tmp_path, "4-clips")
        # A reload mid-generation lands on the step the ad is at, and follows it live.
        browser.refresh()
        wait(browser, lambda d: heading(d) in ("Clips", "Final video"), "the clips step again")
    wait(browser, lambda d: heading(d) == "Final video", "the final video")
    video = shown(browser, "#final-video", "the player")
    ready = wait(
        browser,
        lambda d: d.execute_script(
            "const v = arguments[0]; return v.readyState >= 2 && [v.duration, v.muted, v.loop];",
            video,
        ),
        "a playable video",
    )
    duration, muted, loop = ready
    assert abs(duration - AD_SECONDS) <= 0.2 and muted and loop
    assert current_step(browser) == "Final video"
    shoot(browser, tmp_path, "5-final")


def test_the_wizard_makes_a_playable_ad(
    browser: WebDriver, stack: LiveStack, tmp_path: Path
) -> None:
    open_page(browser, stack.open_url + "/")
    brief_step(browser, stack, tmp_path)
    mood = mood_step(browser, tmp_path)
    storyboard_step(browser, tmp_path, mood)
    final_step(browser, tmp_path)

    # The download is the MP4 the server made: the ad's length, H.264 + AAC.
    href = find(browser, "#download-mp4").get_attribute("href")
    assert href is not None and href.startswith(stack.open_url + "/api/composition/download/")
    mp4 = tmp_path / "ad.mp4"
    with urllib.request.urlopen(href, timeout=30) as response:
        mp4.write_bytes(response.read())
    info = asyncio.run(probe(mp4))
    assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    # What the person chose is what the server made.
    ad_id = browser.current_url.rsplit("/", 1)[1]
    ad = api(stack.open_url, "GET", f"/api/ads/{ad_id}")
    assert ad["state"] == "AD_STATE_COMPLETED"
    assert ad["chosenMoodId"] == ad["moods"][1]["id"]
    assert ad["storyboard"][0]["scene"]["caption"] == CAPTION
    assert ad["brief"]["keyMessages"][0].startswith("Purifies water")


def test_one_scene_is_regenerated_with_its_cost_shown(
    browser: WebDriver, stack: LiveStack, finished_ad: str, tmp_path: Path
) -> None:
    ad = ad_when(stack.open_url, finished_ad, completed, "completed")
    open_page(browser, f"{stack.open_url}/#/ads/{ad['id']}")
    wait(browser, lambda d: heading(d) == "Final video", "the final step")
    find(browser, "#regenerate-scene").click()
    wait(browser, lambda d: heading(d) == "Storyboard", "the storyboard")
    find(browser, "#scene-1 .regenerate summary").click()
    wait(browser, text_of("#regen-1-cost", "Estimated cost: $0.00"), "the scene's cost")
    assert "offline" in find(browser, "#regen-1-cost").text  # the generator's pricing basis
    fill(find(browser, "#regen-1-hint"), "warmer light")
    find(browser, "#regen-1-go").click()
    wait(browser, text_of("#renders li:nth-child(2)", "completed"), "render 2 completed")
    assert not browser.find_elements("css selector", "main .loading")
    shoot(browser, tmp_path, "regenerated")
    after = ad_when(stack.open_url, ad["id"], completed, "completed again")
    versions = [len(scene["versions"]) for scene in after["storyboard"]]
    assert versions[1] == 2 and versions.count(1) == len(versions) - 1
    assert after["storyboard"][1]["versions"][1]["hint"] == "warmer light"
    assert [r["state"] for r in after["renders"]] == ["COMPOSITION_STATE_COMPLETED"] * 2
