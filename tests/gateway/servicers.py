"""Small test servicers that show which RPC a request reached.

They implement every RPC of the generated base servicers (the contract) rather than
subclass the services' own classes, whose constructors change while those services
are being built; answers echo the request so tests can see what arrived where.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc.aio import ServicerContext

from reelforge.runtime import errors
from reelforge.v1 import common_pb2, composer_pb2, generator_pb2, planner_pb2
from reelforge.v1.composer_pb2_grpc import ComposerServiceServicer
from reelforge.v1.generator_pb2_grpc import GeneratorServiceServicer
from reelforge.v1.planner_pb2_grpc import PlannerServiceServicer

_Context = ServicerContext[Any, Any]
_J = generator_pb2


def _request_id(context: _Context) -> str:
    return next((str(v) for k, v in context.invocation_metadata() or () if k == "x-request-id"), "")


class EchoGenerator(GeneratorServiceServicer):
    """Answers with what it was asked; WatchJob streams 3 jobs, or hangs / fails on request."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.request_ids: list[str] = []
        self.time_remaining: list[float | None] = []  # the gRPC deadline each GetJob arrived with

    async def GetJob(self, request: _J.GetJobRequest, context: _Context) -> _J.Job:
        self.request_ids.append(_request_id(context))
        self.time_remaining.append(context.time_remaining())
        if request.job_id == "missing":
            raise errors.NotFound(f"job {request.job_id} not found")
        if request.job_id == "slow":
            await asyncio.Event().wait()  # until the gateway's deadline cancels the call
        return _J.Job(id=request.job_id, state=_J.JOB_STATE_RUNNING, estimated_cost_micros=2**40)

    async def ListJobs(self, request: _J.ListJobsRequest, context: _Context) -> _J.ListJobsResponse:
        # The filters come back in the job fields, so a test can see the query reached the RPC.
        job = _J.Job(id=f"size-{request.page_size}", state=request.state, kind=request.kind)
        return _J.ListJobsResponse(jobs=[job], next_page_token=request.page_token)

    async def GenerateClips(self, request: _J.GenerateClipsRequest, context: _Context) -> _J.Job:
        items = [_J.JobItem(index=i, model=clip.prompt) for i, clip in enumerate(request.clips)]
        return _J.Job(id="clips-1", kind=_J.JOB_KIND_CLIPS, tier=request.tier, items=items)

    async def GenerateImages(self, request: _J.GenerateImagesRequest, context: _Context) -> _J.Job:
        items = [_J.JobItem(index=i, model=image.prompt) for i, image in enumerate(request.images)]
        return _J.Job(id="images-1", kind=_J.JOB_KIND_IMAGES, tier=request.tier, items=items)

    async def GenerateMusic(self, request: _J.GenerateMusicRequest, context: _Context) -> _J.Job:
        return _J.Job(id="music-1", kind=_J.JOB_KIND_MUSIC, tier=request.tier, model=request.model)

    async def GenerateVoice(self, request: _J.GenerateVoiceRequest, context: _Context) -> _J.Job:
        items = [_J.JobItem(index=i, model=line.text) for i, line in enumerate(request.lines)]
        return _J.Job(id="voice-1", kind=_J.JOB_KIND_VOICE, tier=request.tier, items=items)

    async def CancelJob(self, request: _J.CancelJobRequest, context: _Context) -> _J.Job:
        return _J.Job(id=request.job_id, state=_J.JOB_STATE_CANCELED)

    async def RetryJob(self, request: _J.RetryJobRequest, context: _Context) -> _J.Job:
        return _J.Job(id=request.job_id, state=_J.JOB_STATE_RUNNING)

    async def EstimateCost(
        self, request: _J.EstimateCostRequest, context: _Context
    ) -> _J.EstimateCostResponse:
        return _J.EstimateCostResponse(
            estimated_cost_micros=-(2**62), model=str(request.WhichOneof("request"))
        )

    async def WatchJob(
        self, request: _J.WatchJobRequest, context: _Context
    ) -> AsyncIterator[_J.Job]:
        if request.job_id == "missing":
            raise errors.NotFound("job missing not found")
        yield _J.Job(id=request.job_id, state=_J.JOB_STATE_PENDING)
        if request.job_id == "hang":
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if request.job_id == "fail":
            raise errors.Unavailable("provider went away")
        yield _J.Job(id=request.job_id, state=_J.JOB_STATE_RUNNING, percent=50)
        yield _J.Job(id=request.job_id, state=_J.JOB_STATE_SUCCEEDED, percent=100)

    async def HandleProviderWebhook(
        self, request: _J.HandleProviderWebhookRequest, context: _Context
    ) -> _J.HandleProviderWebhookResponse:
        if request.headers.get("webhook-signature") != "v1,good":
            raise errors.Unauthenticated("webhook signature does not verify")
        prediction = json.loads(request.body)["id"]
        # The URL's item tag, when there is one, comes back in the id (the test reads it there).
        tagged = f"{prediction}@{request.item_tag}" if request.item_tag else prediction
        return _J.HandleProviderWebhookResponse(accepted=True, prediction_id=tagged)


# The error table: a product name picks what GenerateMoods raises.
RAISED: dict[str, Exception] = {
    "invalid": errors.InvalidArgument.single("brief.tone", "is required"),
    "unauthenticated": errors.Unauthenticated("no credentials"),
    "denied": errors.PermissionDenied("not yours"),
    "missing": errors.NotFound("no such brief"),
    "exists": errors.AlreadyExists("already there"),
    "precondition": errors.FailedPrecondition("over budget"),
    "exhausted": errors.ResourceExhausted("rate limited", retry_after_s=7.2),
    "unavailable": errors.Unavailable("provider down"),
    "deadline": errors.DeadlineExceeded("too slow"),
    "unimplemented": errors.Unimplemented("not here"),
    "internal": errors.Internal("broken"),
    "crash": RuntimeError("secret internals /etc/passwd"),
}


class ErrorPlanner(PlannerServiceServicer):
    """GenerateMoods raises the error its brief's product name selects; "aborted" aborts."""

    def __init__(self) -> None:
        # RPC name → the gRPC deadline (seconds left) it arrived with, as the model call sees it.
        self.time_remaining: dict[str, float | None] = {}

    async def Converse(
        self, request: planner_pb2.ConverseRequest, context: _Context
    ) -> AsyncIterator[planner_pb2.ConverseResponse]:
        for index, message in enumerate(request.messages):
            yield planner_pb2.ConverseResponse(
                delta=message.content, done=index == len(request.messages) - 1
            )

    async def ExtractBrief(
        self, request: planner_pb2.ExtractBriefRequest, context: _Context
    ) -> planner_pb2.ExtractBriefResponse:
        self.time_remaining["ExtractBrief"] = context.time_remaining()
        return planner_pb2.ExtractBriefResponse(complete=bool(request.messages))

    async def PlanScenes(
        self, request: planner_pb2.PlanScenesRequest, context: _Context
    ) -> planner_pb2.PlanScenesResponse:
        self.time_remaining["PlanScenes"] = context.time_remaining()
        return planner_pb2.PlanScenesResponse(plan=common_pb2.ScenePlan(mood_id=request.mood.id))

    async def GenerateMoods(
        self, request: planner_pb2.GenerateMoodsRequest, context: _Context
    ) -> planner_pb2.GenerateMoodsResponse:
        self.time_remaining["GenerateMoods"] = context.time_remaining()
        name = request.brief.product_name
        if name == "aborted":  # no domain exception has this code
            await context.abort(grpc.StatusCode.ABORTED, "concurrent update")
        if name in RAISED:
            raise RAISED[name]
        return planner_pb2.GenerateMoodsResponse(moods=[common_pb2.Mood(id="m1", name=name)])


class EchoComposer(ComposerServiceServicer):
    """GetComposition echoes its id; "done" has the output artifact set by the test."""

    def __init__(self) -> None:
        self.output = common_pb2.Artifact()

    async def GetComposition(
        self, request: composer_pb2.GetCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        if request.id == "done":
            return composer_pb2.Composition(
                id=request.id, state=composer_pb2.COMPOSITION_STATE_COMPLETED, output=self.output
            )
        return composer_pb2.Composition(
            id=request.id, state=composer_pb2.COMPOSITION_STATE_COMPOSING
        )

    async def Compose(
        self, request: composer_pb2.ComposeRequest, context: _Context
    ) -> composer_pb2.Composition:
        return composer_pb2.Composition(id="c1", request=request)

    async def ListCompositions(
        self, request: composer_pb2.ListCompositionsRequest, context: _Context
    ) -> composer_pb2.ListCompositionsResponse:
        return composer_pb2.ListCompositionsResponse(next_page_token=request.page_token)

    async def WatchComposition(
        self, request: composer_pb2.WatchCompositionRequest, context: _Context
    ) -> AsyncIterator[composer_pb2.Composition]:
        yield composer_pb2.Composition(
            id=request.id, state=composer_pb2.COMPOSITION_STATE_COMPLETED
        )

    async def CancelComposition(
        self, request: composer_pb2.CancelCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        return composer_pb2.Composition(
            id=request.id, state=composer_pb2.COMPOSITION_STATE_CANCELED
        )

    async def PrepareSegments(
        self, request: composer_pb2.ComposeRequest, context: _Context
    ) -> composer_pb2.PreparedSegments:
        return composer_pb2.PreparedSegments()  # internal: no REST route reaches it
