"""Progress bars fed by the gateway's Server-Sent Events (one bar per running job or render)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient
from reelforge.v1 import composer_pb2, generator_pb2

_JOB_DONE = {
    generator_pb2.JOB_STATE_SUCCEEDED,
    generator_pb2.JOB_STATE_FAILED,
    generator_pb2.JOB_STATE_CANCELED,
}
_COMPOSITION_DONE = {
    composer_pb2.COMPOSITION_STATE_COMPLETED,
    composer_pb2.COMPOSITION_STATE_FAILED,
    composer_pb2.COMPOSITION_STATE_CANCELED,
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


async def watch_job(
    client: GatewayClient, started: generator_pb2.Job, progress: Progress, label: str
) -> generator_pb2.Job:
    """Follows a generation job to its end; CliError naming the failed items unless it succeeded."""
    task = progress.add_task(label, total=100, status="queued")
    job = started
    async for job in client.events_as(f"/api/jobs/{started.id}/events", generator_pb2.Job):
        _advance(progress, task, job.percent, _short(generator_pb2.JobState.Name(job.state)))
        if job.state in _JOB_DONE:
            break
    if job.state != generator_pb2.JOB_STATE_SUCCEEDED:
        state = _short(generator_pb2.JobState.Name(job.state))
        raise CliError(f"{label} job {job.id} ended {state}: {job_error(job)}")
    return job


async def watch_composition(
    client: GatewayClient, started: composer_pb2.Composition, progress: Progress
) -> composer_pb2.Composition:
    """Follows a render to its end; CliError with the composer's reason unless it completed."""
    task = progress.add_task("compose", total=100, status="pending")
    comp = started
    route = f"/api/composition/{started.id}/events"
    async for comp in client.events_as(route, composer_pb2.Composition):
        _advance(progress, task, comp.percent, comp.message)
        if comp.state in _COMPOSITION_DONE:
            break
    if comp.state != composer_pb2.COMPOSITION_STATE_COMPLETED:
        state = _short(composer_pb2.CompositionState.Name(comp.state))
        raise CliError(f"composition {comp.id} ended {state}: {comp.error}")
    return comp


def job_error(job: generator_pb2.Job) -> str:
    failed = [f"item {i.index}: {i.error}" for i in job.items if i.error]
    return "; ".join(failed) or job.error or "no reason given"


def _advance(progress: Progress, task: TaskID, percent: float, status: str) -> None:
    progress.update(task, completed=percent, status=status[:40])


def _short(state: str) -> str:
    return state.rsplit("_STATE_", 1)[-1].lower()
