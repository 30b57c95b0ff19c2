"""What the studio asks the composer for, per render: the platform's frame shape, a cut-down's
scenes trimmed to exact lengths, the voice lines that fit, and the brand (end card, watermark,
caption font and colour)."""

from __future__ import annotations

import pytest

from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, composer_pb2, studio_pb2
from services.planner.plan_rules import CALL_TO_ACTION, FEATURE, HOOK, PRODUCT_INTRO
from services.studio import prompts, renders
from services.studio import validation as check

LOGO, FONT, PHOTO = "a" * 64, "b" * 64, "c" * 64
SHAPE = [(HOOK, 3.0), (PRODUCT_INTRO, 5.0), (FEATURE, 4.0), (FEATURE, 4.0), (CALL_TO_ACTION, 4.0)]


def _ad(
    render: studio_pb2.RenderOptions, brand: common_pb2.BrandKit | None = None
) -> studio_pb2.Ad:
    brief = common_pb2.CreativeBrief(product_name="Lumen", call_to_action="Get yours today")
    if brand is not None:
        brief.brand.CopyFrom(brand)
        brief.product_images.append(PHOTO)
    mood = common_pb2.Mood(id="m1", color_palette=["#101010", "#202020", "#303030"])
    ad = studio_pb2.Ad(
        id="ad1",
        brief=brief,
        options=studio_pb2.AdOptions(duration_seconds=20, render=render),
        moods=[mood],
        chosen_mood_id="m1",
    )
    for i, (kind, seconds) in enumerate(SHAPE):
        scene = ad.storyboard.add(
            scene=common_pb2.Scene(index=i, type=kind, duration_seconds=seconds, caption=f"c{i}")
        )
        scene.clip.id = f"{i:064d}"
        scene.voice.id = f"{i + 10:064d}"
        # Scene 0's line lasts 1.2 s, the others' 3.5 s.
        scene.voice_words.add(word="word", start_seconds=0, end_seconds=1.2 if i == 0 else 3.5)
    return ad


def _planned(ad: studio_pb2.Ad) -> list[studio_pb2.Render]:
    return renders.planned(ad, studio_pb2.Render().created_at)


def test_platforms_times_cutdowns_plan_one_render_each() -> None:
    options = studio_pb2.RenderOptions(height=320, platforms=["reels", "square"], cutdowns=[0, 6])
    planned = _planned(_ad(options))
    assert [(r.number, r.platform, r.cutdown_seconds) for r in planned] == [
        (1, "reels", 0),
        (2, "reels", 6),
        (3, "square", 0),
        (4, "square", 6),
    ]
    for render in planned:
        assert render.options.platform == render.platform and render.options.height == 320
        assert not render.options.platforms and not render.options.cutdowns
    assert [(c.scene, c.duration_seconds) for c in planned[1].cut] == [(0, 1.5), (1, 2.5), (4, 2.0)]
    assert not planned[0].cut


def test_one_platform_or_none_plans_one_render_in_the_ads_shape() -> None:
    (render,) = _planned(_ad(studio_pb2.RenderOptions()))
    assert (render.platform, render.cutdown_seconds, render.options.platform) == ("tiktok", 0, "")
    request = prompts.compose(_ad(studio_pb2.RenderOptions()), render)
    assert request.aspect_ratio == common_pb2.ASPECT_RATIO_UNSPECIFIED and not request.platform


SHAPES = {
    "tiktok": common_pb2.ASPECT_RATIO_9_16,
    "shorts": common_pb2.ASPECT_RATIO_9_16,
    "feed": common_pb2.ASPECT_RATIO_4_5,
    "square": common_pb2.ASPECT_RATIO_1_1,
    "landscape": common_pb2.ASPECT_RATIO_16_9,
}


@pytest.mark.parametrize("platform", SHAPES)
def test_a_platform_sets_the_frame_shape(platform: str) -> None:
    ad = _ad(studio_pb2.RenderOptions(platform=platform))
    (render,) = _planned(ad)
    request = prompts.compose(ad, render)
    assert (request.aspect_ratio, request.platform) == (SHAPES[platform], platform)


def test_feed_is_a_4_to_5_render() -> None:
    request = studio_pb2.RenderAdRequest(
        id="ad1", options=studio_pb2.RenderOptions(platforms=["square", "feed"])
    )
    check.validate_render(request)
    assert renders.platform_aspect("feed") == common_pb2.ASPECT_RATIO_4_5


def test_scene_focus_points_and_the_fit_reach_the_composer() -> None:
    """Each clip carries its scene's focus point (unset stays unset: the composer's centre);
    the render's fit goes along, cover unless asked."""
    ad = _ad(studio_pb2.RenderOptions(platform="landscape"))
    ad.storyboard[1].scene.focus_x = 0.2
    ad.storyboard[1].scene.focus_y = 0.0
    (render,) = _planned(ad)
    request = prompts.compose(ad, render)
    assert request.fit == common_pb2.FIT_UNSPECIFIED
    assert [c.HasField("focus_x") for c in request.clips] == [False, True, False, False, False]
    assert (request.clips[1].focus_x, request.clips[1].focus_y) == (0.2, 0.0)
    ad.options.render.fit = common_pb2.FIT_PAD
    (render,) = _planned(ad)
    assert prompts.compose(ad, render).fit == common_pb2.FIT_PAD


def test_an_unknown_fit_is_refused_by_name() -> None:
    request = studio_pb2.RenderAdRequest(
        id="ad1", options=studio_pb2.RenderOptions(fit=common_pb2.Fit.ValueType(7))
    )
    with pytest.raises(InvalidArgument, match=r"options\.fit"):
        check.validate_render(request)


def test_a_cutdown_trims_the_chosen_clips_to_its_exact_length() -> None:
    ad = _ad(studio_pb2.RenderOptions(cutdowns=[6], transition_seconds=2.0))
    (render,) = _planned(ad)
    request = prompts.compose(ad, render)
    assert [c.source for c in request.clips] == [ad.storyboard[i].clip.id for i in (0, 1, 4)]
    # The 2 s crossfade asked for is at most half the shortest trimmed scene (1.5 s).
    assert request.transition_seconds == 0.75
    targets = [c.target_duration_seconds for c in request.clips]
    assert sum(targets) - 2 * request.transition_seconds == pytest.approx(6.0)
    # Each clip is only trimmed: no target is longer than the clip the full ad plays.
    full = prompts.clip_targets([s for _, s in SHAPE], 2.0)
    assert all(t <= full[i] for t, i in zip(targets, (0, 1, 4), strict=True))
    # Only the hook's line (1.2 s) fits its 1.5 s; the others would be cut off mid-word.
    assert [v.source for v in request.voice] == [ad.storyboard[0].voice.id]
    assert request.voice[0].start_seconds == pytest.approx(prompts.VOICE_LEAD_IN_S)


def test_the_full_ad_speaks_every_line() -> None:
    ad = _ad(studio_pb2.RenderOptions())
    request = prompts.compose(ad, _planned(ad)[0])
    assert len(request.voice) == len(SHAPE)
    assert request.captions.mode == composer_pb2.CAPTION_MODE_WORDS
    assert not request.HasField("end_card") and not request.HasField("watermark")
    assert not request.captions.HasField("style")


def test_the_brand_reaches_the_composer() -> None:
    kit = common_pb2.BrandKit(
        name="Lumen Co", logo=LOGO, palette=["#FF5500", "#FFFFFF"], body_font=FONT
    )
    ad = _ad(studio_pb2.RenderOptions(cutdowns=[0, 6], watermark=True), kit)
    full, six = (prompts.compose(ad, r) for r in _planned(ad))
    card = full.end_card
    assert (card.logo, card.headline, card.call_to_action) == (LOGO, "Lumen Co", "Get yours today")
    assert list(card.palette) == ["#FF5500", "#FFFFFF"] and card.product_image == PHOTO
    assert (card.body_font, card.duration_seconds) == (FONT, 2.5)
    assert six.end_card.duration_seconds == 2.0  # a third of 6 s, the composer's shortest
    assert full.watermark.logo == LOGO
    assert (full.captions.style.font_file, full.captions.style.highlight_colour) == (
        FONT,
        "#FF5500",
    )
    off = _ad(studio_pb2.RenderOptions(end_card=False), kit)
    assert not prompts.compose(off, _planned(off)[0]).HasField("end_card")


def test_a_watermark_needs_the_brands_logo() -> None:
    options = studio_pb2.RenderOptions(watermark=True)
    with pytest.raises(InvalidArgument, match=r"options\.watermark: needs a logo"):
        check.check_for_ad(options, common_pb2.CreativeBrief(), 20, "options")


def test_a_cutdown_as_long_as_the_ad_in_hundredths_is_refused() -> None:
    """Plans are made in hundredths: a 15.004 s ad's scenes last 15.00 s, no longer than the cut."""
    options = studio_pb2.RenderOptions(cutdowns=[15])
    with pytest.raises(InvalidArgument, match=r"options\.cutdowns\[0\]"):
        check.check_for_ad(options, common_pb2.CreativeBrief(), 15.004, "options")
    check.check_for_ad(options, common_pb2.CreativeBrief(), 15.01, "options")


def test_create_ad_checks_the_brand_kit_at_the_door() -> None:
    """A bad logo reference is a 400 naming it, not an ad that fails at its first step."""
    brief = common_pb2.CreativeBrief(
        product_name="Lumen",
        product_description="A bottle",
        target_audience="Commuters",
        tone="bright",
        call_to_action="Buy",
        brand=common_pb2.BrandKit(logo="not a file", palette=["blue"]),
    )
    with pytest.raises(InvalidArgument) as refused:
        check.validate_create(studio_pb2.CreateAdRequest(brief=brief))
    fields = {v.field for v in refused.value.violations}
    assert {"brief.brand.logo", "brief.brand.palette[0]"} <= fields


def test_a_storyboard_edit_sets_a_focus_point_within_the_picture() -> None:
    ad = _ad(studio_pb2.RenderOptions())
    for scene in ad.storyboard:
        scene.scene.description = scene.scene.style_prompt = "a lamp on a desk"
    edits = [studio_pb2.StoryboardScene(from_scene=i) for i in range(len(SHAPE))]
    edits[2].focus_x, edits[2].focus_y = 0.1, 0.9
    scenes = check.edited_storyboard(ad, edits)
    assert (scenes[2].focus_x, scenes[2].focus_y) == (0.1, 0.9)
    assert not scenes[0].HasField("focus_x")
    edits[3].focus_x, edits[4].focus_y = 1.5, -0.5
    with pytest.raises(InvalidArgument) as refused:
        check.edited_storyboard(ad, edits)
    assert "scenes[3].focus_x" in str(refused.value) and "scenes[4].focus_y" in str(refused.value)
