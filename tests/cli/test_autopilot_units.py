"""The autopilot's arithmetic and files: exact-length clip targets, briefs, the storyboard."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rich.console import Console

from reelforge.cli.autopilot import (
    AdOptions,
    AdResult,
    Autopilot,
    clip_specs,
    clip_targets,
    seed_image_specs,
)
from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient, parse_answer
from reelforge.cli.storyboard import StoryboardScene, render_storyboard
from reelforge.cli.summary import print_summary
from reelforge.v1 import common_pb2, planner_pb2
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
    repairs = [
        planner_pb2.Repair(field=f"moods[{i}]", action="offline archetype") for i in range(1, 6)
    ]
    autopilot._report_repairs("moods", repairs)
    autopilot._report_repairs("scene plan", [])  # nothing repaired: nothing said
    assert out.getvalue().splitlines() == [
        "planner: 5 part(s) of the moods were repaired or filled in, not the model's own "
        "(moods[1], moods[2], moods[3], moods[4] and 1 more)"
    ]


@pytest.mark.parametrize("written", ["none", "None", "off", "no"])
def test_a_brief_file_can_turn_the_voice_off(tmp_path: Path, written: str) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text(f"product_name: X\nvoice: {written}\n")
    assert load_brief_file(path)["voice"].lower() == "none"


def _plan_answer() -> dict[str, object]:
    """A PlanScenes answer as the gateway sends it, with a field this CLI does not know."""
    scene = {
        "index": 0,
        "type": "SCENE_TYPE_HOOK",
        "durationSeconds": 3.5,
        "description": "An opening",
        "stylePrompt": "neon street",
        "caption": "",
        "cameraMotion": "push in",
        "imagePrompt": "neon street. Lighting: neon. Style: neon. Vertical 9:16.",
        "voiceLine": "Ready?",
        "futureField": 1,
    }
    return {"plan": {"scenes": [scene], "musicPrompt": "Instrumental background music"}}


def test_the_plan_answer_is_read_as_its_message_and_its_prompts_are_used() -> None:
    answer = parse_answer(_plan_answer(), planner_pb2.PlanScenesResponse, "POST /api/scenes/plan")
    scenes = list(answer.plan.scenes)
    images = seed_image_specs(scenes, ["#FF0000"])
    clips = clip_specs(scenes, ["a" * 64], [3.504])
    assert images[0].prompt == "neon street. Lighting: neon. Style: neon. Vertical 9:16."
    assert (images[0].caption, images[0].seed, list(images[0].color_palette)) == (
        "An opening",
        1000,
        ["#FF0000"],
    )
    assert (clips[0].prompt, clips[0].camera_motion, clips[0].duration_seconds) == (
        "neon street",
        "push in",
        3.51,
    )
    assert answer.plan.music_prompt == "Instrumental background music"


def test_an_answer_of_the_wrong_shape_is_a_cli_error_naming_the_route() -> None:
    with pytest.raises(CliError, match="POST /api/scenes/plan: unexpected answer"):
        parse_answer(
            {"plan": {"scenes": "many"}}, planner_pb2.PlanScenesResponse, "POST /api/scenes/plan"
        )


def test_the_summary_json_shows_messages_as_the_gateway_does(tmp_path: Path) -> None:
    scene = common_pb2.Scene(type=common_pb2.SCENE_TYPE_HOOK, duration_seconds=3, voice_line="Hi")
    result = AdResult(
        output=tmp_path / "ad.mp4",
        size_bytes=10,
        duration_s=3.0,
        storyboard=tmp_path / "storyboard.png",
        mood=common_pb2.Mood(name="Neon"),
        scenes=[scene],
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_summary(result, Console(file=io.StringIO()), as_json=True)
    data = json.loads(out.getvalue())
    assert data["mood"]["name"] == "Neon" and data["mood"]["colorPalette"] == []
    assert data["scenes"][0]["voiceLine"] == "Hi" and data["scenes"][0]["caption"] == ""
    assert data["output"] == str(tmp_path / "ad.mp4") and data["size_bytes"] == 10
