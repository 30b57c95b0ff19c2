"""Runs the planner service: `python -m services.planner`."""

from reelforge.runtime.logs import configure_logging
from reelforge.runtime.server import run
from reelforge.runtime.settings import load_settings
from services.planner.server import create_server
from services.planner.settings import PlannerSettings


def main() -> None:
    settings = load_settings(PlannerSettings)
    configure_logging("planner", settings.log_level, settings.log_format)
    run(create_server, settings)


if __name__ == "__main__":
    main()
