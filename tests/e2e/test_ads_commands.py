"""`reelforge ads ...` on an ad the studio made: list, show, regenerate one scene (only its
prediction is paid, a second render is made), render again, download any render."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.media import probe
from tests.composer.media import subtitle_cues
from tests.e2e.helpers import hosted_stack, start_cli
from tests.e2e.test_detach_resume import TINY_RENDER


class Cli:
    def __init__(self, gateway: str, env: dict[str, str]) -> None:
        self._gateway, self._env = gateway, env

    async def run(self, *args: str) -> tuple[int, str, str]:
        proc = await start_cli("--gateway", self._gateway, *args, env=self._env)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 300)
        return proc.returncode or 0, stdout.decode(), stderr.decode()

    async def json(self, *args: str) -> Any:
        code, stdout, stderr = await self.run(*args, "--json")
        assert code == 0, stderr[-3000:]
        return json.loads(stdout)


@pytest.mark.timeout(600)
async def test_ads_list_show_regenerate_render_and_download(
    tmp_path: Path, subprocess_env: dict[str, str], short_brief: Path
) -> None:
    async with hosted_stack(tmp_path, subprocess_env, latency_s=0.2) as stack:
        replicate = stack.replicate
        cli = Cli(stack.gateway, stack.env)
        first = tmp_path / "first.mp4"
        summary = await cli.json(
            "ad", str(short_brief), "-o", str(first), "--mood", "2", *TINY_RENDER
        )
        ad_id = summary["ad_id"]
        paid = replicate.creates

        listed = await cli.json("ads", "list", "--state", "completed")
        assert [a["id"] for a in listed["ads"]] == [ad_id]
        shown = await cli.json("ads", "show", ad_id)
        # --mood 2 went through the studio's mood gate: the second mood was planned for.
        assert shown["chosenMoodId"] == shown["moods"][1]["id"] == summary["mood"]["id"]
        code, table, _ = await cli.run("ads", "show", ad_id)
        assert code == 0 and ad_id in table and "completed" in table

        again = await cli.json(
            "ads", "regenerate", ad_id, "3", "--what", "clip", "--hint", "warmer light"
        )
        assert replicate.creates == paid + 1  # the one new clip
        scene = again["storyboard"][2]
        assert [v["hint"] for v in scene["versions"]] == ["", "warmer light"]
        old, new = scene["versions"]
        assert old["image"] == new["image"] and old["clipJobId"] != new["clipJobId"]
        assert again["state"] == "AD_STATE_COMPLETED"
        renders = [r["compositionId"] for r in again["renders"]]
        assert len(set(renders)) == 2 and renders[0] == summary["composition_id"]

        small = await cli.json("ads", "render", ad_id, "--height", "160", "--fps", "12")
        assert [r["height"] for r in small["renders"]] == [320, 320, 160]
        assert replicate.creates == paid + 1  # a render pays for no prediction

        newest, second = tmp_path / "newest.mp4", tmp_path / "second.mp4"
        got = await cli.json("ads", "download", ad_id, "-o", str(newest))
        assert got == {
            "output": str(newest),
            "size_bytes": newest.stat().st_size,
            "render": 3,
            "subtitles": [],
        }
        assert (await cli.json("ads", "download", ad_id, "--render", "2", "-o", str(second)))[
            "render"
        ] == 2
        # The voice-over's subtitle files, beside the MP4 (the summary downloaded the first's).
        assert summary["subtitles"] == [str(first.with_suffix(s)) for s in (".srt", ".vtt")]
        got = await cli.json("ads", "download", ad_id, "-o", str(newest), "--subtitles")
        srt, vtt = (newest.with_suffix(s) for s in (".srt", ".vtt"))
        assert got["subtitles"] == [str(srt), str(vtt)]
        assert [c[:2] for c in subtitle_cues(srt)] == [c[:2] for c in subtitle_cues(vtt)]

        # A new line for scene 1: one voice prediction, nothing else paid.
        voiced = await cli.json(
            "ads", "regenerate", ad_id, "1", "--what", "voice", "--voice-line", "Meet Lumen."
        )
        assert replicate.creates == paid + 2
        assert voiced["storyboard"][0]["scene"]["voiceLine"] == "Meet Lumen."

        quiet = await cli.json(
            "ad", str(short_brief), "-o", str(tmp_path / "quiet.mp4"), "--no-voice", *TINY_RENDER
        )
        assert quiet["subtitles"] == []
        shown_quiet = await cli.json("ads", "show", quiet["ad_id"])
        assert not shown_quiet["voiceJobId"] and not shown_quiet["renders"][0].get("subtitlesSrt")

        code, _, stderr = await cli.run("ads", "regenerate", ad_id, "9")
        assert (code, stderr.strip()) == (
            1,
            f"reelforge: scene must be 1-{len(shown['storyboard'])}: ad {ad_id} has that many",
        )
        code, _, stderr = await cli.run("ads", "cancel", ad_id)
        assert code == 1 and "HTTP 412" in stderr and "cannot be canceled" in stderr
        code, _, stderr = await cli.run("ad", "--resume", "no-such-ad")
        assert code == 1 and "HTTP 404" in stderr and len(stderr.strip().splitlines()) == 1
    assert (await probe(newest)).height == 160
    regenerated = await probe(second)
    assert (regenerated.height, round(regenerated.duration_seconds)) == (320, 6)
