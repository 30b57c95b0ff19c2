"""PlannerSettings: provider choice, tier models, and failing fast on an openai setup without a key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.planner.settings import PlannerSettings


def test_auto_uses_openai_only_when_a_key_is_set() -> None:
    assert PlannerSettings(planner_provider="auto", openai_api_key=None).provider == "offline"
    assert PlannerSettings(planner_provider="auto", openai_api_key="sk-1").provider == "openai"
    assert PlannerSettings(planner_provider="offline", openai_api_key="sk-1").provider == "offline"


def test_development_uses_a_cheaper_model_than_production() -> None:
    dev = PlannerSettings(environment="development", openai_model=None)
    prod = PlannerSettings(environment="production", openai_model=None)
    assert (dev.model, prod.model) == ("gpt-4o-mini", "gpt-4o")
    assert PlannerSettings(environment="production", openai_model="llama3").model == "llama3"
    assert (dev.mood_image_count, prod.mood_image_count) == (1, 4)


def test_openai_without_a_key_fails_at_start_up() -> None:
    with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
        PlannerSettings(planner_provider="openai", openai_api_key=None)


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("STRUCTURED_OUTPUT", "json_object")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "5")
    settings = PlannerSettings()
    assert settings.provider == "openai" and settings.api_key == "sk-env"
    assert (settings.structured_output, settings.openai_max_retries) == ("json_object", 5)
