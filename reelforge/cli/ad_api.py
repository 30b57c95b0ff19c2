"""The studio's routes (`/api/ads`) as typed calls: how the CLI makes, follows and changes ads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

from reelforge.cli.gateway_client import GatewayClient
from reelforge.v1 import common_pb2, studio_pb2

TERMINAL = frozenset(
    {studio_pb2.AD_STATE_COMPLETED, studio_pb2.AD_STATE_FAILED, studio_pb2.AD_STATE_CANCELED}
)


# Where a render's burned-in captions go: the options' word for each mode, as the CLI takes it.
CAPTIONS = {
    "words": studio_pb2.AD_CAPTIONS_WORDS,
    "scenes": studio_pb2.AD_CAPTIONS_SCENES,
    "off": studio_pb2.AD_CAPTIONS_OFF,
}
# --fit: how clips fill a frame of another shape.
FITS = {"cover": common_pb2.FIT_COVER, "pad": common_pb2.FIT_PAD}


def render_options(
    height: int,
    fps: int,
    transition_s: float | None,
    captions: str | None,
    platform: str,
    *,
    platforms: Sequence[str] = (),
    cutdowns: Sequence[int] = (),
    watermark: bool = False,
    end_card: bool | None = None,
    fit: str | None = None,
) -> studio_pb2.RenderOptions:
    """A render's options from the command line (None / "" / 0 / empty: the studio's defaults).
    ``platforms`` × ``cutdowns`` make one render each."""
    return studio_pb2.RenderOptions(
        height=height,
        fps=fps,
        transition_seconds=transition_s,
        captions=CAPTIONS[captions] if captions else studio_pb2.AD_CAPTIONS_UNSPECIFIED,
        platform=platform,
        platforms=platforms,
        cutdowns=cutdowns,
        watermark=watermark,
        end_card=end_card,
        fit=FITS[fit] if fit else common_pb2.FIT_UNSPECIFIED,
    )


async def download_subtitles(
    client: GatewayClient, render: studio_pb2.Render, video: Path
) -> list[Path]:
    """The render's SRT and WebVTT files beside ``video`` (same name, .srt / .vtt); none
    without a voice-over."""
    saved = []
    for artifact, suffix in ((render.subtitles_srt, ".srt"), (render.subtitles_vtt, ".vtt")):
        if artifact.id:
            path = video.with_suffix(suffix)
            await client.download(f"/api/artifacts/{quote(artifact.id, safe='')}", path)
            saved.append(path)
    return saved


class AdApi:
    """StudioService through the gateway; every answer is the generated message type."""

    def __init__(self, client: GatewayClient) -> None:
        self._client = client

    async def create(self, request: studio_pb2.CreateAdRequest) -> studio_pb2.Ad:
        return await self._client.post_as("/api/ads", request, studio_pb2.Ad)

    async def get(self, ad_id: str) -> studio_pb2.Ad:
        return await self._client.get_as(_route(ad_id), studio_pb2.Ad)

    async def list(
        self,
        page_size: int = 0,
        state: studio_pb2.AdState.ValueType = studio_pb2.AD_STATE_UNSPECIFIED,
        page_token: str = "",
    ) -> studio_pb2.ListAdsResponse:
        query = {"page_size": page_size, "page_token": page_token}
        if state:
            query["state"] = studio_pb2.AdState.Name(state)
        wanted = urlencode({k: v for k, v in query.items() if v})
        path = f"/api/ads?{wanted}" if wanted else "/api/ads"
        return await self._client.get_as(path, studio_pb2.ListAdsResponse)

    async def watch(self, ad_id: str) -> AsyncIterator[studio_pb2.Ad]:
        """The current snapshot, then every change, until a terminal state."""
        async for ad in self._client.events_as(_route(ad_id, "events"), studio_pb2.Ad):
            yield ad

    async def cancel(self, ad_id: str) -> studio_pb2.Ad:
        return await self._client.post_as(_route(ad_id, "cancel"), {}, studio_pb2.Ad)

    async def resume(self, ad_id: str) -> studio_pb2.Ad:
        return await self._client.post_as(_route(ad_id, "resume"), {}, studio_pb2.Ad)

    async def choose_mood(self, ad_id: str, mood_id: str) -> studio_pb2.Ad:
        body = {"moodId": mood_id}
        return await self._client.post_as(_route(ad_id, "mood"), body, studio_pb2.Ad)

    async def regenerate(self, request: studio_pb2.RegenerateSceneRequest) -> studio_pb2.Ad:
        path = _route(request.id, f"scenes/{request.scene}/regenerate")
        return await self._client.post_as(path, request, studio_pb2.Ad)

    async def render(self, request: studio_pb2.RenderAdRequest) -> studio_pb2.Ad:
        return await self._client.post_as(_route(request.id, "renders"), request, studio_pb2.Ad)


def _route(ad_id: str, tail: str = "") -> str:
    # The id comes from the user's command line: quoted, so it stays one path segment.
    path = f"/api/ads/{quote(ad_id, safe='')}"
    return f"{path}/{tail}" if tail else path
