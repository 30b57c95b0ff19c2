"""Provider webhooks: Standard Webhooks signature and timestamp checks, dedupe on webhook-id, apply."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping

from reelforge.runtime.errors import FailedPrecondition, InvalidArgument, Unauthenticated
from reelforge.v1 import generator_pb2 as pb
from services.generator.engine import JobEngine
from services.generator.providers.replicate_status import prediction_from_json
from services.generator.settings import GeneratorSettings
from services.generator.webhook_deliveries import WebhookDeliveries

_LOGGER = logging.getLogger(__name__)
# Standard Webhooks: the timestamp is integer unix seconds. Ten digits today; at most 12 keeps
# the arithmetic on floats exact and refuses a 400-digit "time" before it reaches them.
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_MAX_WEBHOOK_ID_CHARS = 256  # stored for deduplication; Replicate's are ~30 characters


def signature_for(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The "v1,<base64>" signature of a delivery (HMAC-SHA256 of "id.timestamp.body")."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise FailedPrecondition("REPLICATE_WEBHOOK_SECRET is not a valid whsec_ secret") from None
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    tolerance_s: float,
    now: float | None = None,
) -> str:
    """Checks headers, timestamp and signature; returns the webhook-id or raises Unauthenticated."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and timestamp and signatures):
        raise Unauthenticated(
            "missing webhook-id, webhook-timestamp or webhook-signature", reason="WEBHOOK_HEADERS"
        )
    if len(webhook_id) > _MAX_WEBHOOK_ID_CHARS or not webhook_id.isprintable():
        raise Unauthenticated(
            f"webhook-id must be at most {_MAX_WEBHOOK_ID_CHARS} printable characters",
            reason="WEBHOOK_HEADERS",
        )
    if not _TIMESTAMP.match(timestamp):
        raise Unauthenticated("webhook-timestamp is not a unix time", reason="WEBHOOK_TIMESTAMP")
    sent_at = int(timestamp)
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        raise Unauthenticated(
            "webhook timestamp outside the tolerance (stale or replayed)",
            reason="WEBHOOK_TIMESTAMP",
        )
    expected = signature_for(secret, webhook_id, timestamp, body).encode()
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (TypeError).
    offered = [c.encode("utf-8", "surrogateescape") for c in signatures.split()]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise Unauthenticated("webhook signature does not match", reason="WEBHOOK_SIGNATURE")
    return webhook_id


class WebhookHandler:
    def __init__(
        self, settings: GeneratorSettings, deliveries: WebhookDeliveries, engine: JobEngine
    ) -> None:
        self._settings = settings
        self._deliveries = deliveries
        self._engine = engine

    async def handle(
        self, request: pb.HandleProviderWebhookRequest
    ) -> pb.HandleProviderWebhookResponse:
        if request.provider not in ("", "replicate"):
            raise InvalidArgument.single(
                "provider", f"no webhooks for provider {request.provider!r}"
            )
        if not self._settings.replicate_webhook_secret:
            raise FailedPrecondition("webhooks are not configured: set REPLICATE_WEBHOOK_SECRET")
        headers = {key.lower(): value for key, value in request.headers.items()}
        # 1. Authenticity and freshness before anything is parsed.
        webhook_id = verify(
            headers,
            request.body,
            secret=self._settings.replicate_webhook_secret,
            tolerance_s=self._settings.webhook_tolerance_s,
        )
        # 2. The body is a prediction object.
        try:
            data = json.loads(request.body)
            if not isinstance(data, dict):  # a signed `[]` or `"x"` must not reach .get()
                raise TypeError("not a JSON object")
            prediction = prediction_from_json(data)
        except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: deep nesting
            raise InvalidArgument.single("body", "not a prediction object") from None
        # 3. Each delivery once: redeliveries and replays share the webhook-id.
        if not await self._deliveries.remember(webhook_id, prediction.id):
            return pb.HandleProviderWebhookResponse(
                accepted=True, duplicate=True, prediction_id=prediction.id
            )
        # 4. Wake the item waiting on it; it decides (once) what the new status means. The URL's
        # item tag lets a create whose answer was lost be adopted (Replicate's body may not
        # echo the webhook URL); the engine checks the signed body matches that item.
        await self._engine.apply_prediction_update(prediction, item_id=request.item_tag)
        return pb.HandleProviderWebhookResponse(accepted=True, prediction_id=prediction.id)
