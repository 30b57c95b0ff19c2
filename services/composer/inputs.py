"""The composition's inputs (clips, music, voice) as local, probed files: artifacts from the
store, URLs downloaded in parallel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from reelforge.runtime.artifacts import ArtifactStore, is_artifact_id
from reelforge.runtime.downloads import DownloadError, download
from reelforge.runtime.media import MediaError, probe
from reelforge.runtime.net_guard import IPNetwork
from services.composer.render_errors import RenderFailed
from services.composer.timeline import ProbedInput


@dataclass(frozen=True)
class Fetcher:
    """Where inputs come from and the limits on fetching them."""

    store: ArtifactStore
    session: aiohttp.ClientSession
    allow: list[IPNetwork]
    max_bytes: int
    attempts: int


async def _local_path(fetcher: Fetcher, field: str, source: str, workdir: Path) -> Path:
    if is_artifact_id(source):
        path = fetcher.store.path_for(source)
        if fetcher.store.get(source) is None or not path.exists():
            raise RenderFailed.at(field, f"artifact {source} is not in the store")
        return path
    dest = workdir / field.replace("[", "-").replace("]", "")
    try:
        await download(
            fetcher.session,
            source,
            dest,
            max_bytes=fetcher.max_bytes,
            allow=fetcher.allow,
            attempts=fetcher.attempts,
        )
    except DownloadError as error:
        raise RenderFailed.at(field, str(error)) from None
    return dest


async def _fetch_and_probe(fetcher: Fetcher, field: str, source: str, workdir: Path) -> ProbedInput:
    path = await _local_path(fetcher, field, source, workdir)
    try:
        info = await probe(path)
    except MediaError as error:
        raise RenderFailed.at(field, f"not readable media ({error})") from None
    return ProbedInput(field, path, info)


@dataclass(frozen=True)
class Inputs:
    """Every input of a composition, local and probed."""

    clips: list[ProbedInput]
    music: ProbedInput | None
    voices: list[ProbedInput]


def _sound_only(probed: ProbedInput) -> ProbedInput:
    if not probed.info.has_audio:
        raise RenderFailed.at(probed.field, "has no audio stream")
    return probed


async def fetch_inputs(
    fetcher: Fetcher, clips: list[str], music: str, voices: list[str], workdir: Path
) -> Inputs:
    """Every clip, the music and each voice local and probed; the first failure cancels the rest."""
    jobs = [(f"clips[{i}]", source) for i, source in enumerate(clips)]
    jobs += [(f"voice[{i}]", source) for i, source in enumerate(voices)]
    if music:
        jobs.append(("music", music))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(_fetch_and_probe(fetcher, field, source, workdir))
                for field, source in jobs
            ]
    except ExceptionGroup as failures:
        # The first input at fault is what the client needs to hear about.
        first = failures.exceptions[0]
        raise first if isinstance(first, RenderFailed) else failures from None
    probed = [task.result() for task in tasks]
    music_input = _sound_only(probed.pop()) if music else None
    voice_inputs = [_sound_only(p) for p in probed[len(clips) :]]
    return Inputs(probed[: len(clips)], music_input, voice_inputs)
