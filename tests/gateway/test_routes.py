"""Every annotated RPC is reachable; path, query and body reach the right fields of the right RPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gateway.app import create_app
from gateway.proto_bindings import RestBinding, bindings_from
from tests.gateway.helpers import AiohttpClient, Servicers, gateway_settings

BINDINGS = bindings_from()
SEED_ROUTES = {
    ("POST", "/api/moods/generate"),
    ("POST", "/api/scenes/plan"),
    ("POST", "/api/video/generate"),
    ("GET", "/api/video/status/{job_id}"),
    ("POST", "/api/audio/generate"),
    ("POST", "/api/composition/compose"),
    ("GET", "/api/composition/status/{id}"),
}


def _concrete(binding: RestBinding) -> str:
    path = binding.template
    for field in binding.path_fields:
        path = path.replace(f"{{{field}}}", "x1")
    return path


def test_seed_routes_are_among_the_bindings() -> None:
    assert {(b.verb, b.template) for b in BINDINGS} >= SEED_ROUTES
    # additional_bindings count too
    assert ("GET", "/api/jobs/{job_id}") in {(b.verb, b.template) for b in BINDINGS}


@pytest.mark.parametrize("binding", BINDINGS, ids=lambda b: f"{b.verb} {b.template}")
async def test_real_services_answer_every_binding(
    binding: RestBinding, real_ports: dict[str, int], data_dir: Path, aiohttp_client: AiohttpClient
) -> None:
    client = await aiohttp_client(create_app(gateway_settings(real_ports, data_dir)))
    kwargs: dict[str, Any] = {"json": {}} if binding.body else {}
    response = await client.request(binding.verb, _concrete(binding), **kwargs)
    body = await response.json() if response.content_type == "application/json" else {}
    # Every RPC is built and every service is up: a 501 (scaffold) or 503 (upstream down) would
    # mean a missing route or service, a 500 a bug. A 4xx names what the request lacked.
    assert response.status < 500, (response.status, body)
    assert body.get("message") != "internal error"


async def test_get_job_reaches_get_job_through_both_bindings(
    client: TestClient[Any, Any], servicers: Servicers
) -> None:
    for path in ("/api/video/status/job-42", "/api/jobs/job-42"):
        response = await client.get(path, headers={"X-Request-Id": "req-abc"})
        assert response.status == 200
        body = await response.json()
        assert body["id"] == "job-42"
        assert body["state"] == "JOB_STATE_RUNNING"
        assert body["estimatedCostMicros"] == str(2**40)  # int64 as a string
        assert body["error"] == ""  # default-valued fields are included
        assert response.headers["X-Request-Id"] == "req-abc"
    assert servicers.generator.request_ids == ["req-abc", "req-abc"]


async def test_request_id_is_issued_when_absent(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/jobs/j1")
    assert len(response.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize(
    "query",
    [
        "pageSize=7&pageToken=t2&state=JOB_STATE_FAILED&kind=JOB_KIND_MUSIC",
        "page_size=7&page_token=t2&state=JOB_STATE_FAILED&kind=3",
    ],
)
async def test_query_parameters_by_json_or_proto_name(
    client: TestClient[Any, Any], query: str
) -> None:
    response = await client.get(f"/api/jobs?{query}")
    assert response.status == 200
    body = await response.json()
    assert body == {
        "jobs": [body["jobs"][0]],
        "nextPageToken": "t2",
    }
    job = body["jobs"][0]
    assert (job["id"], job["state"], job["kind"]) == (
        "size-7",
        "JOB_STATE_FAILED",
        "JOB_KIND_MUSIC",
    )


async def test_bad_query_parameters_are_400(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/jobs?color=red")
    assert response.status == 400
    assert (await response.json())["details"][0]["fieldViolations"][0]["field"] == "color"
    response = await client.get("/api/jobs?pageSize=many")
    assert response.status == 400
    assert "pageSize" in (await response.json())["message"]


async def test_body_reaches_the_rpc(client: TestClient[Any, Any]) -> None:
    request = {"clips": [{"prompt": "push in"}, {"prompt": "pan left"}], "tier": "TIER_DRAFT"}
    response = await client.post("/api/video/generate", json=request)
    assert response.status == 200
    body = await response.json()
    assert [item["model"] for item in body["items"]] == ["push in", "pan left"]
    assert body["tier"] == "TIER_DRAFT"


async def test_post_with_path_and_no_body(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/jobs/j9/cancel")
    assert response.status == 200
    assert (await response.json())["state"] == "JOB_STATE_CANCELED"


async def test_path_variable_wins_over_body(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/jobs/from-path/cancel", json={"jobId": "from-body"})
    assert (await response.json())["id"] == "from-path"


async def test_health(client: TestClient[Any, Any]) -> None:
    response = await client.get("/health")
    assert (response.status, await response.json()) == (200, {"status": "ok"})
