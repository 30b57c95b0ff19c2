"""Runs the gateway: `python -m gateway`."""

import asyncio
import contextlib

from gateway.app import create_app
from gateway.http_server import serve
from gateway.settings import GatewaySettings
from reelforge.runtime.heap import freeze_startup_heap
from reelforge.runtime.logs import configure_logging
from reelforge.runtime.settings import load_settings


def main() -> None:
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level, settings.log_format)
    app = create_app(settings)
    freeze_startup_heap()
    # SIGTERM/SIGINT: stop listening, drain for GRACE_PERIOD_S, run cleanup_ctx (see serve).
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, settings))


if __name__ == "__main__":
    main()
