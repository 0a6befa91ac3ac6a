"""The injection measurement on a seeded subset: precision and recall >= 0.9 per type.

Same code as ``benchmarks/qa_injection.py`` (:mod:`benchmark.qa.injection_eval`), on fewer
seeds: MVOR's 2926 poses twice per kind (about 580 corrupted skeletons each) and the small
COCO / OCHuman / CrowdPose samples over a few seeds, pooled per kind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.datasets.layouts import COCO17, CROWDPOSE14, MVOR10
from benchmark.qa.inject import KINDS
from benchmark.qa.injection_eval import Counts, measure, preflagged

SMALL = (("mmpose/tests/data/coco/test_coco.json", COCO17),
         ("mmpose/tests/data/ochuman/test_ochuman.json", COCO17),
         ("mmpose/tests/data/crowdpose/test_crowdpose.json", CROWDPOSE14))


@pytest.fixture(scope="module")
def pooled(real_fixtures: Path, mvor: dict) -> dict[str, Counts]:
    files = [(mvor, MVOR10, range(2))]
    files += [(json.loads((real_fixtures / rel).read_text()), layout, range(8))
              for rel, layout in SMALL]
    out = {kind: Counts() for kind in KINDS}
    for coco, layout, seeds in files:
        already = preflagged(coco, layout)
        for kind in KINDS:
            out[kind].add(measure(coco, layout, kind, seeds, already=already[kind]))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_precision_and_recall_per_corruption(pooled: dict[str, Counts], kind: str) -> None:
    counts = pooled[kind]
    assert counts.tp + counts.fn >= 600, "the subset must stay large enough to mean something"
    assert counts.recall >= 0.9, (kind, counts)
    assert counts.precision_new >= 0.9, (kind, counts)


def test_strict_precision_bounds(pooled: dict[str, Counts]) -> None:
    """Counting every flag on an uncorrupted skeleton as false (some are MVOR's own errors)."""
    assert pooled["swap"].precision >= 0.9
    assert pooled["drop"].precision == 1.0
    assert pooled["duplicate"].precision == 1.0
    assert pooled["shift"].precision >= 0.7  # 3.5 % of clean MVOR skeletons carry such flags
