"""Runs the studio service: `python -m services.studio`."""

from reelforge.runtime.logs import configure_logging
from reelforge.runtime.server import run
from reelforge.runtime.settings import load_settings
from services.studio.server import create_server
from services.studio.settings import StudioSettings


def main() -> None:
    settings = load_settings(StudioSettings)
    configure_logging("studio", settings.log_level, settings.log_format)
    run(create_server, settings)


if __name__ == "__main__":
    main()
