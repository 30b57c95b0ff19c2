"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import write_brief


@pytest.fixture
def short_brief(tmp_path: Path) -> Path:
    """examples/brief.yaml as a 6-second ad: the shortest the planner plans, the quickest run."""
    return write_brief(tmp_path / "brief.yaml", 6.0)
