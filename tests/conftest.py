"""Shared test fixtures.

Real third-party samples live in ``../shared/fixtures/real/`` beside the repository; tests read
them in place and skip with a clear reason when the folder is absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# No network at import time (albumentations checks PyPI for updates unless told not to).
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

REPO = Path(__file__).resolve().parents[1]
REAL_FIXTURES = Path(os.environ.get("MPBENCH_REAL_FIXTURES",
                                    REPO.parent / "shared" / "fixtures" / "real"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


#: Skips CI allows, each on purpose: (test id fragment, reason fragment) -> why it is allowed.
#: Under ``CI=true`` any other skip fails the run (:func:`pytest_sessionfinish`), so a broken
#: cluster setup or a missing fixture cannot pass as green.
ALLOWED_CI_SKIPS: dict[tuple[str, str], str] = {}


def _allowed(nodeid: str, reason: str) -> bool:
    return any(t in nodeid and r in reason for t, r in ALLOWED_CI_SKIPS)


_unexpected_skips: list[tuple[str, str]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and in_ci():
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else \
            str(report.longrepr)
        if not _allowed(report.nodeid, reason):
            _unexpected_skips.append((report.nodeid, reason))


def pytest_terminal_summary(terminalreporter) -> None:
    if _unexpected_skips:
        terminalreporter.section("skips CI does not allow (tests/conftest.py ALLOWED_CI_SKIPS)")
        for nodeid, reason in _unexpected_skips:
            terminalreporter.line(f"{nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected_skips and session.exitstatus == 0:
        session.exitstatus = 1


def missing_fixture(reason: str) -> None:
    """Skip a test whose real-data fixture is absent; under CI (``CI=true``) that is a
    failure, since CI always has ``../shared`` beside the clone."""
    if in_ci():
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_fixtures() -> Path:
    """Root of the real-data samples; skips the test when they are not beside the repo
    (fails under CI)."""
    if not REAL_FIXTURES.is_dir():
        missing_fixture(f"real fixtures not found at {REAL_FIXTURES} (expected "
                        "../shared/fixtures/real beside the repository, or set "
                        "MPBENCH_REAL_FIXTURES)")
    return REAL_FIXTURES


@pytest.fixture(scope="module")
def module_tmp(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch folder for one test module, removed when the module ends.

    The workflow modules train real models and copy the repository; kept until the session
    ends (pytest's default), their folders reached 19 GB and filled a CI machine's disk.
    A module with a failure keeps its folder outside CI, to be looked at; set
    ``MPBENCH_KEEP_TMP=1`` to keep every folder."""
    failed_before = request.session.testsfailed
    path = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    yield path
    failed = request.session.testsfailed > failed_before
    if os.environ.get("MPBENCH_KEEP_TMP") == "1" or (failed and not in_ci()):
        return
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def mlflow_store(request: pytest.FixtureRequest, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh default MLflow store (the real SQLite backend) under tmp_path/results/mlflow,
    run from tmp_path, with the calling test module's ``EXP`` experiment created."""
    pytest.importorskip("mlflow")
    from benchmark.tracking.store import init_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    init_store(request.module.EXP)
    return tmp_path
