"""Services run as their own processes: SIGTERM drains and exits 0; a bad setting exits with one line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, free_port

MODULES = ["services.planner", "services.generator", "services.composer", "gateway"]
GRACE_S = 3
# Interpreter teardown after the grace period; generous for a loaded 2-core machine. "Exits
# within its grace" means GRACE_S + this (an idle service exits well before GRACE_S).
EXIT_MARGIN_S = 5


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early: {log.read_text()[-2000:]}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"port {port} never opened")


@pytest.mark.parametrize("module", MODULES)
def test_sigterm_exits_zero_within_grace(
    module: str, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**subprocess_env, "PORT": str(port), "HOST": "127.0.0.1", "GRACE_PERIOD_S": str(GRACE_S)}
    log = tmp_path / "service.log"
    # Output to a file, not an unread pipe: a full pipe would block the service's logging.
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        wait_for_port(port, proc, log)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=GRACE_S + EXIT_MARGIN_S) == 0, log.read_text()[-2000:]
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize(("name", "value"), [("PORT", "abc"), ("GRACE_PERIOD_S", "-1")])
def test_bad_setting_exits_with_one_line_naming_it(
    module: str, name: str, value: str, subprocess_env: dict[str, str]
) -> None:
    env = {**subprocess_env, name: value}
    done = subprocess.run(
        [sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, timeout=30
    )
    assert done.returncode != 0
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert name in lines[0] and value in lines[0]
