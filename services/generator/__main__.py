"""Runs the generator service: `python -m services.generator`."""

from reelforge.runtime.server import main
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings

if __name__ == "__main__":
    main("generator", GeneratorSettings, create_server)
