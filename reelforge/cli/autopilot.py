"""`reelforge ad`: brief → moods → plan → seed images → clips + music → compose → download."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import JSON, GatewayClient
from reelforge.cli.progress import make_progress, watch_composition, watch_job
from reelforge.cli.storyboard import StoryboardScene, render_storyboard

DEFAULT_TRANSITION_S = 0.5


@dataclass(frozen=True)
class AdOptions:
    brief: JSON
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
    mood: JSON
    scenes: list[JSON]
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


class _Costs:
    def __init__(self) -> None:
        self.estimated = 0
        self.actual = 0

    def add(self, job: JSON) -> None:
        self.estimated += int(job.get("estimatedCostMicros", 0))
        self.actual += int(job.get("actualCostMicros", 0))


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

    def _report_repairs(self, what: str, answer: JSON) -> None:
        """The planner says what it filled in or changed; the user hears it, once per step."""
        repairs = answer.get("repairs") or []
        if repairs:
            fields = ", ".join(str(r.get("field", "?")) for r in repairs[:4])
            more = f" and {len(repairs) - 4} more" if len(repairs) > 4 else ""
            self._console.print(
                f"[dim]planner: {len(repairs)} part(s) of the {what} were repaired or filled in, "
                f"not the model's own ({fields}{more})[/dim]"
            )

    async def _run(self) -> AdResult:
        opts = self._options
        brief = opts.brief
        total_s = float(brief.get("durationSeconds") or 30.0)
        with make_progress(self._console) as progress:
            # Mood directions and one sample image each, to choose from.
            moods_answer = await self._client.post("/api/moods/generate", {"brief": brief})
            self._report_repairs("moods", moods_answer)
            moods = moods_answer["moods"]
            await self._mood_samples(moods, progress)
            mood = self._pick_mood(moods)
            # The storyboard for the chosen mood.
            plan_answer = await self._client.post(
                "/api/scenes/plan", {"brief": brief, "mood": mood, "durationSeconds": total_s}
            )
            self._report_repairs("scene plan", plan_answer)
            scenes: list[JSON] = plan_answer["plan"]["scenes"]
            # One seed image per scene, then clips and music in parallel.
            seeds = await self._seed_images(scenes, mood, progress)
            targets = clip_targets([float(s["durationSeconds"]) for s in scenes], opts.transition_s)
            clips, music = await asyncio.gather(
                self._clips(scenes, seeds, targets, progress),
                self._music(mood, brief, total_s, progress),
            )
            # One render of clips + music at the exact total length.
            composition = await self._compose(clips, targets, music, progress)
        size = await self._client.download(
            f"/api/composition/download/{composition['id']}", opts.output
        )
        storyboard = opts.output.parent / "storyboard.png"
        await self._storyboard(scenes, seeds, mood, storyboard)
        return AdResult(
            output=opts.output,
            size_bytes=size,
            duration_s=float(composition.get("durationSeconds", 0.0)),
            storyboard=storyboard,
            mood=mood,
            scenes=scenes,
            estimated_cost_micros=self._costs.estimated,
            actual_cost_micros=self._costs.actual,
            composition_id=composition["id"],
        )

    async def _job(self, route: str, body: JSON, progress: Progress, label: str) -> JSON:
        job = await self._client.post(route, body)
        self._running_jobs.append(job["id"])
        job = await watch_job(self._client, job, progress, label)
        self._running_jobs.remove(job["id"])
        self._costs.add(job)
        return job

    async def _mood_samples(self, moods: list[JSON], progress: Progress) -> None:
        specs = [
            {
                "prompt": (m.get("imagePrompts") or [m["description"]])[0],
                "colorPalette": m.get("colorPalette", []),
                "caption": m["name"],
            }
            for m in moods
        ]
        job = await self._job(
            "/api/images/generate", self._tiered({"images": specs}), progress, "mood samples"
        )
        for mood, item in zip(moods, job["items"], strict=True):
            mood["images"] = item.get("outputs", [])

    def _pick_mood(self, moods: list[JSON]) -> JSON:
        if self._options.mood is not None:
            if not 1 <= self._options.mood <= len(moods):
                raise CliError(f"--mood must be between 1 and {len(moods)}")
            return moods[self._options.mood - 1]
        if not self._options.interactive:
            return moods[0]
        for i, mood in enumerate(moods, 1):
            self._console.print(f"[bold]{i}. {mood['name']}[/bold] — {mood['description']}")
        choice = self._console.input(f"Pick a mood [1-{len(moods)}, default 1]: ").strip() or "1"
        if not choice.isdigit() or not 1 <= int(choice) <= len(moods):
            raise CliError(f"not a mood number: {choice!r}")
        return moods[int(choice) - 1]

    async def _seed_images(self, scenes: list[JSON], mood: JSON, progress: Progress) -> list[str]:
        style = ", ".join(mood.get("styleKeywords", []))
        specs = [
            {
                "prompt": f"{s['stylePrompt']}. {mood.get('aestheticDirection', '')} Style: {style}. Vertical 9:16.",
                "colorPalette": mood.get("colorPalette", []),
                "caption": s.get("caption") or s["description"][:120],
                "seed": 1000 + i,
            }
            for i, s in enumerate(scenes)
        ]
        job = await self._job(
            "/api/images/generate", self._tiered({"images": specs}), progress, "seed images"
        )
        return [item["outputs"][0]["id"] for item in job["items"]]

    async def _clips(
        self, scenes: list[JSON], seeds: list[str], targets: list[float], progress: Progress
    ) -> list[str]:
        specs = [
            {
                "prompt": s["stylePrompt"],
                "image": seed,
                # Round up to the centisecond so a clip is never shorter than its target.
                "durationSeconds": math.ceil(target * 100) / 100,
                "cameraMotion": s.get("cameraMotion", ""),
                "seed": 2000 + i,
            }
            for i, (s, seed, target) in enumerate(zip(scenes, seeds, targets, strict=True))
        ]
        job = await self._job(
            "/api/video/generate", self._tiered({"clips": specs}), progress, "clips"
        )
        return [item["outputs"][0]["id"] for item in job["items"]]

    async def _music(self, mood: JSON, brief: JSON, total_s: float, progress: Progress) -> str:
        prompt = f"Instrumental background music, {brief.get('tone', '')}, {', '.join(mood.get('styleKeywords', []))}"
        body = self._tiered({"prompt": prompt, "durationSeconds": total_s, "seed": 7})
        job = await self._job("/api/audio/generate", body, progress, "music")
        return str(job["items"][0]["outputs"][0]["id"])

    async def _compose(
        self, clips: list[str], targets: list[float], music: str, progress: Progress
    ) -> JSON:
        body = self._tiered({
            "clips": [{"source": c, "targetDurationSeconds": t} for c, t in zip(clips, targets, strict=True)],
            "music": music,
            "transition": "fade",
            "transitionSeconds": self._options.transition_s,
            "holdLastFrame": True,
            "height": self._options.height,
            "fps": self._options.fps,
        })  # fmt: skip
        composition = await self._client.post("/api/composition/compose", body)
        self._running_composition = composition["id"]
        composition = await watch_composition(self._client, composition, progress)
        self._running_composition = ""
        return composition

    def _tiered(self, body: JSON) -> JSON:
        return {**body, "tier": self._options.tier}

    async def _storyboard(
        self, scenes: list[JSON], seeds: list[str], mood: JSON, dest: Path
    ) -> None:
        folder = dest.parent / "seeds"
        entries = []
        for i, (scene, seed) in enumerate(zip(scenes, seeds, strict=True)):
            path = folder / f"scene-{i + 1}.png"
            await self._client.download(f"/api/artifacts/{seed}", path)
            entries.append(
                StoryboardScene(i + 1, float(scene["durationSeconds"]), scene["description"], path)
            )
        await asyncio.to_thread(render_storyboard, entries, dest, f"Storyboard - {mood['name']}")

    async def _cancel_running(self) -> None:
        """Ctrl-C: cancel what is still running upstream so nothing keeps costing money."""
        for job_id in self._running_jobs:
            await _quietly(self._client.post(f"/api/jobs/{job_id}/cancel", {}))
        if self._running_composition:
            await _quietly(
                self._client.post(f"/api/composition/{self._running_composition}/cancel", {})
            )


async def _quietly(call: Any) -> None:
    with contextlib.suppress(CliError):
        await call
