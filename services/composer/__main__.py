"""Runs the composer service: `python -m services.composer`."""

from reelforge.runtime.logs import configure_logging
from reelforge.runtime.server import run
from reelforge.runtime.settings import load_settings
from services.composer.server import create_server
from services.composer.settings import ComposerSettings


def main() -> None:
    settings = load_settings(ComposerSettings)
    configure_logging("composer", settings.log_level, settings.log_format)
    run(create_server, settings)


if __name__ == "__main__":
    main()
