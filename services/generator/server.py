"""Builds the generator gRPC server: `create_server(settings) -> (host, port)`; constructs only."""

from __future__ import annotations

from reelforge.runtime.server import ServiceHost, create_host
from reelforge.v1 import generator_pb2
from services.generator.servicer import GeneratorServicer
from services.generator.settings import GeneratorSettings
from services.generator.wiring import build_generator

SERVICE_NAME = generator_pb2.DESCRIPTOR.services_by_name["GeneratorService"].full_name


async def create_server(settings: GeneratorSettings) -> tuple[ServiceHost, int]:
    generator = build_generator(settings)
    return await create_host(settings, GeneratorServicer(generator), generator.lifecycle)
