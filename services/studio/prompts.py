"""What the studio asks the generator and composer for: prompts, seeds and clip lengths.

The planner writes a scene's ``image_prompt`` and the plan's ``music_prompt``; when an older
planner left them empty they are built here, so no client ever builds a prompt.

References (the same product in every scene): each seed image carries the brief's product
photos — uploaded ones as ``product_images`` (the offline animatic draws the hero into the
still; image models that take references get them), URLs as ``reference_images`` — and each
clip carries them as ``reference_images`` and the next scene's seed image as its
``last_frame_image``, so consecutive scenes are chained where the model takes a last frame.
The studio sends them to every model; the generator's catalog decides what reaches which
(``services/generator/models.toml``: a model without a last-frame input gets none; one whose
references exclude the first and last frames, such as Seedance 1 lite, gets the frames — the
seed image was drawn with the references already). The logo is not a seed image's reference:
the composer draws it (end card, watermark) on every render.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reelforge.runtime.artifacts import is_artifact_id
from reelforge.runtime.encoding import DEFAULT_CROSSFADE_S
from reelforge.v1 import common_pb2, composer_pb2, generator_pb2, studio_pb2
from services.studio import brand, renders

DEFAULT_TRANSITION_S = DEFAULT_CROSSFADE_S
# A line starts this long after its scene does: the crossfade into the scene is under way
# and the cut does not clip the first syllable.
VOICE_LEAD_IN_S = 0.15
_CAPTION_MODES = {
    studio_pb2.AD_CAPTIONS_WORDS: composer_pb2.CAPTION_MODE_WORDS,
    studio_pb2.AD_CAPTIONS_SCENES: composer_pb2.CAPTION_MODE_SCENES,
    studio_pb2.AD_CAPTIONS_OFF: composer_pb2.CAPTION_MODE_OFF,
}
# Seeds: fixed per scene, so a rerun of the same ad is served from the generator's cache; a
# regenerated version gets another seed, so it is a new picture (and a new paid prediction).
_SAMPLE_SEED, _IMAGE_SEED, _CLIP_SEED, _MUSIC_SEED = 500, 1000, 2000, 7
_VERSION_STRIDE = 100


def clip_targets(durations: list[float], transition_s: float) -> list[float]:
    """Per-clip lengths whose crossfaded total equals the plan's total exactly.

    The composer's output is Σ targets − (n−1)·transition; spreading the (n−1)
    overlaps evenly over the n clips keeps every scene close to its planned length.
    """
    n = len(durations)
    extra = transition_s * (n - 1) / n if n else 0.0
    return [d + extra for d in durations]


def scene_starts(lengths: list[float], transition_s: float) -> list[float]:
    """Where each clip starts in the crossfaded timeline: clip i begins fading in when the
    clips before it, each shortened by one crossfade, have played."""
    starts, at = [], 0.0
    for length in lengths:
        starts.append(at)
        at += length - transition_s
    return starts


def transition_seconds(options: studio_pb2.RenderOptions) -> float:
    if options.HasField("transition_seconds"):
        return options.transition_seconds
    return DEFAULT_TRANSITION_S


def chosen_mood(ad: studio_pb2.Ad) -> common_pb2.Mood:
    for mood in ad.moods:
        if mood.id == ad.chosen_mood_id:
            return mood
    return common_pb2.Mood()


def mood_sample(mood: common_pb2.Mood, index: int) -> generator_pb2.ImageSpec:
    return generator_pb2.ImageSpec(
        prompt=(list(mood.image_prompts) or [mood.description])[0],
        color_palette=mood.color_palette,
        caption=mood.name,
        seed=_SAMPLE_SEED + index,
    )


def image_prompt(scene: common_pb2.Scene, mood: common_pb2.Mood, hint: str = "") -> str:
    base = scene.image_prompt or (
        f"{scene.style_prompt}. {mood.aesthetic_direction} "
        f"Style: {', '.join(mood.style_keywords)}. Vertical 9:16."
    )
    return f"{base} {hint}".strip() if hint else base


def seed_image(
    scene: common_pb2.Scene,
    mood: common_pb2.Mood,
    index: int,
    version: int = 1,
    hint: str = "",
    *,
    products: Sequence[str] = (),
) -> generator_pb2.ImageSpec:
    """A scene's still; ``products``: the brief's product photos (ids or URLs, hero first)."""
    return generator_pb2.ImageSpec(
        prompt=image_prompt(scene, mood, hint),
        color_palette=mood.color_palette,
        # No caption drawn into the still: the composer burns the captions in (words or scene
        # captions, per render), so one drawn here would show twice, and stay in renders whose
        # captions are off.
        seed=_IMAGE_SEED + index + _VERSION_STRIDE * (version - 1),
        # product_images takes uploaded files only (the offline animatic reads them).
        product_images=[p for p in products if is_artifact_id(p)],
        reference_images=[p for p in products if not is_artifact_id(p)],
    )


def clip(
    scene: common_pb2.Scene,
    image_id: str,
    target_s: float,
    index: int,
    version: int = 1,
    hint: str = "",
    *,
    references: Sequence[str] = (),
    last_frame: str = "",
) -> generator_pb2.ClipSpec:
    return generator_pb2.ClipSpec(
        prompt=f"{scene.style_prompt} {hint}".strip() if hint else scene.style_prompt,
        image=image_id,
        # Round up to the centisecond so a clip is never shorter than its target.
        duration_seconds=math.ceil(target_s * 100) / 100,
        camera_motion=scene.camera_motion,
        seed=_CLIP_SEED + index + _VERSION_STRIDE * (version - 1),
        reference_images=references,
        last_frame_image=last_frame,
    )


def scene_image(
    ad: studio_pb2.Ad, index: int, version: int = 1, hint: str = ""
) -> generator_pb2.ImageSpec:
    """Scene ``index``'s seed image (``version``), with the brief's product photos."""
    scene = ad.storyboard[index].scene
    return seed_image(
        scene, chosen_mood(ad), index, version, hint, products=ad.brief.product_images
    )


def scene_clip(
    ad: studio_pb2.Ad, index: int, image_id: str, version: int = 1, hint: str = ""
) -> generator_pb2.ClipSpec:
    """Scene ``index``'s clip from ``image_id``: its length for the ad's render options, the
    brief's product photos as references, and the next scene's seed image (as it is now) as
    its last frame, so it ends where the next one starts. A regenerated seed image does not
    remake the clip before it (that would be another paid clip): the crossfade covers the
    difference."""
    following = ad.storyboard[index + 1].seed_image.id if index + 1 < len(ad.storyboard) else ""
    return clip(
        ad.storyboard[index].scene,
        image_id,
        targets(ad)[index],
        index,
        version,
        hint,
        references=ad.brief.product_images,
        last_frame=following,
    )


def music_prompt(brief: common_pb2.CreativeBrief, mood: common_pb2.Mood) -> str:
    return f"Instrumental background music, {brief.tone}, {', '.join(mood.style_keywords)}"


def music(ad: studio_pb2.Ad) -> generator_pb2.GenerateMusicRequest:
    return generator_pb2.GenerateMusicRequest(
        prompt=ad.music_prompt,
        duration_seconds=ad.options.duration_seconds,
        tier=ad.options.tier,
        seed=_MUSIC_SEED,
    )


def voice_on(ad: studio_pb2.Ad) -> bool:
    """The ad speaks unless its options turn the voice off (unset means on)."""
    return not ad.options.HasField("voice") or ad.options.voice


def voiced_scenes(ad: studio_pb2.Ad) -> list[int]:
    """Indexes of the scenes the voice step speaks: those with a line, when the voice is on
    (the brief's ``voice: none`` leaves every line empty, so nothing is spoken)."""
    if not voice_on(ad):
        return []
    return [i for i, s in enumerate(ad.storyboard) if s.scene.voice_line.strip()]


def voice(ad: studio_pb2.Ad, lines: list[str]) -> generator_pb2.GenerateVoiceRequest:
    """One item per line, in order. The brief's ``voice`` describes a voice in words, not a
    provider's voice id, so the provider's default voice speaks."""
    return generator_pb2.GenerateVoiceRequest(
        lines=[generator_pb2.VoiceLine(text=line) for line in lines], tier=ad.options.tier
    )


def targets(ad: studio_pb2.Ad) -> list[float]:
    """Each scene's clip length for the ad's current render options."""
    durations = [s.scene.duration_seconds for s in ad.storyboard]
    return clip_targets(durations, transition_seconds(ad.options.render))


def played_scenes(ad: studio_pb2.Ad, render: studio_pb2.Render) -> list[tuple[int, float]]:
    """(storyboard index, seconds on screen) of each scene ``render`` plays, in order: its
    cut-down's scenes, else every scene at its planned length."""
    if render.cut:
        return [(c.scene, c.duration_seconds) for c in render.cut]
    return [(i, s.scene.duration_seconds) for i, s in enumerate(ad.storyboard)]


def render_transition(render: studio_pb2.Render, durations: list[float]) -> float:
    """The render's crossfade. A cut-down's trimmed scenes may be shorter than the crossfade
    asked for (up to 2 s): there it is at most half the shortest scene, so every scene still
    shows on its own between its fades."""
    asked = transition_seconds(render.options)
    return min(asked, min(durations) / 2) if render.cut else asked


def voice_starts(ad: studio_pb2.Ad, render: studio_pb2.Render) -> list[float]:
    """Where each played scene's line starts in ``render``: the scene's start plus the
    lead-in. A line longer than its scene runs on into the next one (the planner sizes
    lines to their scenes; synthesis may still overrun by a little)."""
    durations = [d for _, d in played_scenes(ad, render)]
    transition = render_transition(render, durations)
    lengths = clip_targets(durations, transition)
    return [round(start + VOICE_LEAD_IN_S, 3) for start in scene_starts(lengths, transition)]


def _speaks(scene: studio_pb2.AdScene, seconds: float, render: studio_pb2.Render) -> bool:
    """Whether ``scene``'s line is spoken in ``render``: always in the full ad; in a cut-down
    only when the whole line (its last word's end) fits the trimmed scene, so no line is cut
    off mid-word or runs over the next scene's."""
    if not scene.voice.id:
        return False
    if not render.cut:
        return True
    spoken = scene.voice_words[-1].end_seconds if scene.voice_words else math.inf
    return VOICE_LEAD_IN_S + spoken <= seconds


def captions(options: studio_pb2.RenderOptions, voiced: bool) -> composer_pb2.CaptionOptions:
    """Word captions need the voice's timings: without a voice-over (``voiced``) the default,
    and WORDS, become scene captions."""
    mode = options.captions
    if not mode or (mode == studio_pb2.AD_CAPTIONS_WORDS and not voiced):
        mode = studio_pb2.AD_CAPTIONS_WORDS if voiced else studio_pb2.AD_CAPTIONS_SCENES
    return composer_pb2.CaptionOptions(mode=_CAPTION_MODES[mode])


def _clip(scene: studio_pb2.AdScene, seconds: float) -> composer_pb2.ClipInput:
    """A scene's clip at its length, with its caption and its focus point (crops keep it)."""
    clip = composer_pb2.ClipInput(
        source=scene.clip.id, target_duration_seconds=seconds, caption=scene.scene.caption
    )
    for axis in ("focus_x", "focus_y"):
        if scene.scene.HasField(axis):
            setattr(clip, axis, getattr(scene.scene, axis))
    return clip


def compose(ad: studio_pb2.Ad, render: studio_pb2.Render) -> composer_pb2.ComposeRequest:
    """The composition of ``render``: its scenes' clips at their lengths, the voice lines it
    speaks, the music, in its platform's frame shape, with the brand's end card, watermark
    and caption style (brand.py)."""
    options = render.options
    played = played_scenes(ad, render)
    durations = [d for _, d in played]
    transition = render_transition(render, durations)
    scenes = [ad.storyboard[i] for i, _ in played]
    voice = [
        composer_pb2.VoiceInput(source=s.voice.id, start_seconds=start, words=s.voice_words)
        for s, seconds, start in zip(scenes, durations, voice_starts(ad, render), strict=True)
        if _speaks(s, seconds, render)
    ]
    request = composer_pb2.ComposeRequest(
        clips=[
            _clip(s, length)
            for s, length in zip(scenes, clip_targets(durations, transition), strict=True)
        ],
        voice=voice,
        captions=captions(options, bool(voice)),
        platform=options.platform,
        music=ad.music.id,
        transition=options.transition or "fade",
        transition_seconds=transition,
        aspect_ratio=renders.aspect_ratio(ad, render),
        height=options.height,
        fps=options.fps,
        tier=ad.options.tier,
        hold_last_frame=True,
        fit=options.fit,
    )
    card = brand.end_card(ad, options, sum(durations), chosen_mood(ad))
    if card is not None:
        request.end_card.CopyFrom(card)
    if (mark := brand.watermark(ad, options)) is not None:
        request.watermark.CopyFrom(mark)
    if brand.has_brand(ad.brief):
        request.captions.style.CopyFrom(brand.caption_style(ad.brief))
    return request
