"""The code stays linted, formatted and type-checked (ruff and mypy settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers.support import REPO_ROOT

TYPED = ("workflows", "activities", "starter", "journeys", "worker.py", "tests", "bench")
CHECKS = {
    "ruff lint": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy": [sys.executable, "-m", "mypy", *TYPED],
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_check_passes(name: str) -> None:
    result = subprocess.run(CHECKS[name], cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
