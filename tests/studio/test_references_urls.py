"""A brief's logo or product photo URL that points at a loopback, private, link-local or metadata
address is refused at CreateAd (INVALID_ARGUMENT naming the field; HTTP 400 with the same
detail), not after the whole ad was paid for and failed at compose; the studio's
FETCH_ALLOW_NETWORKS opens ranges as it does for the services that fetch them."""

from __future__ import annotations

from pathlib import Path

import grpc
from google.protobuf import json_format

from reelforge.v1 import common_pb2, studio_pb2, studio_pb2_grpc
from tests.grpc_helpers import field_violations
from tests.studio.helpers import BRIEF, RENDER, AiohttpClient, Stack, gateway_client, whole_stack

_PUBLIC = "https://cdn.example.com/bottle.png"  # checked by its form only (no DNS at the door)
_BLOCKED = {
    "brief.brand.logo": "https://127.0.0.1:9/logo.png",
    "brief.product_images[1]": "https://10.0.0.7/bottle.png",
    "brief.product_images[2]": "https://169.254.169.254/latest/meta-data",
    "brief.product_images[3]": "https://localhost/bottle.png",
}
_PRODUCTS = [_PUBLIC, *(_BLOCKED[f"brief.product_images[{i}]"] for i in (1, 2, 3))]


def _brief() -> common_pb2.CreativeBrief:
    brief = json_format.ParseDict(BRIEF, common_pb2.CreativeBrief())
    brief.brand.CopyFrom(common_pb2.BrandKit(name="Lumen", logo=_BLOCKED["brief.brand.logo"]))
    brief.product_images.extend(_PRODUCTS)
    return brief


async def test_private_brand_urls_are_refused_at_create_ad(
    stack: Stack, aiohttp_client: AiohttpClient
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['studio']}") as channel:
        stub = studio_pb2_grpc.StudioServiceStub(channel)
        call = stub.CreateAd(studio_pb2.CreateAdRequest(brief=_brief()), timeout=10)
        violations = await field_violations(call)
    assert set(violations) == set(_BLOCKED)
    assert "127.0.0.1" in violations["brief.brand.logo"]
    client = await gateway_client(aiohttp_client, stack)
    brand = {"name": "Lumen", "logo": _BLOCKED["brief.brand.logo"]}
    brief = BRIEF | {"brand": brand, "productImages": _PRODUCTS}
    response = await client.post("/api/ads", json={"brief": brief, "options": {"render": RENDER}})
    assert response.status == 400
    body = await response.text()
    assert all(field in body for field in _BLOCKED), body
    assert "brief.product_images[0]" not in body
    listed = await (await client.get("/api/ads")).json()
    assert not listed.get("ads")  # nothing was made


async def test_the_studios_allow_list_opens_a_private_range(
    data_dir: Path, aiohttp_client: AiohttpClient
) -> None:
    async with whole_stack(data_dir, fetch_allow_networks="127.0.0.0/8") as stack:
        client = await gateway_client(aiohttp_client, stack)
        brief = BRIEF | {"brand": {"name": "Lumen", "logo": "https://127.0.0.1:9/logo.png"}}
        created = await client.post(
            "/api/ads", json={"brief": brief, "options": {"render": RENDER}}
        )
        assert created.status == 200, await created.text()
        ad = await created.json()
        await client.post(f"/api/ads/{ad['id']}/cancel", json={})
