"""The ad's steps as persisted states, run server-side.

moods + samples → (gate: choose mood) → plan → (gate: approve storyboard) → seed images →
clips + music (in parallel) → compose → done; RegenerateScene adds regenerate → compose.
The voice-over (one line per scene that has one) starts beside the seed images, once the plan
is final, and is awaited beside the clips and music: it never waits for a picture.

Each step is idempotent across restarts: a generator job's id is written to the step's
record (``Ad.steps[-1].job_ids``, in a fixed order per step) before the step waits for it, and
a composition's id to the render it makes; a resumed step re-attaches to the ids it finds
instead of starting (and paying for) the work again. A step's results and the move to the
next step are one write, so a crash never leaves a step half-finished in the record.

The one gap, "create sent, id not saved yet": a Compose carries a request id (the composer
returns the composition already made for it); a generator create is marked before it is sent
(``mark_call``), and a resumed step that finds the mark sends it again through ``Children``,
which first waits out the jobs the earlier attempt may have made (see children.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from google.protobuf import timestamp_pb2

from reelforge.v1 import composer_pb2, generator_pb2, planner_pb2, studio_pb2
from services.studio import prompts, renders
from services.studio.children import COMPOSITION_TERMINAL, ChildRefused, Children, JobRequest
from services.studio.clips_ahead import ClipsAhead

S = studio_pb2
Mutation = Callable[[studio_pb2.Ad], None]
_DEFAULT_MOODS = 3


class StepFailed(Exception):
    """A step cannot go on (a job failed, the cost cap): the ad fails with this message."""


class AdWriter(Protocol):
    """Reads the ad, and writes a change to it while this process runs it (fenced by its lease)."""

    async def read(self, ad_id: str) -> studio_pb2.Ad: ...

    async def write(self, ad_id: str, mutate: Mutation) -> studio_pb2.Ad: ...

    async def mark_call(self, ad_id: str) -> float | None: ...


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def enter(
    ad: studio_pb2.Ad,
    step: studio_pb2.AdStep.ValueType,
    state: studio_pb2.AdState.ValueType = S.AD_STATE_RUNNING,
) -> None:
    """Ends the current step's record and starts ``step``'s."""
    if ad.steps and not ad.steps[-1].HasField("finished_at"):
        ad.steps[-1].finished_at.CopyFrom(_now())
    ad.step = step
    ad.state = state
    ad.steps.add(step=step, started_at=_now())
    if step == S.AD_STEP_COMPOSE:
        _close_unfinished(ad)
        ad.renders.extend(renders.planned(ad, _now()))
    if state == S.AD_STATE_COMPLETED:
        ad.completed_at.CopyFrom(_now())
    elif state == S.AD_STATE_RUNNING:
        ad.ClearField("completed_at")


def _close_unfinished(ad: studio_pb2.Ad) -> None:
    """Marks the renders a failed compose step left unfinished (not started, or not waited
    for) as canceled, so the next compose step, which makes every unfinished render, does not
    take them up again."""
    for render in ad.renders:
        if render.state not in COMPOSITION_TERMINAL:
            render.state = composer_pb2.COMPOSITION_STATE_CANCELED
            render.error = render.error or "not finished: its compose step failed"


def end(ad: studio_pb2.Ad, state: studio_pb2.AdState.ValueType, error: str = "") -> None:
    """Ends the ad's run: FAILED (with the step's error) or CANCELED."""
    record = ad.steps[-1] if ad.steps else ad.steps.add(step=ad.step)
    record.error = error
    if not record.HasField("finished_at"):
        record.finished_at.CopyFrom(_now())
    ad.state = state
    ad.error = error
    ad.completed_at.CopyFrom(_now())


def _add_cost(ad: studio_pb2.Ad, job: generator_pb2.Job) -> None:
    ad.actual_cost_micros += job.actual_cost_micros


def _succeeded(job: generator_pb2.Job, what: str) -> generator_pb2.Job:
    if job.state != generator_pb2.JOB_STATE_SUCCEEDED:
        state = generator_pb2.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()
        raise StepFailed(f"{what} job {job.id} {state}: {job.error or 'no reason given'}")
    return job


class Pipeline:
    """Runs one ad's steps until it completes, fails, or stops at a gate."""

    def __init__(self, children: Children, store: AdWriter) -> None:
        self._children = children
        self._store = store
        self._steps: dict[int, Callable[[studio_pb2.Ad], Awaitable[None]]] = {
            S.AD_STEP_MOODS: self._moods,
            S.AD_STEP_PLAN: self._plan,
            S.AD_STEP_SEED_IMAGES: self._seed_images,
            S.AD_STEP_CLIPS_AND_MUSIC: self._clips_and_music,
            S.AD_STEP_REGENERATE: self._regenerate,
            S.AD_STEP_COMPOSE: self._compose,
        }

    async def run(self, ad_id: str) -> None:
        while True:
            ad = await self._store.read(ad_id)
            if ad.state != S.AD_STATE_RUNNING:
                return
            step = self._steps.get(ad.step)
            try:
                if step is None:
                    raise StepFailed(f"step {S.AdStep.Name(ad.step)} cannot run")
                await step(ad)
            except (StepFailed, ChildRefused) as error:
                await self._fail(ad_id, str(error))
                return

    async def _fail(self, ad_id: str, message: str) -> None:
        await self._store.write(ad_id, lambda a: end(a, S.AD_STATE_FAILED, message))

    # Steps.

    async def _moods(self, ad: studio_pb2.Ad) -> None:
        if not ad.moods:
            count = ad.options.mood_count or _DEFAULT_MOODS
            answer = await self._children.moods(
                planner_pb2.GenerateMoodsRequest(brief=ad.brief, count=count)
            )
            ad = await self._store.write(ad.id, lambda a: a.moods.extend(answer.moods))
        specs = [prompts.mood_sample(m, i) for i, m in enumerate(ad.moods)]
        await self._afford(ad, [self._images(specs)])
        job = await self._job(ad.id, 0, "mood samples", self._images(specs))

        def done(a: studio_pb2.Ad) -> None:
            for mood, item in zip(a.moods, job.items, strict=True):
                mood.images.extend(item.outputs[:1])
            _add_cost(a, job)
            if a.options.gate_mood:
                enter(a, S.AD_STEP_CHOOSE_MOOD, S.AD_STATE_AWAITING_INPUT)
            else:
                a.chosen_mood_id = a.moods[0].id
                enter(a, S.AD_STEP_PLAN)

        await self._store.write(ad.id, done)

    async def _plan(self, ad: studio_pb2.Ad) -> None:
        mood = prompts.chosen_mood(ad)
        answer = await self._children.plan(
            planner_pb2.PlanScenesRequest(
                brief=ad.brief, mood=mood, duration_seconds=ad.options.duration_seconds
            )
        )

        def done(a: studio_pb2.Ad) -> None:
            del a.storyboard[:]
            for scene in answer.plan.scenes:
                a.storyboard.add(scene=scene)
            a.music_prompt = answer.plan.music_prompt or prompts.music_prompt(a.brief, mood)
            if a.options.gate_storyboard:
                enter(a, S.AD_STEP_APPROVE_STORYBOARD, S.AD_STATE_AWAITING_INPUT)
            else:
                enter(a, S.AD_STEP_SEED_IMAGES)

        await self._store.write(ad.id, done)

    async def _seed_images(self, ad: studio_pb2.Ad) -> None:
        specs = [prompts.scene_image(ad, i) for i in range(len(ad.storyboard))]
        lines = [ad.storyboard[i].scene.voice_line for i in prompts.voiced_scenes(ad)]
        voice_for = [self._voice(lines)] if lines else []
        await self._afford(ad, [self._images(specs), *voice_for])
        images_id = await self._start(ad.id, 0, self._images(specs))
        # The voice job's id is the step's second; the clips step waits for it.
        voice_id = await self._start(ad.id, 1, voice_for[0]) if voice_for else ""
        job = await self._wait(images_id, "seed images")

        def done(a: studio_pb2.Ad) -> None:
            a.voice_job_id = voice_id
            for scene, item in zip(a.storyboard, job.items, strict=True):
                scene.versions.add(
                    number=1,
                    image=item.outputs[0],
                    image_job_id=job.id,
                    actual_cost_micros=item.actual_cost_micros,
                    created_at=_now(),
                )
                scene.seed_image.CopyFrom(item.outputs[0])
                scene.actual_cost_micros += item.actual_cost_micros
            _add_cost(a, job)
            enter(a, S.AD_STEP_CLIPS_AND_MUSIC)

        await self._store.write(ad.id, done)

    async def _clips_and_music(self, ad: studio_pb2.Ad) -> None:
        # Chained: each clip ends on the next scene's seed image (prompts.scene_clip).
        specs = [prompts.scene_clip(ad, i, s.seed_image.id) for i, s in enumerate(ad.storyboard)]
        clips_for, music_for = self._clips(specs), self._music(prompts.music(ad))
        # The voice-over is the seed images step's, except after ResumeAd, which starts it
        # again here (the step's third job) unless it had succeeded.
        lines = [ad.storyboard[i].scene.voice_line for i in prompts.voiced_scenes(ad)]
        voice_for = [self._voice(lines)] if lines and not ad.voice_job_id else []
        await self._afford(ad, [clips_for, music_for, *voice_for])
        # Every job is started (and its id written) before any is waited for.
        clips_id = await self._start(ad.id, 0, clips_for)
        music_id = await self._start(ad.id, 1, music_for)
        voice_id = await self._start(ad.id, 2, voice_for[0]) if voice_for else ad.voice_job_id
        # Each clip's pieces are encoded as it lands (clips_ahead.py), so the Compose is a join.
        ahead = ClipsAhead(self._children, ad, voice_id, _with_voice)
        try:
            clips, music, voice = await asyncio.gather(
                self._wait(clips_id, "clips", ahead.on_snapshot),
                self._wait(music_id, "music"),
                self._voice_job(voice_id),
            )
        except BaseException:
            await ahead.finish(wait=False)
            raise
        await ahead.finish(wait=True)

        def done(a: studio_pb2.Ad) -> None:
            a.voice_job_id = voice_id
            for scene, item in zip(a.storyboard, clips.items, strict=True):
                version = scene.versions[-1]
                version.clip.CopyFrom(item.outputs[0])
                version.clip_job_id = clips.id
                version.actual_cost_micros += item.actual_cost_micros
                scene.clip.CopyFrom(item.outputs[0])
                scene.actual_cost_micros += item.actual_cost_micros
            a.music.CopyFrom(music.items[0].outputs[0])
            a.music_job_id = music.id
            _add_cost(a, clips)
            _add_cost(a, music)
            if voice is not None:
                _with_voice(a, voice)
                for index, item in zip(prompts.voiced_scenes(a), voice.items, strict=True):
                    a.storyboard[index].actual_cost_micros += item.actual_cost_micros
                _add_cost(a, voice)
            enter(a, S.AD_STEP_COMPOSE)

        await self._store.write(ad.id, done)

    async def _regenerate(self, ad: studio_pb2.Ad) -> None:
        reg = ad.regeneration
        index, what = reg.scene, reg.what or S.REGENERATE_WHAT_BOTH
        current = ad.storyboard[index]
        number = len(current.versions) + 1
        remake_image = what in (S.REGENERATE_WHAT_IMAGE, S.REGENERATE_WHAT_BOTH)
        remake_clip = what in (S.REGENERATE_WHAT_CLIP, S.REGENERATE_WHAT_BOTH)
        line = reg.voice_line if reg.HasField("voice_line") else current.scene.voice_line
        remake_voice = (
            prompts.voice_on(ad)
            and bool(line.strip())
            and (what == S.REGENERATE_WHAT_VOICE or reg.HasField("voice_line"))
        )
        image_for = self._images([prompts.scene_image(ad, index, number, reg.hint)])

        def clip_for(image_id: str) -> JobFor:
            return self._clips([prompts.scene_clip(ad, index, image_id, number, reg.hint)])

        # The new clip's seed image is not made yet; the current one prices it the same.
        planned = [image_for] * remake_image + [clip_for(current.seed_image.id)] * remake_clip
        planned += [self._voice([line])] * remake_voice
        await self._afford(ad, planned)
        slot = 0
        image, image_job = current.seed_image, None
        if remake_image:
            image_job = await self._job(ad.id, slot, "scene image", image_for)
            image = image_job.items[0].outputs[0]
            slot += 1
        clip, clip_job = current.clip, None
        if remake_clip:
            clip_job = await self._job(ad.id, slot, "scene clip", clip_for(image.id))
            clip = clip_job.items[0].outputs[0]
            slot += 1
        voice_job = None
        if remake_voice:
            voice_job = await self._job(ad.id, slot, "scene voice", self._voice([line]))

        def done(a: studio_pb2.Ad) -> None:
            scene = a.storyboard[index]
            version = scene.versions.add(
                number=number, image=image, clip=clip, hint=reg.hint, created_at=_now()
            )
            version.voice_line, version.voice_job_id = line, scene.voice_job_id
            version.voice.CopyFrom(scene.voice)
            jobs = ((image_job, "image_job_id"), (clip_job, "clip_job_id"))
            for job, field in jobs:
                if job is not None:
                    setattr(version, field, job.id)
                    version.actual_cost_micros += job.actual_cost_micros
                    _add_cost(a, job)
            scene.scene.voice_line = line
            if voice_job is not None:
                _keep_voice(scene, voice_job, voice_job.items[0])
                _add_cost(a, voice_job)
            elif not line.strip():
                _keep_voice(scene, None, None)  # the line was removed: nothing is spoken
            scene.seed_image.CopyFrom(image)
            scene.clip.CopyFrom(clip)
            scene.actual_cost_micros += version.actual_cost_micros
            a.ClearField("regeneration")
            enter(a, S.AD_STEP_COMPOSE)

        await self._store.write(ad.id, done)

    async def _compose(self, ad: studio_pb2.Ad) -> None:
        """Starts a composition for every render of this step (platforms × cut-downs), then
        waits for them all: the ad completes when every one has, else fails with the first
        failure (the others are kept)."""
        batch = [r.number for r in ad.renders if r.state not in COMPOSITION_TERMINAL]
        ids = [await self._start_render(ad, number) for number in batch]
        compositions = await asyncio.gather(*(self._children.wait_composition(i) for i in ids))

        def done(a: studio_pb2.Ad) -> None:
            for number, composition in zip(batch, compositions, strict=True):
                _fill_render(a.renders[number - 1], composition)
            failed = [
                c for c in compositions if c.state != composer_pb2.COMPOSITION_STATE_COMPLETED
            ]
            if failed:
                end(a, S.AD_STATE_FAILED, f"render {failed[0].id}: {failed[0].error}")
            else:
                enter(a, S.AD_STEP_DONE, S.AD_STATE_COMPLETED)

        await self._store.write(ad.id, done)

    async def _start_render(self, ad: studio_pb2.Ad, number: int) -> str:
        """Render ``number``'s composition id: started (and written) unless on record."""
        render = ad.renders[number - 1]
        if render.composition_id:
            return render.composition_id
        request = prompts.compose(ad, render)
        # The composer answers a repeated request id with the composition it made: a
        # restart between the call and the write below never renders twice.
        request.request_id = f"studio-{ad.id}-render-{number}"
        started = await self._children.compose(request)

        def record(a: studio_pb2.Ad) -> None:
            kept = a.renders[number - 1]
            if not kept.cut:  # a full render's timeline is the one the scenes show
                starts = prompts.voice_starts(a, kept)
                for scene, start in zip(a.storyboard, starts, strict=True):
                    scene.voice_start_seconds = start if scene.voice.id else 0.0
            kept.composition_id = started.id
            kept.state = started.state
            kept.download_uri = f"/api/composition/download/{started.id}"
            a.steps[-1].composition_id = a.steps[-1].composition_id or started.id

        await self._store.write(ad.id, record)
        return started.id

    # Generator jobs.

    async def _afford(self, ad: studio_pb2.Ad, jobs: list[JobFor]) -> None:
        """Stops the ad before a step whose jobs would take its estimated spending over its
        cap: a step is paid whole or not at all (the generator checks one job at a time)."""
        cap = ad.options.max_cost_micros
        if not cap or ad.steps[-1].job_ids:
            return  # no cap; or the step started before a restart, affordable then
        cost = 0
        for job_for in jobs:
            cost += await self._children.estimate_job(job_for(ad))
        spent = ad.estimated_cost_micros
        if spent + cost > cap:
            step = S.AdStep.Name(ad.step).removeprefix("AD_STEP_")
            raise StepFailed(
                f"stopped at the cost cap: step {step} would add {cost} micro-USD to the "
                f"{spent} estimated so far, over options.max_cost_micros {cap}; "
                "nothing of it was started"
            )

    def _cap(self, ad: studio_pb2.Ad) -> int:
        """The generator's max_cost for the next job: what is left under the ad's cap."""
        cap = ad.options.max_cost_micros
        if not cap:
            return 0
        left = cap - ad.estimated_cost_micros
        if left <= 0:
            raise StepFailed(
                f"stopped at the cost cap: {ad.estimated_cost_micros} micro-USD estimated so "
                f"far, options.max_cost_micros {cap}"
            )
        return left

    def _images(self, specs: list[generator_pb2.ImageSpec]) -> JobFor:
        return lambda ad: generator_pb2.GenerateImagesRequest(images=specs, **self._job_options(ad))

    def _clips(self, specs: list[generator_pb2.ClipSpec]) -> JobFor:
        return lambda ad: generator_pb2.GenerateClipsRequest(clips=specs, **self._job_options(ad))

    def _job_options(self, ad: studio_pb2.Ad) -> dict[str, Any]:
        """An image or clip job's options: the ad's tier and aspect, what is left of its cap."""
        o = ad.options
        return {"tier": o.tier, "aspect_ratio": o.aspect_ratio, "max_cost_micros": self._cap(ad)}

    def _voice(self, lines: list[str]) -> JobFor:
        def request(ad: studio_pb2.Ad) -> JobRequest:
            voice = prompts.voice(ad, lines)
            voice.max_cost_micros = self._cap(ad)
            return voice

        return request

    async def _voice_job(self, job_id: str) -> generator_pb2.Job | None:
        """The ad's voice-over job, once succeeded (None without one)."""
        return await self._wait(job_id, "voice-over") if job_id else None

    def _music(self, music: generator_pb2.GenerateMusicRequest) -> JobFor:
        def request(ad: studio_pb2.Ad) -> JobRequest:
            music.max_cost_micros = self._cap(ad)
            return music

        return request

    async def _job(self, ad_id: str, slot: int, what: str, job_for: JobFor) -> generator_pb2.Job:
        """The step's ``slot``-th job, started unless its id is on record, once succeeded."""
        return await self._wait(await self._start(ad_id, slot, job_for), what)

    async def _start(self, ad_id: str, slot: int, job_for: JobFor) -> str:
        ad = await self._store.read(ad_id)
        record = ad.steps[-1]
        if len(record.job_ids) > slot:
            return str(record.job_ids[slot])  # started before a restart: re-attach
        earlier = await self._stopped_attempt(ad, slot)
        request = job_for(ad)
        job = await self._children.start_job(request, await self._store.mark_call(ad_id))

        def keep(a: studio_pb2.Ad) -> None:
            a.steps[-1].job_ids.append(job.id)
            a.estimated_cost_micros += job.estimated_cost_micros
            if earlier is not None:  # what the stopped attempt's job cost, not its estimate
                a.actual_cost_micros += earlier.actual_cost_micros
                a.estimated_cost_micros -= (
                    earlier.estimated_cost_micros - earlier.actual_cost_micros
                )

        await self._store.write(ad_id, keep)
        return job.id

    async def _stopped_attempt(self, ad: studio_pb2.Ad, slot: int) -> generator_pb2.Job | None:
        """After ResumeAd: the job in ``slot`` of the step's stopped attempt (the newest that
        started one), once ended. Its request is sent again as it was, so the items it had
        finished come from the generator's cache at no cost; only the rest is paid."""
        for record in reversed(ad.steps[:-1]):
            if record.step != ad.step or not record.error:
                return None  # not a stopped attempt of this step
            if len(record.job_ids) > slot:
                return await self._children.wait_job(record.job_ids[slot])
        return None

    async def _wait(
        self,
        job_id: str,
        what: str,
        on_snapshot: Callable[[generator_pb2.Job], None] | None = None,
    ) -> generator_pb2.Job:
        return _succeeded(await self._children.wait_job(job_id, on_snapshot), what)


JobFor = Callable[[studio_pb2.Ad], JobRequest]


def _fill_render(render: studio_pb2.Render, composition: composer_pb2.Composition) -> None:
    render.state = composition.state
    render.output.CopyFrom(composition.output)
    render.duration_seconds = composition.duration_seconds
    render.width = composition.width
    render.height = composition.height
    render.video_codec = composition.video_codec
    render.audio_codec = composition.audio_codec
    render.error = composition.error
    for name in ("subtitles_srt", "subtitles_vtt"):  # absent without a voice-over
        if composition.HasField(name):
            getattr(render, name).CopyFrom(getattr(composition, name))


def _with_voice(ad: studio_pb2.Ad, voice: generator_pb2.Job) -> None:
    """The voice-over job's lines as the voiced scenes' voices."""
    for index, item in zip(prompts.voiced_scenes(ad), voice.items, strict=True):
        _keep_voice(ad.storyboard[index], voice, item)


def _keep_voice(
    scene: studio_pb2.AdScene, job: generator_pb2.Job | None, item: generator_pb2.JobItem | None
) -> None:
    """Makes ``item`` (of ``job``) the scene's voice, on the scene and its current version
    (whose cost it joins); None clears it."""
    version = scene.versions[-1] if scene.versions else studio_pb2.SceneVersion()
    for holder in (scene, version):
        holder.ClearField("voice")
        holder.voice_job_id = job.id if job else ""
        if item is not None:
            holder.voice.CopyFrom(item.outputs[0])
    version.voice_line = scene.scene.voice_line
    del scene.voice_words[:]
    if item is not None:
        scene.voice_words.extend(item.words)
        version.actual_cost_micros += item.actual_cost_micros
