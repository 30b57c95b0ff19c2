"""Per-route upstream deadlines: the planner's model calls get UPSTREAM_LLM_TIMEOUT_S, the rest
UPSTREAM_TIMEOUT_S, and the gRPC deadline the service sees is the route's deadline."""

from __future__ import annotations

from gateway.settings import GatewaySettings
from tests.gateway.helpers import ClientFactory, Servicers

LLM_ROUTES = {
    "ExtractBrief": ("/api/brief/extract", {"messages": [{"role": "ROLE_USER", "content": "x"}]}),
    "GenerateMoods": ("/api/moods/generate", {"brief": {"productName": "bottle"}}),
    "PlanScenes": ("/api/scenes/plan", {"mood": {"id": "m1"}}),
}


def test_llm_routes_default_to_five_minutes() -> None:
    settings = GatewaySettings()
    assert settings.upstream_llm_timeout_s == 300
    assert settings.upstream_timeout_s == 30


async def test_each_route_sends_its_own_deadline(
    make_client: ClientFactory, servicers: Servicers
) -> None:
    client = await make_client(upstream_timeout_s=7, upstream_llm_timeout_s=250)
    for rpc, (path, body) in LLM_ROUTES.items():
        answer = await client.post(path, json=body)
        assert answer.status == 200, (path, await answer.text())
        remaining = servicers.planner.time_remaining[rpc]
        assert remaining is not None and 200 < remaining <= 251, (
            rpc,
            remaining,
        )  # gRPC rounds deadlines up
    answer = await client.get("/api/jobs/j1")
    assert answer.status == 200
    remaining = servicers.generator.time_remaining[-1]
    assert remaining is not None and 0 < remaining <= 8, remaining
