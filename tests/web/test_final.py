"""From the Final step of a finished ad: one RenderAd for two other platforms, each render listed
with its shape, size, length and downloads; an end card asked for; one scene's voice line spoken
again, the new words in the new render's subtitles."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.web.browser import (
    AD_SECONDS,
    WHOLE_AD_S,
    Page,
    ad_when,
    api,
    completed,
    cue_words,
    download,
    open_final,
    open_regenerate,
    says,
)
from tests.web.stack import LiveStack

# Each platform's frame at the ad's 320 p: (width, height) and its name on the page.
NEW_LINE = "Fits every bag."
PLATFORMS = {"square": ((320, 320), "Square (1:1)"), "landscape": ((568, 320), "Landscape (16:9)")}


def rendered(count: int) -> Any:
    def done(ad: dict[str, Any]) -> bool:
        return ad["state"] == "AD_STATE_COMPLETED" and len(ad["renders"]) >= count

    return done


def test_renders_for_other_platforms_are_listed_with_their_downloads(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = open_final(page, stack.open_url, finished_ad)
    # A 9:16 ad's renders are for TikTok unless other platforms are chosen; a cut-down needs a
    # longer ad than this 6 s one.
    assert page.find("#render-platforms-tiktok").is_selected()
    assert not page.find("#render-cutdowns-6").is_enabled()
    for platform in ("tiktok", *PLATFORMS):
        page.click(f"label[for='render-platforms-{platform}']", f"the {platform} box")
    Select(page.find("#render-captions")).select_by_value("AD_CAPTIONS_SCENES")
    page.find("#render-go").click()
    first = len(ad["renders"]) + 1
    numbers = (first, first + 1)
    for number in numbers:
        page.shown(f"#render-{number}-mp4", f"render {number}'s download", WHOLE_AD_S)
    page.shoot("render-platforms")

    renders = ad_when(stack.open_url, finished_ad, rendered(first + 1), "two renders")["renders"]
    made = {r["platform"]: r for r in renders[first - 1 :]}
    assert sorted(made) == sorted(PLATFORMS) and len(renders) == first + 1
    for platform, render in made.items():
        size, name = PLATFORMS[platform]
        assert render["options"]["captions"] == "AD_CAPTIONS_SCENES"
        number = render["number"]
        link = page.find(f"#render-{number}-mp4").get_attribute("href")
        mp4 = download(str(link), page.folder / f"{platform}.mp4")
        info = asyncio.run(probe(mp4))
        assert (info.width, info.height) == size
        assert info.duration_seconds == pytest.approx(AD_SECONDS, abs=1e-3)  # 72 frames
        assert mp4.stat().st_size == int(render["output"]["sizeBytes"])
        # The list says what the file is.
        facts = page.find(f"#render-{number} .render-facts").text
        assert facts == (
            f"Render {number} · {name} · {size[0]}×{size[1]} · "
            f"{render['durationSeconds']:.1f} s · {mp4.stat().st_size / 1024:.1f} KB"
        )
        # Its subtitles beside it (the ad has a voice-over).
        for kind in ("srt", "vtt"):
            href = page.find(f"#render-{number}-{kind}").get_attribute("href")
            assert href == stack.open_url + render[f"subtitles{kind.title()}"]["uri"], kind


def test_a_new_voice_line_is_spoken_and_in_the_new_subtitles(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = open_regenerate(page, stack.open_url, finished_ad, 2)
    Select(page.find("#regen-2-what")).select_by_value("REGENERATE_WHAT_VOICE")
    page.fill("#regen-2-voice", NEW_LINE)
    page.find("#regen-2-hint").click()  # leaving the line asks for its quote
    page.has_text("#regen-2-cost", "Estimated cost: $0.00 (", "the line's quote")
    page.find("#regen-2-go").click()
    number = len(ad["renders"]) + 1
    page.shown(f"#render-{number}-srt", f"render {number}'s subtitles", WHOLE_AD_S)
    page.shoot("voice-regenerated")

    after = ad_when(stack.open_url, finished_ad, completed, "completed again")
    (step,) = [s for s in after["steps"] if s["step"] == "AD_STEP_REGENERATE"][-1:]
    (job_id,) = step["jobIds"]  # one voice job: no image or clip made again
    job = api(stack.open_url, "GET", f"/api/jobs/{job_id}")
    assert job["kind"] == "JOB_KIND_VOICE" and len(job["items"]) == 1
    lines = [s["scene"]["voiceLine"] for s in after["storyboard"]]
    before = [s["scene"]["voiceLine"] for s in ad["storyboard"]]
    assert lines == [*before[:2], NEW_LINE, *before[3:]]
    assert after["storyboard"][2]["seedImage"] == ad["storyboard"][2]["seedImage"]
    srt = download(
        str(page.find(f"#render-{number}-srt").get_attribute("href")), page.folder / "new.srt"
    )
    assert says(cue_words(srt), NEW_LINE)
    assert not says(cue_words(srt), before[2])


def test_an_end_card_is_asked_for_and_keeps_the_ads_length(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = open_final(page, stack.open_url, finished_ad)
    # Without a brand in the brief: no end card unless asked for, no logo to watermark with.
    assert not page.find("#render-end-card").is_selected()
    assert not page.find("#render-watermark").is_enabled()
    assert "needs a logo" in page.find("label[for='render-watermark']").text
    for box in page.find_all("#render-platforms input:checked"):
        box.click()  # only the ad's own shape: the newest render's platforms are ticked
    page.click("label[for='render-platforms-tiktok']", "the TikTok box")
    page.click("label[for='render-end-card']", "the end card box")
    page.find("#render-go").click()
    number = len(ad["renders"]) + 1
    link = page.shown(f"#render-{number}-mp4", f"render {number}'s download", WHOLE_AD_S)
    render = ad_when(stack.open_url, finished_ad, rendered(number), "the render")["renders"][-1]
    assert render["options"]["endCard"] is True
    status = f"/api/composition/status/{render['compositionId']}"
    asked = api(stack.open_url, "GET", status)["request"]
    assert asked["endCard"]["headline"] == ad["brief"]["productName"]  # no brand name
    assert not asked.get("watermark")
    info = asyncio.run(probe(download(str(link.get_attribute("href")), page.folder / "card.mp4")))
    assert info.duration_seconds == pytest.approx(AD_SECONDS, abs=1e-3)  # 72 frames
