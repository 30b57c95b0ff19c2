"""`reelforge ads list|show|regenerate|render|download|cancel|resume`: the studio's ads after
the fact.

Scenes are numbered from 1 here, as `reelforge ad` and the storyboard sheet show them (the REST
API counts from 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from rich.console import Console, Group, RenderableType
from rich.table import Table

from reelforge.cli.ad_api import CAPTIONS, FITS, AdApi, download_subtitles, render_options
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import GatewayClient, message_json
from reelforge.cli.summary import usd
from reelforge.cli.watch import follow
from reelforge.v1 import composer_pb2, studio_pb2

_S = studio_pb2
_STATES = {n.removeprefix("AD_STATE_").lower(): v for n, v in _S.AdState.items() if v}
_WHAT = {
    "image": _S.REGENERATE_WHAT_IMAGE,
    "clip": _S.REGENERATE_WHAT_CLIP,
    "both": _S.REGENERATE_WHAT_BOTH,
    "voice": _S.REGENERATE_WHAT_VOICE,
}


def add_caption_arguments(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    """A render's captions and platform, as `reelforge ad` and `reelforge ads render` take them
    (``several``: --platform repeats, one render each)."""
    parser.add_argument(
        "--captions",
        choices=list(CAPTIONS),
        help="burned-in captions (default: words with a voice-over, else scenes)",
    )
    parser.add_argument(
        "--platform",
        action="append" if several else "store",
        default=[] if several else "",
        help="where the ad runs: its frame shape and the captions' safe zone: tiktok (default), "
        "reels, shorts (9:16), feed (4:5), square (1:1), landscape (16:9); clips of another "
        "shape are cropped around each scene's focus point"
        + ("; repeat it for one render per platform" if several else ""),
    )


def _add_render_arguments(render: argparse.ArgumentParser) -> None:
    """`ads render`: the options of `reelforge ad`, several platforms and cut-down lengths."""
    render.add_argument("--height", type=int, default=0, help="output height (0: the tier's)")
    render.add_argument("--fps", type=int, default=0, help="frame rate (0: 30)")
    render.add_argument("--transition", type=float, help="crossfade seconds (default 0.5)")
    add_caption_arguments(render, several=True)
    render.add_argument(
        "--cutdown",
        type=int,
        action="append",
        default=[],
        metavar="SECONDS",
        help="a cut-down length: 15 or 6 (0: the full ad); repeat it for several; each platform "
        "gets each length; a cut-down trims the ad's clips, nothing is paid again",
    )
    render.add_argument(
        "--watermark", action="store_true", help="the brand's logo in a corner of every frame"
    )
    render.add_argument(
        "--fit",
        choices=list(FITS),
        help="how clips fill a frame of another shape: cover (default: cropped around each "
        "scene's focus point, no bars) or pad (the whole picture, letter-boxed)",
    )
    render.add_argument(
        "--end-card",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the closing card with the brand and call to action (default: on with a brand kit)",
    )


def add_ads_parser(sub: Any) -> None:
    ads = sub.add_parser("ads", help="the studio's ads: list, show, regenerate, render, download")
    actions = ads.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="ads, newest first")
    listing.add_argument("--state", choices=list(_STATES), help="only ads in this state")
    listing.add_argument("--limit", type=int, default=20, help="how many (1-100)")
    show = _one_ad(actions, "show", "one ad: state, storyboard, renders, costs")
    regenerate = _one_ad(
        actions, "regenerate", "a new version of one scene of a completed ad, then a new render"
    )
    regenerate.add_argument("scene", type=int, help="scene number, from 1")
    regenerate.add_argument("--what", choices=sorted(_WHAT), default="both")
    regenerate.add_argument("--hint", default="", help='what to change, e.g. "warmer light"')
    regenerate.add_argument(
        "--voice-line", help="a new voice-over line for the scene (only that line is spoken again)"
    )
    render = _one_ad(actions, "render", "render a completed ad again (every render is kept)")
    _add_render_arguments(render)
    download = _one_ad(actions, "download", "download a render's MP4 (and its subtitles)")
    download.add_argument("-o", "--output", type=Path, default=Path("out/ad.mp4"))
    download.add_argument("--render", type=int, help="render number (default: the newest done)")
    download.add_argument(
        "--subtitles", action="store_true", help="also its SRT and WebVTT files, beside the MP4"
    )
    cancel = _one_ad(actions, "cancel", "stop a running ad and the work it started")
    resume = _one_ad(
        actions,
        "resume",
        "continue a canceled or failed ad from the step it stopped at (what was made is kept, "
        "not paid again)",
    )
    for parser in (regenerate, render, resume):
        parser.add_argument("--no-wait", action="store_true", help="return once it has started")
    for parser in (listing, show, regenerate, render, download, cancel, resume):
        parser.add_argument("--json", action="store_true", help="JSON output")


def _one_ad(actions: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
    parser.add_argument("ad_id", metavar="AD_ID")
    return parser


async def run_ads(args: argparse.Namespace, client: GatewayClient, console: Console) -> None:
    api = AdApi(client)
    action = args.action
    if action == "list":
        state = _STATES[args.state] if args.state else _S.AD_STATE_UNSPECIFIED
        answer = await api.list(page_size=args.limit, state=state)
        _print(answer, args.json, lambda: _ads_table(answer))
    elif action == "show":
        ad = await api.get(args.ad_id)
        _print(ad, args.json, lambda: _ad_view(ad))
    elif action in ("regenerate", "render", "resume"):
        ad = await _again(api, args)
        if ad.state == _S.AD_STATE_AWAITING_INPUT:
            gate = _name(_S.AdStep, ad.step).replace("_", " ")
            console.print(f"ad {ad.id} waits at {gate} again (the web studio or the API)")
        elif not args.no_wait:
            ad = await _wait(client, ad.id, console)
        _print(ad, args.json, lambda: _ad_view(ad))
    elif action == "download":
        await _download(api, client, args)
    else:
        ad = await api.cancel(args.ad_id)
        _print(ad, args.json, lambda: f"ad {ad.id} canceled")


async def _again(api: AdApi, args: argparse.Namespace) -> studio_pb2.Ad:
    """The call that sets the ad running again."""
    if args.action == "resume":
        return await api.resume(args.ad_id)
    return await (_regenerate(api, args) if args.action == "regenerate" else _render(api, args))


async def _regenerate(api: AdApi, args: argparse.Namespace) -> studio_pb2.Ad:
    ad = await api.get(args.ad_id)
    if not 1 <= args.scene <= len(ad.storyboard):
        raise CliError(f"scene must be 1-{len(ad.storyboard)}: ad {ad.id} has that many")
    request = _S.RegenerateSceneRequest(
        id=ad.id,
        scene=args.scene - 1,
        what=_WHAT[args.what],
        hint=args.hint,
        voice_line=args.voice_line,
    )
    return await api.regenerate(request)


async def _render(api: AdApi, args: argparse.Namespace) -> studio_pb2.Ad:
    options = render_options(
        args.height,
        args.fps,
        args.transition,
        args.captions,
        "",
        platforms=args.platform,
        cutdowns=args.cutdown,
        watermark=args.watermark,
        end_card=args.end_card,
        fit=args.fit,
    )
    return await api.render(_S.RenderAdRequest(id=args.ad_id, options=options))


async def _wait(client: GatewayClient, ad_id: str, console: Console) -> studio_pb2.Ad:
    """Follows the new work to its end; Ctrl-C only stops watching (canceling would end the
    completed ad too)."""
    try:
        ad = await follow(client, ad_id, console)
    except asyncio.CancelledError:
        console.print(f"stopped watching; ad {ad_id} runs on (reelforge ads show {ad_id})")
        raise
    if ad.state != _S.AD_STATE_COMPLETED:
        raise CliError(f"ad {ad.id} {_name(_S.AdState, ad.state)}: {ad.error or 'no reason given'}")
    return ad


async def _download(api: AdApi, client: GatewayClient, args: argparse.Namespace) -> None:
    ad = await api.get(args.ad_id)
    done = [r for r in ad.renders if r.output.id]
    if args.render is not None:
        done = [r for r in done if r.number == args.render]
    if not done:
        which = f"render {args.render}" if args.render is not None else "a finished render"
        raise CliError(f"ad {ad.id} has no {which} to download")
    render = done[-1]
    size = await client.download(render.download_uri, args.output)
    subtitles = await download_subtitles(client, render, args.output) if args.subtitles else []
    if args.subtitles and not subtitles:
        raise CliError(f"render {render.number} of ad {ad.id} has no subtitles (no voice-over)")
    result = {
        "output": str(args.output),
        "size_bytes": size,
        "render": render.number,
        "subtitles": [str(p) for p in subtitles],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.output} ({size / 1e6:.2f} MB, render {render.number}, {render.duration_seconds:.2f} s)"
        )
        for path in subtitles:
            print(path)


def _print(message: Message, as_json: bool, human: Callable[[], RenderableType]) -> None:
    """The command's answer on stdout: the gateway's JSON with --json, else what ``human``
    draws (progress and errors go to stderr)."""
    if as_json:
        print(json.dumps(message_json(message)))
    else:
        Console(soft_wrap=True).print(human())


def _ads_table(answer: studio_pb2.ListAdsResponse) -> Table:
    table = Table(title="ads, newest first")
    for column in ("id", "state", "step", "product", "renders", "created"):
        table.add_column(column)
    for ad in answer.ads:
        table.add_row(
            ad.id,
            _name(_S.AdState, ad.state),
            _name(_S.AdStep, ad.step),
            ad.brief.product_name,
            str(len(ad.renders)),
            ad.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"),
        )
    return table


def _ad_view(ad: studio_pb2.Ad) -> Group:
    mood = next((m.name for m in ad.moods if m.id == ad.chosen_mood_id), "not chosen yet")
    title = (
        f"ad {ad.id}: {_name(_S.AdState, ad.state)} at {_name(_S.AdStep, ad.step)} — "
        f"{ad.brief.product_name}, mood {mood}"
    )
    scenes = Table(title=title)
    for column in ("scene", "seconds", "versions", "description", "voice-over"):
        scenes.add_column(column)
    for i, scene in enumerate(ad.storyboard, 1):
        s = scene.scene
        scenes.add_row(
            str(i),
            f"{s.duration_seconds:.2f}",
            str(len(scene.versions)),
            s.description[:70],
            s.voice_line[:70],
        )
    renders = Table(title="renders")
    columns = ("render", "platform", "length", "size", "state", "seconds", "download", "subtitles")
    for column in columns:
        renders.add_column(column)
    for r in ad.renders:
        state = _name(composer_pb2.CompositionState, r.state)
        subtitles = "SRT, VTT" if r.subtitles_srt.id else ""
        renders.add_row(
            str(r.number),
            r.platform,
            f"{r.cutdown_seconds} s cut-down" if r.cutdown_seconds else "full",
            f"{r.width}×{r.height}" if r.width else "",
            state,
            f"{r.duration_seconds:.2f}",
            r.download_uri or r.error,
            subtitles,
        )
    costs = f"cost: estimated {usd(ad.estimated_cost_micros)}, actual {usd(ad.actual_cost_micros)}"
    error = [f"[red]error: {ad.error}[/]"] if ad.error else []
    return Group(scenes, renders, costs, *error)


def _name(enum: Any, value: int) -> str:
    return str(enum.Name(value)).split("_", 2)[-1].lower()
