"""Replicate through the official client: create, get, cancel, and finding a create whose answer was lost."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import mimetypes
import weakref
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic.v1 import ValidationError as ClientValidationError
from replicate.client import Client
from replicate.exceptions import ReplicateError

from reelforge.runtime.artifacts import ArtifactStore
from services.generator.catalog import base_model, needs_version
from services.generator.providers.aiohttp_transport import AiohttpTransport
from services.generator.providers.base import (
    CreateRequest,
    LostCreate,
    Prediction,
    ProviderError,
)
from services.generator.providers.replicate_files import FileInputs, Uploaded, expiry
from services.generator.providers.replicate_inputs import same_input
from services.generator.providers.replicate_status import (
    error_from_status,
    parse_retry_after,
    prediction_from_json,
)
from services.generator.settings import GeneratorSettings

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")
_MAX_LIST_PAGES = 10

# Replicate's smallest Cancel-After deadline.
_MIN_CANCEL_AFTER_S = 5
# Headroom over the client's own timeouts before a call is abandoned as hung.
_CALL_SLACK_S = 5.0

# Retry-After of the last 429 seen by this task (the client's errors do not carry headers).
_retry_after: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "retry_after", default=None
)
# The Cancel-After header of the create this task is sending (the client has no header option).
_cancel_after: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cancel_after", default=None
)


async def _remember_retry_after(response: httpx.Response) -> None:
    if response.status_code == 429:
        _retry_after.set(response.headers.get("Retry-After"))


async def _add_cancel_after(request: httpx.Request) -> None:
    """Replicate aborts a prediction still queued at its deadline (not charged), cancels a running one."""
    value = _cancel_after.get()
    if value and request.method == "POST" and request.url.path.endswith("/predictions"):
        request.headers["Cancel-After"] = value


def cancel_after_header(seconds: float) -> str:
    """A Cancel-After value in whole seconds, never below Replicate's minimum."""
    return f"{max(_MIN_CANCEL_AFTER_S, int(seconds))}s"


def _created_at(prediction: Prediction) -> float:
    try:
        return datetime.fromisoformat(prediction.created_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class _LoopClient:
    """A ``Client`` and its transport (both tied to one event loop)."""

    def __init__(self, settings: GeneratorSettings) -> None:
        timeout = settings.replicate_request_timeout_s
        self.transport = AiohttpTransport(max_connections=settings.replicate_max_connections)
        self.client = Client(
            api_token=settings.replicate_api_token,
            base_url=settings.replicate_base_url or None,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            event_hooks={"request": [_add_cancel_after], "response": [_remember_retry_after]},
            transport=self.transport,
        )


class ReplicateProvider:
    """One ``Client`` per event loop (a client cannot be reused across loops)."""

    name = "replicate"

    def __init__(self, settings: GeneratorSettings, store: ArtifactStore) -> None:
        self._settings = settings
        self._catalog = settings.model_catalog
        self.files = FileInputs(store, self._upload)
        self._loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._versions: dict[str, str] = {}  # "owner/name" → its latest version id (looked up once)
        # The longest any one call may take: the client's timeouts bound each socket read, not
        # a server that trickles or a pool that never frees a connection.
        self._call_timeout_s = settings.replicate_request_timeout_s + _CALL_SLACK_S

    def _loop_client(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        found = self._loop_clients.get(loop)
        if found is None:
            found = self._loop_clients[loop] = _LoopClient(self._settings)
        return found

    def _client(self) -> Client:
        return self._loop_client().client

    def prepare(self) -> None:
        """Builds this loop's client now: the first create of a burst should not pay for it."""
        self._loop_client()

    async def create(self, request: CreateRequest) -> Prediction:
        client = self._client()
        params: dict[str, Any] = {"input": await self._resolve_files(request)}
        if request.webhook:
            # Only the verdict matters to us: a "start" delivery would cost a request and a
            # database write per prediction and change nothing.
            params.update(webhook=request.webhook, webhook_events_filter=["completed"])
        model = request.model
        if needs_version(model, self._catalog):
            model = f"{model}:{await self._latest_version(model)}"
        if ":" in model:
            # Pinned version: POST /v1/predictions with "owner/name:version".
            call = client.predictions.async_create(version=model, **params)
        else:
            call = client.models.predictions.async_create(model=model, **params)
        cancel_after_s = request.cancel_after_s
        token = _cancel_after.set(
            cancel_after_header(cancel_after_s) if cancel_after_s is not None else None
        )
        try:
            return prediction_from_json((await self._call(call, create=True)).dict())
        except ClientValidationError:
            # The answer exists but the client cannot read it (e.g. "aborted"): look it up instead.
            raise ProviderError(
                "unreadable create answer", retryable=True, outcome_unknown=True
            ) from None
        finally:
            _cancel_after.reset(token)

    async def _latest_version(self, model: str) -> str:
        """The latest version id of a model that is not official (GET /v1/models/{owner}/{name})."""
        name = base_model(model)
        if name not in self._versions:
            call = self._client()._async_request("GET", f"/v1/models/{name}")
            data = (await self._call(call, create=False)).json()
            latest = data.get("latest_version") if isinstance(data, dict) else None
            version = latest.get("id") if isinstance(latest, dict) else None
            if not isinstance(version, str) or not version:
                raise ProviderError(
                    f"Replicate model {name} has no version to run; pin one as {name}:<version>",
                    retryable=False,
                )
            self._versions[name] = version
        return self._versions[name]

    async def get(self, prediction_id: str) -> Prediction:
        # Read as raw JSON: the client's model drops fields we need (``data_removed``) and
        # refuses statuses it does not know ("aborted").
        call = self._client()._async_request("GET", f"/v1/predictions/{prediction_id}")
        return prediction_from_json((await self._call(call, create=False)).json())

    async def cancel(self, prediction_id: str) -> Prediction:
        path = f"/v1/predictions/{prediction_id}/cancel"
        return await self._read(
            "POST", path, self._client().predictions.async_cancel(prediction_id)
        )

    async def find_created(self, lost: LostCreate) -> Prediction | None:
        cursor: str | None = "/v1/predictions"
        for _ in range(_MAX_LIST_PAGES):
            if cursor is None:
                return None
            page, cursor = await self._list_page(cursor)
            for prediction in page:
                if _created_at(prediction) < lost.since:
                    return None  # newest first: everything further is older
                if prediction.id in lost.exclude:
                    continue
                if base_model(prediction.model) != base_model(lost.request.model):
                    continue
                if not prediction.input and not prediction.webhook:
                    # Replicate's list leaves input and webhook out: read the prediction itself.
                    prediction = await self.get(prediction.id)
                if lost.request.webhook and prediction.webhook:
                    if prediction.webhook == lost.request.webhook:
                        return prediction
                elif same_input(lost.request.model_input, prediction.input):
                    return prediction
        return None

    async def aclose(self) -> None:
        for loop_client in list(self._loop_clients.values()):
            await loop_client.transport.aclose()
        self._loop_clients.clear()

    async def _list_page(self, cursor: str) -> tuple[list[Prediction], str | None]:
        data = (await self._call(self._client()._async_request("GET", cursor), create=False)).json()
        return [prediction_from_json(item) for item in data.get("results", [])], data.get("next")

    async def _read(self, method: str, path: str, call: Awaitable[Any]) -> Prediction:
        try:
            return prediction_from_json((await self._call(call, create=False)).dict())
        except ClientValidationError:
            # Client 1.0.7 rejects statuses it does not know ("aborted"): read the raw JSON.
            response = await self._call(self._client()._async_request(method, path), create=False)
            return prediction_from_json(response.json())

    async def _call(self, call: Awaitable[_T], *, create: bool) -> _T:
        """Runs one client call, turning its failures into ProviderError."""
        _retry_after.set(None)
        try:
            async with asyncio.timeout(self._call_timeout_s):
                return await call
        except ReplicateError as error:
            detail = error.detail or error.title or str(error)
            retry_after = parse_retry_after(_retry_after.get())
            raise error_from_status(error.status or 0, detail, retry_after, create=create) from None
        except (httpx.TransportError, httpx.TimeoutException, TimeoutError) as error:
            raise ProviderError(
                f"network error talking to Replicate: {type(error).__name__}",
                retryable=True,
                outcome_unknown=create,
            ) from None

    async def _resolve_files(self, request: CreateRequest) -> dict[str, Any]:
        """Artifact ids in the model's image fields become data: URIs or uploaded files' URLs:
        Replicate cannot reach our store."""
        resolved = dict(request.model_input)
        entry = self._catalog.entry(request.model)
        for key in entry.image_fields if entry is not None else ():
            value = resolved.get(key)
            if isinstance(value, str):
                resolved[key] = await self.files.resolve(value)
            elif isinstance(value, list):
                resolved[key] = [await self.files.resolve(str(item)) for item in value]
        return resolved

    async def _upload(self, path: Path, mime: str, artifact_id: str) -> Uploaded:
        """One file through ``POST /v1/files`` (multipart ``content``, its name and type)."""
        content = io.BytesIO(await asyncio.to_thread(path.read_bytes))
        call = self._client().files.async_create(
            content,
            filename=f"{artifact_id}{mimetypes.guess_extension(mime) or ''}",
            content_type=mime,
            metadata={"sha256": artifact_id},
        )
        uploaded = await self._call(call, create=False)
        return Uploaded(url=uploaded.urls["get"], expires_at=expiry(uploaded.expires_at))
