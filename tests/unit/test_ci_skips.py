"""Under CI=true a skip is a failure unless tests/conftest.py allows it on purpose (named
with its reason); without CI a skip stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

SKIPPING = """
import pytest

def test_needs_something():
    pytest.skip("the SLURM cluster could not start")

def test_fine():
    assert True
"""


def _pytest(tmp_path: Path, ci: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_skipping.py"
    test.write_text(SKIPPING)
    env = {**os.environ, "CI": ci}
    # the project's conftest as a plugin, on a test file outside the tests folder
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_an_unexpected_skip_fails_ci_and_is_listed(tmp_path: Path) -> None:
    ci = _pytest(tmp_path, "true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "skips CI does not allow" in ci.stdout
    assert "test_needs_something: " in ci.stdout and "could not start" in ci.stdout
    local = _pytest(tmp_path, "")
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 passed, 1 skipped" in local.stdout
