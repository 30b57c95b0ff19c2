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
from reelforge.cli.autopilot import DEFAULT_TRANSITION_S, AdOptions, Autopilot
from reelforge.cli.brief_input import brief_from_text, is_interactive, load_brief_file
from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import DEFAULT_TIMEOUT_S, GatewayClient, one_line
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

    ad = sub.add_parser("ad", help="run the whole pipeline: brief → finished MP4")
    source = ad.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "brief_file", nargs="?", type=Path, help="YAML brief (see examples/brief.yaml)"
    )
    source.add_argument("--brief", help="the brief as free text")
    ad.add_argument("-o", "--output", type=Path, default=Path("out/ad.mp4"))
    ad.add_argument("--mood", type=int, help="pick mood N (1-based) instead of asking")
    ad.add_argument("--tier", choices=sorted(_TIERS), default="default")
    ad.add_argument(
        "--transition", type=float, default=DEFAULT_TRANSITION_S, help="crossfade seconds"
    )
    ad.add_argument("--height", type=int, default=0, help="output height in pixels (0: the tier's)")
    ad.add_argument("--fps", type=int, default=0, help="output frame rate (0: 30)")
    ad.add_argument("--start-stack", action="store_true", help="start a local stack for this run")
    ad.add_argument("--json", action="store_true", help="print the summary as JSON")

    stack = sub.add_parser("stack", help="run the services locally")
    stack.add_argument("action", choices=["up"])
    stack.add_argument("--port", type=int, default=8080, help="gateway port")

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
    if args.start_stack:
        ports = StackPorts.free()
        async with local_stack(ports, quiet=True) as stack:
            console.print(f"local stack up (gateway {stack.gateway_url})")
            await _run_ad(args, stack.gateway_url, console)
        return
    await _run_ad(args, args.gateway, console)


async def _run_ad(args: argparse.Namespace, gateway: str, console: Console) -> None:
    async with GatewayClient(gateway, args.api_key, args.timeout) as client:
        if args.brief_file:
            brief = load_brief_file(args.brief_file)
        else:
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
        )
        result = await Autopilot(client, options, console).run()
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
        answer = await steps.run_step(args, client)
    print(json.dumps(answer, indent=None if args.json else 2))


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        asyncio.run(_dispatch(args, console))
    except CliError as error:
        print(f"reelforge: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("reelforge: interrupted; running jobs were canceled", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        # Never a traceback: whatever slipped past the typed errors is still one line.
        detail = one_line(str(error)) or "no details"
        print(f"reelforge: unexpected {type(error).__name__}: {detail}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
