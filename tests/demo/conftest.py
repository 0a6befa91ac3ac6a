"""Fixtures: small demo datasets generated once per test session (nothing is downloaded)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.datasets.demo.generate import generate

#: Geometry checks need enough people to meet occlusions, cut-offs and back views.
GEOMETRY_COUNTS = {"n_train": 24, "n_val": 4, "n_test": 4}


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """6 images (4/1/1), seed 0, single process."""
    out = tmp_path_factory.mktemp("demo_small")
    summary = generate(out, seed=0, n_train=4, n_val=1, n_test=1, progress=False)
    return out, summary


@pytest.fixture(scope="session")
def geometry_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """32 images, seed 3; returns the root and the parsed COCO files per split."""
    out = tmp_path_factory.mktemp("demo_geometry")
    generate(out, seed=3, progress=False, **GEOMETRY_COUNTS)
    cocos = {s: json.loads((out / "annotations" / f"{s}.json").read_text())
             for s in ("train", "val", "test")}
    return out, cocos

