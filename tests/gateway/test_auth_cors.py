"""Optional API keys (constant-time bearer check) and CORS, preflight included."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.helpers import ClientFactory


@pytest.fixture
async def keyed(make_client: ClientFactory) -> TestClient[Any, Any]:
    return await make_client(
        gateway_api_keys="key-one, key-two", cors_origins="https://app.example"
    )


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic key-one", "Bearer "])
async def test_missing_or_wrong_key_is_401(
    keyed: TestClient[Any, Any], authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await keyed.get("/api/jobs/j1", headers=headers)
    assert response.status == 401
    assert (await response.json())["code"] == "UNAUTHENTICATED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("key", ["key-one", "key-two"])
async def test_a_configured_key_is_accepted(keyed: TestClient[Any, Any], key: str) -> None:
    response = await keyed.get("/api/jobs/j1", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200


async def test_open_paths_need_no_key(keyed: TestClient[Any, Any]) -> None:
    assert (await keyed.get("/health")).status == 200
    assert (await keyed.get("/metrics")).status == 200
    webhook = await keyed.post(
        "/api/webhooks/replicate", json={"id": "p1"}, headers={"webhook-signature": "v1,good"}
    )
    assert webhook.status == 200
    assert (await keyed.get("/openapi.json")).status == 401


async def test_no_keys_means_open(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/api/jobs/j1")).status == 200


async def test_preflight_is_answered_without_a_key(keyed: TestClient[Any, Any]) -> None:
    response = await keyed.options(
        "/api/moods/generate",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type"


async def test_preflight_from_another_origin_is_refused(keyed: TestClient[Any, Any]) -> None:
    response = await keyed.options(
        "/api/moods/generate",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 403
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_cors_headers_on_responses_and_errors(keyed: TestClient[Any, Any]) -> None:
    for headers, status in [({"Authorization": "Bearer key-one"}, 200), ({}, 401)]:
        response = await keyed.get(
            "/api/jobs/j1", headers={**headers, "Origin": "https://app.example"}
        )
        assert response.status == status
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]
