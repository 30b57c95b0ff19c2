"""Soak: one real generator process on the hosted (Replicate) path for ≥ 10 minutes.

The fake Replicate runs in this process with random timings (latency spread, cold starts,
queueing, a list that shows new predictions late) and the generator runs as its own
process on SQLite with a short lease TTL. Jobs of 1–3 clips arrive at random intervals,
with idle gaps longer than the lease TTL in between (the gap after which issue 11's first
item saw every later job hang). At the end every job must be terminal and succeeded, and
the fake must have created exactly one prediction per item (nothing paid twice).

    python -m bench.soak_generator [--minutes 10] [--lease-ttl 3] [--seed 1] [--chaos 0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from services.generator.records import TERMINAL_JOB_STATES
from tests.fakes.replicate_server import FakeReplicate, Timing

if TYPE_CHECKING:
    from reelforge.v1.generator_pb2_grpc import GeneratorServiceAsyncStub as Stub

_ROOT = Path(__file__).resolve().parent.parent
# After the last submission, how long jobs get to finish (predictions take seconds).
_DRAIN_S = 120.0
# A generous bound on one job's latency: its predictions take a few seconds (cold start and
# queueing included), so a job far slower than this was stalled (e.g. by a lease it lost).
_JOB_BOUND_S = 30.0


@dataclass
class Tally:
    submitted: dict[str, tuple[float, int]] = field(default_factory=dict)  # job → (sent, items)
    finished: dict[str, tuple[float, int]] = field(default_factory=dict)  # job → (done, state)
    predictions: dict[str, list[str]] = field(default_factory=dict)  # job → its prediction ids
    gaps: list[float] = field(default_factory=list)  # idle gaps longer than the lease TTL
    after_gap: set[str] = field(default_factory=set)  # jobs submitted right after such a gap
    closed: bool = False  # no more submissions


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_generator(
    fake: FakeReplicate, data_dir: Path, port: int, ttl_s: float
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "VIDEO_PROVIDER": "replicate",
        "REPLICATE_API_TOKEN": fake.token,
        "REPLICATE_BASE_URL": fake.base_url,
        "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "LEASE_TTL_S": str(ttl_s),
        "POLL_INITIAL_S": "0.2",
        "POLL_MAX_S": "1",
        "RETRY_BASE_S": "0.2",
        "RETRY_MAX_S": "2",
        "LIST_CONSISTENCY_S": "5",
        "ITEM_DEADLINE_S": "120",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
    }
    log = (data_dir / "generator.log").open("ab")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.generator", env=env, cwd=_ROOT, stdout=log, stderr=log
    )


async def _ready(stub: Stub) -> None:
    for _ in range(300):
        try:
            await stub.ListJobs(pb.ListJobsRequest(page_size=1), timeout=1)
            return
        except grpc.aio.AioRpcError:
            await asyncio.sleep(0.1)
    raise SystemExit("the generator did not start within 30 s")


async def _submit_loop(stub: Stub, tally: Tally, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    end = time.monotonic() + args.minutes * 60
    index = 0
    just_idled = False
    while time.monotonic() < end:
        count = rng.randint(1, 3)
        specs = [
            pb.ClipSpec(prompt=f"soak job {index} clip {i}", duration_seconds=rng.choice([2, 3, 5]))
            for i in range(count)
        ]
        job = await stub.GenerateClips(pb.GenerateClipsRequest(clips=specs), timeout=10)
        tally.submitted[job.id] = (time.monotonic(), count)
        if just_idled:
            tally.after_gap.add(job.id)
        index += 1
        # Mostly busy, sometimes idle for longer than the lease TTL.
        if rng.random() < 0.15:
            pause = rng.uniform(2 * args.lease_ttl, 5 * args.lease_ttl)
            tally.gaps.append(pause)
            just_idled = True
        else:
            pause = rng.expovariate(1.0)
            just_idled = False
        await asyncio.sleep(min(pause, max(0.0, end - time.monotonic())))


async def _watch_finished(stub: Stub, tally: Tally) -> None:
    while True:
        for job_id in [j for j in tally.submitted if j not in tally.finished]:
            job = await stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=10)
            if job.state in TERMINAL_JOB_STATES:
                tally.finished[job_id] = (time.monotonic(), job.state)
                tally.predictions[job_id] = [item.prediction_id for item in job.items]
        if tally.closed and len(tally.finished) == len(tally.submitted):
            return
        await asyncio.sleep(0.5)


async def soak(args: argparse.Namespace) -> int:
    fake = FakeReplicate(latency_s=args.latency)
    fake.timing = Timing(
        seed=args.seed, spread=0.6, cold_start_rate=0.1, cold_start_s=3.0, max_running=8
    )
    fake.list_delay_s = 1.0
    await fake.start()
    # A 429 says "resets in ~Ns" and the generator waits that long: keep it short here, or
    # every throttled create would take 30 s and hide a real stall under the job bound.
    fake.rate_limit_reset_s = 2
    if args.chaos:
        fake.chaos(
            args.chaos, seed=args.seed, kinds=("429", "500", "lost"), calls=("create", "get")
        )
    tally = Tally()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reelforge-soak-") as tmp:
        port = _free_port()
        proc = await _start_generator(fake, Path(tmp), port, args.lease_ttl)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub: Stub = generator_pb2_grpc.GeneratorServiceStub(channel)
                await _ready(stub)
                watcher = asyncio.create_task(_watch_finished(stub, tally))
                await _submit_loop(stub, tally, args)
                tally.closed = True
                with contextlib.suppress(TimeoutError):  # reported below as never terminal
                    await asyncio.wait_for(watcher, _DRAIN_S)
        finally:
            proc.terminate()
            await proc.wait()
            log = (Path(tmp) / "generator.log").read_text(errors="replace")
            await fake.close()
    return _report(fake, tally, time.monotonic() - started, args, log)


def _report(
    fake: FakeReplicate, tally: Tally, wall_s: float, args: argparse.Namespace, log: str
) -> int:
    items = sum(count for _, count in tally.submitted.values())
    latencies = sorted(
        tally.finished[j][0] - sent
        for j, (sent, _) in tally.submitted.items()
        if j in tally.finished
    )
    unfinished = [j for j in tally.submitted if j not in tally.finished]
    failed = [j for j, (_, state) in tally.finished.items() if state != pb.JOB_STATE_SUCCEEDED]
    after_gap_done = sum(1 for j in tally.after_gap if j in tally.finished)
    print(f"soak: {wall_s / 60:.1f} min wall, lease TTL {args.lease_ttl:g} s, seed {args.seed}")
    print(f"jobs {len(tally.submitted)}  items {items}  creates {fake.creates}  "
          f"create requests {fake.create_requests}  cancels {fake.cancels}")  # fmt: skip
    print(f"terminal {len(tally.finished)}  succeeded {len(tally.finished) - len(failed)}  "
          f"failed/canceled {len(failed)}  never terminal {len(unfinished)}")  # fmt: skip
    if tally.gaps:
        print(f"idle gaps > TTL: {len(tally.gaps)} (longest {max(tally.gaps):.1f} s); "
              f"jobs right after a gap terminal: {after_gap_done}/{len(tally.after_gap)}")  # fmt: skip
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(f"job latency p50 {statistics.median(latencies):.2f} s  p95 {p95:.2f} s  "
              f"max {latencies[-1]:.2f} s")  # fmt: skip
    slow = [latency for latency in latencies if latency > _JOB_BOUND_S]
    for job_id, (sent, _) in tally.submitted.items():
        if job_id in tally.finished and tally.finished[job_id][0] - sent > _JOB_BOUND_S:
            _explain_slow(fake, tally, job_id)
    leases_lost = log.count("lease lost")
    print(
        f'jobs slower than {_JOB_BOUND_S:g} s: {len(slow)}; "lease lost" log lines: {leases_lost}'
    )
    if fake.chaos_mode is not None:
        print(f"chaos injected: {dict(fake.chaos_mode.injected)}")
    ok = not unfinished and not failed and fake.creates == items and not slow and not leases_lost
    if not ok:
        kept = Path(tempfile.gettempdir()) / "reelforge-soak-generator.log"
        kept.write_text(log)
        print(f"SOAK FAILED; the generator's log is kept in {kept}")
    return 0 if ok else 1


def _explain_slow(fake: FakeReplicate, tally: Tally, job_id: str) -> None:
    """Where a slow job's time went: the provider (queued, running) or us (before, after)."""
    sent, _ = tally.submitted[job_id]
    done, _ = tally.finished[job_id]
    offset = time.time() - time.monotonic()  # predictions carry wall-clock times
    parts = []
    for prediction_id in tally.predictions.get(job_id, []):
        p = fake.predictions.get(prediction_id)
        if p is None:
            parts.append(f"{prediction_id or '-'}: unknown to the fake")
            continue
        created = p.created_at - offset - sent
        started = (p.started_at or p.created_at) - offset - sent
        ended = (p.completed_at or p.created_at) - offset - sent
        parts.append(f"created +{created:.1f} s, started +{started:.1f} s, ended +{ended:.1f} s")
    print(f"slow job {job_id} ({done - sent:.1f} s): " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long jobs keep arriving")
    parser.add_argument("--lease-ttl", type=float, default=3.0, help="the generator's LEASE_TTL_S")
    parser.add_argument("--latency", type=float, default=2.0, help="mean prediction seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chaos", type=float, default=0.0, help="fault rate on creates and gets")
    raise SystemExit(asyncio.run(soak(parser.parse_args())))


if __name__ == "__main__":
    main()
