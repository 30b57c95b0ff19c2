"""Runs the composer service: `python -m services.composer`."""

from reelforge.runtime.server import main
from services.composer.server import create_server
from services.composer.settings import ComposerSettings

if __name__ == "__main__":
    main("composer", ComposerSettings, create_server)
