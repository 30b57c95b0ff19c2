"""The rule in tests/helpers.py and tests/conftest.py: a PostgreSQL test skips on a laptop,
fails under CI=true, and every run ends with the number of skipped tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

_TESTS = """
from tests.helpers import postgres_unreachable

def test_needs_postgres():
    postgres_unreachable()

def test_plain():
    pass
"""
# A skip that bypasses the helper: the session hook still fails a CI run.
_RAW_SKIP = """
import pytest

def test_needs_postgres():
    pytest.skip("PostgreSQL is down")
"""
# The hooks of tests/conftest.py, registered in a run of their own.
_CONFTEST = "from tests.conftest import pytest_sessionfinish, pytest_terminal_summary  # noqa\n"


def _run(folder: Path, ci: str | None, tests: str = _TESTS) -> subprocess.CompletedProcess[str]:
    (folder / "test_inner.py").write_text(tests)
    (folder / "conftest.py").write_text(_CONFTEST)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_without_ci_a_missing_postgresql_skips_and_the_count_is_printed(tmp_path: Path) -> None:
    run = _run(tmp_path, None)
    assert run.returncode == 0, run.stdout
    assert "1 passed, 1 skipped" in run.stdout
    assert "skipped: 1 (PostgreSQL: 1)" in run.stdout


def test_under_ci_a_missing_postgresql_fails_the_run(tmp_path: Path) -> None:
    run = _run(tmp_path, "true")
    assert run.returncode == 1, run.stdout
    assert "1 failed, 1 passed" in run.stdout
    assert "CI=true: PostgreSQL tests may not skip" in run.stdout


def test_under_ci_any_postgresql_skip_fails_the_run(tmp_path: Path) -> None:
    run = _run(tmp_path, "true", _RAW_SKIP)
    assert run.returncode == 1, run.stdout
    assert "1 skipped" in run.stdout
    assert "skipped: 1 (PostgreSQL: 1) - CI=true: the run FAILS" in run.stdout
