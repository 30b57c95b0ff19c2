"""The committed generated code is what scripts/gen_protos.py writes from protos/ today."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

COMMITTED = ROOT / "reelforge" / "v1"


def stale_files(committed: Path, fresh: Path) -> list[str]:
    """Names of files that differ, are missing, or are extra in ``committed``."""
    compared = filecmp.dircmp(committed, fresh, ignore=["__pycache__"])
    _, mismatch, errors = filecmp.cmpfiles(committed, fresh, compared.common_files, shallow=False)
    return sorted([*mismatch, *errors, *compared.left_only, *compared.right_only])


def regenerate(into: Path) -> Path:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--out", str(into)],
        check=True,
        capture_output=True,
    )
    return into / "reelforge" / "v1"


def test_committed_code_is_fresh(tmp_path: Path) -> None:
    fresh = regenerate(tmp_path)
    assert stale_files(COMMITTED, fresh) == [], "run: python scripts/gen_protos.py"


def test_stale_copy_is_detected(tmp_path: Path) -> None:
    fresh = regenerate(tmp_path / "fresh")
    stale = tmp_path / "stale"
    shutil.copytree(COMMITTED, stale, ignore=shutil.ignore_patterns("__pycache__"))
    (stale / "composer_pb2.pyi").write_text("# edited by hand\n")
    (stale / "planner_pb2.py").unlink()
    assert stale_files(stale, fresh) == ["composer_pb2.pyi", "planner_pb2.py"]
