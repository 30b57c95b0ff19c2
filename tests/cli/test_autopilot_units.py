"""The autopilot's arithmetic and files: exact-length clip targets, briefs, the storyboard."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rich.console import Console

from reelforge.cli.autopilot import AdOptions, Autopilot, clip_targets
from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient
from reelforge.cli.storyboard import StoryboardScene, render_storyboard
from tests.helpers import ROOT


@given(
    st.lists(st.floats(min_value=2, max_value=10), min_size=1, max_size=7),
    st.floats(min_value=0, max_value=1),
)
def test_crossfaded_total_equals_the_plan(durations: list[float], transition: float) -> None:
    targets = clip_targets(durations, transition)
    composed = sum(targets) - (len(targets) - 1) * transition
    assert composed == pytest.approx(sum(durations), abs=1e-9)
    assert all(t >= d for t, d in zip(targets, durations, strict=True))


def test_example_brief_loads() -> None:
    brief = load_brief_file(ROOT / "examples" / "brief.yaml")
    assert brief["productName"] == "Lumen Bottle"
    assert brief["durationSeconds"] == 30
    assert len(brief["keyMessages"]) == 3


def test_unknown_brief_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text("product_name: X\nslogan: nope\n")
    with pytest.raises(CliError, match="slogan"):
        load_brief_file(path)


def test_storyboard_sheet(tmp_path: Path) -> None:
    seed = tmp_path / "seed.png"
    Image.new("RGB", (90, 160), (200, 30, 30)).save(seed)
    scenes = [StoryboardScene(i + 1, 4.5, f"scene {i + 1} description", seed) for i in range(6)]
    dest = tmp_path / "storyboard.png"
    render_storyboard(scenes, dest, "Storyboard — Test")
    with Image.open(dest) as sheet:
        assert sheet.width > sheet.height / 2
        assert sheet.getpixel((16 + 135, 60 + 240)) == (200, 30, 30)  # first cell shows its seed


def test_planner_repairs_are_told_to_the_user(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)
    options = AdOptions(brief={}, output=tmp_path / "ad.mp4")
    autopilot = Autopilot(GatewayClient.__new__(GatewayClient), options, console)
    repairs = [{"field": f"moods[{i}]", "action": "offline archetype"} for i in range(1, 6)]
    autopilot._report_repairs("moods", {"moods": [], "repairs": repairs})
    autopilot._report_repairs("scene plan", {"plan": {}})  # nothing repaired: nothing said
    assert out.getvalue().splitlines() == [
        "planner: 5 part(s) of the moods were repaired or filled in, not the model's own "
        "(moods[1], moods[2], moods[3], moods[4] and 1 more)"
    ]
