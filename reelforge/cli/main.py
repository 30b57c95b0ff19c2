"""Entry point of the ``reelforge`` command: argument parsing and dispatch to the subcommands."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from reelforge.cli import steps
from reelforge.cli.ads import add_ads_parser, add_caption_arguments, run_ads
from reelforge.cli.autopilot import AdOptions, Autopilot
from reelforge.cli.brief_input import brief_from_text, is_interactive, load_brief_file
from reelforge.cli.errors import CliError, Detached
from reelforge.cli.gateway_client import DEFAULT_TIMEOUT_S, JSON, GatewayClient, one_line
from reelforge.cli.stack import StackPorts, local_stack, stack_up
from reelforge.cli.summary import print_summary

_TIERS = {"draft": "TIER_DRAFT", "production": "TIER_PRODUCTION", "default": "TIER_UNSPECIFIED"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reelforge", description="Creative brief in, vertical video ad out."
    )
    parser.add_argument(
        "--gateway", default=os.environ.get("REELFORGE_GATEWAY", "http://localhost:8080")
    )
    parser.add_argument(
        "--api-key", default=os.environ.get("REELFORGE_API_KEY", ""), help="gateway API key"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=os.environ.get("REELFORGE_TIMEOUT_S", str(DEFAULT_TIMEOUT_S)),
        metavar="SECONDS",
        help="how long to wait for one gateway answer (env REELFORGE_TIMEOUT_S; default "
        f"{DEFAULT_TIMEOUT_S:g}, above the gateway's deadline for model calls)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ad = sub.add_parser("ad", help="make an ad in the studio and download it: brief → MP4")
    source = ad.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "brief_file", nargs="?", type=Path, help="YAML brief (see examples/brief.yaml)"
    )
    source.add_argument("--brief", help="the brief as free text")
    source.add_argument(
        "--resume", metavar="AD_ID", help="re-attach to an ad of the studio: follow, download"
    )
    ad.add_argument("-o", "--output", type=Path, default=Path("out/ad.mp4"))
    ad.add_argument("--mood", type=int, help="pick mood N (1-based) instead of asking")
    ad.add_argument("--duration", type=float, default=0.0, help="seconds (0: the brief's)")
    ad.add_argument("--tier", choices=sorted(_TIERS), default="default")
    ad.add_argument("--transition", type=float, help="crossfade seconds (default 0.5)")
    ad.add_argument("--height", type=int, default=0, help="output height in pixels (0: the tier's)")
    ad.add_argument("--fps", type=int, default=0, help="output frame rate (0: 30)")
    add_caption_arguments(ad)
    ad.add_argument(
        "--no-voice",
        dest="voice",
        action="store_false",
        help="no voice-over (and so scene captions, no subtitle files)",
    )
    ad.add_argument(
        "--detach", action="store_true", help="Ctrl-C leaves the ad running (prints its id)"
    )
    ad.add_argument("--start-stack", action="store_true", help="start a local stack for this run")
    ad.add_argument("--json", action="store_true", help="print the summary as JSON")

    stack = sub.add_parser("stack", help="run the services locally")
    stack.add_argument("action", choices=["up"])
    stack.add_argument("--port", type=int, default=8080, help="gateway port")

    add_ads_parser(sub)
    steps.add_step_parsers(sub)
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be seconds between 0 and 86400 (got {text!r})")
    return value


async def _ad(args: argparse.Namespace, console: Console) -> None:
    if args.mood is not None and args.mood < 1:
        raise CliError("--mood counts from 1")
    if args.start_stack and args.detach:
        raise CliError("--detach needs a stack that outlives this command (not --start-stack)")
    if args.start_stack:
        ports = StackPorts.free()
        async with local_stack(ports, quiet=True) as stack:
            console.print(f"local stack up (gateway {stack.gateway_url})")
            await _run_ad(args, stack.gateway_url, console)
        return
    await _run_ad(args, args.gateway, console)


async def _run_ad(args: argparse.Namespace, gateway: str, console: Console) -> None:
    async with GatewayClient(gateway, args.api_key, args.timeout) as client:
        brief: JSON = {}
        if args.brief_file:
            brief = load_brief_file(args.brief_file)
        elif args.brief:
            brief = await brief_from_text(client, args.brief, is_interactive())
        options = AdOptions(
            brief=brief,
            output=args.output,
            mood=args.mood,
            tier=_TIERS[args.tier],
            transition_s=args.transition,
            height=args.height,
            fps=args.fps,
            interactive=is_interactive(),
            duration_s=args.duration,
            detach=args.detach,
            voice=args.voice,
            captions=args.captions,
            platform=args.platform,
        )
        autopilot = Autopilot(client, options, console)
        result = await (autopilot.resume(args.resume) if args.resume else autopilot.run())
    print_summary(result, console, args.json)


async def _dispatch(args: argparse.Namespace, console: Console) -> None:
    handlers: dict[str, Callable[[], Awaitable[Any]]] = {
        "ad": lambda: _ad(args, console),
        "stack": lambda: stack_up(StackPorts(gateway=args.port)),
    }
    handler = handlers.get(args.command)
    if handler is not None:
        await handler()
        return
    async with GatewayClient(args.gateway, args.api_key, args.timeout) as client:
        if args.command == "ads":
            await run_ads(args, client, console)
            return
        answer = await steps.run_step(args, client)
    print(json.dumps(answer, indent=None if args.json else 2))


def _detached(ad_id: str, as_json: bool) -> None:
    """The id on stdout (for scripts), how to come back on stderr; exit status 0."""
    print(json.dumps({"ad_id": ad_id, "detached": True}) if as_json else ad_id)
    print(
        f"reelforge: detached; ad {ad_id} runs on in the studio "
        f"(re-attach: reelforge ad --resume {ad_id})",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        asyncio.run(_dispatch(args, console))
    except CliError as error:
        print(f"reelforge: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except Detached as detached:
        _detached(detached.ad_id, args.json)
    except KeyboardInterrupt:
        print("reelforge: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        # Never a traceback: whatever slipped past the typed errors is still one line.
        detail = one_line(str(error)) or "no details"
        print(f"reelforge: unexpected {type(error).__name__}: {detail}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
