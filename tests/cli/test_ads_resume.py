"""`reelforge ads resume ID`: one POST /api/ads/{id}/resume; an ad back at a gate is not waited for."""

from __future__ import annotations

import io
from typing import Any, cast

from rich.console import Console

from reelforge.cli.ads import run_ads
from reelforge.cli.gateway_client import GatewayClient
from reelforge.cli.main import _parser
from reelforge.v1 import studio_pb2


class Gateway:
    """Answers the resume call with ``answer``; records what was posted."""

    def __init__(self, answer: studio_pb2.Ad) -> None:
        self.answer = answer
        self.posted: list[str] = []

    async def post_as(self, path: str, body: Any, kind: type[studio_pb2.Ad]) -> studio_pb2.Ad:
        self.posted.append(path)
        return self.answer


async def test_resume_posts_once_and_says_where_a_gated_ad_waits(capsys: Any) -> None:
    waiting = studio_pb2.Ad(
        id="ad 7",
        state=studio_pb2.AD_STATE_AWAITING_INPUT,
        step=studio_pb2.AD_STEP_CHOOSE_MOOD,
    )
    gateway = Gateway(waiting)
    log = io.StringIO()
    args = _parser().parse_args(["ads", "resume", "ad 7", "--json"])
    await run_ads(args, cast(GatewayClient, gateway), Console(file=log))
    assert gateway.posted == ["/api/ads/ad%207/resume"]  # the id stays one path segment
    assert "waits at choose mood again" in log.getvalue()
    assert '"state": "AD_STATE_AWAITING_INPUT"' in capsys.readouterr().out


async def test_resume_no_wait_returns_the_running_ad(capsys: Any) -> None:
    running = studio_pb2.Ad(
        id="a1", state=studio_pb2.AD_STATE_RUNNING, step=studio_pb2.AD_STEP_CLIPS_AND_MUSIC
    )
    args = _parser().parse_args(["ads", "resume", "a1", "--no-wait", "--json"])
    await run_ads(args, cast(GatewayClient, Gateway(running)), Console(file=io.StringIO()))
    assert '"step": "AD_STEP_CLIPS_AND_MUSIC"' in capsys.readouterr().out
