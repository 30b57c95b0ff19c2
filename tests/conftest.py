"""Shared fixtures: settings that keep every test's data in its own temporary folder.

Also the hooks of the PostgreSQL rule (tests/helpers.py): under ``CI=true`` a run that skipped
a PostgreSQL test fails, and the end of every run prints how many tests skipped.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.helpers import in_ci

VENV_BIN = Path(sys.executable).parent

# A run started in the background by a script (`nohup pytest … &`) inherits SIGINT ignored, and
# so would every `reelforge` process a test starts and then interrupts (the CLI never saw its
# Ctrl-C: the loaded series failed the interrupt and detach tests that way). A user's terminal
# delivers it: give this process the default handler, which its children get back at exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _skipped_reports(session: pytest.Session) -> list[pytest.TestReport]:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    return list(getattr(reporter, "stats", {}).get("skipped", []))


def _is_postgres_skip(report: pytest.TestReport) -> bool:
    return "PostgreSQL" in str(report.longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A second guard beside postgres_unreachable(): a PostgreSQL skip from anywhere fails CI.
    if in_ci() and any(_is_postgres_skip(r) for r in _skipped_reports(session)):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = list(terminalreporter.stats.get("skipped", []))
    postgres = sum(_is_postgres_skip(r) for r in skipped)
    line = f"skipped: {len(skipped)} (PostgreSQL: {postgres})"
    if in_ci() and postgres:
        line += " - CI=true: the run FAILS because PostgreSQL tests skipped"
    terminalreporter.write_line(line, bold=True, red=bool(skipped))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def subprocess_env(data_dir: Path) -> dict[str, str]:
    """Environment for service subprocesses: this venv first on PATH, data in the test's folder."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env
