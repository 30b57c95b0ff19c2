"""The end-of-run summary: scenes, costs, output path and size (a table, or JSON with --json)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from rich.console import Console
from rich.table import Table

from reelforge.cli.autopilot import AdResult
from reelforge.cli.gateway_client import message_json
from reelforge.v1 import common_pb2


def usd(micros: int) -> str:
    return f"${micros / 1e6:.4f}"


def print_summary(result: AdResult, console: Console, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_as_json(result), indent=2))
        return
    table = Table(title=f"reelforge ad — mood: {result.mood.name}")
    table.add_column("#", justify="right")
    table.add_column("type")
    table.add_column("seconds", justify="right")
    table.add_column("description")
    for i, scene in enumerate(result.scenes, 1):
        kind = common_pb2.SceneType.Name(scene.type).removeprefix("SCENE_TYPE_").lower()
        table.add_row(str(i), kind, f"{scene.duration_seconds:.2f}", scene.description[:70])
    console.print(table)
    console.print(
        f"cost: estimated {usd(result.estimated_cost_micros)}, actual {usd(result.actual_cost_micros)}"
    )
    console.print(f"storyboard: {result.storyboard}")
    if result.ad_id:
        console.print(f"studio ad: {result.ad_id} (reelforge ads show {result.ad_id})")
    console.print(
        f"[bold green]ad: {result.output}[/] ({result.size_bytes / 1e6:.2f} MB, {result.duration_s:.2f} s)"
    )
    if result.subtitles:
        console.print(f"subtitles: {', '.join(str(p) for p in result.subtitles)}")
    else:
        console.print("subtitles: none (no voice-over)")


def _as_json(result: AdResult) -> dict[str, Any]:
    """The result with its messages in the gateway's JSON, every field shown (as the gateway does)."""
    data = {field.name: getattr(result, field.name) for field in fields(result)}
    data.update(
        output=str(result.output),
        storyboard=str(result.storyboard),
        subtitles=[str(p) for p in result.subtitles],
        mood=message_json(result.mood),
        scenes=[message_json(scene) for scene in result.scenes],
    )
    return data
