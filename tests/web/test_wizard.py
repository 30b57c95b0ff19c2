"""The whole wizard in a real browser: a chat and a brief file → moods → storyboard (a caption
and a voice line edited) → clips → a playable video and its subtitles, downloaded and checked,
the edited caption burned into the picture; then one scene regenerated; brand files uploaded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.composer.media import frame_at, subtitle_cues
from tests.helpers import ROOT
from tests.web.browser import (
    AD_SECONDS,
    WHOLE_AD_S,
    Page,
    ad_when,
    api,
    at_gate,
    bare,
    completed,
    cue_words,
    download,
    open_regenerate,
    says,
)
from tests.web.stack import UPLOAD_MAX_BYTES, LiveStack

CAPTION = "Hydrate brighter today"
VOICE_LINE = "Glow on."  # short: inside its 1 s scene
# A burned-in caption changes hundreds of pixels (of 57,600); encoding noise between two
# renders of the same frames changes a handful. Measured: 2,873 and ≤ 3.
CAPTION_PIXELS = 500
NOISE_PIXELS = 30
CHANGED = 40  # a channel differing by more than this is a changed pixel, not noise
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # fonts-dejavu-core, the composer's
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    '<circle cx="5" cy="5" r="4" fill="#1d4ed8"/></svg>'
)
LOADED_PREVIEWS = (
    "return [...document.querySelectorAll('.previews img')].filter(i => i.naturalWidth > 0).length;"
)
FIRST_MESSAGE = "Hi! I want an ad for a water bottle called Lumen Bottle"
SIZE = (180, 320)  # the render's width × height at 320 p, 9:16


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
    # The scenes' captions on the picture (else the spoken words are), to see the edited one.
    Select(page.find("#opt-captions")).select_by_value("AD_CAPTIONS_SCENES")


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
    page.fill("#scene-1-voice", VOICE_LINE)
    page.shoot("3-storyboard")
    page.find("#storyboard-approve").click()


def final_step(page: Page) -> None:
    page.wait(lambda _: page.heading() in ("Clips", "Final video"), "the clips step")
    if page.heading() == "Clips":
        page.shoot("4-clips")
        # A reload mid-generation lands on the step the ad is at, and follows it live.
        page.driver.refresh()
        page.wait(lambda _: page.heading() in ("Clips", "Final video"), "the clips step again")
    page.shows("Final video", "the final video", WHOLE_AD_S)
    video = page.shown("#final-video", "the player")
    script = "const v = arguments[0]; return v.readyState >= 2 && [v.duration, v.muted, v.loop];"
    ready = page.wait(lambda d: d.execute_script(script, video), "a playable video")
    duration, muted, loop = ready
    assert abs(duration - AD_SECONDS) <= 0.2 and muted and loop
    assert page.step() == "Final video"
    page.shoot("5-final")


def reference_ad(base: str, ad_id: str) -> str:
    """The same ad made again through the API without the page's edits: same brief, options and
    (second) mood, the planner's storyboard approved as it is."""
    made = api(base, "GET", f"/api/ads/{ad_id}")
    ad = api(base, "POST", "/api/ads", {"brief": made["brief"], "options": made["options"]})
    ad = ad_when(base, ad["id"], at_gate("AD_STEP_CHOOSE_MOOD"), "its moods")
    api(base, "POST", f"/api/ads/{ad['id']}/mood", {"moodId": ad["moods"][1]["id"]})
    ad_when(base, ad["id"], at_gate("AD_STEP_APPROVE_STORYBOARD"), "its storyboard")
    api(base, "POST", f"/api/ads/{ad['id']}/storyboard/approve", {})
    return str(ad["id"])


def check_subtitles(page: Page, ad: dict[str, Any]) -> None:
    """The SRT and WebVTT the Final step offers: the same cues, the words the voice-over says
    (with the edited line), all inside the ad."""
    srt = download(str(page.find("#download-srt").get_attribute("href")), page.folder / "ad.srt")
    vtt = download(str(page.find("#download-vtt").get_attribute("href")), page.folder / "ad.vtt")
    cues = subtitle_cues(srt)
    assert cues and [c[:2] for c in subtitle_cues(vtt)] == [c[:2] for c in cues]
    assert vtt.read_text().startswith("WEBVTT")
    assert all(0 <= start < end <= AD_SECONDS + 0.05 for start, end, _ in cues)
    shown = cue_words(srt)
    assert cue_words(vtt) == shown
    spoken = [bare(w["word"]) for scene in ad["storyboard"] for w in scene["voiceWords"]]
    assert shown == spoken
    assert says(shown, VOICE_LINE), (shown, VOICE_LINE)


def scene_middles(ad: dict[str, Any]) -> list[float]:
    """The middle of each scene in the render's (crossfaded) timeline; a scene's voice starts
    0.15 s after the scene does."""
    starts = [scene["voiceStartSeconds"] - 0.15 for scene in ad["storyboard"]]
    ends = [*starts[1:], AD_SECONDS]
    return [(start + end) / 2 for start, end in zip(starts, ends, strict=True)]


def changed_pixels(a: Path, b: Path, at_s: float) -> np.ndarray:
    """(y, x) of the pixels that differ between the two videos' frames at ``at_s``."""
    first, second = (frame_at(path, at_s, *SIZE) for path in (a, b))
    return np.argwhere(np.abs(first - second).max(axis=2) > CHANGED)


def check_caption_burned_in(
    base: str, ad: dict[str, Any], reference: dict[str, Any], mp4: Path
) -> None:
    """The edited caption is what the composer was asked for, and it is the only change in the
    picture: against the same ad with the planner's caption, the first scene's frame differs in
    the lower caption area and the other scenes' frames do not differ."""
    edited = [s["scene"] for s in ad["storyboard"]]
    original = [s["scene"] for s in reference["storyboard"]]
    assert original[0]["caption"] != CAPTION
    assert [s["caption"] for s in original[1:]] == [s["caption"] for s in edited[1:]]
    composition = ad["renders"][-1]["compositionId"]
    asked = api(base, "GET", f"/api/composition/status/{composition}")["request"]
    assert asked["captions"]["mode"] == "CAPTION_MODE_SCENES"
    assert asked["clips"][0]["caption"] == CAPTION

    unedited = download(
        base + reference["renders"][-1]["downloadUri"], mp4.with_name("reference.mp4")
    )
    first, *others = scene_middles(ad)
    caption = changed_pixels(mp4, unedited, first)
    assert len(caption) >= CAPTION_PIXELS, len(caption)
    # The caption sits in the lower half. Above it only x264's noise: a changed caption moves the
    # encoder's decisions for the whole frame (seen: 2 pixels 41-42 off, at row 134 of 320).
    assert (caption[:, 0] < SIZE[1] // 2).sum() <= NOISE_PIXELS, caption[:, 0].min()
    for at_s in others[1:]:  # scene 2 on (scene 1's start still fades out of scene 0)
        assert len(changed_pixels(mp4, unedited, at_s)) <= NOISE_PIXELS, at_s


def test_the_wizard_makes_a_playable_ad(page: Page, stack: LiveStack) -> None:
    page.open(stack.open_url + "/")
    brief_step(page, stack)
    mood = mood_step(page)
    storyboard_step(page, mood)
    ad_id = page.driver.current_url.rsplit("/", 1)[1]
    reference_id = reference_ad(stack.open_url, ad_id)
    final_step(page)

    # The download is the MP4 the server made: the ad's length, H.264 + AAC.
    href = page.find("#download-mp4").get_attribute("href")
    assert href is not None and href.startswith(stack.open_url + "/api/composition/download/")
    mp4 = download(href, page.folder / "ad.mp4")
    info = asyncio.run(probe(mp4))
    assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == SIZE
    # What the person chose is what the server made.
    ad = api(stack.open_url, "GET", f"/api/ads/{ad_id}")
    assert ad["state"] == "AD_STATE_COMPLETED"
    assert ad["chosenMoodId"] == ad["moods"][1]["id"]
    assert ad["storyboard"][0]["scene"]["caption"] == CAPTION
    assert ad["storyboard"][1]["scene"]["voiceLine"] == VOICE_LINE
    assert ad["brief"]["keyMessages"][0].startswith("Purifies water")
    check_subtitles(page, ad)
    reference = ad_when(
        stack.open_url, reference_id, completed, "the reference ad completed", wait_s=WHOLE_AD_S
    )
    check_caption_burned_in(stack.open_url, ad, reference, mp4)


def test_one_scene_is_regenerated_with_its_cost_shown(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = open_regenerate(page, stack.open_url, finished_ad, 1)
    page.has_text("#regen-1-cost", "Estimated cost: $0.00", "the scene's cost")
    assert "offline" in page.find("#regen-1-cost").text  # the generator's pricing basis
    page.fill("#regen-1-hint", "warmer light")
    page.find("#regen-1-go").click()
    # Other tests may have rendered this ad again, for several platforms: each is made again.
    number = len(ad["renders"]) + 1
    page.shown(f"#render-{number}-mp4", f"render {number}'s download", WHOLE_AD_S)
    assert not page.find_all("main .loading")
    page.shoot("regenerated")
    after = ad_when(stack.open_url, ad["id"], completed, "completed again", wait_s=WHOLE_AD_S)
    versions = [len(scene["versions"]) for scene in after["storyboard"]]
    before = [len(scene["versions"]) for scene in ad["storyboard"]]
    assert versions == [n + (i == 1) for i, n in enumerate(before)]  # scene 2's only
    assert after["storyboard"][1]["versions"][-1]["hint"] == "warmer light"
    assert len(after["renders"]) >= number
    assert {r["state"] for r in after["renders"]} == {"COMPOSITION_STATE_COMPLETED"}


def test_the_brand_kit_and_platforms_are_sent_with_the_brief_and_bad_files_refused_beside_them(
    page: Page, stack: LiveStack
) -> None:
    page.open(stack.open_url + "/")
    load_example_brief(page)
    # Refused files: each message under its own field, the field marked invalid.
    not_an_image = page.folder / "logo.png"
    not_an_image.write_bytes(b"this is not a picture")
    page.find("#brand-logo").send_keys(str(not_an_image))
    page.has_text("#brand-logo-error", "not an accepted file type", "the gateway's refusal (415)")
    assert page.find("#brand-logo").get_attribute("aria-invalid") == "true"
    page.find("#brand-logo").send_keys(str(FONT))
    page.has_text("#brand-logo-error", "a logo must be PNG", "a font refused as the logo")
    too_large = page.folder / "huge.png"
    too_large.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(UPLOAD_MAX_BYTES))
    page.find("#product-images").send_keys(str(too_large))
    page.has_text("#product-images-error", "limited to", "the gateway's size limit (413)")
    assert page.find("#brand-logo-error").text  # each field keeps its own message
    page.fill("#brand-palette", "#1d4ed8, blue")
    page.has_text("#brand-palette-error", '"blue" is not a colour', "a colour that is no colour")
    page.shoot("brand-errors")

    logo = page.folder / "logo.svg"
    logo.write_text(LOGO_SVG)
    photo = page.folder / "photo.png"
    Image.new("RGB", (48, 64), "#1d4ed8").save(photo)
    page.fill("#brand-name", "Lumen")
    page.find("#brand-logo").send_keys(str(logo))
    page.find("#product-images").send_keys(str(photo))
    page.find("#brand-heading-font").send_keys(str(FONT))
    page.wait(lambda d: d.execute_script(LOADED_PREVIEWS) == 2, "the logo and photo previews")
    page.has_text("#brand-heading-font-preview", FONT.name, "the uploaded font")
    page.find("#brand-palette").clear()
    page.fill("#brand-palette", "#1d4ed8, #f59e0b")
    page.fill("#brand-tone-words", "bold, warm")
    for field in ("brand-logo", "product-images", "brand-palette", "brand-heading-font"):
        assert page.find(f"#{field}-error").text == "", field
        assert page.find(f"#{field}").get_attribute("aria-invalid") is None, field
    assert len(page.find_all("#brand-palette-swatches .swatch")) == 2
    # Platforms: landscape alone makes the ad 16:9; with Reels too (another shape) it stays so.
    page.shown("#opt-platforms", "the platforms (the options are open)")
    page.click("label[for='opt-platform-tiktok']", "the TikTok box")
    page.click("label[for='opt-platform-landscape']", "the landscape box")
    aspect = Select(page.find("#opt-aspect"))
    assert aspect.first_selected_option.get_attribute("value") == "ASPECT_RATIO_16_9"
    page.click("label[for='opt-platform-reels']", "the Reels box")
    assert aspect.first_selected_option.get_attribute("value") == "ASPECT_RATIO_16_9"
    page.shoot("brand")
    page.find("#create-ad").click()
    page.shows("Choose a mood", "the mood step")
    ad_id = page.driver.current_url.rsplit("/", 1)[1]
    ad = api(stack.open_url, "GET", f"/api/ads/{ad_id}")
    api(stack.open_url, "POST", f"/api/ads/{ad_id}/cancel", {})
    assert ad["brief"]["brand"] == {
        "name": "Lumen",
        "logo": sha256_of(logo),
        "palette": ["#1d4ed8", "#f59e0b"],
        "headingFont": sha256_of(FONT),
        "bodyFont": "",  # not given: the heading font's (the composer's rule)
        "toneWords": ["bold", "warm"],
    }
    assert ad["brief"]["productImages"] == [sha256_of(photo)]
    assert ad["options"]["render"]["platforms"] == ["reels", "landscape"]
    assert ad["options"]["aspectRatio"] == "ASPECT_RATIO_16_9"
    page.find("#steps button").click()  # the brief step of the ad: read-only, with the brand
    page.has_text("#ad-options", "Instagram Reels (9:16), Landscape (16:9)", "the platforms")
    assert len(page.find_all(".summary .swatch")) == 2
