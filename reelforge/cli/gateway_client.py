"""A small typed client for the gateway's REST + SSE API (canonical proto3 JSON)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from google.protobuf import json_format
from google.protobuf.message import Message

from reelforge.cli.errors import CliError

JSON = dict[str, Any]
_M = TypeVar("_M", bound=Message)
_STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
# Longer than the gateway's deadline for LLM routes (UPSTREAM_LLM_TIMEOUT_S, 300 s), so a slow
# model ends with the gateway's own error rather than with ours.
DEFAULT_TIMEOUT_S = 330.0
TIMEOUT_HINT = "--timeout or REELFORGE_TIMEOUT_S"


class GatewayClient:
    """One aiohttp session against the gateway; use as an async context manager."""

    def __init__(
        self, base_url: str, api_key: str = "", timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self._base = base_url.rstrip("/")
        self._timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        )

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._session.close()

    async def post(self, path: str, body: JSON) -> JSON:
        return await self._call("POST", path, body)

    async def get(self, path: str) -> JSON:
        return await self._call("GET", path, None)

    async def post_as(self, path: str, body: JSON | Message, answer: type[_M]) -> _M:
        """POST with a JSON or message body; the answer as the generated type ``answer``."""
        json_body = to_json(body) if isinstance(body, Message) else body
        return parse_answer(await self.post(path, json_body), answer, f"POST {path}")

    async def get_as(self, path: str, answer: type[_M]) -> _M:
        """GET; the answer as the generated type ``answer``."""
        return parse_answer(await self.get(path), answer, f"GET {path}")

    async def events_as(self, path: str, message: type[_M]) -> AsyncIterator[_M]:
        """``events`` of a Watch* route, each as the generated type ``message``."""
        async for event in self.events(path):
            yield parse_answer(event, message, f"GET {path}")

    async def _call(self, method: str, path: str, body: JSON | None) -> JSON:
        try:
            async with self._session.request(method, self._base + path, json=body) as response:
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    raise CliError(_error_line(method, path, response.status, payload))
                return dict(payload)
        except aiohttp.ClientConnectorError:
            raise CliError(f"cannot reach the gateway at {self._base} (is the stack up?)") from None
        except TimeoutError:
            # aiohttp's total timeout is a bare TimeoutError, not a ClientError.
            raise CliError(
                f"{method} {path}: no answer from the gateway within {self._timeout_s:g} s "
                f"(raise it with {TIMEOUT_HINT})"
            ) from None
        except (aiohttp.ClientError, ValueError, TypeError) as error:
            # ValueError covers bad JSON; TypeError a JSON answer that is not an object.
            raise CliError(
                f"{method} {path}: {one_line(str(error)) or type(error).__name__}"
            ) from None

    async def events(self, path: str) -> AsyncIterator[JSON]:
        """Server-Sent Events of a Watch* route, one decoded message per event, until the
        gateway's ``end`` event (or the end of the body)."""
        try:
            async for message in self._events(path):
                yield message
        except TimeoutError:
            raise CliError(
                f"GET {path}: the event stream went quiet for {_STREAM_TIMEOUT.sock_read:g} s"
            ) from None
        except (aiohttp.ClientError, ValueError) as error:
            raise CliError(f"GET {path}: {one_line(str(error)) or type(error).__name__}") from None

    async def _events(self, path: str) -> AsyncIterator[JSON]:
        headers = {"Accept": "text/event-stream"}
        async with self._session.get(
            self._base + path, headers=headers, timeout=_STREAM_TIMEOUT
        ) as response:
            if response.status >= 400:
                payload = await response.json(content_type=None)
                raise CliError(_error_line("GET", path, response.status, payload))
            event, data = "message", ""
            async for raw in response.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    message = json.loads(data)
                    if event == "error":
                        raise CliError(_error_line("GET", path, 0, message))
                    if event == "end":
                        return  # its data ({}) is a marker, not a message
                    yield message
                    event, data = "message", ""

    async def download(self, path: str, dest: Path) -> int:
        """Streams a file route to ``dest``; returns the byte count."""
        try:
            return await self._download(path, dest)
        except TimeoutError:
            raise CliError(
                f"GET {path}: the download stalled for {_STREAM_TIMEOUT.sock_read:g} s"
            ) from None
        except aiohttp.ClientError as error:
            raise CliError(f"GET {path}: {one_line(str(error)) or type(error).__name__}") from None
        except OSError as error:
            raise CliError(f"cannot write {dest}: {error.strerror or error}") from None

    async def _download(self, path: str, dest: Path) -> int:
        dest.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        async with self._session.get(self._base + path, timeout=_STREAM_TIMEOUT) as response:
            if response.status >= 400:
                raise CliError(f"GET {path}: HTTP {response.status}")
            with dest.open("wb") as handle:
                async for chunk in response.content.iter_chunked(1 << 16):
                    handle.write(chunk)
                    size += len(chunk)
        return size


def parse_answer(answer: JSON, message: type[_M], where: str) -> _M:
    """A gateway answer as its protobuf type; fields this CLI does not know yet are skipped."""
    try:
        return json_format.ParseDict(answer, message(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise CliError(f"{where}: unexpected answer: {one_line(str(error))}") from None


def to_json(message: Message) -> JSON:
    """A request body in the gateway's JSON (camelCase names, defaults left out)."""
    return json_format.MessageToDict(message)


def message_json(message: Message) -> JSON:
    """A message as the gateway shows it: every field, defaults included."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)


def _error_line(method: str, path: str, status: int, payload: Any) -> str:
    where = f"{method} {path}: HTTP {status}" if status else f"{method} {path}"
    if not isinstance(payload, dict):
        return where
    message = payload.get("message") or payload.get("error")
    return f"{where}: {one_line(str(message))}" if message else where


def one_line(text: str) -> str:
    """Server texts may hold newlines; the CLI reports every error in one line."""
    return " ".join(text.split())
