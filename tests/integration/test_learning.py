"""Learning is tested: a trained demo cell scores far above the same model untrained.

The demo dataset at its bundled size (300 train / 50 test images), the rgb cell of
``tiny_hrnet`` with the model config's own schedule, through the same commands the workflow
runs (``mpbench data repro``, ``train``, ``evaluate``). The untrained baseline is the same
config and split predicted with the initialised, untrained weights (``predict`` with no
checkpoint), scored by pycocotools; it is measured here, never hard-coded. A pipeline that
learns nothing (a broken target, a wrong keypoint order, predictions in the wrong frame)
fails: the trained AP must be at least 3x the untrained one and at least 0.05 above it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_pipeline import BIN, _run, _stack_available
from tests.repo_copy import committed_copy

pytestmark = pytest.mark.integration
if not _stack_available():
    pytestmark = [pytestmark, pytest.mark.skip(
        reason="needs the full stack (mmcv with ops, mmpose, snakemake): run `make test`")]

CELL = ["--dataset", "demo", "--modality", "rgb", "--model", "tiny_hrnet"]

UNTRAINED = """
import json, sys
from pathlib import Path
from benchmark.models.predict import predict
ann = Path("data/demo/processed/annotations_official/rgb/test.json")
predict(Path("work_dirs/demo/rgb/tiny_hrnet"), None, ann, Path("untrained.keypoints.json"))
"""


def test_trained_cell_scores_far_above_the_untrained_model(tmp_path: Path) -> None:
    from tests.evaluation.conftest import pycocotools_stats

    root = tmp_path
    (root / "home").mkdir()
    repo = committed_copy(root / "repo")
    mpbench = str(BIN / "mpbench")
    _run([mpbench, "data", "repro", "--dataset", "demo"], repo)
    _run([mpbench, "tracking-init", "--experiment", "learning"], repo)
    _run([mpbench, "train", *CELL, "--experiment", "learning", "--seed", "0"], repo)
    _run([mpbench, "evaluate", *CELL, "--bootstrap", "0"], repo)
    metrics = json.loads((repo / "results/cells/demo/rgb/tiny_hrnet/metrics.json").read_text())
    trained = metrics["scores"]["test"]["stats"]["AP"]

    proc = subprocess.run([sys.executable, "-c", UNTRAINED], cwd=repo, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    gt = json.loads(Path(repo / metrics["scores"]["test"]["gt_file"]).read_text())
    preds = json.loads((repo / "untrained.keypoints.json").read_text())
    assert len(preds) == len(gt["annotations"])  # one pose per ground-truth box, as trained
    untrained = pycocotools_stats(gt, preds)[0]
    # the pipeline's own number is pycocotools' on the same predictions
    trained_preds = json.loads((repo / metrics["scores"]["test"]["predictions"]).read_text())
    assert trained == pycocotools_stats(gt, trained_preds)[0]
    print(f"demo/rgb/tiny_hrnet test AP: trained {trained:.4f}, untrained {untrained:.4f}")
    assert trained >= 3 * untrained, (trained, untrained)
    assert trained - untrained >= 0.05, (trained, untrained)
