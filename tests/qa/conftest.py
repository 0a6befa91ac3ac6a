"""Fixtures shared by the QA tests: the MVOR ground truth, loaded and checked once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.datasets.layouts import MVOR10
from benchmark.qa import QAReport, run_qa


@pytest.fixture(scope="session")
def mvor(real_fixtures: Path) -> dict:
    """MVOR's 2D ground truth (2926 upper-body poses): the largest real file."""
    return json.loads((real_fixtures / "mvor/annotations/camma_mvor_2018.json").read_text())


@pytest.fixture(scope="session")
def mvor_report(mvor: dict) -> QAReport:
    return run_qa(mvor, MVOR10, source="camma_mvor_2018.json")
