"""gRPC servicer of the composer service: validation at the door, the work in CompositionManager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from grpc.aio import ServicerContext

from reelforge.runtime import page_tokens
from reelforge.runtime.validation import Violations
from reelforge.v1 import composer_pb2, composer_pb2_grpc
from services.composer.convert import state_name, to_proto
from services.composer.preflight import check_stored_inputs
from services.composer.preparer import prepare_violations
from services.composer.validation import compose_violations, validate_id, validate_list
from services.composer.wiring import Composer

_Context = ServicerContext[Any, Any]
_DEFAULT_PAGE_SIZE = 20


class ComposerServicer(composer_pb2_grpc.ComposerServiceServicer):
    def __init__(self, composer: Composer) -> None:
        self._repository = composer.repository
        self._manager = composer.manager
        self._store = composer.store
        self._preparer = composer.preparer

    async def Compose(
        self, request: composer_pb2.ComposeRequest, context: _Context
    ) -> composer_pb2.Composition:
        self._check(request, compose_violations(request))
        return to_proto(await self._manager.submit(request))

    # The same request as Compose: its pieces encoded ahead, as the clips land.
    async def PrepareSegments(
        self, request: composer_pb2.ComposeRequest, context: _Context
    ) -> composer_pb2.PreparedSegments:
        self._check(request, prepare_violations(request))
        return await self._preparer.prepare(request)

    async def GetComposition(
        self, request: composer_pb2.GetCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        validate_id(request.id)
        return to_proto(await self._repository.get(request.id))

    async def ListCompositions(
        self, request: composer_pb2.ListCompositionsRequest, context: _Context
    ) -> composer_pb2.ListCompositionsResponse:
        validate_list(request)
        size = request.page_size or _DEFAULT_PAGE_SIZE
        rows = await self._repository.list(
            limit=size + 1,
            after=page_tokens.after(request.page_token),
            state=state_name(request.state) if request.state else None,
        )
        page, token = page_tokens.next_page(rows, size, lambda row: (row.created_us, row.id))
        return composer_pb2.ListCompositionsResponse(
            compositions=[to_proto(row) for row in page], next_page_token=token
        )

    async def WatchComposition(
        self, request: composer_pb2.WatchCompositionRequest, context: _Context
    ) -> AsyncIterator[composer_pb2.Composition]:
        validate_id(request.id)
        async for composition in self._manager.watch(request.id):
            yield composition

    async def CancelComposition(
        self, request: composer_pb2.CancelCompositionRequest, context: _Context
    ) -> composer_pb2.Composition:
        validate_id(request.id)
        return to_proto(await self._manager.cancel(request.id))

    def _check(self, request: composer_pb2.ComposeRequest, found: Violations) -> None:
        """Shape and store are checked together, so one answer names every bad field."""
        check_stored_inputs(self._store, request, found)
        found.raise_if_any()
