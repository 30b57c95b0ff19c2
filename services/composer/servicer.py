"""gRPC servicer of the composer service."""

from collections.abc import AsyncIterator
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime.errors import Unimplemented
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.settings import ComposerSettings

_Context = ServicerContext[Any, Any]


class ComposerServicer(composer_pb2_grpc.ComposerServiceServicer):
    def __init__(self, settings: ComposerSettings) -> None:
        self._settings = settings

    async def Compose(
        self, request: composer_pb2.ComposeRequest, context: _Context
    ) -> composer_pb2.Composition:
        raise Unimplemented("Compose is not implemented yet")

    async def GetComposition(
        self, request: composer_pb2.GetCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        raise Unimplemented("GetComposition is not implemented yet")

    async def ListCompositions(
        self, request: composer_pb2.ListCompositionsRequest, context: _Context
    ) -> composer_pb2.ListCompositionsResponse:
        raise Unimplemented("ListCompositions is not implemented yet")

    async def WatchComposition(
        self, request: composer_pb2.WatchCompositionRequest, context: _Context
    ) -> AsyncIterator[composer_pb2.Composition]:
        raise Unimplemented("WatchComposition is not implemented yet")
        yield composer_pb2.Composition()  # makes this an async generator

    async def CancelComposition(
        self, request: composer_pb2.CancelCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        raise Unimplemented("CancelComposition is not implemented yet")
