"""The settings tables in the READMEs are what scripts/settings_tables.py renders from the
settings classes' field descriptions (their docstrings) today."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

_SCRIPT = ROOT / "scripts" / "settings_tables.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _fresh_readmes(into: Path) -> None:
    """Copies of the READMEs, their tables rendered from the settings classes as they are now."""
    for readme in [
        ROOT / "README.md",
        ROOT / "gateway/README.md",
        *ROOT.glob("services/*/README.md"),
    ]:
        copy = into / readme.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(readme, copy)
    assert _run("--root", str(into)).returncode == 0


def test_readme_settings_tables_are_fresh() -> None:
    run = _run("--check")
    assert run.returncode == 0, run.stdout + run.stderr + "run: python scripts/settings_tables.py"


def test_an_edited_row_and_a_missing_table_are_detected(tmp_path: Path) -> None:
    _fresh_readmes(tmp_path)
    composer = tmp_path / "services" / "composer" / "README.md"
    row = "| `RENDER_TIMEOUT_S` | float > 0 | `1800` |"
    assert row in composer.read_text()
    composer.write_text(composer.read_text().replace(row, "| `RENDER_TIMEOUT_S` | float | `900` |"))
    gateway = tmp_path / "gateway" / "README.md"
    gateway.write_text(gateway.read_text().replace("<!-- settings:begin -->", ""))
    run = _run("--check", "--root", str(tmp_path))
    assert run.returncode == 1
    stale = sorted(line.split(":")[0] for line in run.stdout.splitlines())
    assert stale == ["gateway/README.md", "services/composer/README.md"], run.stdout
