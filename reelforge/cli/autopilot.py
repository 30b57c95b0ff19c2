"""`reelforge ad`: brief → moods → plan → seed images → clips + music → compose → download."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from rich.console import Console
from rich.progress import Progress

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import JSON, GatewayClient, to_json
from reelforge.cli.progress import make_progress, watch_composition, watch_job
from reelforge.cli.storyboard import StoryboardScene, render_storyboard
from reelforge.v1 import common_pb2, composer_pb2, generator_pb2, planner_pb2

DEFAULT_TRANSITION_S = 0.5
DEFAULT_DURATION_S = 30.0
_SEED_IMAGE_SEED = 1000  # + the scene's position: reproducible seed images
_CLIP_SEED = 2000
_MUSIC_SEED = 7
_Tiered = (
    generator_pb2.GenerateImagesRequest
    | generator_pb2.GenerateClipsRequest
    | generator_pb2.GenerateMusicRequest
    | composer_pb2.ComposeRequest
)


@dataclass(frozen=True)
class AdOptions:
    brief: JSON  # CreativeBrief in the gateway's JSON (see brief_input)
    output: Path
    mood: int | None = None  # 1-based; None → ask on a TTY, else the first
    tier: str = "TIER_UNSPECIFIED"
    transition_s: float = DEFAULT_TRANSITION_S
    height: int = 0  # 0 → the composer's default for the tier
    fps: int = 0  # 0 → 30
    interactive: bool = False


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


def clip_targets(durations: list[float], transition_s: float) -> list[float]:
    """Per-clip lengths whose crossfaded total equals the plan's total exactly.

    The composer's output is Σ targets − (n−1)·transition; spreading the (n−1)
    overlaps evenly over the n clips keeps every scene close to its planned length.
    """
    n = len(durations)
    extra = transition_s * (n - 1) / n if n else 0.0
    return [d + extra for d in durations]


def seed_image_specs(
    scenes: Sequence[common_pb2.Scene], palette: Sequence[str]
) -> list[generator_pb2.ImageSpec]:
    """One seed image per scene, from the prompt the planner wrote for it."""
    return [
        generator_pb2.ImageSpec(
            prompt=scene.image_prompt,
            color_palette=palette,
            caption=scene.caption or scene.description[:120],
            seed=_SEED_IMAGE_SEED + i,
        )
        for i, scene in enumerate(scenes)
    ]


def clip_specs(
    scenes: Sequence[common_pb2.Scene], seeds: Sequence[str], targets: Sequence[float]
) -> list[generator_pb2.ClipSpec]:
    """One clip per scene from its seed image, at least as long as its target."""
    return [
        generator_pb2.ClipSpec(
            prompt=scene.style_prompt,
            image=seed,
            # Round up to the centisecond so a clip is never shorter than its target.
            duration_seconds=math.ceil(target * 100) / 100,
            camera_motion=scene.camera_motion,
            seed=_CLIP_SEED + i,
        )
        for i, (scene, seed, target) in enumerate(zip(scenes, seeds, targets, strict=True))
    ]


class _Costs:
    def __init__(self) -> None:
        self.estimated = 0
        self.actual = 0

    def add(self, job: generator_pb2.Job) -> None:
        self.estimated += job.estimated_cost_micros
        self.actual += job.actual_cost_micros


class Autopilot:
    """Runs the pipeline through the gateway, cancelling its running work if interrupted."""

    def __init__(self, client: GatewayClient, options: AdOptions, console: Console) -> None:
        self._client = client
        self._options = options
        self._console = console
        self._costs = _Costs()
        self._running_jobs: list[str] = []
        self._running_composition = ""

    async def run(self) -> AdResult:
        try:
            return await self._run()
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_running())
            raise

    def _report_repairs(self, what: str, repairs: Sequence[planner_pb2.Repair]) -> None:
        """The planner says what it filled in or changed; the user hears it, once per step."""
        if repairs:
            fields = ", ".join(r.field or "?" for r in repairs[:4])
            more = f" and {len(repairs) - 4} more" if len(repairs) > 4 else ""
            self._console.print(
                f"[dim]planner: {len(repairs)} part(s) of the {what} were repaired or filled in, "
                f"not the model's own ({fields}{more})[/dim]"
            )

    async def _run(self) -> AdResult:
        opts = self._options
        brief = _brief(opts.brief)
        total_s = brief.duration_seconds or DEFAULT_DURATION_S
        with make_progress(self._console) as progress:
            # Mood directions and one sample image each, to choose from.
            moods_answer = await self._client.post_as(
                "/api/moods/generate",
                planner_pb2.GenerateMoodsRequest(brief=brief),
                planner_pb2.GenerateMoodsResponse,
            )
            self._report_repairs("moods", moods_answer.repairs)
            moods = list(moods_answer.moods)
            await self._mood_samples(moods, progress)
            mood = self._pick_mood(moods)
            # The storyboard for the chosen mood; the planner writes every prompt in it.
            plan_answer = await self._client.post_as(
                "/api/scenes/plan",
                planner_pb2.PlanScenesRequest(brief=brief, mood=mood, duration_seconds=total_s),
                planner_pb2.PlanScenesResponse,
            )
            self._report_repairs("scene plan", plan_answer.repairs)
            plan = plan_answer.plan
            scenes = list(plan.scenes)
            # One seed image per scene, then clips and music in parallel.
            seeds = await self._seed_images(scenes, mood, progress)
            targets = clip_targets([s.duration_seconds for s in scenes], opts.transition_s)
            clips, music = await asyncio.gather(
                self._clips(scenes, seeds, targets, progress),
                self._music(plan.music_prompt, total_s, progress),
            )
            # One render of clips + music at the exact total length.
            composition = await self._compose(clips, targets, music, progress)
        size = await self._client.download(
            f"/api/composition/download/{composition.id}", opts.output
        )
        storyboard = opts.output.parent / "storyboard.png"
        await self._storyboard(scenes, seeds, mood, storyboard)
        return AdResult(
            output=opts.output,
            size_bytes=size,
            duration_s=composition.duration_seconds,
            storyboard=storyboard,
            mood=mood,
            scenes=scenes,
            estimated_cost_micros=self._costs.estimated,
            actual_cost_micros=self._costs.actual,
            composition_id=composition.id,
        )

    async def _job(
        self, route: str, body: JSON, progress: Progress, label: str
    ) -> generator_pb2.Job:
        job = await self._client.post_as(route, body, generator_pb2.Job)
        self._running_jobs.append(job.id)
        job = await watch_job(self._client, job, progress, label)
        self._running_jobs.remove(job.id)
        self._costs.add(job)
        return job

    async def _images(
        self, specs: Sequence[generator_pb2.ImageSpec], progress: Progress, label: str
    ) -> generator_pb2.Job:
        request = generator_pb2.GenerateImagesRequest(images=specs)
        return await self._job("/api/images/generate", self._tiered(request), progress, label)

    async def _mood_samples(self, moods: list[common_pb2.Mood], progress: Progress) -> None:
        specs = [
            generator_pb2.ImageSpec(
                prompt=(list(m.image_prompts) or [m.description])[0],
                color_palette=m.color_palette,
                caption=m.name,
            )
            for m in moods
        ]
        job = await self._images(specs, progress, "mood samples")
        for mood, item in zip(moods, job.items, strict=True):
            mood.images.extend(item.outputs)

    def _pick_mood(self, moods: list[common_pb2.Mood]) -> common_pb2.Mood:
        if self._options.mood is not None:
            if not 1 <= self._options.mood <= len(moods):
                raise CliError(f"--mood must be between 1 and {len(moods)}")
            return moods[self._options.mood - 1]
        if not self._options.interactive:
            return moods[0]
        for i, mood in enumerate(moods, 1):
            self._console.print(f"[bold]{i}. {mood.name}[/bold] — {mood.description}")
        choice = self._console.input(f"Pick a mood [1-{len(moods)}, default 1]: ").strip() or "1"
        if not choice.isdigit() or not 1 <= int(choice) <= len(moods):
            raise CliError(f"not a mood number: {choice!r}")
        return moods[int(choice) - 1]

    async def _seed_images(
        self, scenes: list[common_pb2.Scene], mood: common_pb2.Mood, progress: Progress
    ) -> list[str]:
        job = await self._images(
            seed_image_specs(scenes, mood.color_palette), progress, "seed images"
        )
        return [item.outputs[0].id for item in job.items]

    async def _clips(
        self,
        scenes: list[common_pb2.Scene],
        seeds: list[str],
        targets: list[float],
        progress: Progress,
    ) -> list[str]:
        request = generator_pb2.GenerateClipsRequest(clips=clip_specs(scenes, seeds, targets))
        job = await self._job("/api/video/generate", self._tiered(request), progress, "clips")
        return [item.outputs[0].id for item in job.items]

    async def _music(self, prompt: str, total_s: float, progress: Progress) -> str:
        request = generator_pb2.GenerateMusicRequest(
            prompt=prompt, duration_seconds=total_s, seed=_MUSIC_SEED
        )
        job = await self._job("/api/audio/generate", self._tiered(request), progress, "music")
        return job.items[0].outputs[0].id

    async def _compose(
        self, clips: list[str], targets: list[float], music: str, progress: Progress
    ) -> composer_pb2.Composition:
        request = composer_pb2.ComposeRequest(
            clips=[
                composer_pb2.ClipInput(source=c, target_duration_seconds=t)
                for c, t in zip(clips, targets, strict=True)
            ],
            music=music,
            transition="fade",
            transition_seconds=self._options.transition_s,
            hold_last_frame=True,
            height=self._options.height,
            fps=self._options.fps,
        )
        composition = await self._client.post_as(
            "/api/composition/compose", self._tiered(request), composer_pb2.Composition
        )
        self._running_composition = composition.id
        composition = await watch_composition(self._client, composition, progress)
        self._running_composition = ""
        return composition

    def _tiered(self, request: _Tiered) -> JSON:
        """The request's JSON at the chosen tier."""
        request.tier = common_pb2.Tier.Value(self._options.tier)
        return to_json(request)

    async def _storyboard(
        self,
        scenes: list[common_pb2.Scene],
        seeds: list[str],
        mood: common_pb2.Mood,
        dest: Path,
    ) -> None:
        folder = dest.parent / "seeds"
        entries = []
        for i, (scene, seed) in enumerate(zip(scenes, seeds, strict=True)):
            path = folder / f"scene-{i + 1}.png"
            await self._client.download(f"/api/artifacts/{seed}", path)
            entries.append(StoryboardScene(i + 1, scene.duration_seconds, scene.description, path))
        await asyncio.to_thread(render_storyboard, entries, dest, f"Storyboard - {mood.name}")

    async def _cancel_running(self) -> None:
        """Ctrl-C: cancel what is still running upstream so nothing keeps costing money."""
        for job_id in self._running_jobs:
            await _quietly(self._client.post(f"/api/jobs/{job_id}/cancel", {}))
        if self._running_composition:
            await _quietly(
                self._client.post(f"/api/composition/{self._running_composition}/cancel", {})
            )


def _brief(data: JSON) -> common_pb2.CreativeBrief:
    try:
        return json_format.ParseDict(data, common_pb2.CreativeBrief())
    except json_format.ParseError as error:
        raise CliError(f"brief: {error}") from None


async def _quietly(call: Any) -> None:
    with contextlib.suppress(CliError):
        await call
