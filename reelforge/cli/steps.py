"""One subcommand per pipeline step (`brief`, `moods`, `plan`, `images`, `clips`, `music`, `compose`, `jobs watch`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import JSON, GatewayClient, parse_answer
from reelforge.v1 import generator_pb2


def add_step_parsers(sub: Any) -> None:
    brief = sub.add_parser("brief", help="extract a brief from free text")
    brief.add_argument("text")
    moods = sub.add_parser("moods", help="mood directions for a brief")
    moods.add_argument("brief_file", type=Path)
    moods.add_argument("--count", type=int, default=0)
    plan = sub.add_parser("plan", help="scene plan for a brief (and a mood JSON file)")
    plan.add_argument("brief_file", type=Path)
    plan.add_argument("--mood-file", type=Path)
    plan.add_argument("--duration", type=float, default=0.0)
    images = sub.add_parser("images", help="start an image job")
    images.add_argument("--prompt", action="append", required=True)
    clips = sub.add_parser("clips", help="start a clip job (one clip per --image)")
    clips.add_argument("--image", action="append", required=True, help="artifact id or URL")
    clips.add_argument("--prompt", default="slow cinematic motion")
    clips.add_argument("--duration", type=float, default=5.0)
    music = sub.add_parser("music", help="start a music job")
    music.add_argument("--prompt", required=True)
    music.add_argument("--duration", type=float, default=30.0)
    compose = sub.add_parser("compose", help="start a composition")
    compose.add_argument("--clip", action="append", required=True, help="ID or ID:TARGET_SECONDS")
    compose.add_argument("--music", default="")
    jobs = sub.add_parser("jobs", help="generation jobs")
    jobs.add_argument("action", choices=["watch", "get"])
    jobs.add_argument("job_id")
    for parser in (brief, moods, plan, images, clips, music, compose, jobs):
        parser.add_argument("--json", action="store_true", help="compact JSON output")


def _clip_input(value: str) -> JSON:
    source, _, target = value.partition(":")
    try:
        return {"source": source, "targetDurationSeconds": float(target) if target else 0.0}
    except ValueError:
        raise CliError(f"--clip {value!r}: the target after ':' must be seconds") from None


def _mood(path: Path | None) -> JSON:
    if path is None:
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read mood {path}: {error}") from None


async def _watch(client: GatewayClient, job_id: str) -> JSON:
    """Prints each snapshot's state and percent; returns the last snapshot as the gateway sent it."""
    route = f"/api/jobs/{job_id}/events"
    last: JSON = {}
    async for last in client.events(route):
        job = parse_answer(last, generator_pb2.Job, f"GET {route}")
        state = generator_pb2.JobState.Name(job.state)
        print(json.dumps({"state": state, "percent": job.percent}), flush=True)
    return last


async def run_step(args: argparse.Namespace, client: GatewayClient) -> JSON:
    command = args.command
    if command == "brief":
        return await client.post(
            "/api/brief/extract", {"messages": [{"role": "ROLE_USER", "content": args.text}]}
        )
    if command == "moods":
        return await client.post(
            "/api/moods/generate", {"brief": load_brief_file(args.brief_file), "count": args.count}
        )
    if command == "plan":
        body = {
            "brief": load_brief_file(args.brief_file),
            "mood": _mood(args.mood_file),
            "durationSeconds": args.duration,
        }
        return await client.post("/api/scenes/plan", body)
    if command == "images":
        return await client.post(
            "/api/images/generate", {"images": [{"prompt": p} for p in args.prompt]}
        )
    if command == "clips":
        specs = [
            {"prompt": args.prompt, "image": i, "durationSeconds": args.duration}
            for i in args.image
        ]
        return await client.post("/api/video/generate", {"clips": specs})
    if command == "music":
        return await client.post(
            "/api/audio/generate", {"prompt": args.prompt, "durationSeconds": args.duration}
        )
    if command == "compose":
        body = {"clips": [_clip_input(c) for c in args.clip], "music": args.music}
        return await client.post("/api/composition/compose", body)
    if args.action == "watch":
        return await _watch(client, args.job_id)
    return await client.get(f"/api/jobs/{args.job_id}")
