"""/openapi.json and /docs, /metrics, and the Replicate webhook pass-through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from gateway.openapi_schemas import SchemaCollector
from gateway.proto_bindings import bindings_from
from reelforge.v1 import generator_pb2


async def test_openapi_is_valid_and_lists_every_binding(client: TestClient[Any, Any]) -> None:
    spec = await (await client.get("/openapi.json")).json()
    validate(spec)
    for binding in bindings_from():
        operation = spec["paths"][binding.openapi_path][binding.verb.lower()]
        assert operation["operationId"] == binding.operation_id
    for path in (
        "/api/artifacts/{id}",
        "/api/composition/download/{id}",
        "/api/webhooks/replicate",
    ):
        assert path in spec["paths"]


async def test_openapi_schemas_follow_proto3_json(client: TestClient[Any, Any]) -> None:
    spec = await (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    job = schemas["reelforge.v1.Job"]["properties"]
    assert job["estimatedCostMicros"]["type"] == "string"  # int64
    assert job["createdAt"] == {"type": "string", "format": "date-time"}  # Timestamp
    assert job["items"]["type"] == "array"
    assert job["state"] == {"$ref": "#/components/schemas/reelforge.v1.JobState"}
    assert "JOB_STATE_RUNNING" in schemas["reelforge.v1.JobState"]["enum"]
    estimate = schemas["reelforge.v1.EstimateCostRequest"]
    assert estimate["x-oneof"] == {"request": ["images", "clips", "music", "voice"]}


def test_maps_are_objects() -> None:
    collector = SchemaCollector()
    collector.message(generator_pb2.HandleProviderWebhookRequest.DESCRIPTOR)
    webhook = collector.schemas["reelforge.v1.HandleProviderWebhookRequest"]["properties"]
    assert webhook["headers"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert webhook["body"] == {"type": "string", "format": "byte"}


async def test_streaming_operations_are_marked(client: TestClient[Any, Any]) -> None:
    spec = await (await client.get("/openapi.json")).json()
    watch = spec["paths"]["/api/jobs/{job_id}/events"]["get"]
    assert watch["x-server-streaming"] is True
    assert "text/event-stream" in watch["responses"]["200"]["content"]
    assert spec["paths"]["/api/jobs/{job_id}"]["get"].get("x-server-streaming") is None


async def test_docs_page_is_self_contained(client: TestClient[Any, Any]) -> None:
    response = await client.get("/docs")
    html = await response.text()
    assert response.content_type == "text/html"
    assert "/openapi.json" in html
    assert "http://" not in html and "https://" not in html  # nothing from a CDN


async def test_metrics_count_requests_and_upstream_errors(client: TestClient[Any, Any]) -> None:
    await client.get("/api/jobs/j1")
    await client.get("/api/jobs/missing")
    text = await (await client.get("/metrics")).text()
    assert (
        'gateway_http_requests_total{method="GET",route="/api/jobs/{job_id}",status="200"} 1.0'
        in text
    )
    assert 'route="/api/jobs/{job_id}",status="404"} 1.0' in text
    assert 'gateway_upstream_errors_total{code="NOT_FOUND"} 1.0' in text
    assert "gateway_http_request_duration_seconds_bucket" in text


async def test_webhook_passes_raw_body_and_lower_cased_headers(
    client: TestClient[Any, Any],
) -> None:
    body = json.dumps({"id": "pred-7", "status": "succeeded"}).encode()
    response = await client.post(
        "/api/webhooks/replicate",
        data=body,
        headers={"Webhook-Signature": "v1,good", "Content-Type": "application/json"},
    )
    assert response.status == 200
    assert await response.json() == {"accepted": True, "duplicate": False, "predictionId": "pred-7"}


async def test_webhook_passes_the_urls_item_tag(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/api/webhooks/replicate?item=item-42",
        data=json.dumps({"id": "pred-8", "status": "succeeded"}).encode(),
        headers={"Webhook-Signature": "v1,good"},
    )
    assert response.status == 200
    assert (await response.json())["predictionId"] == "pred-8@item-42"


async def test_webhook_with_a_bad_signature_is_401(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/api/webhooks/replicate", data=b"{}", headers={"Webhook-Signature": "v1,forged"}
    )
    assert response.status == 401


def test_readme_routes_table_matches_the_annotations() -> None:
    readme = (Path(__file__).resolve().parents[2] / "gateway" / "README.md").read_text()
    for binding in bindings_from():
        assert f"| {binding.verb} | `{binding.template}` |" in readme, binding.template
