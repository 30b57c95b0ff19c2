"""The processes on this machine, read from /proc (Linux; no psutil): for tests that check
that nothing a service started outlives it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    parent: int
    group: int
    name: str  # the executable's name (comm)
    argv: list[str]
    zombie: bool  # exited, not yet waited for by its parent

    def mentions(self, text: str) -> bool:
        """Whether ``text`` occurs in the command line (arguments joined by spaces)."""
        return text in " ".join(self.argv)


def processes() -> list[Process]:
    """Every process readable now; ones that end while being read are left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append(_read(entry))
            except (OSError, IndexError, ValueError):
                continue  # ended while we looked
    return found


def _read(entry: Path) -> Process:
    argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
    stat = (entry / "stat").read_text()
    # "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split at the last ")".
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    state, parent, group = stat[stat.rindex(")") + 2 :].split()[:3]
    return Process(
        pid=int(entry.name),
        parent=int(parent),
        group=int(group),
        name=name,
        argv=[arg for arg in argv if arg],
        zombie=state == "Z",
    )


def ffmpeg_pids_under(folder: Path) -> list[int]:
    """FFmpeg processes whose command line mentions ``folder``."""
    return [
        p.pid
        for p in processes()
        if p.argv[:1] and p.argv[0].endswith("ffmpeg") and p.mentions(str(folder))
    ]


async def freeze_ffmpeg_under(folder: Path) -> None:
    """SIGSTOPs every FFmpeg working under ``folder`` as it appears, until cancelled; then lets
    go (SIGCONT) of those still alive. A frozen render cannot finish before a test's next step,
    however fast or loaded the machine; SIGKILL still ends a stopped process."""
    frozen: set[int] = set()
    try:
        while True:
            for pid in set(ffmpeg_pids_under(folder)) - frozen:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                frozen.add(pid)
            await asyncio.sleep(0.05)
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


# How long the FFmpeg processes are held once the limit is reached, for a process beyond it to
# show up; and how long a lone held process waits for company before it is let go.
HOLD_AT_LIMIT_S = 2.0
HOLD_ALONE_S = 15.0
_GATE_TICK_S = 0.05

# Put first on PATH as ``ffmpeg``: an FFmpeg run that mentions the folder registers its pid, holds
# until ``limit`` are live (then HOLD_AT_LIMIT_S longer) or none has joined for HOLD_ALONE_S,
# appending the live count to ``counts`` at every tick, and then becomes the real FFmpeg (exec:
# same pid, same process group, so the service's kill still reaches it).
_GATE = """#!/usr/bin/env bash
gate={gate}; folder={folder}; real={real}; limit={limit}
case " $* " in *"$folder"*) ;; *) exec "$real" "$@" ;; esac
touch "$gate/pids/$$"
live() {{ local n=0 f; for f in "$gate"/pids/*; do kill -0 "${{f##*/}}" 2>/dev/null && n=$((n+1)); done; echo "$n"; }}
joined=-1; alone=0; full=0
while :; do
  n=$(live); echo "$n" >> "$gate/counts"
  if [ "$n" -ge "$limit" ]; then
    full=$((full+1)); [ "$full" -ge {at_limit_ticks} ] && break
  else
    now=$(ls "$gate/pids" | wc -l)
    if [ "$now" != "$joined" ]; then joined=$now; alone=0; fi
    alone=$((alone+1)); [ "$alone" -ge {alone_ticks} ] && break
  fi
  sleep {tick}
done
exec "$real" "$@"
"""


@contextlib.asynccontextmanager
async def peak_ffmpeg(folder: Path, limit: int) -> AsyncIterator[list[int]]:
    """Yields [peak], filled on exit: the most FFmpeg processes under ``folder`` live at once.

    Every FFmpeg the process starts while inside goes through a gate on PATH (``_GATE``) that
    holds it until ``limit`` of them are live, so the runs overlap however fast or loaded the
    machine is, and that counts them itself. Sampling /proc from the test's event loop instead
    missed runs this short: at load 15 a scan took as long as a 180×320 clip's FFmpeg, and it
    saw none of three (peak 0 under a limit of 2).
    """
    real = shutil.which("ffmpeg")
    assert real is not None, "ffmpeg is not on PATH"
    peak = [0]
    with tempfile.TemporaryDirectory(prefix="ffmpeg-gate-") as tmp:
        gate = Path(tmp)
        (gate / "pids").mkdir()
        (gate / "bin").mkdir()
        script = gate / "bin" / "ffmpeg"
        script.write_text(
            _GATE.format(
                gate=shlex.quote(str(gate)),
                folder=shlex.quote(str(folder)),
                real=shlex.quote(real),
                limit=limit,
                at_limit_ticks=round(HOLD_AT_LIMIT_S / _GATE_TICK_S),
                alone_ticks=round(HOLD_ALONE_S / _GATE_TICK_S),
                tick=_GATE_TICK_S,
            )
        )
        script.chmod(0o755)
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = f"{gate / 'bin'}{os.pathsep}{path}"
        try:
            yield peak
        finally:
            os.environ["PATH"] = path
            counts = gate / "counts"
            if counts.exists():
                peak[0] = max((int(n) for n in counts.read_text().split()), default=0)
