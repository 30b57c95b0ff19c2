"""The composition's inputs as local, probed files: artifacts from the store, URLs downloaded in parallel."""

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


async def fetch_inputs(
    fetcher: Fetcher, clips: list[str], music: str, workdir: Path
) -> tuple[list[ProbedInput], ProbedInput | None]:
    """Every clip (and the music) local and probed; the first failure cancels the rest."""
    jobs = [(f"clips[{i}]", source) for i, source in enumerate(clips)]
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
    music_input = probed.pop() if music else None
    if music_input is not None and not music_input.info.has_audio:
        raise RenderFailed.at("music", "has no audio stream")
    return probed, music_input
