"""The fake OpenAI server's default mode and entry point, driven by the real AsyncOpenAI client."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import openai
import pytest

from services.planner import schemas
from services.planner.plan_rules import check_plan
from tests.fakes.openai_server import FakeOpenAI, answer_text
from tests.helpers import ROOT


@pytest.fixture
async def fake_process_url() -> AsyncIterator[str]:
    """`python -m tests.fakes.openai_server --port 0`; the URL comes from its first line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.openai_server",
        "--port",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        assert "listening on http://" in line, line
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        await proc.wait()


async def test_default_mode_answers_each_schema_validly(fake_process_url: str) -> None:
    async with openai.AsyncOpenAI(api_key="x", base_url=fake_process_url, max_retries=0) as client:
        plan = await client.chat.completions.create(
            model="any",
            messages=[{"role": "user", "content": '{"total_duration_seconds": 12.5}'}],
            extra_body={
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "scene_plan", "schema": schemas.PLAN_SCHEMA},
                }
            },
        )
        moods = await client.chat.completions.create(
            model="any",
            messages=[{"role": "user", "content": '{"count": 4}'}],
            extra_body={"response_format": {"type": "json_object", "schema": schemas.MOODS_SCHEMA}},
        )
        stream = await client.chat.completions.create(
            model="any",
            messages=[{"role": "user", "content": "hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    scenes = schemas.parse_plan(plan.choices[0].message.content or "")
    assert check_plan(scenes, 12.5) == []
    assert len(schemas.parse_moods(moods.choices[0].message.content or "")) == 4
    text = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(text) >= 3 and chunks[-1].usage is not None


async def test_prompt_only_requests_are_recognised_by_their_schema_text(
    fake_process_url: str,
) -> None:
    async with openai.AsyncOpenAI(api_key="x", base_url=fake_process_url, max_retries=0) as client:
        answer = await client.chat.completions.create(
            model="any",
            messages=[
                {"role": "user", "content": "Conversation:\nuser: an ad for Zing"},
                {
                    "role": "system",
                    "content": "matching this JSON schema:\n" + json.dumps(schemas.BRIEF_SCHEMA),
                },
            ],
        )
    brief = schemas.parse_brief(answer.choices[0].message.content or "")
    assert brief.product_name and brief.call_to_action


async def test_requests_outside_openais_schema_get_openais_400() -> None:
    async with (
        FakeOpenAI() as fake,
        openai.AsyncOpenAI(api_key="x", base_url=fake.base_url, max_retries=0) as client,
    ):
        for extra, param in (
            ({"max_new_tokens": 10}, "max_new_tokens"),
            ({"max_tokens": 0}, "max_tokens"),
            (
                {"response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}},
                "response_format.json_schema.name",
            ),
            ({"response_format": {"type": "grammar"}}, "response_format.type"),
        ):
            with pytest.raises(openai.BadRequestError) as caught:
                await client.chat.completions.create(
                    model="any", messages=[{"role": "user", "content": "hi"}], extra_body=extra
                )
            assert caught.value.body["param"] == param  # type: ignore[index]
        with pytest.raises(openai.BadRequestError):
            await client.chat.completions.create(model="any", messages=[])
    assert len(fake.rejected) == 5


async def test_answers_longer_than_the_cap_are_cut_off_with_finish_reason_length() -> None:
    async with FakeOpenAI() as fake:
        fake.enqueue(answer_text("word " * 100))
        async with openai.AsyncOpenAI(api_key="x", base_url=fake.base_url, max_retries=0) as client:
            answer = await client.chat.completions.create(
                model="any", messages=[{"role": "user", "content": "hi"}], max_tokens=10
            )
    assert answer.choices[0].finish_reason == "length"
    assert len(answer.choices[0].message.content or "") == 40


async def test_prompts_longer_than_the_context_window_get_llama_cpp_pythons_400() -> None:
    async with (
        FakeOpenAI(context_window=100) as fake,
        openai.AsyncOpenAI(api_key="x", base_url=fake.base_url, max_retries=0) as client,
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="any", messages=[{"role": "user", "content": "x" * 800}], max_tokens=5
            )
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.body == {
        "message": "This model's maximum context length is 100 tokens. However, you requested "
        "205 tokens (200 in the messages, 5 in the completion). Please reduce the length of "
        "the messages or completion.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
