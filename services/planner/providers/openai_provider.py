"""The hosted planner: chat completions on OpenAI or any OpenAI-compatible server."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

import openai
from google.protobuf import json_format
from google.protobuf.message import Message
from openai.types.chat import ChatCompletionMessageParam

from reelforge.runtime.errors import FailedPrecondition, Internal
from reelforge.v1 import common_pb2
from services.planner import plan_rules, prompts, schemas
from services.planner.providers.base import ChatTurn, Correction, PlanAnswer, PlanRequest
from services.planner.providers.openai_errors import domain_error
from services.planner.settings import PlannerSettings, StructuredOutput

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


class OpenAIProvider:
    """AsyncOpenAI with structured output; falls back to json_object once if json_schema is refused."""

    name = "openai"

    def __init__(self, settings: PlannerSettings) -> None:
        self._settings = settings
        self._mode: StructuredOutput = settings.structured_output
        self._client = openai.AsyncOpenAI(
            api_key=settings.api_key,
            base_url=settings.openai_base_url,
            max_retries=settings.openai_max_retries,
            timeout=settings.openai_timeout_s,
        )

    @property
    def structured_output(self) -> StructuredOutput:
        """The mode in use now (json_object after a fallback)."""
        return self._mode

    async def converse(self, turns: Sequence[ChatTurn]) -> AsyncIterator[str]:
        messages = [_message("system", prompts.CONVERSE_SYSTEM), *(_turn(t) for t in turns)]
        try:
            stream = await self._client.chat.completions.create(
                model=self._settings.model,
                messages=messages,
                temperature=self._settings.openai_temperature,
                stream=True,
            )
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        if choice.delta.refusal:
                            raise _refused(choice.delta.refusal)
                        if choice.delta.content:
                            yield choice.delta.content
        except openai.OpenAIError as error:
            raise domain_error(error, self._settings) from error

    async def extract_brief(self, turns: Sequence[ChatTurn]) -> common_pb2.CreativeBrief:
        transcript = "\n".join(f"{t.role}: {t.content}" for t in turns)
        messages = [
            _message("system", prompts.EXTRACT_BRIEF_SYSTEM),
            _message("user", f"Conversation:\n{transcript}"),
        ]
        return await self._ask_json(
            messages, schemas.BRIEF_SCHEMA_NAME, schemas.BRIEF_SCHEMA, schemas.parse_brief
        )

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int, images_per_mood: int
    ) -> list[common_pb2.Mood]:
        messages = [
            _message("system", prompts.MOODS_SYSTEM),
            _message("user", prompts.moods_request(_to_json(brief), count, images_per_mood)),
        ]
        return await self._ask_json(
            messages, schemas.MOODS_SCHEMA_NAME, schemas.MOODS_SCHEMA, schemas.parse_moods
        )

    async def plan_scenes(
        self, request: PlanRequest, corrections: Sequence[Correction]
    ) -> PlanAnswer:
        messages = _plan_messages(request)
        for correction in corrections:
            messages.append(_message("assistant", correction.answer))
            messages.append(_message("user", prompts.fix_violations(correction.problems)))
        text = await self._complete(messages, schemas.PLAN_SCHEMA_NAME, schemas.PLAN_SCHEMA)
        try:
            return PlanAnswer(raw=text, scenes=schemas.parse_plan(text))
        except schemas.AnswerError as error:
            return PlanAnswer(raw=text, scenes=None, problem=str(error))

    async def aclose(self) -> None:
        await self._client.close()

    async def _ask_json(
        self,
        messages: list[ChatCompletionMessageParam],
        name: str,
        schema: dict[str, object],
        parse: Callable[[str], _T],
    ) -> _T:
        """Asks for JSON, re-asking with the parse problem up to PLANNER_MAX_REASKS times."""
        problem = ""
        for _ in range(self._settings.planner_max_reasks + 1):
            text = await self._complete(messages, name, schema)
            try:
                return parse(text)
            except schemas.AnswerError as error:
                problem = str(error)
            _LOGGER.info("unusable %s answer, re-asking: %s", name, problem)
            messages = [
                *messages,
                _message("assistant", text),
                _message("user", prompts.MALFORMED_ANSWER.format(problem=problem)),
            ]
        raise Internal(
            f"the model's {name} answer was unusable after "
            f"{self._settings.planner_max_reasks + 1} attempts: {problem}",
            reason="MALFORMED_MODEL_ANSWER",
        )

    async def _complete(
        self, messages: list[ChatCompletionMessageParam], name: str, schema: dict[str, object]
    ) -> str:
        """One chat completion in the current structured-output mode, with the json_schema fallback."""
        try:
            return await self._create(messages, name, schema, self._mode)
        except openai.APIStatusError as error:
            if not (self._mode == "json_schema" and error.status_code in (400, 500)):
                raise domain_error(error, self._settings) from error
            # Servers such as llama-cpp-python reject json_schema outright; the fallback sticks.
            _LOGGER.warning(
                "server rejected response_format json_schema (HTTP %s); using json_object from now on",
                error.status_code,
            )
            self._mode = "json_object"
        except openai.OpenAIError as error:
            raise domain_error(error, self._settings) from error
        try:
            return await self._create(messages, name, schema, self._mode)
        except openai.OpenAIError as error:
            raise domain_error(error, self._settings) from error

    async def _create(
        self,
        messages: list[ChatCompletionMessageParam],
        name: str,
        schema: dict[str, object],
        mode: StructuredOutput,
    ) -> str:
        if mode != "json_schema":
            # JSON mode and prompt-only servers only produce JSON when the prompt asks for it.
            messages = [*messages, _message("system", prompts.json_only(schema))]
        response = await self._client.chat.completions.create(
            model=self._settings.model,
            messages=messages,
            temperature=self._settings.openai_temperature,
            extra_body=_response_format(mode, name, schema),
        )
        if not response.choices:
            return ""
        choice = response.choices[0]
        if choice.message.refusal:
            raise _refused(choice.message.refusal)
        if choice.finish_reason == "content_filter":
            raise _refused("the answer was withheld by the content filter")
        return choice.message.content or ""


def _response_format(
    mode: StructuredOutput, name: str, schema: dict[str, object]
) -> dict[str, object]:
    """The request's response_format; sent as a raw body field so json_object can carry the schema."""
    if mode == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": True},
            }
        }
    if mode == "json_object":
        # llama-cpp-python and others constrain output with this non-standard `schema` key.
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


def _plan_messages(request: PlanRequest) -> list[ChatCompletionMessageParam]:
    total = request.total_s
    fewest, most = plan_rules.scene_count_range(total)
    bounds = plan_rules.scene_bounds(total)
    timing = "; ".join(
        [
            *(
                f"{label} {low:g}–{high:g} s"
                for label, (low, high) in (
                    ("hook", plan_rules.role_range(plan_rules.HOOK, total)),
                    ("product_intro", plan_rules.role_range(plan_rules.PRODUCT_INTRO, total)),
                    ("call_to_action", plan_rules.role_range(plan_rules.CALL_TO_ACTION, total)),
                )
            ),
            f"every scene {bounds.low:g}–{bounds.high:g} s",
        ]
    )
    mood_json = _to_json(request.mood, drop=("images",)) if request.mood else None
    text = prompts.plan_request(
        _to_json(request.brief), mood_json, total, timing, f"{fewest} to {most}"
    )
    return [_message("system", prompts.PLAN_SYSTEM), _message("user", text)]


def _to_json(message: Message, drop: Sequence[str] = ()) -> str:
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return json.dumps({k: v for k, v in data.items() if k not in drop}, ensure_ascii=False)


def _refused(text: str) -> FailedPrecondition:
    return FailedPrecondition(f"the model refused: {text}", reason="MODEL_REFUSED")


def _turn(turn: ChatTurn) -> ChatCompletionMessageParam:
    return _message(turn.role, turn.content)


def _message(role: str, content: str) -> ChatCompletionMessageParam:
    if role == "system":
        return {"role": "system", "content": content}
    if role == "assistant":
        return {"role": "assistant", "content": content}
    return {"role": "user", "content": content}
