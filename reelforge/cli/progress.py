"""Progress bars fed by the gateway's Server-Sent Events (one bar per running job or render)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import JSON, GatewayClient

_JOB_DONE = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELED"}
_COMPOSITION_DONE = {
    "COMPOSITION_STATE_COMPLETED",
    "COMPOSITION_STATE_FAILED",
    "COMPOSITION_STATE_CANCELED",
}


def make_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


async def watch_job(client: GatewayClient, started: JSON, progress: Progress, label: str) -> JSON:
    """Follows a generation job to its end; CliError naming the failed items unless it succeeded."""
    task = progress.add_task(label, total=100, status="queued")
    job = started
    async for job in client.events(f"/api/jobs/{started['id']}/events"):
        _advance(progress, task, job.get("percent", 0.0), _short(job.get("state", "")))
        if job.get("state") in _JOB_DONE:
            break
    if job.get("state") != "JOB_STATE_SUCCEEDED":
        raise CliError(
            f"{label} job {job['id']} ended {_short(job.get('state', ''))}: {job_error(job)}"
        )
    return job


async def watch_composition(client: GatewayClient, started: JSON, progress: Progress) -> JSON:
    """Follows a render to its end; CliError with the composer's reason unless it completed."""
    task = progress.add_task("compose", total=100, status="pending")
    comp = started
    async for comp in client.events(f"/api/composition/{started['id']}/events"):
        _advance(progress, task, comp.get("percent", 0.0), comp.get("message", ""))
        if comp.get("state") in _COMPOSITION_DONE:
            break
    if comp.get("state") != "COMPOSITION_STATE_COMPLETED":
        raise CliError(
            f"composition {comp['id']} ended {_short(comp.get('state', ''))}: {comp.get('error', '')}"
        )
    return comp


def job_error(job: JSON) -> str:
    failed = [
        f"item {i.get('index', 0)}: {i.get('error', '?')}"
        for i in job.get("items", [])
        if i.get("error")
    ]
    return "; ".join(failed) or job.get("error", "no reason given")


def _advance(progress: Progress, task: TaskID, percent: Any, status: str) -> None:
    progress.update(task, completed=float(percent or 0.0), status=status[:40])


def _short(state: str) -> str:
    return state.rsplit("_STATE_", 1)[-1].lower()
