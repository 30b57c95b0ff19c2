"""The Final step's other renders: one for another platform, listed with its size, length and
downloads, made with the options chosen on the page."""

from __future__ import annotations

import asyncio

from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.web.browser import AD_SECONDS, Page, ad_when, completed, download, open_final
from tests.web.stack import LiveStack


def test_a_render_for_another_platform_is_listed_with_its_downloads(
    page: Page, stack: LiveStack, finished_ad: str
) -> None:
    ad = open_final(page, stack.open_url, finished_ad)
    # A 9:16 ad's renders are for TikTok unless another platform is chosen.
    assert page.find("#render-platform-tiktok").is_selected()
    page.click("label[for='render-platform-square']", "the square platform")
    Select(page.find("#render-captions")).select_by_value("AD_CAPTIONS_SCENES")
    page.find("#render-go").click()
    number = len(ad["renders"]) + 1
    link = page.shown(f"#render-{number}-mp4", f"render {number}'s download")
    page.shoot("render-platform")

    made = ad_when(stack.open_url, finished_ad, completed, "the new render")["renders"][-1]
    assert made["number"] == number
    assert (made["options"]["platform"], made["options"]["captions"]) == (
        "square",
        "AD_CAPTIONS_SCENES",
    )
    mp4 = download(str(link.get_attribute("href")), page.folder / "square.mp4")
    info = asyncio.run(probe(mp4))
    assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
    assert mp4.stat().st_size == int(made["output"]["sizeBytes"])
    # The list says what the file is.
    facts = page.find(f"#render-{number} .render-facts").text
    assert facts == (
        f"Render {number} · Square (1:1) · {info.width}×{info.height} · "
        f"{made['durationSeconds']:.1f} s · {mp4.stat().st_size / 1024:.1f} KB"
    )
    # Its subtitles beside it (the ad has a voice-over).
    for kind in ("srt", "vtt"):
        href = page.find(f"#render-{number}-{kind}").get_attribute("href")
        uri = made[f"subtitles{kind.title()}"]["uri"]
        assert href == stack.open_url + uri, kind
