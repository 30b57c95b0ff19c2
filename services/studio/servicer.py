"""gRPC servicer of the studio: validation at the door, the work in AdManager."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime.errors import FailedPrecondition
from reelforge.v1 import studio_pb2, studio_pb2_grpc
from services.studio import validation as check
from services.studio.pipeline import enter
from services.studio.repository import state_name
from services.studio.wiring import Studio

_Context = ServicerContext[Any, Any]
_S = studio_pb2
_DEFAULT_PAGE_SIZE = 20


class StudioServicer(studio_pb2_grpc.StudioServiceServicer):
    def __init__(self, studio: Studio) -> None:
        self._studio = studio  # its estimator quotes; allow_networks: what briefs' URLs may reach
        self._repository = studio.repository
        self._manager = studio.manager

    async def CreateAd(
        self, request: studio_pb2.CreateAdRequest, context: _Context
    ) -> studio_pb2.Ad:
        check.validate_create(request, allow=self._studio.allow_networks)
        if request.request_id:
            existing = await self._repository.find_request(request.request_id)
            if existing is not None:
                return existing.ad()  # a replay: no second quote, no second ad
        options = studio_pb2.AdOptions()
        options.CopyFrom(request.options)
        options.duration_seconds = check.ad_duration(request.brief, request.options)
        if options.max_cost_micros:
            quote = await self._studio.estimator.quote(request.brief, options)
            if quote.estimated_cost_micros > options.max_cost_micros:
                raise FailedPrecondition(
                    f"the ad's quote is {quote.estimated_cost_micros} micro-USD, over "
                    f"options.max_cost_micros ({options.max_cost_micros}); nothing was started",
                    reason="OVER_COST_CAP",
                )
        ad = studio_pb2.Ad(brief=request.brief, options=options, request_id=request.request_id)
        enter(ad, _S.AD_STEP_MOODS)
        return await self._manager.create(ad)

    async def GetAd(self, request: studio_pb2.GetAdRequest, context: _Context) -> studio_pb2.Ad:
        check.validate_id(request.id)
        return await self._manager.get(request.id)

    async def ListAds(
        self, request: studio_pb2.ListAdsRequest, context: _Context
    ) -> studio_pb2.ListAdsResponse:
        check.validate_list(request)
        state = state_name(request.state) if request.state else None
        rows, token = await self._repository.list(
            request.page_size or _DEFAULT_PAGE_SIZE, request.page_token, state
        )
        return studio_pb2.ListAdsResponse(ads=[r.ad() for r in rows], next_page_token=token)

    async def WatchAd(
        self, request: studio_pb2.WatchAdRequest, context: _Context
    ) -> AsyncIterator[studio_pb2.Ad]:
        check.validate_id(request.id)
        async for ad in self._manager.watch(request.id):
            yield ad

    async def CancelAd(
        self, request: studio_pb2.CancelAdRequest, context: _Context
    ) -> studio_pb2.Ad:
        check.validate_id(request.id)
        return await self._manager.cancel(request.id)

    async def ResumeAd(
        self, request: studio_pb2.ResumeAdRequest, context: _Context
    ) -> studio_pb2.Ad:
        check.validate_id(request.id)
        return await self._manager.resume(request.id)

    async def ChooseMood(
        self, request: studio_pb2.ChooseMoodRequest, context: _Context
    ) -> studio_pb2.Ad:
        def choose(ad: studio_pb2.Ad) -> None:
            check.check_mood(ad, request.mood_id)
            ad.chosen_mood_id = request.mood_id
            enter(ad, _S.AD_STEP_PLAN)

        return await self._at_gate(request.id, "ChooseMood", _S.AD_STEP_CHOOSE_MOOD, choose)

    async def UpdateStoryboard(
        self, request: studio_pb2.UpdateStoryboardRequest, context: _Context
    ) -> studio_pb2.Ad:
        def update(ad: studio_pb2.Ad) -> None:
            scenes = check.edited_storyboard(ad, list(request.scenes))
            del ad.storyboard[:]
            for scene in scenes:
                ad.storyboard.add(scene=scene)

        gate = _S.AD_STEP_APPROVE_STORYBOARD
        return await self._at_gate(request.id, "UpdateStoryboard", gate, update)

    async def ApproveStoryboard(
        self, request: studio_pb2.ApproveStoryboardRequest, context: _Context
    ) -> studio_pb2.Ad:
        def approve(ad: studio_pb2.Ad) -> None:
            enter(ad, _S.AD_STEP_SEED_IMAGES)

        gate = _S.AD_STEP_APPROVE_STORYBOARD
        return await self._at_gate(request.id, "ApproveStoryboard", gate, approve)

    async def RegenerateScene(
        self, request: studio_pb2.RegenerateSceneRequest, context: _Context
    ) -> studio_pb2.Ad:
        check.validate_regenerate(request)

        def regenerate(ad: studio_pb2.Ad) -> None:
            check.check_scene_index(ad, request.scene)
            ad.regeneration.CopyFrom(
                studio_pb2.Regeneration(scene=request.scene, what=request.what, hint=request.hint)
            )
            if request.HasField("voice_line"):
                ad.regeneration.voice_line = request.voice_line

        return await self._again(request.id, "RegenerateScene", regenerate, _S.AD_STEP_REGENERATE)

    async def RenderAd(
        self, request: studio_pb2.RenderAdRequest, context: _Context
    ) -> studio_pb2.Ad:
        check.validate_render(request)

        def render(ad: studio_pb2.Ad) -> None:
            check.check_for_ad(request.options, ad.brief, ad.options.duration_seconds, "options")
            ad.options.render.CopyFrom(request.options)

        return await self._again(request.id, "RenderAd", render, _S.AD_STEP_COMPOSE)

    async def _at_gate(
        self,
        ad_id: str,
        action: str,
        gate: studio_pb2.AdStep.ValueType,
        change: Callable[[studio_pb2.Ad], None],
    ) -> studio_pb2.Ad:
        """Applies a human's ``change`` (which may refuse) to an ad waiting at ``gate``;
        FAILED_PRECONDITION naming ``action`` for an ad anywhere else."""
        check.validate_id(ad_id)

        def at_gate(ad: studio_pb2.Ad) -> None:
            check.require(ad, action, _S.AD_STATE_AWAITING_INPUT, gate)
            change(ad)

        return await self._manager.act(ad_id, at_gate)

    async def _again(
        self,
        ad_id: str,
        action: str,
        change: Callable[[studio_pb2.Ad], None],
        step: studio_pb2.AdStep.ValueType,
    ) -> studio_pb2.Ad:
        """Runs an ad whose media is made again from ``step``, after ``change`` (which may
        refuse): a COMPLETED ad, or one whose render failed."""

        def again(ad: studio_pb2.Ad) -> None:
            check.require_media(ad, action)
            change(ad)
            ad.error = ""
            enter(ad, step)

        return await self._manager.act(ad_id, again)

    async def ListRenders(
        self, request: studio_pb2.ListRendersRequest, context: _Context
    ) -> studio_pb2.ListRendersResponse:
        check.validate_id(request.id)
        ad = await self._manager.get(request.id)
        return studio_pb2.ListRendersResponse(renders=ad.renders)

    async def EstimateAd(
        self, request: studio_pb2.EstimateAdRequest, context: _Context
    ) -> studio_pb2.EstimateAdResponse:
        check.validate_estimate(request, allow=self._studio.allow_networks)
        options = studio_pb2.AdOptions()
        options.CopyFrom(request.options)
        options.duration_seconds = check.ad_duration(request.brief, request.options)
        return await self._studio.estimator.quote(request.brief, options)
