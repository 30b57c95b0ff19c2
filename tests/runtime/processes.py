"""The processes on this machine, read from /proc (Linux; no psutil): for tests that check
that nothing a service started outlives it."""

from __future__ import annotations

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
