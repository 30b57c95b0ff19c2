"""Attacks through the real gateway and services: forged and replayed webhooks, SSRF, path
traversal, oversized bodies, API keys, and secrets that must never reach the logs."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from yarl import URL

from reelforge.cli.stack import StackPorts, local_stack
from reelforge.v1 import composer_pb2 as cpb
from reelforge.v1 import generator_pb2 as pb
from tests.fakes.openai_server import FakeOpenAI, http_error
from tests.fakes.replicate_server import FakeReplicate, sign_webhook
from tests.helpers import wait_until
from tests.reliability.helpers import Stack, TrapServer, in_process_stack


def aiohttp_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))


WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WEBHOOK_PATH = "/api/webhooks/replicate"


# ---- webhooks: forgery and replay ---------------------------------------------------------------


def _signed(body: bytes, *, secret: str = WEBHOOK_SECRET, webhook_id: str = "msg_1",
            sent_at: float | None = None) -> dict[str, str]:  # fmt: skip
    timestamp = str(int(time.time() if sent_at is None else sent_at))
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign_webhook(secret, webhook_id, timestamp, body),
    }


@pytest.fixture
async def webhook_stack(data_dir: Path) -> AsyncIterator[tuple[Stack, FakeReplicate]]:
    # Predictions never finish by themselves (latency 1 h) and nothing polls soon: only a webhook
    # can move the item, so the test sees exactly what each delivery did.
    async with FakeReplicate(latency_s=3600) as fake:
        generator = {
            "replicate_api_token": fake.token,
            "replicate_base_url": fake.base_url,
            "replicate_webhook_secret": WEBHOOK_SECRET,
            "public_url": "http://127.0.0.1:9",  # the fake's own deliveries go nowhere
            "webhook_safety_poll_s": 3600,
            "fetch_allow_networks": "127.0.0.0/8",
        }
        async with in_process_stack(data_dir, generator=generator) as stack:
            yield stack, fake


async def test_forged_stale_and_replayed_webhooks_change_nothing(
    webhook_stack: tuple[Stack, FakeReplicate],
) -> None:
    stack, fake = webhook_stack
    job = await stack.generator.GenerateImages(
        pb.GenerateImagesRequest(images=[pb.ImageSpec(prompt="webhook target")]), timeout=10
    )

    async def running() -> pb.Job | None:
        current = await stack.generator.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
        return current if current.items[0].prediction_id else None

    prediction_id = (
        (await wait_until(running, timeout_s=10, what="a prediction id")).items[0].prediction_id
    )
    prediction = fake.predictions[prediction_id]
    prediction.status, prediction.output = "succeeded", f"{fake.base_url}/files/image.png"
    body = json.dumps(prediction.to_json(fake.base_url)).encode()
    other_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    forgeries: dict[str, tuple[bytes, dict[str, str]]] = {
        "unsigned": (body, {"content-type": "application/json"}),
        "another secret": (body, _signed(body, secret=other_secret)),
        "tampered body": (body.replace(b"succeeded", b"failed"), _signed(body)),
        "stale timestamp": (body, _signed(body, sent_at=time.time() - 3600)),
        "future timestamp": (body, _signed(body, sent_at=time.time() + 3600)),
        "bad signature": (body, {**_signed(body), "webhook-signature": "v1,AAAA v2,BBBB"}),
    }
    for name, (data, headers) in forgeries.items():
        answer = await stack.http.post(WEBHOOK_PATH, data=data, headers=headers)
        assert answer.status == 401, f"{name}: {answer.status} {await answer.text()}"
        assert (await answer.json())["code"] == "UNAUTHENTICATED"
    after_forgeries = await stack.generator.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
    assert after_forgeries.items[0].state == pb.ITEM_STATE_RUNNING, "a forgery moved the item"

    # The genuine delivery is applied once; its redelivery (same webhook-id) is a no-op.
    genuine = _signed(body, webhook_id="msg_genuine")
    first = await stack.http.post(WEBHOOK_PATH, data=body, headers=genuine)
    assert first.status == 200 and (await first.json())["duplicate"] is False

    async def succeeded() -> pb.Job | None:
        current = await stack.generator.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
        return current if current.state == pb.JOB_STATE_SUCCEEDED else None

    done = await wait_until(succeeded, timeout_s=10, what="the job to succeed")
    replay = await stack.http.post(WEBHOOK_PATH, data=body, headers=genuine)
    assert replay.status == 200 and (await replay.json())["duplicate"] is True
    again = await stack.generator.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
    assert again.updated_at == done.updated_at and again.items == done.items
    assert fake.creates == 1


# ---- SSRF ---------------------------------------------------------------------------------------


@pytest.fixture
async def traps() -> AsyncIterator[dict[str, TrapServer]]:
    """Private targets on 127.0.0.1, 127.0.0.2 and ::1; the one allow-listed server on 127.0.0.3."""
    servers = {
        "v4": TrapServer("127.0.0.1"),
        "v4b": TrapServer("127.0.0.2"),
        "v6": TrapServer("::1"),
        "allowed": TrapServer("127.0.0.3"),
    }
    for server in servers.values():
        await server.start()
    yield servers
    for server in servers.values():
        await server.close()


ALLOW = "127.0.0.3/32"


def _literal_urls(traps: dict[str, TrapServer], name: str) -> list[str]:
    """Private targets named by address: refused without resolving anything."""
    v4, v4b, v6 = traps["v4"].port, traps["v4b"].port, traps["v6"].port
    return [
        f"http://127.0.0.2:{v4b}/media/{name}",
        f"http://[::1]:{v6}/media/{name}",
        f"http://[::ffff:127.0.0.2]:{v4b}/media/{name}",  # IPv4-mapped IPv6
        f"http://0.0.0.0:{v4}/media/{name}",  # "this host" reaches loopback on Linux
        f"http://localhost:{v4}/media/{name}",
        # Unicode digits and full stops that the HTTP client normalises to 127.0.0.1.
        f"http://１２７.０.０.１:{v4}/media/{name}",
        f"http://127。0。0。1:{v4}/media/{name}",
        f"http://①②⑦.0.0.1:{v4}/media/{name}",
        "http://10.1.2.3/x",
        "http://172.16.0.1/x",
        "http://192.168.1.1/x",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[fd12:3456::1]/x",  # unique local
        "http://[fe80::1]/x",  # link-local
    ]


def _indirect_urls(traps: dict[str, TrapServer], name: str) -> list[str]:
    """Private targets reached by a name or through the allow-listed server's redirect."""
    hostname = socket.gethostname()  # resolves to 127.0.0.1 on this machine
    redirect = f"{traps['allowed'].base}/redirect?to="
    return [
        f"http://{hostname}:{traps['v4'].port}/media/{name}",
        redirect + f"{traps['v4b'].base}/media/{name}",
        redirect + f"{traps['v6'].base}/media/{name}",
        redirect + f"http://{hostname}:{traps['v4'].port}/media/{name}",
        redirect + "http://169.254.169.254/latest/meta-data/",
        redirect + f"http://１２７.０.０.１:{traps['v4'].port}/media/{name}",
    ]


# The guard's own refusal ("address 127.0.0.1 is not allowed (private, loopback, …)"); a bare
# "refused" would also match aiohttp's "Connection refused" from a trap that was not listening.
GUARD_REFUSAL = "is not allowed (private, loopback"


def _private_hits(traps: dict[str, TrapServer]) -> int:
    return sum(server.total for key, server in traps.items() if key != "allowed")


async def test_generator_refuses_private_image_urls(
    data_dir: Path, traps: dict[str, TrapServer]
) -> None:
    settings = {
        "video_provider": "animatic",  # the offline renderer fetches seed images itself
        "fetch_allow_networks": ALLOW,
        "animatic_draft_height": 64,
        "animatic_fps": 4,
    }
    async with in_process_stack(data_dir, generator=settings) as stack:
        for url in _literal_urls(traps, "png"):
            request = pb.GenerateClipsRequest(
                clips=[pb.ClipSpec(prompt="ssrf", image=url, duration_seconds=1)]
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stack.generator.GenerateClips(request, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, url
            assert "clips[0].image" in str(refused.value.details()), url
        indirect = _indirect_urls(traps, "png")
        good = f"{traps['allowed'].base}/media/png"
        job = await stack.generator.GenerateClips(
            pb.GenerateClipsRequest(
                clips=[
                    pb.ClipSpec(prompt=f"ssrf {i}", image=url, duration_seconds=1)
                    for i, url in enumerate([*indirect, good])
                ]
            ),
            timeout=10,
        )

        async def finished() -> pb.Job | None:
            current = await stack.generator.GetJob(pb.GetJobRequest(job_id=job.id), timeout=5)
            return (
                current if current.state in (pb.JOB_STATE_SUCCEEDED, pb.JOB_STATE_FAILED) else None
            )

        done = await wait_until(finished, timeout_s=60, what="the SSRF job to end")
    *blocked, control = done.items
    for item, url in zip(blocked, indirect, strict=True):
        assert item.state == pb.ITEM_STATE_FAILED, url
        assert GUARD_REFUSAL in item.error, (url, item.error)
    assert control.state == pb.ITEM_STATE_SUCCEEDED, control.error  # the guard is not just "no"
    assert _private_hits(traps) == 0, {k: dict(t.hits) for k, t in traps.items()}
    assert traps["allowed"].hits["/redirect"] >= len(indirect) - 1


async def test_composer_refuses_private_clip_urls(
    data_dir: Path, traps: dict[str, TrapServer]
) -> None:
    composer = {"fetch_allow_networks": ALLOW, "download_attempts": 1}
    async with in_process_stack(data_dir, composer=composer) as stack:
        urls = [*_literal_urls(traps, "mp4"), *_indirect_urls(traps, "mp4")]
        control = f"{traps['allowed'].base}/media/mp4"
        ids: list[tuple[str, str]] = []
        for url in [*urls, control]:
            request = cpb.ComposeRequest(clips=[cpb.ClipInput(source=url)], height=64, fps=6)
            try:
                composition = await stack.composer.Compose(request, timeout=10)
            except grpc.aio.AioRpcError as refused:  # refused at submission: as good
                assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT, url
                assert url != control, refused.details()
                continue
            ids.append((url, composition.id))
        terminal = (
            cpb.COMPOSITION_STATE_COMPLETED,
            cpb.COMPOSITION_STATE_FAILED,
            cpb.COMPOSITION_STATE_CANCELED,
        )
        for url, composition_id in ids:

            async def ended(cid: str = composition_id) -> cpb.Composition | None:
                current = await stack.composer.GetComposition(
                    cpb.GetCompositionRequest(id=cid), timeout=5
                )
                return current if current.state in terminal else None

            final = await wait_until(ended, timeout_s=60, what=f"composition of {url}")
            if url == control:
                assert final.state == cpb.COMPOSITION_STATE_COMPLETED, final.error
            else:
                assert final.state == cpb.COMPOSITION_STATE_FAILED, url
                assert "clips[0]" in final.error and GUARD_REFUSAL in final.error, (
                    url,
                    final.error,
                )
    assert _private_hits(traps) == 0, {k: dict(t.hits) for k, t in traps.items()}


# ---- path traversal -----------------------------------------------------------------------------

TRAVERSALS = [
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5C..%5Cetc%5Cpasswd",
    "%2Fetc%2Fpasswd",
    "A" * 64,  # upper-case hex is not an artifact id
    "0" * 63 + "%00",
    "0" * 64 + "%2F..%2F..%2Fcomposer.db",
]


async def test_artifact_paths_never_leave_the_store(data_dir: Path) -> None:
    (data_dir / "secret.txt").write_text("root:x:0:0")
    async with in_process_stack(data_dir) as stack:
        base = str(stack.http.make_url("/"))
        for route in ("/api/artifacts/", "/api/composition/download/"):
            for raw in TRAVERSALS:
                url = URL(base.rstrip("/") + route + raw, encoded=True)
                async with stack.http.session.get(url) as answer:
                    text = await answer.text()
                assert answer.status in (400, 404), (route, raw, answer.status)
                assert "root:" not in text
        # File-system paths are not accepted as inputs either.
        for bad in ("../../secret.txt", "/etc/passwd", "file:///etc/passwd", str(data_dir)):
            with pytest.raises(grpc.aio.AioRpcError) as clip_refused:
                await stack.generator.GenerateClips(
                    pb.GenerateClipsRequest(
                        clips=[pb.ClipSpec(prompt="p", image=bad, duration_seconds=1)]
                    ),
                    timeout=10,
                )
            assert clip_refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(grpc.aio.AioRpcError) as compose_refused:
                await stack.composer.Compose(
                    cpb.ComposeRequest(clips=[cpb.ClipInput(source=bad)]), timeout=10
                )
            assert compose_refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# ---- body size and API keys ---------------------------------------------------------------------


async def test_oversized_bodies_are_413_and_keys_are_enforced(data_dir: Path) -> None:
    limit = 4096
    gateway: dict[str, Any] = {"max_body_bytes": limit, "gateway_api_keys": "key-a,key-b"}
    async with in_process_stack(data_dir, gateway=gateway) as stack:
        auth = {"Authorization": "Bearer key-a"}
        small = {"messages": [{"role": "ROLE_USER", "content": "x" * 100}]}
        big = {"messages": [{"role": "ROLE_USER", "content": "x" * limit}]}
        ok = await stack.http.post("/api/brief/extract", json=small, headers=auth)
        assert ok.status == 200, await ok.text()
        for path in ("/api/brief/extract", "/api/video/generate", WEBHOOK_PATH):
            answer = await stack.http.post(path, json=big, headers=auth)
            assert answer.status == 413, (path, answer.status)
            assert (await answer.json())["code"] == "PAYLOAD_TOO_LARGE"
        for headers in ({}, {"Authorization": "Bearer key-c"}, {"Authorization": "key-a"}):
            for method, path in (("GET", "/api/jobs"), ("POST", "/api/brief/extract")):
                answer = await stack.http.request(method, path, json=small, headers=headers)
                assert answer.status == 401, (method, path, headers)
        assert (await stack.http.get("/api/jobs", headers={"Authorization": "Bearer key-b"})).ok


# ---- secrets never reach the logs ---------------------------------------------------------------


SECRETS = {
    "OPENAI_API_KEY": "sk-LEAKCHECK-openai-3b7e91",
    "REPLICATE_API_TOKEN": "r8_LEAKCHECK_replicate_5d20c4",
    "REPLICATE_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"LEAKCHECK-webhook-key-77a1").decode(),
    "GATEWAY_API_KEYS": "gw-LEAKCHECK-key-one,gw-LEAKCHECK-key-two",
}


def _secret_fragments() -> list[str]:
    """Every value (and part of one) that must not appear: keys, the token, the webhook key."""
    webhook_key = SECRETS["REPLICATE_WEBHOOK_SECRET"].removeprefix("whsec_")
    return [
        SECRETS["OPENAI_API_KEY"],
        SECRETS["REPLICATE_API_TOKEN"],
        SECRETS["REPLICATE_WEBHOOK_SECRET"],
        webhook_key,
        base64.b64decode(webhook_key).decode(),
        *SECRETS["GATEWAY_API_KEYS"].split(","),
        "LEAKCHECK",
    ]


@pytest.mark.timeout(180)
async def test_secrets_never_appear_in_logs(
    subprocess_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = StackPorts.free()
    gateway_url = f"http://127.0.0.1:{ports.gateway}"
    key = SECRETS["GATEWAY_API_KEYS"].split(",")[1]
    auth = {"Authorization": f"Bearer {key}"}
    async with (
        FakeOpenAI(api_key=SECRETS["OPENAI_API_KEY"]) as openai,
        FakeReplicate(
            token=SECRETS["REPLICATE_API_TOKEN"],
            webhook_secret=SECRETS["REPLICATE_WEBHOOK_SECRET"],
            latency_s=0.2,
        ) as replicate,
    ):
        env = {
            **subprocess_env,
            **SECRETS,
            "PLANNER_PROVIDER": "openai",
            "OPENAI_BASE_URL": openai.base_url,
            "VIDEO_PROVIDER": "replicate",
            "REPLICATE_BASE_URL": replicate.base_url,
            "PUBLIC_URL": gateway_url,  # the fake's signed webhooks come in through the gateway
            "FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
            "POLL_INITIAL_S": "0.1",
            "POLL_MAX_S": "0.3",
            "WEBHOOK_SAFETY_POLL_S": "0.5",
            "LOG_LEVEL": "DEBUG",  # the most talkative setting: nothing may leak even here
        }
        async with (
            local_stack(ports, env, quiet=False, cwd=tmp_path) as stack,
            aiohttp_session() as http,
        ):
            url = stack.gateway_url
            # Refused keys (the offered value must not be echoed either).
            for wrong in ({}, {"Authorization": "Bearer gw-LEAKCHECK-wrong"}):
                async with http.get(f"{url}/api/jobs", headers=wrong) as answer:
                    assert answer.status == 401
            brief = {"messages": [{"role": "ROLE_USER", "content": "An ad for a water bottle."}]}
            async with http.post(f"{url}/api/brief/extract", json=brief, headers=auth) as answer:
                assert answer.status == 200, await answer.text()
            # The LLM refuses our key once: the planner reports it without the key.
            openai.enqueue(http_error(401, "Incorrect API key provided", code="invalid_api_key"))
            async with http.post(f"{url}/api/brief/extract", json=brief, headers=auth) as answer:
                assert answer.status >= 400
            # A job that succeeds (webhooks signed with the secret) and one Replicate refuses.
            images = {"images": [{"prompt": "leak check bottle"}, {"prompt": "leak check cap"}]}
            for body in (images, {"images": [{"prompt": "refused by replicate"}]}):
                if body is not images:
                    replicate.fail("401", match="refused")
                async with http.post(f"{url}/api/images/generate", json=body, headers=auth) as r:
                    job = await r.json()
                    assert r.status == 200, job

                async def ended(job_id: str = job["id"]) -> dict[str, Any] | None:
                    async with http.get(f"{url}/api/jobs/{job_id}", headers=auth) as answer:
                        current: dict[str, Any] = await answer.json()
                    done = current["state"] in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
                    return current if done else None

                final = await wait_until(ended, timeout_s=30, what="an images job")
                expected = "JOB_STATE_SUCCEEDED" if body is images else "JOB_STATE_FAILED"
                assert final["state"] == expected, final
            assert any(200 <= d.status < 300 for d in replicate.deliveries), "no webhook applied"
            # Forged and malformed webhooks, and a bad request.
            junk = b"not json"
            for headers in (
                {"webhook-id": "x"},
                _signed(junk, secret=SECRETS["REPLICATE_WEBHOOK_SECRET"]),
            ):
                async with http.post(f"{url}{WEBHOOK_PATH}", data=junk, headers=headers) as answer:
                    assert answer.status in (400, 401)
            async with http.post(
                f"{url}/api/video/generate", json={"clips": []}, headers=auth
            ) as r:
                assert r.status == 400
    logs = capsys.readouterr().err
    assert "rpc /reelforge.v1.GeneratorService/GenerateImages" in logs, logs[-2000:]
    assert "Unauthenticated" in logs or "401" in logs  # the failures were logged...
    leaked = [fragment for fragment in _secret_fragments() if fragment in logs]
    assert not leaked, f"secrets in the logs: {leaked}"  # ...without the secrets
