"""Request rules of the studio: INVALID_ARGUMENT naming each bad field; FAILED_PRECONDITION
naming the ad's state when an action does not fit it.

A brief's logo and product photo URLs are checked where they point, not only their form: one
that names a loopback, private, link-local or metadata address (an IP literal or ``localhost``)
is refused at CreateAd, as the generator and composer would refuse to fetch it — after the
ad's images, clips and voice were paid for. The studio's FETCH_ALLOW_NETWORKS opens ranges as
theirs do (set it alike). A name is not resolved here (no DNS at the door): one that resolves
to a private address is still refused when fetched, by the guard on every connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelforge.runtime import page_tokens
from reelforge.runtime.errors import FailedPrecondition
from reelforge.runtime.net_guard import BlockedURL, IPNetwork, check_url_literal
from reelforge.runtime.validation import MAX_TEXT_CHARS, Violations
from reelforge.v1 import common_pb2, studio_pb2
from services.composer.platforms import PLATFORMS
from services.composer.validation import XFADE_TRANSITIONS
from services.planner.plan_rules import check_plan
from services.planner.validation import check_brand
from services.studio import renders
from services.studio.manager import describe_state

_S = studio_pb2
MIN_DURATION_S, MAX_DURATION_S = 6.0, 120.0
MAX_REQUEST_ID_CHARS = 128
MAX_MOODS = 6
MAX_TRANSITION_S = 2.0
REQUIRED_BRIEF_FIELDS = (
    "product_name",
    "product_description",
    "target_audience",
    "tone",
    "call_to_action",
)


def ad_duration(brief: common_pb2.CreativeBrief, options: studio_pb2.AdOptions) -> float:
    """The ad's length: the options', else the brief's, else 30 s."""
    return options.duration_seconds or brief.duration_seconds or 30.0


def _check_brief(brief: common_pb2.CreativeBrief, found: Violations) -> None:
    for name in REQUIRED_BRIEF_FIELDS:
        found.text(getattr(brief, name), f"brief.{name}", required=True)
    if brief.duration_seconds:
        found.range(
            brief.duration_seconds, "brief.duration_seconds", MIN_DURATION_S, MAX_DURATION_S, "s"
        )
    check_brand(found, brief, "brief")


def _check_reachable(
    brief: common_pb2.CreativeBrief, allow: Sequence[IPNetwork], found: Violations
) -> None:
    """Every https URL of the brand kit and product photos names an address it may fetch."""
    urls = [(f"brief.product_images[{i}]", url) for i, url in enumerate(brief.product_images)]
    urls.append(("brief.brand.logo", brief.brand.logo))
    for field, url in urls:
        if not url.startswith("https://"):
            continue  # an artifact id, or a form check_brand refuses already
        try:
            check_url_literal(url, allow)
        except BlockedURL as error:
            found.add(field, f"{url[:80]!r} cannot be fetched: {error}; upload the file instead")


def _check_render(options: studio_pb2.RenderOptions, prefix: str, found: Violations) -> None:
    if options.height:
        found.range(options.height, f"{prefix}.height", 64, 4096)
        found.check(options.height % 2 == 0, f"{prefix}.height", "must be even")
    found.range(options.fps, f"{prefix}.fps", 0, 60)
    if options.transition:
        found.check(
            options.transition in XFADE_TRANSITIONS, f"{prefix}.transition", "unknown transition"
        )
    if options.HasField("transition_seconds"):
        found.range(
            options.transition_seconds, f"{prefix}.transition_seconds", 0, MAX_TRANSITION_S, "s"
        )
    found.check(
        options.captions in _S.AdCaptions.values(),
        f"{prefix}.captions",
        f"unknown value {options.captions}",
    )
    if options.platform:
        _check_platform(options.platform, f"{prefix}.platform", found)
    for i, platform in enumerate(options.platforms):
        _check_platform(platform, f"{prefix}.platforms[{i}]", found)
    _check_unique(list(options.platforms), f"{prefix}.platforms", found)
    if options.platform and options.platforms:
        found.check(
            options.platform in options.platforms,
            f"{prefix}.platform",
            "must be empty or one of platforms when platforms is set",
        )
    lengths = ", ".join(str(c) for c in renders.CUTDOWNS)
    for i, seconds in enumerate(options.cutdowns):
        found.check(
            seconds in renders.CUTDOWNS,
            f"{prefix}.cutdowns[{i}]",
            f"unknown cut-down length {seconds} s; one of {lengths} (0 = the full ad)",
        )
    _check_unique(list(options.cutdowns), f"{prefix}.cutdowns", found)
    found.check(
        options.fit in common_pb2.Fit.values(), f"{prefix}.fit", f"unknown value {options.fit}"
    )


def _check_platform(platform: str, field: str, found: Violations) -> None:
    found.check(
        platform in PLATFORMS and platform in renders.PLATFORM_NAMES,
        field,
        f"unknown platform {platform[:40]!r}; one of {', '.join(renders.PLATFORM_NAMES)}",
    )


def _check_unique(values: list[str] | list[int], field: str, found: Violations) -> None:
    found.check(len(set(values)) == len(values), field, "must not repeat a value")


def check_for_ad(
    options: studio_pb2.RenderOptions,
    brief: common_pb2.CreativeBrief,
    ad_seconds: float,
    prefix: str,
) -> None:
    """INVALID_ARGUMENT unless the render options fit the ad: every cut-down shorter than it
    (``ad_seconds`` long), a watermark only with the brand's logo."""
    found = Violations()
    for i, seconds in enumerate(options.cutdowns):
        found.check(
            seconds * 100 < round(ad_seconds * 100),  # in hundredths, as plans are
            f"{prefix}.cutdowns[{i}]",
            f"a {seconds} s cut-down needs an ad longer than that; this one lasts {ad_seconds:g} s",
        )
    if options.watermark:
        found.check(
            bool(brief.brand.logo), f"{prefix}.watermark", "needs a logo (brief.brand.logo)"
        )
    found.raise_if_any()


def _check_options(options: studio_pb2.AdOptions, found: Violations) -> None:
    if options.duration_seconds:
        found.range(
            options.duration_seconds,
            "options.duration_seconds",
            MIN_DURATION_S,
            MAX_DURATION_S,
            "s",
        )
    found.check(
        options.tier in common_pb2.Tier.values(), "options.tier", f"unknown value {options.tier}"
    )
    found.check(
        options.aspect_ratio in common_pb2.AspectRatio.values(),
        "options.aspect_ratio",
        f"unknown value {options.aspect_ratio}",
    )
    found.check(
        0 <= options.variants <= 1, "options.variants", "only one variant is supported yet (0 or 1)"
    )
    found.check(options.max_cost_micros >= 0, "options.max_cost_micros", "must not be negative")
    found.range(options.mood_count, "options.mood_count", 0, MAX_MOODS)
    _check_render(options.render, "options.render", found)


def validate_create(
    request: studio_pb2.CreateAdRequest, *, allow: Sequence[IPNetwork] = ()
) -> None:
    """``allow``: networks a brief's URLs may reach although private (FETCH_ALLOW_NETWORKS)."""
    found = _ad_violations(request.brief, request.options, allow)
    if request.request_id:
        found.text(request.request_id, "request_id", required=False, max_chars=MAX_REQUEST_ID_CHARS)
        found.check(
            request.request_id.isprintable(), "request_id", "must not contain control characters"
        )
    found.raise_if_any()
    check_for_ad(
        request.options.render,
        request.brief,
        ad_duration(request.brief, request.options),
        "options.render",
    )


def validate_estimate(
    request: studio_pb2.EstimateAdRequest, *, allow: Sequence[IPNetwork] = ()
) -> None:
    _ad_violations(request.brief, request.options, allow).raise_if_any()


def _ad_violations(
    brief: common_pb2.CreativeBrief, options: studio_pb2.AdOptions, allow: Sequence[IPNetwork]
) -> Violations:
    """What CreateAd and EstimateAd check alike: the brief (its URLs reachable) and the options."""
    found = Violations()
    _check_brief(brief, found)
    _check_reachable(brief, allow, found)
    _check_options(options, found)
    return found


def validate_id(value: str, field: str = "id") -> None:
    found = Violations()
    found.identifier(value, field)
    found.raise_if_any()


def validate_list(request: studio_pb2.ListAdsRequest) -> None:
    found = Violations()
    found.range(request.page_size, "page_size", 0, 100)
    found.check(request.state in _S.AdState.values(), "state", f"unknown value {request.state}")
    if request.page_token:
        found.check(
            page_tokens.parse(request.page_token) is not None,
            "page_token",
            "not a token from a previous ListAds answer",
        )
    found.raise_if_any()


def validate_render(request: studio_pb2.RenderAdRequest) -> None:
    found = Violations()
    found.identifier(request.id, "id")
    _check_render(request.options, "options", found)
    found.raise_if_any()


def validate_regenerate(request: studio_pb2.RegenerateSceneRequest) -> None:
    found = Violations()
    found.identifier(request.id, "id")
    found.check(request.scene >= 0, "scene", "must not be negative")
    found.check(request.what in _S.RegenerateWhat.values(), "what", f"unknown value {request.what}")
    found.text(request.hint, "hint", required=False)
    if request.HasField("voice_line"):
        found.text(request.voice_line, "voice_line", required=False)
    found.raise_if_any()


def require(
    ad: studio_pb2.Ad,
    action: str,
    state: studio_pb2.AdState.ValueType,
    step: studio_pb2.AdStep.ValueType | None = None,
) -> None:
    """FAILED_PRECONDITION naming the ad's state unless it is ``state`` (at ``step``)."""
    if ad.state != state or (step is not None and ad.step != step):
        wanted = _S.AdState.Name(state).removeprefix("AD_STATE_")
        if step is not None:
            wanted += f" at step {_S.AdStep.Name(step).removeprefix('AD_STEP_')}"
        raise FailedPrecondition(
            f"ad {ad.id} is {describe_state(ad)}; {action} needs it {wanted}",
            reason="AD_STATE",
        )


def require_media(ad: studio_pb2.Ad, action: str) -> None:
    """FAILED_PRECONDITION unless every scene's media is made: the ad is COMPLETED, or FAILED at
    COMPOSE (a render failed, e.g. on an unreadable brand file; its clips and music are kept, so
    it may be rendered, or a scene regenerated, again)."""
    failed_render = ad.state == _S.AD_STATE_FAILED and ad.step == _S.AD_STEP_COMPOSE
    if ad.state == _S.AD_STATE_COMPLETED or failed_render:
        return
    raise FailedPrecondition(
        f"ad {ad.id} is {describe_state(ad)}; {action} needs it COMPLETED "
        "(or FAILED at step COMPOSE)",
        reason="AD_STATE",
    )


def check_mood(ad: studio_pb2.Ad, mood_id: str) -> None:
    found = Violations()
    ids = [m.id for m in ad.moods]
    if found.check(bool(mood_id.strip()), "mood_id", "must not be empty"):
        found.check(mood_id in ids, "mood_id", f"not one of this ad's moods ({', '.join(ids)})")
    found.raise_if_any()


def check_scene_index(ad: studio_pb2.Ad, scene: int) -> None:
    found = Violations()
    found.range(scene, "scene", 0, len(ad.storyboard) - 1)
    found.raise_if_any()


def edited_storyboard(
    ad: studio_pb2.Ad, scenes: list[studio_pb2.StoryboardScene]
) -> list[common_pb2.Scene]:
    """The storyboard the edit asks for, if it keeps the plan rules (else INVALID_ARGUMENT)."""
    found = Violations()
    result: list[common_pb2.Scene] = []
    for i, edit in enumerate(scenes):
        field = f"scenes[{i}]"
        scene = common_pb2.Scene()
        if edit.HasField("from_scene"):
            if not found.check(
                0 <= edit.from_scene < len(ad.storyboard),
                f"{field}.from_scene",
                f"must be a current scene's index, 0–{len(ad.storyboard) - 1}",
            ):
                continue
            scene.CopyFrom(ad.storyboard[edit.from_scene].scene)
        else:
            found.text(edit.description, f"{field}.description", required=True)
            scene.type = common_pb2.SCENE_TYPE_FEATURE
        for name in ("description", "caption", "camera_motion", "style_prompt"):
            value = getattr(edit, name)
            found.text(value, f"{field}.{name}", required=False, max_chars=MAX_TEXT_CHARS)
            if value:
                setattr(scene, name, value)
        if edit.HasField("voice_line"):
            found.text(edit.voice_line, f"{field}.voice_line", required=False)
            scene.voice_line = edit.voice_line
        for axis in ("focus_x", "focus_y"):
            if edit.HasField(axis):
                found.range(getattr(edit, axis), f"{field}.{axis}", 0, 1)
                setattr(scene, axis, getattr(edit, axis))
        if not scene.style_prompt:
            scene.style_prompt = scene.description
        if edit.description or edit.style_prompt:
            scene.image_prompt = ""  # the planner's was written for the old text; rebuilt here
        scene.duration_seconds = edit.duration_seconds or scene.duration_seconds
        scene.index = i
        result.append(scene)
    found.raise_if_any()
    problems = check_plan(result, ad.options.duration_seconds)
    for problem in problems:
        found.add("scenes", problem)
    found.raise_if_any()
    return result
