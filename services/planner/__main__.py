"""Runs the planner service: `python -m services.planner`."""

from reelforge.runtime.server import main
from services.planner.server import create_server
from services.planner.settings import PlannerSettings

if __name__ == "__main__":
    main("planner", PlannerSettings, create_server)
