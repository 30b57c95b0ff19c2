"""Settings of the planner service, read once from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from reelforge.runtime.settings import ServiceSettings

ProviderChoice = Literal["openai", "offline", "auto"]
StructuredOutput = Literal["json_schema", "json_object", "prompt"]
TokenLimitParam = Literal["max_tokens", "max_completion_tokens"]

# Draft tier (ENVIRONMENT=development) uses the cheaper model unless OPENAI_MODEL says otherwise.
_TIER_MODELS = {"development": "gpt-4o-mini", "production": "gpt-4o"}
_TIER_IMAGES_PER_MOOD = {"development": 1, "production": 4}


class PlannerSettings(ServiceSettings):
    """Environment variables of the planner (names upper-cased), on top of the service basics."""

    port: int = Field(default=50051, ge=0, le=65535)
    """gRPC port of the planner."""
    planner_provider: ProviderChoice = "auto"
    """`openai`, `offline`, or `auto`: openai when OPENAI_API_KEY is set."""
    openai_api_key: SecretStr | None = None
    """Required for `openai` (any string for a local server)."""
    openai_base_url: str | None = None
    """Unset → api.openai.com; e.g. `http://localhost:11434/v1` for Ollama."""
    openai_model: str | None = None
    """Unset → the tier's model: `gpt-4o-mini` in development, `gpt-4o` in production."""
    structured_output: StructuredOutput = "json_schema"
    """`json_schema`, `json_object` (+ `schema`, llama-cpp-python style) or `prompt` (the schema in
    the prompt only)."""
    openai_max_retries: int = Field(default=2, ge=0, le=10)
    """The openai client's own retries (connection errors, 408/409/429/5xx, honouring
    `retry-after`)."""
    openai_timeout_s: float = Field(default=60.0, gt=0, le=600)
    """Per request, and never past the caller's deadline."""
    # Small local models without a cap write until their context is full (minutes on a CPU).
    openai_token_limit_param: TokenLimitParam = "max_tokens"
    """The body field carrying the caps below: local servers read `max_tokens` only; OpenAI's
    reasoning models need `max_completion_tokens`."""
    planner_max_tokens_brief: int = Field(default=600, ge=16, le=32768)
    """Completion cap of ExtractBrief."""
    planner_max_tokens_moods: int = Field(default=2000, ge=16, le=32768)
    """Completion cap of GenerateMoods (6 moods × 4 image prompts fit)."""
    planner_max_tokens_plan: int = Field(default=1600, ge=16, le=32768)
    """Completion cap of PlanScenes (7 scenes fit)."""
    planner_max_tokens_converse: int = Field(default=400, ge=16, le=32768)
    """Completion cap of one Converse reply."""
    planner_call_budget_s: float = Field(default=300.0, gt=0, le=3600)
    """Time for one whole RPC (re-asks and client retries included) when the caller sets no gRPC
    deadline."""
    openai_temperature: float = Field(default=0.7, ge=0, le=2)
    """Sampling temperature of every model call."""
    openai_default_retry_after_s: float = Field(default=20.0, gt=0, le=3600)
    """The RetryInfo delay of a 429 that carries no `retry-after`."""
    planner_max_reasks: int = Field(default=2, ge=0, le=5)
    """Follow-ups for a rule-breaking or unparseable answer."""
    images_per_mood: int = Field(default=0, ge=0, le=4)
    """Image prompts per mood; 0 → 1 in development, 4 in production."""

    @model_validator(mode="after")
    def _openai_needs_a_key(self) -> PlannerSettings:
        # Fail at start-up rather than on the first request.
        if self.planner_provider == "openai" and not self.api_key.strip():
            raise ValueError(
                "PLANNER_PROVIDER=openai needs OPENAI_API_KEY (any string for a local server)"
            )
        return self

    @property
    def api_key(self) -> str:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else ""

    @property
    def provider(self) -> Literal["openai", "offline"]:
        """The provider in use: PLANNER_PROVIDER, or for auto whether a key is configured."""
        if self.planner_provider != "auto":
            return self.planner_provider
        return "openai" if self.api_key.strip() else "offline"

    @property
    def model(self) -> str:
        return self.openai_model or _TIER_MODELS[self.environment]

    @property
    def mood_image_count(self) -> int:
        return self.images_per_mood or _TIER_IMAGES_PER_MOOD[self.environment]
