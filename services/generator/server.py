"""Builds the generator gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, build_host
from reelforge.v1 import generator_pb2, generator_pb2_grpc
from services.generator.servicer import GeneratorServicer
from services.generator.settings import GeneratorSettings
from services.generator.wiring import build_generator

SERVICE_NAME = generator_pb2.DESCRIPTOR.services_by_name["GeneratorService"].full_name


async def create_server(settings: GeneratorSettings) -> tuple[ServiceHost, int]:
    generator = build_generator(settings)
    servicer = GeneratorServicer(generator)
    return await build_host(
        settings,
        [
            lambda server: generator_pb2_grpc.add_GeneratorServiceServicer_to_server(
                servicer, server
            )
        ],
        [SERVICE_NAME],
        generator,
    )
