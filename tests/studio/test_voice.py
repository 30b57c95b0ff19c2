"""A voiced ad through REST (issue 14): the studio speaks each scene's line and the composer
mixes it in at the scene's start, burns word captions and makes SRT/WebVTT files; with the
voice off there is no voice job and no subtitles, and the captions are the scenes'.

Speech is found by comparing the voiced render with the same ad rendered without a voice
(same seeds, so the generator's cache serves the same clips and music): where only music
plays, the voiced sound is the other one times a gain (ducking, loudness); where the voice
speaks, a residual is left that no gain explains (measured: ≤ 0.15 of the level in music-only
windows, ≥ 0.7 where a line starts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.composer.media import pcm, subtitle_cues
from tests.studio.helpers import AD_SECONDS, RENDER, Client, create_ad, paid_items, watch_ad

RATE = 8000
WINDOW_S = 0.1
SPEECH_RESIDUAL = 0.5
LEAD_IN_S = 0.15  # the studio starts a line this long after its scene


async def _completed(client: Client, **options: Any) -> dict[str, Any]:
    ad = await create_ad(client, options={"render": RENDER, **options})
    return await _finished(client, ad["id"])


async def _finished(client: Client, ad_id: str) -> dict[str, Any]:
    final = (await watch_ad(client, ad_id))[-1]
    assert final["state"] == "AD_STATE_COMPLETED", final.get("error")
    return final


async def _download(client: Client, uri: str, path: Path) -> Path:
    response = await client.get(uri)
    assert response.status == 200, await response.text()
    path.write_bytes(await response.read())  # noqa: ASYNC240 (a few kB in a test)
    return path


def _speech_onsets(voiced: np.ndarray, silent: np.ndarray) -> list[float]:
    """Start times of the windows where speech begins: the voiced sound holds what the silent
    one does not, and the window before did not."""
    n = int(WINDOW_S * RATE)
    onsets, before = [], False
    for at in range(0, min(len(voiced), len(silent)) - n, n):
        v, s = voiced[at : at + n].astype(float), silent[at : at + n].astype(float)
        gain = float(v @ s) / float(s @ s) if float(s @ s) > 0 else 0.0
        level = np.sqrt(np.mean(v**2))
        speech = level > 1e-3 and np.sqrt(np.mean((v - gain * s) ** 2)) > SPEECH_RESIDUAL * level
        if speech and not before:
            onsets.append(at / RATE)
        before = speech
    return onsets


async def test_voiced_ad_speaks_in_each_scene_and_has_subtitles(
    client: Client, tmp_path: Path
) -> None:
    voiced = await _completed(client)
    assert voiced["voiceJobId"]
    assert all(s["scene"]["voiceLine"] and s["voice"]["id"] for s in voiced["storyboard"])
    render = voiced["renders"][-1]
    sound = pcm(await _download(client, render["downloadUri"], tmp_path / "voiced.mp4"), RATE)

    silent = await _completed(client, voice=False)
    # Voice off: no voice job, no voice, no subtitles; the composer was asked for scene captions.
    assert not silent.get("voiceJobId") and len(silent["steps"][2]["jobIds"]) == 1
    assert not any(s.get("voice", {}).get("id") for s in silent["storyboard"])
    quiet = silent["renders"][-1]
    assert not quiet.get("subtitlesSrt") and not quiet.get("subtitlesVtt")
    status = await client.get(f"/api/composition/status/{quiet['compositionId']}")
    asked = (await status.json())["request"]
    assert asked["captions"]["mode"] == "CAPTION_MODE_SCENES" and not asked.get("voice")
    assert [c["caption"] for c in asked["clips"]] == [
        s["scene"]["caption"] for s in silent["storyboard"]
    ]
    music_only = pcm(await _download(client, quiet["downloadUri"], tmp_path / "quiet.mp4"), RATE)

    # Speech starts inside each scene, at its line's start (the window holding it).
    starts = [s["voiceStartSeconds"] for s in voiced["storyboard"]]
    scene_ends = [start - LEAD_IN_S for start in starts[1:]] + [AD_SECONDS]
    onsets = _speech_onsets(sound, music_only)
    for start, end in zip(starts, scene_ends, strict=True):
        heard = [t for t in onsets if start - WINDOW_S <= t < min(end, start + 0.3)]
        assert heard, f"no speech starting at {start} s (scene ends {end} s): onsets {onsets}"

    # The subtitle files are the spoken words at ad times, readable by FFmpeg.
    srt = await _download(client, render["subtitlesSrt"]["uri"], tmp_path / "ad.srt")
    vtt = await _download(client, render["subtitlesVtt"]["uri"], tmp_path / "ad.vtt")
    cues = subtitle_cues(srt)
    assert [c[:2] for c in subtitle_cues(vtt)] == [c[:2] for c in cues]
    first = voiced["storyboard"][0]
    assert abs(cues[0][0] - (starts[0] + first["voiceWords"][0].get("startSeconds", 0))) < 0.05
    text = [line for line in srt.read_text().splitlines() if line and "-->" not in line]
    cue_words = " ".join(line for line in text if not line.isdigit()).split()
    spoken = [w["word"] for s in voiced["storyboard"] for w in s["voiceWords"]]
    assert [_bare(w) for w in cue_words] == [_bare(w) for w in spoken]


def _bare(word: str) -> str:
    return "".join(ch for ch in word.lower() if ch.isalnum())


async def test_regenerating_a_voice_line_speaks_only_that_line(client: Client) -> None:
    ad = await _completed(client)
    before = ad["storyboard"][2]
    response = await client.post(
        f"/api/ads/{ad['id']}/scenes/2/regenerate",
        json={"what": "REGENERATE_WHAT_VOICE", "voiceLine": "Fits every bag."},
    )
    assert response.status == 200, await response.text()
    final = await _finished(client, ad["id"])

    (step,) = [s for s in final["steps"] if s["step"] == "AD_STEP_REGENERATE"]
    (job_id,) = step["jobIds"]  # one voice job, no image or clip
    job = await (await client.get(f"/api/jobs/{job_id}")).json()
    assert job["kind"] == "JOB_KIND_VOICE" and len(job["items"]) == 1
    scene = final["storyboard"][2]
    assert scene["scene"]["voiceLine"] == "Fits every bag."
    assert scene["voiceJobId"] == job_id and scene["voice"]["id"] != before["voice"]["id"]
    assert [w["word"] for w in scene["voiceWords"]][:1] == ["Fits"]
    assert scene["clip"]["id"] == before["clip"]["id"]
    assert [v["voiceLine"] for v in scene["versions"]] == [
        before["scene"]["voiceLine"],
        "Fits every bag.",
    ]
    # The other scenes keep their voice; the ad was rendered again with the new line.
    others = [i for i in range(len(ad["storyboard"])) if i != 2]
    for i in others:
        assert final["storyboard"][i]["voice"] == ad["storyboard"][i]["voice"]
    assert len(final["renders"]) == 2 and paid_items(final) == paid_items(ad) + 1
