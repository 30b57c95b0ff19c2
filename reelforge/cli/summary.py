"""The end-of-run summary: scenes, costs, output path and size (a table, or JSON with --json)."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

from reelforge.cli.autopilot import AdResult


def _usd(micros: int) -> str:
    return f"${micros / 1e6:.4f}"


def print_summary(result: AdResult, console: Console, as_json: bool) -> None:
    if as_json:
        data = asdict(result)
        data["output"] = str(result.output)
        data["storyboard"] = str(result.storyboard)
        print(json.dumps(data, indent=2))
        return
    table = Table(title=f"reelforge ad — mood: {result.mood['name']}")
    table.add_column("#", justify="right")
    table.add_column("type")
    table.add_column("seconds", justify="right")
    table.add_column("description")
    for i, scene in enumerate(result.scenes, 1):
        kind = str(scene.get("type", "")).removeprefix("SCENE_TYPE_").lower()
        table.add_row(
            str(i), kind, f"{float(scene['durationSeconds']):.2f}", scene["description"][:70]
        )
    console.print(table)
    console.print(
        f"cost: estimated {_usd(result.estimated_cost_micros)}, actual {_usd(result.actual_cost_micros)}"
    )
    console.print(f"storyboard: {result.storyboard}")
    console.print(
        f"[bold green]ad: {result.output}[/] ({result.size_bytes / 1e6:.2f} MB, {result.duration_s:.2f} s)"
    )
