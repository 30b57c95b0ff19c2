"""The error table: gRPC status → HTTP status and `{code, message, details}`; gateway-side errors."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.gateway.helpers import ClientFactory

# product name (selects the servicer's error) → HTTP status, error code.
# The caller's to fix (4xx):
CLIENT_ERRORS = [
    ("invalid", 400, "INVALID_ARGUMENT"),
    ("unauthenticated", 401, "UNAUTHENTICATED"),
    ("denied", 403, "PERMISSION_DENIED"),
    ("missing", 404, "NOT_FOUND"),
    ("exists", 409, "ALREADY_EXISTS"),
    ("aborted", 409, "ABORTED"),
    ("precondition", 412, "FAILED_PRECONDITION"),
    ("exhausted", 429, "RESOURCE_EXHAUSTED"),
]
# The service's, or an upstream's (5xx); a servicer that crashes is INTERNAL too:
SERVER_ERRORS = [
    ("unimplemented", 501, "UNIMPLEMENTED"),
    ("unavailable", 503, "UNAVAILABLE"),
    ("deadline", 504, "DEADLINE_EXCEEDED"),
    ("internal", 500, "INTERNAL"),
    ("crash", 500, "INTERNAL"),
]
TABLE = CLIENT_ERRORS + SERVER_ERRORS


async def _moods(client: TestClient[Any, Any], name: str) -> Any:
    return await client.post("/api/moods/generate", json={"brief": {"productName": name}})


@pytest.mark.parametrize(("name", "status", "code"), TABLE, ids=[row[0] for row in TABLE])
async def test_grpc_status_maps_to_http(
    client: TestClient[Any, Any], name: str, status: int, code: str
) -> None:
    response = await _moods(client, name)
    assert response.status == status
    body = await response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "details"}
    if status == 500:  # nothing of the upstream's internals leaks
        assert body == {"code": "INTERNAL", "message": "internal error", "details": []}
    else:
        assert any(d.get("@type", "").endswith("ErrorInfo") for d in body["details"]) or (
            code == "ABORTED"
        )


async def test_invalid_argument_carries_field_violations(client: TestClient[Any, Any]) -> None:
    body = await (await _moods(client, "invalid")).json()
    bad = next(d for d in body["details"] if d["@type"].endswith("google.rpc.BadRequest"))
    assert bad["fieldViolations"] == [{"field": "brief.tone", "description": "is required"}]


async def test_resource_exhausted_sets_retry_after(client: TestClient[Any, Any]) -> None:
    response = await _moods(client, "exhausted")
    assert response.headers["Retry-After"] == "8"  # 7.2 s, rounded up


async def test_success_passes_through(client: TestClient[Any, Any]) -> None:
    response = await _moods(client, "Fizz")
    assert response.status == 200
    assert (await response.json())["moods"][0]["name"] == "Fizz"


async def test_malformed_json_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/api/moods/generate", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["message"].startswith("malformed JSON body")


async def test_json_that_is_not_an_object_is_400(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/moods/generate", json=[1, 2])
    assert response.status == 400


async def test_wrong_content_type_is_415(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/api/moods/generate", data=b"count=3", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert (await response.json())["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_body_over_the_limit_is_413(make_client: ClientFactory) -> None:
    client = await make_client(max_body_bytes=1000)
    response = await client.post("/api/moods/generate", json={"brief": {"tone": "x" * 2000}})
    assert response.status == 413
    assert (await response.json())["code"] == "PAYLOAD_TOO_LARGE"


async def test_unknown_fields_are_named(client: TestClient[Any, Any]) -> None:
    body = {"brief": {"productName": "a", "colour": "red"}, "extra": 1}
    response = await client.post("/api/moods/generate", json=body)
    assert response.status == 400
    error = await response.json()
    assert "brief.colour" in error["message"] and "extra" in error["message"]
    fields = [v["field"] for v in error["details"][0]["fieldViolations"]]
    assert fields == ["brief.colour", "extra"]


async def test_unknown_field_in_a_repeated_message(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/video/generate", json={"clips": [{}, {"speed": 2}]})
    assert (await response.json())["details"][0]["fieldViolations"][0]["field"] == "clips[1].speed"


async def test_wrongly_typed_value_names_the_field(client: TestClient[Any, Any]) -> None:
    response = await client.post("/api/moods/generate", json={"brief": {"productName": 3}})
    assert response.status == 400
    error = await response.json()
    assert error["details"][0]["fieldViolations"][0]["field"] == "brief.productName"


async def test_unknown_route_is_json_404(client: TestClient[Any, Any]) -> None:
    response = await client.get("/api/nothing/here")
    assert response.status == 404
    assert (await response.json())["code"] == "NOT_FOUND"


async def test_wrong_method_is_json_405(client: TestClient[Any, Any]) -> None:
    response = await client.delete("/api/moods/generate")
    assert response.status == 405
    assert (await response.json())["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in response.headers["Allow"]


async def test_unreachable_upstream_is_503(
    make_client: ClientFactory, unused_tcp_port: int
) -> None:
    client = await make_client(planner_address=f"127.0.0.1:{unused_tcp_port}")
    response = await _moods(client, "x")
    assert response.status == 503
    assert (await response.json())["code"] == "UNAVAILABLE"


async def test_every_unary_call_has_a_deadline(make_client: ClientFactory) -> None:
    client = await make_client(upstream_timeout_s=0.2)
    response = await client.get("/api/jobs/slow")
    assert response.status == 504
    assert (await response.json())["code"] == "DEADLINE_EXCEEDED"
