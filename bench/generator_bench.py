"""Benchmark: 200 clip predictions against the fake Replicate (2 s latency), this generator vs the seeds.

The seeds' approach is ``asyncio.to_thread(client.run, ...)`` per clip on the default
executor; ours is the generator service (gRPC, durable jobs, SQLite) with its limits
raised by settings. Both talk to the same fake, started as its own process.

    python -m bench.generator_bench [--clips 200] [--latency 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

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


async def start_fake(latency_s: float) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.replicate_server", "--port", "0", "--latency", str(latency_s),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    return proc, line.rsplit(" ", 1)[-1].strip()


async def run_ours(base_url: str, clips: int, data_dir: Path, database_url: str | None) -> float:
    settings = GeneratorSettings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        database_url=database_url,
        generator_table_prefix=f"bench{int(time.time())}_",
        replicate_api_token=DEFAULT_TOKEN,
        replicate_base_url=base_url,
        fetch_allow_networks="127.0.0.0/8",
        max_parallel_items=1000,
        max_parallel_per_model=1000,
        poll_initial_s=0.5,
        poll_max_s=0.5,
        log_level="WARNING",
    )
    host, port = await create_server(settings)
    await host.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = generator_pb2_grpc.GeneratorServiceStub(channel)
            started = time.perf_counter()
            job_ids = await _submit(stub, clips)
            await _wait_all(stub, job_ids)
            return time.perf_counter() - started
    finally:
        await host.stop(0)


async def _submit(stub: generator_pb2_grpc.GeneratorServiceAsyncStub, clips: int) -> list[str]:
    requests = []
    for first in range(0, clips, _BATCH):
        specs = [
            pb.ClipSpec(prompt=f"bench clip {n}", duration_seconds=5)
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


async def run_seeds(base_url: str, clips: int) -> float:
    """The seeds' pattern: a blocking ``client.run`` per clip in ``asyncio.to_thread``."""
    client = Client(api_token=DEFAULT_TOKEN, base_url=base_url)
    started = time.perf_counter()
    outputs = await asyncio.gather(
        *(
            asyncio.to_thread(client.run, _MODEL, input={"prompt": f"seed clip {n}", "duration": 5})
            for n in range(clips)
        )
    )
    assert all(outputs)
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    fake, base_url = await start_fake(args.latency)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            ours = await run_ours(base_url, args.clips, Path(data_dir), args.database_url)
        seeds = await run_seeds(base_url, args.clips)
    finally:
        fake.terminate()
        await fake.wait()
    print(f"{args.clips} clips, fake latency {args.latency:g} s")
    print(f"generator (this service):        {ours:7.2f} s  ({ours / args.latency:.2f}× latency)")
    print(f"seeds (to_thread(client.run)):   {seeds:7.2f} s")
    print(f"speed-up:                        {seeds / ours:7.1f}×")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL; default SQLite")
    asyncio.run(main(parser.parse_args()))
