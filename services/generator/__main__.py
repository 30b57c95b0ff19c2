"""Runs the generator service: `python -m services.generator`."""

from reelforge.runtime.logs import configure_logging
from reelforge.runtime.server import run
from reelforge.runtime.settings import load_settings
from services.generator.server import create_server
from services.generator.settings import GeneratorSettings


def main() -> None:
    settings = load_settings(GeneratorSettings)
    configure_logging("generator", settings.log_level, settings.log_format)
    run(create_server, settings)


if __name__ == "__main__":
    main()
