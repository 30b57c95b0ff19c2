"""Runs the studio service: `python -m services.studio`."""

from reelforge.runtime.server import main
from services.studio.server import create_server
from services.studio.settings import StudioSettings

if __name__ == "__main__":
    main("studio", StudioSettings, create_server)
