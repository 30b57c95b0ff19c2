"""Load benchmark: concurrent ads through the gateway, then status-read throughput.

A local stack (planner, generator, composer, studio, gateway as processes, temporary
DATA_DIR) runs on the hosted path against fakes: the planner on the fake OpenAI (in this
process), the generator on the fake Replicate (its own process). Each ad is made on
examples/brief.yaml with a short duration, composed at 320 px and 12 fps, one of two ways:

- ``--mode autopilot`` (default): what `reelforge ad` does, an Autopilot with its own
  GatewayClient and a Console writing to /dev/null (since e68d14d a client of the studio:
  CreateAd, the SSE watch, then downloads of the render and the seed images);
- ``--mode studio``: only one ``POST /api/ads`` and its ``GET /api/ads/{id}/events`` SSE
  watched until a terminal state (no downloads, no CLI).

Then N clients hammer GET /api/video/status/{job_id} of the finished jobs for a fixed time.

    python -m bench.load_bench [--mode autopilot|studio] [--pipelines 100] [--duration 12]
                               [--latency 1] [--renders 1] [--clients 32] [--read-seconds 10]
                               [--timeout 3600]

Everything listens on and talks to 127.0.0.1 only; processes and temp dirs are cleaned up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from rich.console import Console

from reelforge.cli.autopilot import AdOptions, Autopilot
from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.gateway_client import JSON, GatewayClient
from reelforge.cli.stack import StackPorts, local_stack
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.replicate_server import DEFAULT_TOKEN

ROOT = Path(__file__).resolve().parent.parent
BRIEF = ROOT / "examples" / "brief.yaml"
_TAG = re.compile(r"loadbench-(\d+)")
# Paid predictions per pipeline with the fake planner: 3 mood samples, 5 seed images,
# 5 clips, 1 music track, and a voice line per scene (the brief leaves the voice on).
_CREATES_PER_PIPELINE = 3 + 5 + 5 + 1 + 5
_TICK_S = 20.0  # progress line while nothing finishes
_AD_TERMINAL = {"AD_STATE_COMPLETED", "AD_STATE_FAILED", "AD_STATE_CANCELED"}


# ---- fakes -------------------------------------------------------------------------------------


class TaggingOpenAI(FakeOpenAI):
    """The fake OpenAI, with each pipeline's tag appended to the prompts it answers.

    The fake's moods and plans ignore the brief, so without this every pipeline would ask for
    byte-identical images, clips and music and all but the first would be generator cache
    hits: the benchmark would measure the cache, not 100 pipelines' worth of predictions.
    """

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        response = await super()._chat_completions(request)
        match = _TAG.search(json.dumps(await request.json()))  # aiohttp keeps the body
        if match is None or not isinstance(response, web.Response) or response.status != 200:
            return response
        assert isinstance(response.body, bytes)
        payload = json.loads(response.body)
        message = payload["choices"][0]["message"]
        if message.get("content"):
            message["content"] = json.dumps(_tagged(json.loads(message["content"]), match[0]))
            response.body = json.dumps(payload).encode()
        return response


def _tagged(answer: Any, tag: str) -> Any:
    """Moods: the tag joins the style keywords and image prompts; plans: every style prompt."""
    for mood in answer.get("moods", []):
        mood["style_keywords"] = [*mood.get("style_keywords", []), tag]
        mood["image_prompts"] = [f"{p}, {tag}" for p in mood.get("image_prompts", [])]
    for scene in answer.get("scenes", []):
        scene["style_prompt"] = f"{scene.get('style_prompt', '')}, {tag}"
    return answer


class Replicate:
    """The fake Replicate as its own process, so its work does not slow this event loop."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def creates(self) -> int:
        async with aiohttp.ClientSession() as http, http.get(f"{self.base_url}/_fake/stats") as r:
            return int((await r.json())["creates"])


@contextlib.asynccontextmanager
async def fake_replicate(latency_s: float) -> AsyncIterator[Replicate]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.replicate_server", "--host", "127.0.0.1",
        "--port", "0", "--latency", str(latency_s), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        yield Replicate(line.rsplit(" ", 1)[-1].strip())
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


def stack_env(
    data_dir: Path, openai: FakeOpenAI, replicate: Replicate, renders: int
) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1,localhost",  # the planner's httpx client honours proxy variables
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "PLANNER_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-bench-fake",
        "OPENAI_BASE_URL": openai.base_url,
        "VIDEO_PROVIDER": "replicate",
        "REPLICATE_API_TOKEN": DEFAULT_TOKEN,
        "REPLICATE_BASE_URL": replicate.base_url,
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # the fake serves its outputs on loopback
        # Polls back off 0.25 → 1 s: quick to notice a 1 s prediction without ~600 items in
        # flight flooding the fake (and the 2 cores) with thousands of GETs a second.
        "POLL_INITIAL_S": "0.25",
        "POLL_MAX_S": "1.0",
        # The defaults (32 items, 16 per model, 600 creates a minute) would serialise
        # 100 pipelines; the point here is what the services do when they do not.
        "MAX_PARALLEL_ITEMS": "10000",
        "MAX_PARALLEL_PER_MODEL": "10000",
        "REPLICATE_CREATES_PER_MINUTE": "1000000",
        "REPLICATE_MAX_CONNECTIONS": "64",
        "MAX_CONCURRENT_RENDERS": str(renders),
    }


class NullFile(io.StringIO):
    """Where each pipeline's Console writes: nowhere (like /dev/null, without a blocking open)."""

    def write(self, text: str) -> int:
        return len(text)


# ---- pipelines ---------------------------------------------------------------------------------


class RecordingClient(GatewayClient):
    """A GatewayClient that remembers the ad it watched last (its jobs feed the read phase)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.last_ad: JSON = {}

    async def events(self, path: str) -> AsyncIterator[JSON]:
        async for event in super().events(path):
            if path.startswith("/api/ads/"):
                self.last_ad = event
            yield event


def job_ids_of(ad: JSON) -> list[str]:
    """The generation jobs the ad's steps started."""
    return [str(j) for step in ad.get("steps", []) for j in step.get("jobIds", [])]


@dataclass
class PipelineRun:
    latencies: dict[int, float] = field(default_factory=dict)  # pipeline → seconds
    errors: dict[int, str] = field(default_factory=dict)  # pipeline → message
    job_ids: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def tagged_brief(n: int, args: argparse.Namespace) -> JSON:
    brief = load_brief_file(BRIEF)
    brief["productName"] = f"{brief['productName']} loadbench-{n}"
    brief["durationSeconds"] = args.duration
    return brief


async def one_pipeline(
    n: int, run: PipelineRun, gateway: str, args: argparse.Namespace, out: Path
) -> None:
    """`reelforge ad`'s ad: the CLI's Autopilot, downloads included."""
    options = AdOptions(
        brief=tagged_brief(n, args), output=out / f"p{n}" / "ad.mp4", mood=1, height=320, fps=12
    )
    started = time.perf_counter()
    client = RecordingClient(gateway)
    async with client:
        try:
            console = Console(file=NullFile(), force_terminal=False)
            await Autopilot(client, options, console).run()
        except Exception as error:  # every failure is a result here, not a crash
            run.errors[n] = f"{type(error).__name__}: {error}"
        else:
            run.latencies[n] = time.perf_counter() - started
        finally:
            run.job_ids.extend(job_ids_of(client.last_ad))


async def one_studio_ad(n: int, run: PipelineRun, gateway: str, args: argparse.Namespace) -> None:
    """The studio's ad: one POST /api/ads, then its SSE watched to a terminal state."""
    body: JSON = {"brief": tagged_brief(n, args), "options": {"render": {"height": 320, "fps": 12}}}
    started = time.perf_counter()
    final: JSON = {}
    async with GatewayClient(gateway) as client:
        try:
            final = await client.post("/api/ads", body)
            async for snapshot in client.events(f"/api/ads/{final['id']}/events"):
                final = snapshot
                if snapshot.get("state") in _AD_TERMINAL:
                    break
        except Exception as error:  # every failure is a result here, not a crash
            run.errors[n] = f"{type(error).__name__}: {error}"
            return
    run.job_ids.extend(job_ids_of(final))
    if final.get("state") == "AD_STATE_COMPLETED":
        run.latencies[n] = time.perf_counter() - started
    else:
        run.errors[n] = f"{final.get('state', 'no state')}: {final.get('error', '')}"


OneAd = Callable[[int, PipelineRun], Coroutine[Any, Any, None]]


async def run_pipelines(one_ad: OneAd, args: argparse.Namespace) -> PipelineRun:
    run = PipelineRun()
    started = time.perf_counter()
    tasks = {asyncio.create_task(one_ad(n, run)): n for n in range(args.pipelines)}
    pending = set(tasks)
    deadline = started + args.timeout
    while pending and time.perf_counter() < deadline:
        timeout = min(_TICK_S, deadline - time.perf_counter())
        finished, pending = await asyncio.wait(
            pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in finished:
            _print_finished(tasks[task], run, started, args.pipelines)
        if not finished:
            _print_tick(run, started, len(pending))
    # Past the deadline: cancelling an Autopilot cancels its upstream jobs and render (a
    # studio ad keeps running until the stack stops).
    for task in pending:
        task.cancel()
        run.errors[tasks[task]] = f"timed out after {args.timeout:g} s"
    await asyncio.gather(*pending, return_exceptions=True)
    run.wall_s = time.perf_counter() - started
    return run


def _print_finished(n: int, run: PipelineRun, started: float, total: int) -> None:
    done = len(run.latencies) + len(run.errors)
    what = f"ok in {run.latencies[n]:6.1f} s" if n in run.latencies else f"FAILED: {run.errors[n]}"
    elapsed = time.perf_counter() - started
    print(f"[{done:4d}/{total}] t={elapsed:6.1f} s  pipeline {n:3d} {what}", flush=True)


def _print_tick(run: PipelineRun, started: float, running: int) -> None:
    elapsed = time.perf_counter() - started
    print(f"        t={elapsed:6.1f} s  {len(run.latencies)} ok, {len(run.errors)} failed, "
          f"{running} running (load average {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip


# ---- status reads ------------------------------------------------------------------------------


@dataclass
class ReadRun:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0


async def hammer_status(gateway: str, job_ids: list[str], args: argparse.Namespace) -> ReadRun:
    """``clients`` sessions (one keep-alive connection each) GET job statuses in a tight loop."""
    run = ReadRun()
    timeout = aiohttp.ClientTimeout(total=30)

    async def client(first: int) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            i = first
            while time.perf_counter() < stop:
                url = f"{gateway}/api/video/status/{job_ids[i % len(job_ids)]}"
                i += 1
                sent = time.perf_counter()
                try:
                    async with http.get(url) as answer:
                        await answer.read()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    run.errors[f"{type(error).__name__}: {error}"] += 1
                    continue
                if status == 200:
                    run.latencies.append(time.perf_counter() - sent)
                else:
                    run.errors[f"HTTP {status}"] += 1

    started = time.perf_counter()
    stop = started + args.read_seconds
    await asyncio.gather(*(client(c * 7) for c in range(args.clients)))
    run.wall_s = time.perf_counter() - started
    return run


# ---- report ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else math.nan


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def report_pipelines(run: PipelineRun, args: argparse.Namespace, creates: int) -> None:
    lat = list(run.latencies.values())
    print(f"\n== {args.pipelines} ads, {args.mode} mode ({args.duration:g} s ads, 320 px, 12 fps, "
          f"fake Replicate latency {args.latency:g} s, {args.renders} render(s) at once)")  # fmt: skip
    print(f"succeeded {len(lat)}, errors {len(run.errors)}")
    for n, message in sorted(run.errors.items()):
        print(f"  pipeline {n}: {message}")
    print(f"end-to-end latency p50 {percentile(lat, 50):.1f} s, p99 {percentile(lat, 99):.1f} s, "
          f"min {min(lat, default=math.nan):.1f} s, max {max(lat, default=math.nan):.1f} s")  # fmt: skip
    print(f"wall time {run.wall_s:.1f} s ({len(lat) / run.wall_s * 60:.1f} ads/min)")
    want = expected_creates(args.pipelines)
    print(f"paid predictions (fake Replicate creates) {creates}, expected {want}")
    print(f"generation jobs {len(run.job_ids)}; load average (1/5/15 min) {load()}")


def expected_creates(pipelines: int) -> int:
    return pipelines * _CREATES_PER_PIPELINE


def report_reads(run: ReadRun, args: argparse.Namespace, jobs: int) -> None:
    lat = run.latencies
    print(f"\n== status reads: {args.clients} clients, GET /api/video/status/{{job_id}} of "
          f"{jobs} finished jobs, {run.wall_s:.1f} s")  # fmt: skip
    print(f"{len(lat)} ok, {sum(run.errors.values())} errors; {len(lat) / run.wall_s:.0f} req/s; "
          f"latency p50 {percentile(lat, 50) * 1000:.1f} ms, p99 {percentile(lat, 99) * 1000:.1f} ms")  # fmt: skip
    for message, count in run.errors.most_common():
        print(f"  {count} × {message}")
    print(f"load average (1/5/15 min) {load()}")


# ---- main --------------------------------------------------------------------------------------


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="reelforge-load-") as tmp:
        yield Path(tmp)


async def main(args: argparse.Namespace) -> int:
    print(f"load average at start {load()}", flush=True)
    with workdir() as tmp:
        async with TaggingOpenAI() as openai, fake_replicate(args.latency) as replicate:
            env = stack_env(tmp / "data", openai, replicate, args.renders)
            async with local_stack(StackPorts.free(), env, quiet=True, cwd=tmp) as stack:
                print(f"stack up (gateway {stack.gateway_url}); starting {args.pipelines} "
                      f"pipelines", flush=True)  # fmt: skip
                one_ad: OneAd = (
                    partial(one_studio_ad, gateway=stack.gateway_url, args=args)
                    if args.mode == "studio"
                    else partial(
                        one_pipeline, gateway=stack.gateway_url, args=args, out=tmp / "out"
                    )
                )
                pipelines = await run_pipelines(one_ad, args)
                creates = await replicate.creates()
                report_pipelines(pipelines, args, creates)
                if not pipelines.job_ids:
                    print("no finished jobs to read; skipping the status reads")
                    return 1
                reads = await hammer_status(stack.gateway_url, pipelines.job_ids, args)
                report_reads(reads, args, len(pipelines.job_ids))
    # Creates other than one per prediction mean something was paid twice (or missed): a
    # failed run, however fast, as errors are.
    paid_once = creates == expected_creates(args.pipelines)
    return 0 if paid_once and not pipelines.errors and not reads.errors else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--mode",
        choices=("autopilot", "studio"),
        default="autopilot",
        help="autopilot: the CLI drives each ad; studio: POST /api/ads + its SSE events",
    )
    parser.add_argument("--pipelines", type=int, default=100, help="concurrent ads")
    parser.add_argument("--duration", type=float, default=12.0, help="ad length in seconds")
    parser.add_argument("--latency", type=float, default=1.0, help="fake Replicate latency (s)")
    parser.add_argument("--renders", type=int, default=1, help="MAX_CONCURRENT_RENDERS")
    parser.add_argument("--clients", type=int, default=32, help="status-read clients")
    parser.add_argument("--read-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=3600.0, help="pipelines' deadline (s)")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
