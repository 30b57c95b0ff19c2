"""A local fake of OpenAI's chat completions API that speaks the real wire format.

``POST /v1/chat/completions`` answers like OpenAI (JSON, or SSE chunks ending in
``data: [DONE]`` when ``stream`` is true), records every request, and plays a
queue of programmed behaviours (``enqueue``). With an empty queue it answers
every request with valid content for whichever schema was asked — a brief, moods
or a scene plan — so a whole stack can run against it:
``python -m tests.fakes.openai_server --port 8700``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import re
import signal
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from reelforge.runtime.lifecycle import StartsAndCloses

_LOGGER = logging.getLogger(__name__)
_FAKE_MODEL_REPLY = "Sounds great! Who is the ad for, and what should viewers do when it ends?"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    path: str
    headers: Mapping[str, str]
    body: dict[str, Any]

    @property
    def response_format(self) -> dict[str, Any]:
        value = self.body.get("response_format")
        return value if isinstance(value, dict) else {}

    @property
    def format_type(self) -> str | None:
        kind = self.response_format.get("type")
        return str(kind) if kind else None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON schema sent with json_schema or (llama-cpp-python style) json_object."""
        if self.format_type == "json_schema":
            schema = self.response_format.get("json_schema", {}).get("schema")
        else:
            schema = self.response_format.get("schema")
        return schema if isinstance(schema, dict) else None

    @property
    def token_cap(self) -> int | None:
        """The completion cap the request set (either name), or None."""
        for name in ("max_completion_tokens", "max_tokens"):
            value = self.body.get(name)
            if isinstance(value, int):
                return value
        return None

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def retry_count(self) -> int:
        return int(self.headers.get("x-stainless-retry-count", "0"))

    @property
    def text(self) -> str:
        """Every message's content, joined (to find hints such as the requested duration)."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass(frozen=True)
class Behaviour:
    """One programmed answer; unset content means "the default valid answer for the request"."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    stream_chunks: tuple[str, ...] | None = None
    finish_reason: str = "stop"
    error_message: str = ""
    error_code: str | None = None
    error_param: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def answer_json(value: object) -> Behaviour:
    return Behaviour(content=json.dumps(value))


def answer_text(text: str) -> Behaviour:
    """Any content, e.g. invalid JSON."""
    return Behaviour(content=text)


def refusal(text: str) -> Behaviour:
    return Behaviour(refusal=text)


def stream_text(*chunks: str) -> Behaviour:
    return Behaviour(stream_chunks=tuple(chunks))


def http_error(
    status: int,
    message: str = "",
    *,
    code: str | None = None,
    retry_after_s: float | None = None,
) -> Behaviour:
    headers = {"retry-after": f"{retry_after_s:g}"} if retry_after_s is not None else {}
    return Behaviour(
        status=status,
        error_message=message or f"fake error {status}",
        error_code=code,
        headers=headers,
    )


def answer_fenced(value: object, prose: str = "Here is the JSON you asked for:") -> Behaviour:
    """JSON inside a Markdown code fence after a sentence, as small and prompt-only models write it."""
    return Behaviour(content=f"{prose}\n```json\n{json.dumps(value, indent=2)}\n```\n")


def answer_with_raw_control_characters(value: object) -> Behaviour:
    """JSON whose strings hold raw newlines and tabs (llama.cpp grammars allow them; strict JSON does not)."""
    text = json.dumps(value).replace("\\n", "\n").replace("\\t", "\t")
    return Behaviour(content=text)


def context_overflow(context_window: int = 2048, prompt_tokens: int = 2300) -> Behaviour:
    """llama-cpp-python's 400 for a prompt longer than the context window (its real body shape)."""
    return Behaviour(
        status=400,
        error_message=_overflow_message(context_window, prompt_tokens, None),
        error_code="context_length_exceeded",
        error_param="messages",
    )


def _overflow_message(context_window: int, prompt_tokens: int, cap: int | None) -> str:
    return (
        f"This model's maximum context length is {context_window} tokens. However, you "
        f"requested {(cap or 0) + prompt_tokens} tokens ({prompt_tokens} in the messages, "
        f"{cap} in the completion). Please reduce the length of the messages or completion."
    )


def slow(delay_s: float, then: Behaviour | None = None) -> Behaviour:
    """Answers after ``delay_s`` seconds (to exercise client timeouts)."""
    base = then or Behaviour()
    return Behaviour(**{**base.__dict__, "delay_s": delay_s})


class FakeOpenAI(StartsAndCloses):
    """The fake server. ``reject_json_schema`` mimics llama-cpp-python (HTTP 500 for json_schema).

    Every request body is checked against OpenAI's published chat-completions shape
    (``request_problem``); a bad one gets OpenAI's 400 and is kept in ``rejected``.
    ``context_window`` (tokens, estimated at 4 characters each) answers longer prompts
    with llama-cpp-python's context-overflow 400. Answers longer than the request's
    ``max_tokens`` / ``max_completion_tokens`` are cut off with finish_reason "length".
    """

    def __init__(
        self,
        *,
        reject_json_schema: bool = False,
        api_key: str | None = None,
        context_window: int | None = None,
    ) -> None:
        self.reject_json_schema = reject_json_schema
        self.api_key = api_key  # when set, other bearer tokens get a 401
        self.context_window = context_window
        self.rejected: list[tuple[RecordedRequest, str]] = []  # (request, why) for invalid bodies
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Behaviour] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()  # ends slow answers at once when the fake closes
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *behaviours: Behaviour) -> None:
        self._queue.extend(behaviours)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def aclose(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "We could not parse the JSON body of your request.", None, {})
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.", None, {})
        recorded = RecordedRequest(request.path, dict(request.headers), body)
        self.requests.append(recorded)
        if (
            self.api_key is not None
            and request.headers.get("Authorization") != f"Bearer {self.api_key}"
        ):
            return _error(401, "Incorrect API key provided.", "invalid_api_key", {})
        problem = request_problem(body)
        if problem is not None:
            self.rejected.append((recorded, problem[1]))
            return _error(400, problem[1], None, {}, param=problem[0])
        if self.reject_json_schema and recorded.format_type == "json_schema":
            return _error(500, "Internal Server Error", None, {})
        overflow = self._overflow(recorded)
        if overflow is not None:
            return overflow
        behaviour = self._queue.popleft() if self._queue else Behaviour()
        if behaviour.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.delay_s)
        if behaviour.status != 200:
            return _error(
                behaviour.status,
                behaviour.error_message,
                behaviour.error_code,
                behaviour.headers,
                param=behaviour.error_param,
            )
        completion_id = f"chatcmpl-fake-{next(self._ids)}"
        if recorded.stream:
            return await self._stream(request, recorded, behaviour, completion_id)
        return web.json_response(
            _completion(recorded, behaviour, completion_id),
            headers={"x-request-id": f"req_{completion_id}"},
        )

    def _overflow(self, recorded: RecordedRequest) -> web.Response | None:
        if self.context_window is None:
            return None
        prompt_tokens = estimate_tokens(recorded.text)
        if prompt_tokens < self.context_window:
            return None
        message = _overflow_message(self.context_window, prompt_tokens, recorded.token_cap)
        return _error(400, message, "context_length_exceeded", {}, param="messages")

    async def _stream(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        behaviour: Behaviour,
        completion_id: str,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-request-id": f"req_{completion_id}"}
        )
        await response.prepare(request)
        model = str(recorded.body.get("model", "fake-model"))

        async def send(payload: object) -> None:
            await response.write(f"data: {json.dumps(payload)}\n\n".encode())

        await send(_chunk(completion_id, model, {"role": "assistant", "content": ""}))
        if behaviour.refusal is not None:
            await send(_chunk(completion_id, model, {"refusal": behaviour.refusal}))
        else:
            for piece in behaviour.stream_chunks or _split(_content(recorded, behaviour)):
                await send(_chunk(completion_id, model, {"content": piece}))
        await send(_chunk(completion_id, model, {}, behaviour.finish_reason))
        if recorded.body.get("stream_options", {}).get("include_usage"):
            await send({**_chunk(completion_id, model, {}), "choices": [], "usage": _usage()})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _completion(
    recorded: RecordedRequest, behaviour: Behaviour, completion_id: str
) -> dict[str, Any]:
    content, finish_reason = None, behaviour.finish_reason
    if behaviour.refusal is None:
        content, finish_reason = _capped(recorded, _content(recorded, behaviour), finish_reason)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(recorded.body.get("model", "fake-model")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": behaviour.refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": _usage(),
    }


def _capped(recorded: RecordedRequest, content: str, finish_reason: str) -> tuple[str, str]:
    """What a model writes within the request's token cap: cut off, finish_reason "length"."""
    cap = recorded.token_cap
    if cap is None or estimate_tokens(content) <= cap:
        return content, finish_reason
    return content[: cap * _CHARS_PER_TOKEN], "length"


def estimate_tokens(text: str) -> int:
    """Roughly how many tokens a text is (4 characters each, as for English)."""
    return -(-len(text) // _CHARS_PER_TOKEN)


# ---- OpenAI's request shape -------------------------------------------------------------

_CHARS_PER_TOKEN = 4
# Chat-completions request fields in OpenAI's published API; anything else is refused there.
_KNOWN_FIELDS = frozenset(
    [
        "model",
        "messages",
        "temperature",
        "top_p",
        "n",
        "stream",
        "stream_options",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "seed",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "service_tier",
        "store",
        "metadata",
        "reasoning_effort",
        "modalities",
        "audio",
        "prediction",
        "web_search_options",
        "safety_identifier",
        "prompt_cache_key",
        "verbosity",
    ]
)
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def request_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    """(param, message) of the first way ``body`` breaks OpenAI's request schema, or None."""
    for check in (_fields_problem, _messages_problem, _numbers_problem, _format_problem):
        problem = check(body)
        if problem is not None:
            return problem
    return None


def _fields_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    unknown = sorted(set(body) - _KNOWN_FIELDS)
    if unknown:
        return unknown[0], f"Unrecognized request argument supplied: {unknown[0]}"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model", "you must provide a model parameter"
    if "stream_options" in body and not body.get("stream"):
        return (
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        )
    return None


def _messages_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages", "[] is too short - 'messages'"
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"{where}.role", f"Invalid value for '{where}.role'."
        content = message.get("content")
        if content is None and message["role"] == "assistant":
            continue
        if not isinstance(content, str | list):
            return f"{where}.content", f"Invalid type for '{where}.content': expected a string."
    return None


def _numbers_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    for name in ("max_tokens", "max_completion_tokens"):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            return name, f"Invalid '{name}': expected an integer of at least 1."
    temperature = body.get("temperature")
    if temperature is not None and not (
        isinstance(temperature, int | float) and 0 <= temperature <= 2
    ):
        return "temperature", "Invalid 'temperature': expected a number from 0 to 2."
    return None


def _format_problem(body: dict[str, Any]) -> tuple[str, str] | None:
    value = body.get("response_format")
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        return "response_format.type", "Invalid value for 'response_format.type'."
    if kind == "json_object":
        # llama-cpp-python's extension: a `schema` beside the type constrains the output.
        schema = value.get("schema")
        if schema is not None and not isinstance(schema, dict):
            return "response_format.schema", "Invalid type for 'response_format.schema'."
        return None
    if kind == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, dict):
            return (
                "response_format.json_schema",
                "Missing required parameter: 'response_format.json_schema'.",
            )
        if not isinstance(spec.get("name"), str) or not _SCHEMA_NAME.match(spec["name"]):
            return (
                "response_format.json_schema.name",
                "Invalid 'response_format.json_schema.name': must match ^[a-zA-Z0-9_-]{1,64}$.",
            )
        if "schema" in spec and not isinstance(spec["schema"], dict):
            return (
                "response_format.json_schema.schema",
                "Invalid type for 'response_format.json_schema.schema'.",
            )
        if "strict" in spec and not isinstance(spec["strict"], bool):
            return (
                "response_format.json_schema.strict",
                "Invalid type for 'response_format.json_schema.strict'.",
            )
    return None


def _chunk(
    completion_id: str, model: str, delta: dict[str, Any], finish_reason: str | None = None
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def _usage() -> dict[str, int]:
    return {"prompt_tokens": 42, "completion_tokens": 42, "total_tokens": 84}


def _error(
    status: int,
    message: str,
    code: str | None,
    headers: Mapping[str, str],
    *,
    param: str | None = None,
) -> web.Response:
    kind = {
        400: "invalid_request_error",
        401: "invalid_request_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(
        body, status=status, headers={**headers, "x-request-id": "req_fake_error"}
    )


def _split(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


# ---- the default answers -------------------------------------------------------------


def _content(recorded: RecordedRequest, behaviour: Behaviour) -> str:
    if behaviour.content is not None:
        return behaviour.content
    kind = requested_kind(recorded)
    if kind == "scene_plan":
        return json.dumps(default_plan(_number(recorded.text, "total_duration_seconds", 30.0)))
    if kind == "mood_directions":
        return json.dumps(default_moods(int(_number(recorded.text, "count", 3.0))))
    if kind == "creative_brief":
        return json.dumps(DEFAULT_BRIEF)
    return _FAKE_MODEL_REPLY


def requested_kind(recorded: RecordedRequest) -> str:
    """scene_plan, mood_directions, creative_brief or text: from the schema name, keys or prompt."""
    name = recorded.response_format.get("json_schema", {}).get("name")
    if name:
        return str(name)
    properties = (recorded.schema or {}).get("properties", {})
    haystack = " ".join(f'"{key}"' for key in properties) or recorded.text
    for key, kind in (
        ('"scenes"', "scene_plan"),
        ('"moods"', "mood_directions"),
        ('"product_name"', "creative_brief"),
    ):
        if key in haystack and (properties or "JSON schema" in haystack):
            return kind
    return "text"


def _number(text: str, key: str, default: float) -> float:
    match = re.search(rf'"{key}":\s*([0-9]+(?:\.[0-9]+)?)', text)
    return float(match.group(1)) if match else default


DEFAULT_BRIEF: dict[str, Any] = {
    "product_name": "Fizzwell",
    "product_description": "A sparkling vitamin drink with no added sugar.",
    "target_audience": "busy young professionals",
    "tone": "energetic, upbeat",
    "visual_style_keywords": ["bright", "modern", "urban"],
    "key_messages": ["No added sugar", "Real fruit flavour", "Energy without the crash"],
    "call_to_action": "Grab a can today",
    "duration_seconds": 30,
}
_SCENE_TYPES = ("hook", "product_intro", "feature", "feature", "call_to_action")


def default_plan(total_s: float) -> dict[str, Any]:
    """Five scenes in whole hundredths that add up to ``total_s`` exactly.

    Every field of the plan's strict schema is there, as a strict-schema model answers; the
    voice lines are empty (a model that leaves the script to the planner, which writes it)."""
    cents = round(total_s * 100)
    base, extra = divmod(cents, len(_SCENE_TYPES))
    scenes = [
        {
            "type": kind,
            "duration_seconds": (base + (1 if i < extra else 0)) / 100,
            "description": f"Scene {i + 1}: the {kind.replace('_', ' ')} of the ad.",
            "style_prompt": f"vertical 9:16 cinematic frame, {kind.replace('_', ' ')}, bright light",
            "caption": "" if kind == "feature" else kind.replace("_", " ").title(),
            "camera_motion": "slow push in",
            "voice_line": "",
            "focus_x": 0.5,
            "focus_y": 0.5,
        }
        for i, kind in enumerate(_SCENE_TYPES)
    ]
    return {"scenes": scenes}


def default_moods(count: int) -> dict[str, Any]:
    palettes = ["#FF5733", "#33C1FF", "#FFD433", "#2ECC71", "#8E44AD", "#1B1B1B"]
    return {
        "moods": [
            {
                "name": f"Fake Mood {i + 1}",
                "description": f"Mood direction number {i + 1}.",
                "style_keywords": ["bright", "bold", f"variant {i + 1}"],
                "color_palette": [palettes[(i + j) % len(palettes)] for j in range(3)],
                "aesthetic_direction": "Soft daylight, centred product, slow push in.",
                "image_prompts": [f"product shot, mood {i + 1}, vertical 9:16"],
            }
            for i in range(count)
        ]
    }


async def _serve(host: str, port: int) -> None:
    fake = FakeOpenAI()
    await fake.start(host, port)
    print(f"fake OpenAI listening on http://{host}:{fake.port}/v1", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI chat completions server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
