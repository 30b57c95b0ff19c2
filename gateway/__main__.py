"""Runs the gateway: `python -m gateway`."""

from aiohttp import web

from gateway.app import create_app
from gateway.settings import GatewaySettings
from reelforge.runtime.logs import configure_logging
from reelforge.runtime.settings import load_settings


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level, settings.log_format)
    # run_app handles SIGTERM/SIGINT: stop listening, drain for shutdown_timeout, run cleanup_ctx.
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.grace_period_s,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
