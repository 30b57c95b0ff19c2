"""One gRPC aio channel per upstream service, and generic calls built from method descriptors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor
from google.protobuf.message import Message

from gateway.settings import GatewaySettings
from reelforge.runtime.channels import open_channel
from reelforge.runtime.interceptors import REQUEST_ID_HEADER

_LOGGER = logging.getLogger(__name__)


# The planner RPCs that call a language model: seconds on a hosted API, minutes on a small local
# server (llama.cpp on a CPU). They get UPSTREAM_LLM_TIMEOUT_S; every other unary RPC gets
# UPSTREAM_TIMEOUT_S. (Converse, the streaming brief chat, is a stream: streams carry no deadline.)
LLM_METHODS = frozenset(
    {
        "reelforge.v1.PlannerService.ExtractBrief",
        "reelforge.v1.PlannerService.GenerateMoods",
        "reelforge.v1.PlannerService.PlanScenes",
    }
)


def message_class(descriptor: Descriptor) -> type[Message]:
    return message_factory.GetMessageClass(descriptor)


@dataclass
class Upstreams:
    """Open channels keyed by service full name (e.g. `reelforge.v1.PlannerService`)."""

    channels: Mapping[str, grpc.aio.Channel]
    timeout_s: float
    llm_timeout_s: float

    @classmethod
    def open(cls, settings: GatewaySettings) -> Upstreams:
        addresses = {
            "reelforge.v1.PlannerService": settings.planner_address,
            "reelforge.v1.GeneratorService": settings.generator_address,
            "reelforge.v1.ComposerService": settings.composer_address,
            "reelforge.v1.StudioService": settings.studio_address,
        }
        channels = {service: open_channel(address) for service, address in addresses.items()}
        _LOGGER.info("upstream channels open", extra={"upstreams": addresses})
        return cls(channels, settings.upstream_timeout_s, settings.upstream_llm_timeout_s)

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    def deadline_s(self, method: MethodDescriptor) -> float:
        """The route's deadline, which is also the gRPC deadline the service sees."""
        return self.llm_timeout_s if method.full_name in LLM_METHODS else self.timeout_s

    def _channel(self, method: MethodDescriptor) -> grpc.aio.Channel:
        return self.channels[method.containing_service.full_name]

    async def unary(self, method: MethodDescriptor, request: Message, request_id: str) -> Message:
        """Calls a unary RPC with its route's deadline; gRPC errors propagate as AioRpcError."""
        call = self._channel(method).unary_unary(
            _rpc_path(method),
            request_serializer=_serialize,
            response_deserializer=message_class(method.output_type).FromString,
        )
        response: Message = await call(
            request, timeout=self.deadline_s(method), metadata=_metadata(request_id)
        )
        return response

    def stream(
        self, method: MethodDescriptor, request: Message, request_id: str
    ) -> grpc.aio.UnaryStreamCall[Any, Any]:
        """Starts a server-streaming RPC; no deadline, the caller cancels it when its client leaves."""
        call = self._channel(method).unary_stream(
            _rpc_path(method),
            request_serializer=_serialize,
            response_deserializer=message_class(method.output_type).FromString,
        )
        return call(request, metadata=_metadata(request_id))


def _rpc_path(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _metadata(request_id: str) -> tuple[tuple[str, str], ...]:
    return ((REQUEST_ID_HEADER, request_id),) if request_id else ()
