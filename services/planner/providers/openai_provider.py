"""The hosted planner: chat completions on OpenAI or any OpenAI-compatible server."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import openai
from google.protobuf import json_format
from google.protobuf.message import Message
from openai.types.chat import ChatCompletionMessageParam

from reelforge.runtime.errors import DomainError, FailedPrecondition, Internal
from reelforge.v1 import common_pb2
from services.planner import plan_rules, prompts, schemas, script_rules
from services.planner.budget import MIN_CALL_S, Budget
from services.planner.providers.base import ChatTurn, Correction, PlanAnswer, PlanRequest
from services.planner.providers.openai_errors import (
    domain_error,
    is_context_overflow,
    server_text,
)
from services.planner.settings import PlannerSettings, StructuredOutput

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True)
class _Ask:
    """One kind of JSON request: its schema, its completion cap and the request field it reads."""

    name: str
    schema: dict[str, object]
    max_tokens: int
    max_tokens_setting: str
    input_field: str  # named when the prompt does not fit the model's context


@dataclass(frozen=True)
class _Completion:
    text: str
    truncated: bool  # finish_reason "length": the answer hit max_tokens


class OpenAIProvider:
    """AsyncOpenAI with structured output; falls back to json_object if json_schema is refused."""

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

    async def converse(self, turns: Sequence[ChatTurn], budget: Budget) -> AsyncIterator[str]:
        messages = [_message("system", prompts.CONVERSE_SYSTEM), *(_turn(t) for t in turns)]
        try:
            stream = await self._client.chat.completions.create(
                model=self._settings.model,
                messages=messages,
                temperature=self._settings.openai_temperature,
                stream=True,
                timeout=budget.request_timeout_s(self._settings.openai_timeout_s),
                extra_body=self._token_cap(self._settings.planner_max_tokens_converse),
            )
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        if choice.delta.refusal:
                            raise _refused(choice.delta.refusal)
                        if choice.delta.content:
                            yield choice.delta.content
        except openai.OpenAIError as error:
            raise self._error(error, "messages", budget) from error

    async def extract_brief(
        self, turns: Sequence[ChatTurn], budget: Budget
    ) -> common_pb2.CreativeBrief:
        transcript = "\n".join(f"{t.role}: {t.content}" for t in turns)
        messages = [
            _message("system", prompts.EXTRACT_BRIEF_SYSTEM),
            _message("user", f"Conversation:\n{transcript}"),
        ]
        ask = _Ask(
            schemas.BRIEF_SCHEMA_NAME,
            schemas.BRIEF_SCHEMA,
            self._settings.planner_max_tokens_brief,
            "PLANNER_MAX_TOKENS_BRIEF",
            "messages",
        )
        return await self._ask_json(messages, ask, schemas.parse_brief, budget)

    async def generate_moods(
        self, brief: common_pb2.CreativeBrief, count: int, images_per_mood: int, budget: Budget
    ) -> list[common_pb2.Mood]:
        messages = [
            _message("system", prompts.MOODS_SYSTEM),
            _message("user", prompts.moods_request(_to_json(brief), count, images_per_mood)),
        ]
        ask = _Ask(
            schemas.MOODS_SCHEMA_NAME,
            schemas.MOODS_SCHEMA,
            self._settings.planner_max_tokens_moods,
            "PLANNER_MAX_TOKENS_MOODS",
            "brief",
        )
        return await self._ask_json(messages, ask, schemas.parse_moods, budget)

    async def plan_scenes(
        self, request: PlanRequest, corrections: Sequence[Correction], budget: Budget
    ) -> PlanAnswer:
        messages = _plan_messages(request)
        for correction in corrections:
            messages.append(_message("assistant", correction.answer))
            messages.append(_message("user", prompts.fix_violations(correction.problems)))
        ask = _Ask(
            schemas.PLAN_SCHEMA_NAME,
            schemas.PLAN_SCHEMA,
            self._settings.planner_max_tokens_plan,
            "PLANNER_MAX_TOKENS_PLAN",
            "brief",
        )
        completion = await self._complete(messages, ask, budget)
        try:
            return PlanAnswer(raw=completion.text, scenes=schemas.parse_plan(completion.text))
        except schemas.AnswerError as error:
            return PlanAnswer(
                raw=completion.text, scenes=None, problem=_problem(error, completion, ask)
            )

    async def aclose(self) -> None:
        await self._client.close()

    async def _ask_json(
        self,
        messages: list[ChatCompletionMessageParam],
        ask: _Ask,
        parse: Callable[[str], _T],
        budget: Budget,
    ) -> _T:
        """Asks for JSON, re-asking with the parse problem up to PLANNER_MAX_REASKS times."""
        problem, attempts = "", 0
        while attempts <= self._settings.planner_max_reasks:
            if attempts and not budget.affords_another_call():
                problem += f"; no time was left within {budget.source} to ask again"
                break
            attempts += 1
            completion = await self._complete(messages, ask, budget)
            try:
                return parse(completion.text)
            except schemas.AnswerError as error:
                problem = _problem(error, completion, ask)
            _LOGGER.info("unusable %s answer, re-asking: %s", ask.name, problem)
            messages = [
                *messages,
                _message("assistant", completion.text),
                _message("user", prompts.MALFORMED_ANSWER.format(problem=problem)),
            ]
        raise Internal(
            f"the model's {ask.name} answer was unusable after {attempts} attempt(s): {problem}",
            reason="MALFORMED_MODEL_ANSWER",
        )

    async def _complete(
        self, messages: list[ChatCompletionMessageParam], ask: _Ask, budget: Budget
    ) -> _Completion:
        """One chat completion in the current structured-output mode, with the json_schema fallback."""
        mode = self._mode
        try:
            return await self._create(messages, ask, mode, budget)
        except openai.APIStatusError as error:
            if not (mode == "json_schema" and _rejects_json_schema(error)):
                raise self._error(error, ask.input_field, budget) from error
            _LOGGER.warning(
                "server rejected response_format json_schema (HTTP %s: %s); trying json_object",
                error.status_code,
                server_text(error),
            )
        except openai.OpenAIError as error:
            raise self._error(error, ask.input_field, budget) from error
        try:
            completion = await self._create(messages, ask, "json_object", budget)
        except openai.OpenAIError as error:
            raise self._error(error, ask.input_field, budget) from error
        # Servers such as llama-cpp-python reject json_schema outright; once json_object has
        # worked the fallback sticks for the rest of the process.
        self._mode = "json_object"
        return completion

    async def _create(
        self,
        messages: list[ChatCompletionMessageParam],
        ask: _Ask,
        mode: StructuredOutput,
        budget: Budget,
    ) -> _Completion:
        if mode != "json_schema":
            # JSON mode and prompt-only servers only produce JSON when the prompt asks for it.
            messages = [*messages, _message("system", prompts.json_only(ask.schema))]
        timeout = budget.request_timeout_s(self._settings.openai_timeout_s)
        async with budget.call():
            response = await self._client.chat.completions.create(
                model=self._settings.model,
                messages=messages,
                temperature=self._settings.openai_temperature,
                timeout=timeout,
                extra_body={
                    **_response_format(mode, ask.name, ask.schema),
                    **self._token_cap(ask.max_tokens),
                },
            )
        if not response.choices:
            return _Completion("", truncated=False)
        choice = response.choices[0]
        if choice.message.refusal:
            raise _refused(choice.message.refusal)
        if choice.finish_reason == "content_filter":
            raise _refused("the answer was withheld by the content filter")
        return _Completion(choice.message.content or "", truncated=choice.finish_reason == "length")

    def _token_cap(self, max_tokens: int) -> dict[str, object]:
        # A raw body field: which name a server reads is a setting (OPENAI_TOKEN_LIMIT_PARAM).
        return {self._settings.openai_token_limit_param: max_tokens}

    def _error(self, error: openai.OpenAIError, input_field: str, budget: Budget) -> DomainError:
        # A request timeout cut short by the caller's deadline is the deadline's fault.
        if isinstance(error, openai.APITimeoutError) and budget.remaining_s() < MIN_CALL_S:
            return budget.exceeded()
        return domain_error(error, self._settings, input_field)


def _rejects_json_schema(error: openai.APIStatusError) -> bool:
    """llama-cpp-python answers json_schema with a 500; others say so in a 400/422 about it."""
    if error.status_code >= 500:
        return True
    if error.status_code not in (400, 422) or is_context_overflow(error):
        return False
    about = f"{error.message} {getattr(error, 'param', '') or ''}".lower()
    return "response_format" in about or "json_schema" in about


def _problem(error: schemas.AnswerError, completion: _Completion, ask: _Ask) -> str:
    if completion.truncated:
        return (
            f"the answer was cut off at {ask.max_tokens_setting}={ask.max_tokens} tokens "
            f"(finish_reason length): {error}"
        )
    return str(error)


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
        _to_json(request.brief), mood_json, total, timing, f"{fewest} to {most}", _voice(request)
    )
    return [_message("system", prompts.PLAN_SYSTEM), _message("user", text)]


def _voice(request: PlanRequest) -> str:
    """The voice-over's rules for this brief: the word rate and the closing words, or none."""
    if not script_rules.voice_enabled(request.brief):
        return prompts.NO_VOICE
    cta = " ".join(request.brief.call_to_action.split()) or script_rules.DEFAULT_CALL_TO_ACTION
    example = script_rules.word_budget(4.0)
    return prompts.voice_lines(script_rules.WORDS_PER_SECOND, example, cta)


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
