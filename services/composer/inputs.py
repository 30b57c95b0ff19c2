"""The composition's inputs (clips, music, voice) as local, probed files, and the brand's files
(logos, product photos, fonts) as local files: artifacts from the store, URLs downloaded in
parallel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from reelforge.runtime.artifacts import ArtifactStore, is_artifact_id
from reelforge.runtime.downloads import DownloadError, download
from reelforge.runtime.media import MediaError, probe
from reelforge.runtime.net_guard import IPNetwork
from services.composer.render_errors import RenderFailed
from services.composer.timeline import ProbedInput

T = TypeVar("T")


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


async def _all_or_first_failure(
    jobs: list[tuple[str, str]], fetch: Callable[[str, str], Coroutine[Any, Any, T]]
) -> list[T]:
    """``fetch(field, source)`` for every job at once; the first failure cancels the rest."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch(field, source)) for field, source in jobs]
    except ExceptionGroup as failures:
        # The first input at fault is what the client needs to hear about.
        first = failures.exceptions[0]
        raise first if isinstance(first, RenderFailed) else failures from None
    return [task.result() for task in tasks]


async def fetch_inputs(
    fetcher: Fetcher, clips: list[str], music: str, voices: list[str], workdir: Path
) -> Inputs:
    """Every clip, the music and each voice local and probed; the first failure cancels the rest."""
    jobs = [(f"clips[{i}]", source) for i, source in enumerate(clips)]
    jobs += [(f"voice[{i}]", source) for i, source in enumerate(voices)]
    if music:
        jobs.append(("music", music))

    async def fetch(field: str, source: str) -> ProbedInput:
        return await _fetch_and_probe(fetcher, field, source, workdir)

    probed = await _all_or_first_failure(jobs, fetch)
    music_input = _sound_only(probed.pop()) if music else None
    voice_inputs = [_sound_only(p) for p in probed[len(clips) :]]
    return Inputs(probed[: len(clips)], music_input, voice_inputs)


async def fetch_clips(
    fetcher: Fetcher, sources: dict[int, str], workdir: Path
) -> dict[int, ProbedInput]:
    """Some of the clips (by index) local and probed, each named ``clips[index]``."""

    async def fetch(field: str, source: str) -> ProbedInput:
        return await _fetch_and_probe(fetcher, field, source, workdir)

    jobs = [(f"clips[{index}]", source) for index, source in sources.items()]
    return dict(zip(sources, await _all_or_first_failure(jobs, fetch), strict=True))


async def fetch_files(fetcher: Fetcher, sources: dict[str, str], workdir: Path) -> dict[str, Path]:
    """Each (field → source) as a local file, not probed (images and fonts are not media)."""

    async def fetch(field: str, source: str) -> Path:
        return await _local_path(fetcher, field, source, workdir)

    paths = await _all_or_first_failure(list(sources.items()), fetch)
    return dict(zip(sources, paths, strict=True))
