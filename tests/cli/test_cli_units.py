"""The CLI's own files and answers: briefs, the storyboard sheet, the summary, answer parsing."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from reelforge.cli.ads import _render
from reelforge.cli.autopilot import AdResult
from reelforge.cli.brief_input import load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import parse_answer
from reelforge.cli.main import _parser
from reelforge.cli.storyboard import StoryboardScene, render_storyboard
from reelforge.cli.summary import print_summary
from reelforge.v1 import common_pb2, planner_pb2, studio_pb2
from tests.helpers import ROOT


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


@pytest.mark.parametrize("written", ["none", "None", "off", "no"])
def test_a_brief_file_can_turn_the_voice_off(tmp_path: Path, written: str) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text(f"product_name: X\nvoice: {written}\n")
    assert load_brief_file(path)["voice"].lower() == "none"


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
        ad_id="a1",
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_summary(result, Console(file=io.StringIO()), as_json=True)
    data = json.loads(out.getvalue())
    assert data["mood"]["name"] == "Neon" and data["mood"]["colorPalette"] == []
    assert data["scenes"][0]["voiceLine"] == "Hi" and data["scenes"][0]["caption"] == ""
    assert data["output"] == str(tmp_path / "ad.mp4") and data["size_bytes"] == 10
    assert data["ad_id"] == "a1"


async def test_ads_render_takes_several_platforms_and_cutdowns() -> None:
    """`reelforge ads render ID --platform square --platform landscape --cutdown 15 --cutdown 6`
    asks for the four renders in one RenderAd."""
    sent: list[studio_pb2.RenderAdRequest] = []

    class Api:
        async def render(self, request: studio_pb2.RenderAdRequest) -> studio_pb2.Ad:
            sent.append(request)
            return studio_pb2.Ad(id=request.id)

    argv = ["ads", "render", "ad-7", "--platform", "square", "--platform", "landscape"]
    args = _parser().parse_args([*argv, "--cutdown", "15", "--cutdown", "6", "--watermark"])
    await _render(Api(), args)  # type: ignore[arg-type]
    (request,) = sent
    assert request.id == "ad-7" and not request.options.platform
    assert list(request.options.platforms) == ["square", "landscape"]
    assert list(request.options.cutdowns) == [15, 6]
    assert request.options.watermark and not request.options.HasField("end_card")
    assert request.options.fit == common_pb2.FIT_UNSPECIFIED  # cover: cropped, no bars
    plain = _parser().parse_args(["ads", "render", "ad-7", "--no-end-card", "--fit", "pad"])
    await _render(Api(), plain)  # type: ignore[arg-type]
    assert not sent[1].options.platforms and not sent[1].options.cutdowns
    assert sent[1].options.HasField("end_card") and not sent[1].options.end_card
    assert sent[1].options.fit == common_pb2.FIT_PAD
