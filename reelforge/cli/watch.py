"""Following an ad to its end: progress bars from its snapshots, its gates answered, and the
event stream re-opened when it drops (the ad runs on in the studio either way)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable

from rich.console import Console

from reelforge.cli.ad_api import TERMINAL, AdApi
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient
from reelforge.cli.progress import AdProgress, make_progress
from reelforge.v1 import studio_pb2

GateHandler = Callable[[studio_pb2.Ad], Awaitable[None]]
_REOPENS = 5  # drops in a row before giving up (each after a pause)
_REOPEN_PAUSE_S = 1.0


async def follow(
    client: GatewayClient, ad_id: str, console: Console, on_gate: GateHandler | None = None
) -> studio_pb2.Ad:
    """The ad's terminal snapshot; ``on_gate`` answers it when it stops for input (without
    one, a gate is a CliError saying how to go on)."""
    with make_progress(console) as progress:
        bars = AdProgress(client, progress)
        try:
            answered = 0  # the version of the last gate snapshot answered
            async with contextlib.aclosing(snapshots(AdApi(client), ad_id)) as ads:
                async for ad in ads:
                    bars.show(ad)
                    if ad.state in TERMINAL:
                        return ad
                    if ad.state == studio_pb2.AD_STATE_AWAITING_INPUT and ad.version > answered:
                        answered = ad.version
                        await (on_gate or _no_answer)(ad)
        finally:
            await bars.close()
    raise CliError(f"the events of ad {ad_id} ended before it did")  # snapshots() prevents it


async def snapshots(api: AdApi, ad_id: str) -> AsyncGenerator[studio_pb2.Ad, None]:
    """WatchAd until a terminal snapshot. A stream that drops after working (the gateway or the
    studio restarting) is re-opened; one that never worked is the error it was (404, ...)."""
    seen, drops = False, 0
    while True:
        try:
            async for ad in api.watch(ad_id):
                seen, drops = True, 0
                yield ad
                if ad.state in TERMINAL:
                    return
            problem = "the event stream ended early"
        except CliError as error:
            if not seen:
                raise
            problem = str(error)
        drops += 1
        if drops > _REOPENS:
            raise CliError(
                f"lost the events of ad {ad_id} ({problem}); it runs on in the studio: "
                f"reelforge ad --resume {ad_id}"
            )
        await asyncio.sleep(_REOPEN_PAUSE_S)


async def _no_answer(ad: studio_pb2.Ad) -> None:
    step = studio_pb2.AdStep.Name(ad.step).removeprefix("AD_STEP_")
    raise CliError(f"ad {ad.id} waits for input at {step} (answer it with reelforge ad --resume)")
