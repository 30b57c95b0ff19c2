"""Each scene's focus point: where its subject sits, which crops to other frame shapes keep.

The model writes it (0–1 across and down); a point off the picture is moved to its edge and
noted as a repair, not worth a re-ask; none leaves it unset (the centre). A plan a client
sends back with a point off the picture is refused, naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelforge.runtime.errors import InvalidArgument
from reelforge.v1 import common_pb2, planner_pb2
from services.planner import schemas
from services.planner.validation import validate_scene_plan
from tests.fakes.openai_server import FakeOpenAI, answer_json, default_plan
from tests.planner.helpers import openai_settings, planner_stub, sample_brief

_TIMEOUT_S = 10


def test_the_plan_schema_asks_for_a_focus_point() -> None:
    schema: Any = schemas.PLAN_SCHEMA
    scene = schema["properties"]["scenes"]["items"]
    assert {"focus_x", "focus_y"} <= set(scene["required"])


async def test_the_models_focus_points_reach_the_plan_inside_the_picture(
    fake_openai: FakeOpenAI, data_dir: Path
) -> None:
    plan = default_plan(30)
    plan["scenes"][1].update(focus_x=0.2, focus_y=0.75)
    plan["scenes"][2].update(focus_x=1.4, focus_y=-0.3)
    del plan["scenes"][3]["focus_x"], plan["scenes"][3]["focus_y"]
    fake_openai.enqueue(answer_json(plan))
    request = planner_pb2.PlanScenesRequest(brief=sample_brief(), duration_seconds=30)
    async with planner_stub(openai_settings(fake_openai, data_dir)) as stub:
        answer = await stub.PlanScenes(request, timeout=_TIMEOUT_S)
    scenes = answer.plan.scenes
    assert answer.attempts == 1  # a point off the picture costs no re-ask
    assert (scenes[1].focus_x, scenes[1].focus_y) == (0.2, 0.75)
    assert (scenes[2].focus_x, scenes[2].focus_y) == (1.0, 0.0)
    assert not scenes[3].HasField("focus_x") and not scenes[3].HasField("focus_y")
    moved = {r.field for r in answer.repairs if "focus" in r.field}
    assert moved == {"plan.scenes[2].focus_x", "plan.scenes[2].focus_y"}


def test_a_plan_sent_back_with_a_focus_off_the_picture_names_the_field() -> None:
    plan = common_pb2.ScenePlan(
        scenes=[
            common_pb2.Scene(duration_seconds=4, focus_x=0.5, focus_y=1.0),
            common_pb2.Scene(duration_seconds=4, focus_x=1.01),
            common_pb2.Scene(duration_seconds=4, focus_y=float("nan")),
        ]
    )
    with pytest.raises(InvalidArgument) as caught:
        validate_scene_plan(plan, "plan")
    fields = [v.field for v in caught.value.violations]
    assert fields == ["plan.scenes[1].focus_x", "plan.scenes[2].focus_y"]
