"""Benchmark: 200 clip predictions against the fake Replicate (2 s latency), this generator vs the seeds.

The seeds' approach is ``asyncio.to_thread(client.run, ...)`` per clip on the default
executor. Ours is the generator service (gRPC, durable jobs, SQLite), measured twice:
finding out by polling, and by webhooks (the fake posts signed deliveries to the real
gateway, started as its own process, which forwards them to HandleProviderWebhook, as
in production). All contenders talk to the same fake, started once as its own process.

    python -m bench.generator_bench [--clips 200] [--latency 2] [--runs 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from replicate.client import Client

from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.records import TERMINAL_JOB_STATES
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings
from tests.fakes.replicate_server import DEFAULT_TOKEN

_MODEL = "bytedance/seedance-1-lite"
_BATCH = 32  # the most clips one GenerateClips request may carry
_MODES = ("polling", "webhooks", "seeds")


class Fake:
    """The fake Replicate as its own process."""

    def __init__(self, proc: asyncio.subprocess.Process, base_url: str, secret: str) -> None:
        self.proc, self.base_url, self.webhook_secret = proc, base_url, secret

    async def creates(self) -> int:
        async with aiohttp.ClientSession() as http, http.get(f"{self.base_url}/_fake/stats") as r:
            return int((await r.json())["creates"])


@contextlib.asynccontextmanager
async def fake_replicate(latency_s: float) -> AsyncIterator[Fake]:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.replicate_server", "--port", "0",
        "--latency", str(latency_s), "--webhook-secret", secret,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        yield Fake(proc, line.rsplit(" ", 1)[-1].strip(), secret)
    finally:
        proc.terminate()
        await proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def gateway(port: int, generator_port: int, data_dir: Path) -> AsyncIterator[None]:
    """The real gateway (``python -m gateway``): it forwards webhooks to the generator."""
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), LOG_LEVEL="WARNING",
               GENERATOR_ADDRESS=f"127.0.0.1:{generator_port}", DATA_DIR=str(data_dir))  # fmt: skip
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "gateway", env=env)
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}/health")
        yield
    finally:
        proc.terminate()
        await proc.wait()


async def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after 30 s")


def _settings(
    fake: Fake, data_dir: Path, args: argparse.Namespace, **extra: Any
) -> GeneratorSettings:
    return GeneratorSettings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        database_url=args.database_url,
        generator_table_prefix=f"bench{int(time.time())}_",
        replicate_api_token=DEFAULT_TOKEN,
        replicate_base_url=fake.base_url,
        fetch_allow_networks="127.0.0.0/8",
        max_parallel_items=1000,
        max_parallel_per_model=1000,
        poll_initial_s=args.poll_s,
        poll_max_s=args.poll_s,
        log_level="WARNING",
        **extra,
    )


async def run_ours(fake: Fake, args: argparse.Namespace, *, webhooks: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        gateway_port = _free_port()
        extra: dict[str, Any] = {}
        if webhooks:
            # The safety-net poll stays at its default (60 s): only webhooks finish items here.
            extra = {
                "public_url": f"http://127.0.0.1:{gateway_port}",
                "replicate_webhook_secret": fake.webhook_secret,
            }
        host, port = await create_server(_settings(fake, data_dir, args, **extra))
        await host.start()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if webhooks:
                    await stack.enter_async_context(gateway(gateway_port, port, data_dir))
                channel = await stack.enter_async_context(
                    grpc.aio.insecure_channel(f"127.0.0.1:{port}")
                )
                stub = generator_pb2_grpc.GeneratorServiceStub(channel)
                started = time.perf_counter()
                await _wait_all(stub, await _submit(stub, args.clips))
                return time.perf_counter() - started
        finally:
            await host.stop(0)


async def _submit(stub: generator_pb2_grpc.GeneratorServiceAsyncStub, clips: int) -> list[str]:
    tag = secrets.token_hex(4)  # unique prompts: no run is served from another's cache
    requests = []
    for first in range(0, clips, _BATCH):
        specs = [
            pb.ClipSpec(prompt=f"bench clip {tag} {n}", duration_seconds=5)
            for n in range(first, min(clips, first + _BATCH))
        ]
        requests.append(stub.GenerateClips(pb.GenerateClipsRequest(clips=specs), timeout=30))
    return [job.id for job in await asyncio.gather(*requests)]


async def _wait_all(stub: generator_pb2_grpc.GeneratorServiceAsyncStub, job_ids: list[str]) -> None:
    async def one(job_id: str) -> None:
        async for job in stub.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=600):
            if job.state in TERMINAL_JOB_STATES:
                assert job.state == pb.JOB_STATE_SUCCEEDED, job.error

    await asyncio.gather(*(one(job_id) for job_id in job_ids))


async def run_seeds(fake: Fake, args: argparse.Namespace) -> float:
    """The seeds' pattern: a blocking ``client.run`` per clip in ``asyncio.to_thread``."""
    client = Client(api_token=DEFAULT_TOKEN, base_url=fake.base_url)
    started = time.perf_counter()
    outputs = await asyncio.gather(
        *(
            asyncio.to_thread(client.run, _MODEL, input={"prompt": f"seed clip {n}", "duration": 5})
            for n in range(args.clips)
        )
    )
    assert all(outputs)
    return time.perf_counter() - started


async def _timed(fake: Fake, args: argparse.Namespace, mode: str) -> float:
    creates_before = await fake.creates()
    if mode == "seeds":
        wall = await run_seeds(fake, args)
    else:
        wall = await run_ours(fake, args, webhooks=mode == "webhooks")
    creates = await fake.creates() - creates_before
    assert creates == args.clips, f"{mode}: {creates} paid predictions for {args.clips} clips"
    return wall


async def main(args: argparse.Namespace) -> None:
    modes = [mode for mode in _MODES if mode not in args.skip]
    walls: dict[str, list[float]] = {mode: [] for mode in modes}
    async with fake_replicate(args.latency) as fake:
        for run in range(args.runs):
            for mode in modes:
                walls[mode].append(await _timed(fake, args, mode))
                print(f"run {run + 1}: {mode:9s} {walls[mode][-1]:6.2f} s", flush=True)
    _report(args, {mode: statistics.median(values) for mode, values in walls.items()})


def _report(args: argparse.Namespace, median: dict[str, float]) -> None:
    load = os.getloadavg()[0]
    print(f"\n{args.clips} clips, fake latency {args.latency:g} s, median of {args.runs}, "
          f"load average {load:.1f} at the end")  # fmt: skip
    seeds = median.get("seeds")
    for mode, label in (("polling", "generator, polling"), ("webhooks", "generator, webhooks")):
        if mode not in median:
            continue
        line = f"{label:24s} {median[mode]:6.2f} s  ({median[mode] / args.latency:.2f}× latency)"
        if seeds is not None:
            line += f"  speed-up {seeds / median[mode]:5.1f}×"
        print(line)
    if seeds is not None:
        print(f"{'seeds, to_thread(run)':24s} {seeds:6.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--poll-s", type=float, default=0.5, help="polling interval (polling mode)")
    parser.add_argument("--skip", action="append", default=[], choices=_MODES)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL; default SQLite")
    asyncio.run(main(parser.parse_args()))
