"""The Final step's other renders: one RenderAd for two other platforms, each render listed with
its shape, size, length and downloads, made with the options chosen on the page."""

from __future__ import annotations

import asyncio
from typing import Any

from selenium.webdriver.support.ui import Select

from reelforge.runtime.media import probe
from tests.web.browser import AD_SECONDS, Page, ad_when, download, open_final
from tests.web.stack import LiveStack

# Each platform's frame at the ad's 320 p: (width, height) and its name on the page.
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
        page.shown(f"#render-{number}-mp4", f"render {number}'s download")
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
        assert abs(info.duration_seconds - AD_SECONDS) <= 1 / 12 + 1e-3
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
