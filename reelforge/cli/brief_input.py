"""Loading a creative brief from a YAML file or from free text (through ExtractBrief)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format

from reelforge.cli.errors import CliError
from reelforge.cli.gateway_client import JSON, GatewayClient, to_json
from reelforge.v1 import common_pb2, planner_pb2

# YAML reads `voice: no` and `voice: off` as false; they mean what `voice: none` says.
_VOICE_OFF = "none"


def load_brief_file(path: Path) -> JSON:
    """A YAML mapping with CreativeBrief's fields, checked against the contract locally."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CliError(f"cannot read brief {path}: {error}") from None
    if not isinstance(data, dict):
        raise CliError(f"brief {path} must be a YAML mapping of CreativeBrief fields")
    if data.get("voice") is False:
        data["voice"] = _VOICE_OFF
    try:
        brief = json_format.ParseDict(data, common_pb2.CreativeBrief())
    except json_format.ParseError as error:
        raise CliError(f"brief {path}: {error}") from None
    return json_format.MessageToDict(brief)


async def brief_from_text(client: GatewayClient, text: str, interactive: bool) -> JSON:
    """Extracts a brief from free text; asks for missing fields on a TTY, else fails naming them."""
    request = planner_pb2.ExtractBriefRequest(
        messages=[planner_pb2.ChatMessage(role=planner_pb2.ROLE_USER, content=text)]
    )
    for _ in range(8):
        answer = await client.post_as(
            "/api/brief/extract", request, planner_pb2.ExtractBriefResponse
        )
        if answer.complete or not answer.missing:
            return to_json(answer.brief)
        if not interactive:
            fields = ", ".join(m.field for m in answer.missing)
            raise CliError(
                f"the brief is missing: {fields} (write them in the text or use a YAML brief)"
            )
        question = answer.missing[0].question
        reply = (await asyncio.to_thread(input, f"{question} ")).strip()
        request.messages.add(role=planner_pb2.ROLE_ASSISTANT, content=question)
        request.messages.add(role=planner_pb2.ROLE_USER, content=reply)
    raise CliError("the brief is still incomplete after several questions")


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
