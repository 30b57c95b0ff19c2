"""gRPC servicer of the generator service."""

from collections.abc import AsyncIterator
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime.errors import Unimplemented
from reelforge.v1 import generator_pb2, generator_pb2_grpc
from services.generator.settings import GeneratorSettings

_Context = ServicerContext[Any, Any]


class GeneratorServicer(generator_pb2_grpc.GeneratorServiceServicer):
    def __init__(self, settings: GeneratorSettings) -> None:
        self._settings = settings

    async def GenerateImages(
        self, request: generator_pb2.GenerateImagesRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("GenerateImages is not implemented yet")

    async def GenerateClips(
        self, request: generator_pb2.GenerateClipsRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("GenerateClips is not implemented yet")

    async def GenerateMusic(
        self, request: generator_pb2.GenerateMusicRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("GenerateMusic is not implemented yet")

    async def GetJob(
        self, request: generator_pb2.GetJobRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("GetJob is not implemented yet")

    async def ListJobs(
        self, request: generator_pb2.ListJobsRequest, context: _Context
    ) -> generator_pb2.ListJobsResponse:
        raise Unimplemented("ListJobs is not implemented yet")

    async def WatchJob(
        self, request: generator_pb2.WatchJobRequest, context: _Context
    ) -> AsyncIterator[generator_pb2.Job]:
        raise Unimplemented("WatchJob is not implemented yet")
        yield generator_pb2.Job()  # makes this an async generator

    async def CancelJob(
        self, request: generator_pb2.CancelJobRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("CancelJob is not implemented yet")

    async def RetryJob(
        self, request: generator_pb2.RetryJobRequest, context: _Context
    ) -> generator_pb2.Job:
        raise Unimplemented("RetryJob is not implemented yet")

    async def EstimateCost(
        self, request: generator_pb2.EstimateCostRequest, context: _Context
    ) -> generator_pb2.EstimateCostResponse:
        raise Unimplemented("EstimateCost is not implemented yet")

    async def HandleProviderWebhook(
        self, request: generator_pb2.HandleProviderWebhookRequest, context: _Context
    ) -> generator_pb2.HandleProviderWebhookResponse:
        raise Unimplemented("HandleProviderWebhook is not implemented yet")
