"""`reelforge ad`: the studio makes the ad (CreateAd); the CLI follows it (WatchAd), answers the
mood choice when the user makes one, and downloads the render, its subtitle files and the seed images.

Nothing here plans, prompts or runs a pipeline step: the ad is the studio's. An interrupted
run cancels the ad (CancelAd), so nothing keeps running or costing; with ``detach`` it is
left running and the caller is told its id (``Detached``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import json_format
from rich.console import Console

from reelforge.cli.ad_api import AdApi, download_subtitles, render_options
from reelforge.cli.errors import CliError, Detached
from reelforge.cli.gateway_client import JSON, GatewayClient
from reelforge.cli.storyboard import StoryboardScene, render_storyboard
from reelforge.cli.watch import follow
from reelforge.v1 import common_pb2, studio_pb2

_S = studio_pb2


@dataclass(frozen=True)
class AdOptions:
    brief: JSON  # CreativeBrief in the gateway's JSON (see brief_input)
    output: Path
    mood: int | None = None  # 1-based; None → ask on a TTY, else the first
    tier: str = "TIER_UNSPECIFIED"
    transition_s: float | None = None  # crossfade seconds; None → the studio's default
    height: int = 0  # 0 → the composer's default for the tier
    fps: int = 0  # 0 → 30
    interactive: bool = False
    duration_s: float = 0.0  # 0 → the brief's duration (else 30)
    detach: bool = False  # interrupted: leave the ad running (Detached) instead of canceling it
    voice: bool = True  # a voice-over (when the plan has lines); False → none, scene captions
    captions: str | None = None  # "words", "scenes" or "off"; None → the studio's default
    platform: str = ""  # where the ad runs (captions' safe zone); "" → the studio's default


@dataclass
class AdResult:
    output: Path
    size_bytes: int
    duration_s: float
    storyboard: Path
    mood: common_pb2.Mood
    scenes: list[common_pb2.Scene]
    estimated_cost_micros: int = 0
    actual_cost_micros: int = 0
    composition_id: str = ""
    ad_id: str = ""
    subtitles: list[Path] = field(default_factory=list)  # SRT, WebVTT beside the MP4


class Autopilot:
    """One ad through the studio: ``run`` creates it, ``resume`` re-attaches to one."""

    def __init__(self, client: GatewayClient, options: AdOptions, console: Console) -> None:
        self._client = client
        self._api = AdApi(client)
        self._options = options
        self._console = console
        self.ad_id = ""

    async def run(self) -> AdResult:
        request = _S.CreateAdRequest(
            brief=_brief(self._options.brief),
            options=self._ad_options(),
            request_id=uuid.uuid4().hex,
        )
        creating = asyncio.ensure_future(self._api.create(request))
        try:
            ad = await asyncio.shield(creating)
        except asyncio.CancelledError:
            # Interrupted mid-call: the studio may have made the ad; its answer says which.
            with contextlib.suppress(CliError):
                self.ad_id = (await creating).id
            await self._interrupted()
            raise
        self._console.print(f"ad {ad.id} (re-attach: reelforge ad --resume {ad.id})")
        return await self.resume(ad.id)

    async def resume(self, ad_id: str) -> AdResult:
        """Follows the ad to its end, then fetches its newest render and seed images."""
        self.ad_id = ad_id
        try:
            ad = await follow(self._client, ad_id, self._console, self._answer_gate)
        except asyncio.CancelledError:
            await self._interrupted()
            raise
        return await self._result(ad)

    def _ad_options(self) -> studio_pb2.AdOptions:
        opts = self._options
        # The studio takes the first mood by itself; any other choice is made at the gate.
        choose = opts.mood not in (None, 1) or (opts.mood is None and opts.interactive)
        return _S.AdOptions(
            duration_seconds=opts.duration_s,
            tier=common_pb2.Tier.Value(opts.tier),
            gate_mood=choose,
            render=render_options(
                opts.height, opts.fps, opts.transition_s, opts.captions, opts.platform
            ),
            voice=None if opts.voice else False,  # unset: the studio's default (on)
        )

    async def _answer_gate(self, ad: studio_pb2.Ad) -> None:
        if ad.step != _S.AD_STEP_CHOOSE_MOOD:
            step = _S.AdStep.Name(ad.step).removeprefix("AD_STEP_")
            raise CliError(
                f"ad {ad.id} waits at {step}, which the CLI does not answer "
                "(approve its storyboard in the web studio or through the REST API)"
            )
        mood = self._pick_mood(ad)
        await self._api.choose_mood(ad.id, mood.id)

    def _pick_mood(self, ad: studio_pb2.Ad) -> common_pb2.Mood:
        moods = list(ad.moods)
        retry = f"the ad waits for it: reelforge ad --resume {ad.id} --mood N"
        if self._options.mood is not None:
            if not 1 <= self._options.mood <= len(moods):
                raise CliError(f"--mood must be between 1 and {len(moods)} ({retry})")
            return moods[self._options.mood - 1]
        if not self._options.interactive:
            raise CliError(f"ad {ad.id} waits for a mood choice ({retry})")
        for i, mood in enumerate(moods, 1):
            self._console.print(f"[bold]{i}. {mood.name}[/bold] — {mood.description}")
        choice = self._console.input(f"Pick a mood [1-{len(moods)}, default 1]: ").strip() or "1"
        if not choice.isdigit() or not 1 <= int(choice) <= len(moods):
            raise CliError(f"not a mood number: {choice!r} ({retry})")
        return moods[int(choice) - 1]

    async def _interrupted(self) -> None:
        """Ctrl-C (or a cancelled task): the ad stops costing money, unless detaching."""
        if not self.ad_id:
            return
        if self._options.detach:
            raise Detached(self.ad_id)
        with contextlib.suppress(CliError):  # already finished: nothing to stop
            await asyncio.shield(self._api.cancel(self.ad_id))
            self._console.print(f"ad {self.ad_id} canceled")

    async def _result(self, ad: studio_pb2.Ad) -> AdResult:
        if ad.state != _S.AD_STATE_COMPLETED:
            step = _S.AdStep.Name(ad.step).removeprefix("AD_STEP_")
            state = _S.AdState.Name(ad.state).removeprefix("AD_STATE_").lower()
            raise CliError(f"ad {ad.id} {state} at step {step}: {ad.error or 'no reason given'}")
        render = ad.renders[-1]
        output = self._options.output
        size = await self._client.download(render.download_uri, output)
        subtitles = await download_subtitles(self._client, render, output)
        mood = chosen_mood(ad)
        storyboard = output.parent / "storyboard.png"
        await self._storyboard(ad, mood, storyboard)
        return AdResult(
            output=output,
            size_bytes=size,
            duration_s=render.duration_seconds,
            storyboard=storyboard,
            mood=mood,
            scenes=[s.scene for s in ad.storyboard],
            estimated_cost_micros=ad.estimated_cost_micros,
            actual_cost_micros=ad.actual_cost_micros,
            composition_id=render.composition_id,
            ad_id=ad.id,
            subtitles=subtitles,
        )

    async def _storyboard(self, ad: studio_pb2.Ad, mood: common_pb2.Mood, dest: Path) -> None:
        folder = dest.parent / "seeds"
        entries = []
        for i, scene in enumerate(ad.storyboard, 1):
            path = folder / f"scene-{i}.png"
            await self._client.download(f"/api/artifacts/{scene.seed_image.id}", path)
            entries.append(
                StoryboardScene(i, scene.scene.duration_seconds, scene.scene.description, path)
            )
        await asyncio.to_thread(render_storyboard, entries, dest, f"Storyboard - {mood.name}")


def chosen_mood(ad: studio_pb2.Ad) -> common_pb2.Mood:
    return next((m for m in ad.moods if m.id == ad.chosen_mood_id), common_pb2.Mood())


def _brief(data: JSON) -> common_pb2.CreativeBrief:
    try:
        return json_format.ParseDict(data, common_pb2.CreativeBrief())
    except json_format.ParseError as error:
        raise CliError(f"brief: {error}") from None
