"""Server-streaming RPCs as SSE and NDJSON: messages, the end, errors, heartbeats, cancellation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.gateway.helpers import Servicers


async def _events(response: ClientResponse) -> list[dict[str, str]]:
    """Parses a whole SSE body into events (comments dropped)."""
    events: list[dict[str, str]] = []
    for block in (await response.text()).split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if fields:
            events.append(fields)
    return events


async def test_sse_sends_snapshot_updates_and_end(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/jobs/j1/events")
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert response.headers["X-Request-Id"]
    events = await _events(response)
    assert [e.get("id") for e in events] == ["1", "2", "3", None]
    states = [json.loads(e["data"])["state"] for e in events[:3]]
    assert states == ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    assert events[3] == {"event": "end", "data": "{}"}


async def test_ndjson_variant(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/jobs/j1/events", headers={"Accept": "application/x-ndjson"})
    assert response.content_type == "application/x-ndjson"
    lines = (await response.text()).splitlines()
    assert [json.loads(line)["percent"] for line in lines] == [0, 50, 100]


async def test_error_mid_stream_is_a_final_error_event(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/jobs/fail/events")
    events = await _events(response)
    assert json.loads(events[0]["data"])["state"] == "JOB_STATE_PENDING"
    assert events[-1]["event"] == "error"
    error = json.loads(events[-1]["data"])
    assert (error["code"], error["message"]) == ("UNAVAILABLE", "provider went away")

    response = await client.get("/api/jobs/fail/events", headers={"Accept": "application/x-ndjson"})
    last = json.loads((await response.text()).splitlines()[-1])
    assert last["error"]["code"] == "UNAVAILABLE"


async def test_error_before_the_first_message_is_an_http_error(
    client: TestClient[Any, Any],
) -> None:
    response = await client.get("/api/jobs/missing/events")
    assert response.status == 404
    assert (await response.json())["code"] == "NOT_FOUND"


async def test_disconnect_cancels_the_upstream_stream(
    client: TestClient[Any, Any], servicers: Servicers
) -> None:
    response = await client.get("/api/jobs/hang/events")
    first = await response.content.readuntil(b"\n\n")
    assert json.loads(first.decode().split("data: ", 1)[1])["id"] == "hang"
    # Idle: heartbeats (0.05 s in tests) keep the connection alive.
    assert await response.content.readuntil(b"\n\n") == b": heartbeat\n\n"
    assert not servicers.generator.cancelled.is_set()
    response.close()
    await asyncio.wait_for(servicers.generator.cancelled.wait(), timeout=5)


async def test_open_streams_gauge(client: TestClient[Any, Any], servicers: Servicers) -> None:
    response = await client.get("/api/jobs/hang/events")
    await response.content.readuntil(b"\n\n")
    metrics = await (await client.get("/metrics")).text()
    assert "gateway_sse_streams_open 1.0" in metrics
    response.close()
    await asyncio.wait_for(servicers.generator.cancelled.wait(), timeout=5)


async def test_post_streaming_rpc_takes_a_body(client: TestClient[Any, Any]) -> None:
    messages = [{"role": "ROLE_USER", "content": "Hi"}, {"content": "there"}]
    response = await client.post("/api/brief/converse", json={"messages": messages})
    events = await _events(response)
    chunks = [json.loads(e["data"]) for e in events if "id" in e]
    assert chunks == [{"delta": "Hi", "done": False}, {"delta": "there", "done": True}]
