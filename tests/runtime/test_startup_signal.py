"""A SIGTERM that arrives while a service is still starting (its port already bound, work being
resumed) is a graceful stop too: exit 0, not death by the signal's default action."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from tests.helpers import ROOT

# A service whose start-up takes a while after binding its port (as the generator's does while
# it claims and resumes work); it says "bound" when a signal would land mid-start-up.
_SLOW_START = textwrap.dedent(
    """
    import asyncio, sys
    from reelforge.runtime.server import build_host, run
    from reelforge.runtime.settings import ServiceSettings

    async def create_server(settings):
        host, port = await build_host(settings, [], [])
        print("bound", flush=True)
        await asyncio.sleep(3)  # resuming work
        return host, port

    run(create_server, ServiceSettings(host="127.0.0.1", port=0, grace_period_s=1))
    """
)


def test_sigterm_during_start_up_exits_zero() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_START],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"bound"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert code == 0, (code, proc.stderr.read() if proc.stderr else b"")
    finally:
        proc.kill()
        proc.wait()
