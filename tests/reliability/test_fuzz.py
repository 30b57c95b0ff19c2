"""Property-based fuzzing: webhooks never cause an internal error; JSON bodies never cause a 5xx."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelforge.v1 import generator_pb2 as pb
from reelforge.v1 import generator_pb2_grpc
from tests.fakes.replicate_server import sign_webhook
from tests.reliability.conftest import in_process_stack

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALLOWED_WEBHOOK_CODES = {
    grpc.StatusCode.OK,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.INVALID_ARGUMENT,
}
POST_ROUTES = [
    "/api/brief/extract",
    "/api/moods/generate",
    "/api/scenes/plan",
    "/api/images/generate",
    "/api/video/generate",
    "/api/audio/generate",
    "/api/cost/estimate",
    "/api/composition/compose",
    "/api/jobs/j1/cancel",
    "/api/jobs/j1/retry",
    "/api/composition/c1/cancel",
]
_FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The real services and gateway on a loop in a thread, so hypothesis can drive them in sync."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    ready: Future[dict[str, str]] = Future()
    stop = threading.Event()

    async def serve() -> None:
        generator = {"replicate_webhook_secret": SECRET, "video_provider": "animatic"}
        async with in_process_stack(data_dir, generator=generator) as stack:
            channel_target = f"127.0.0.1:{stack.ports['generator']}"
            ready.set_result({"gateway": str(stack.http.make_url("")), "generator": channel_target})
            await asyncio.to_thread(stop.wait)  # serve until the module's tests are done

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    yield ready.result(timeout=60)
    stop.set()
    thread.join(timeout=30)


# ---- webhooks ---------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
prediction_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "status": st.sampled_from(["starting", "processing", "succeeded", "failed", "canceled", "aborted", "x"]) | json_values,
        "output": json_values,
        "error": json_values,
        "input": json_values,
        "metrics": json_values,
        "created_at": json_values,
        "webhook": json_values,
        "model": json_values,
    },
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    prediction_like.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
)
header_text = st.text(max_size=40)


@st.composite
def deliveries(draw: st.DrawFn) -> pb.HandleProviderWebhookRequest:
    body = draw(bodies)
    headers = draw(st.dictionaries(header_text, header_text, max_size=4))
    mode = draw(st.sampled_from(["signed", "stale", "raw"]))
    if mode != "raw":
        webhook_id = draw(st.text(min_size=1, max_size=30))
        sent = time.time() - (3600 if mode == "stale" else 0)
        timestamp = str(int(sent))
        headers |= {
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": sign_webhook(SECRET, webhook_id, timestamp, body),
        }
    provider = draw(st.sampled_from(["replicate", "", "other"]))
    return pb.HandleProviderWebhookRequest(provider=provider, headers=headers, body=body)


@_FUZZ
@given(delivery=deliveries())
def test_webhooks_never_cause_an_internal_error(
    live: dict[str, str], delivery: pb.HandleProviderWebhookRequest
) -> None:
    with grpc.insecure_channel(live["generator"]) as channel:
        stub = generator_pb2_grpc.GeneratorServiceStub(channel)
        try:
            stub.HandleProviderWebhook(delivery, timeout=10)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
            details = error.details()
            assert code in ALLOWED_WEBHOOK_CODES, (code, details)


# ---- gateway JSON → proto ---------------------------------------------------------------------

json_bodies = st.one_of(
    st.dictionaries(st.text(max_size=12), json_values, max_size=5).map(json.dumps),
    json_values.map(json.dumps),
    st.integers(1, 20000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    st.integers(1, 20000).map(lambda depth: '{"brief":' + "[" * depth + "]" * depth + "}"),
    st.text(max_size=50),
)


@_FUZZ
@given(route=st.sampled_from(POST_ROUTES), body=json_bodies)
def test_json_bodies_never_cause_a_5xx(live: dict[str, str], route: str, body: str) -> None:
    answer = httpx.post(
        live["gateway"].rstrip("/") + route,
        content=body.encode(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert isinstance(answer.json(), dict)
