"""``crowdpose`` equals xtcocotools' ``keypoints_crowd`` (CrowdPose API), E/M/H included."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets.layouts import CROWDPOSE14
from benchmark.evaluation import evaluate
from benchmark.evaluation.coco import prepare_crowdpose
from benchmark.evaluation.inputs import load_ground_truth
from tests.evaluation.conftest import perturb

NAMES = ["AP", "AP50", "AP75", "AR", "AR50", "AR75", "AP(E)", "AP(M)", "AP(H)"]


def xtcocotools_crowd(gt_path: Path, preds: list[dict]) -> np.ndarray:
    """xtcocotools' own summary; it re-reads the GT file for the crowd-index split."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_path))
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval(coco_gt, coco_dt, "keypoints_crowd", np.array(CROWDPOSE14.sigmas),
                      use_area=False)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def test_example_crowdpose_equals_xtcocotools(xtcoco_dir: Path) -> None:
    preds = json.loads((xtcoco_dir / "example_crowdpose_preds.json").read_text())
    res = evaluate("crowdpose", xtcoco_dir / "example_crowdpose_val.json",
                   xtcoco_dir / "example_crowdpose_preds.json")
    assert list(res.stats) == NAMES and res.details["engine"] == "xtcocotools"
    ref = xtcocotools_crowd(xtcoco_dir / "example_crowdpose_val.json", preds)
    assert np.array_equal([res.stats[n] for n in NAMES], ref)


@pytest.mark.parametrize("name", ["crowdpose/test_crowdpose.json", "exlpose/test_exlpose.json"])
def test_mmpose_crowd_samples_with_derived_predictions(mmpose_data: Path, name: str,
                                                       tmp_path: Path) -> None:
    gt = json.loads((mmpose_data / name).read_text())
    preds = perturb(gt, 5, per_person=3)
    res = evaluate("crowdpose", gt, preds)
    ref = xtcocotools_crowd(mmpose_data / name, preds)
    assert np.array_equal([res.stats[n] for n in NAMES], ref)
    prepared = prepare_crowdpose(load_ground_truth(gt), preds, None)
    assert prepared.resampled(np.ones(prepared.n_units, dtype=np.int64)) == res.stats


def test_no_crowd_index_no_difficulty_split(xtcoco_dir: Path) -> None:
    gt = json.loads((xtcoco_dir / "example_crowdpose_val.json").read_text())
    for img in gt["images"]:
        del img["crowdIndex"]
    res = evaluate("crowdpose", gt, xtcoco_dir / "example_crowdpose_preds.json")
    assert list(res.stats) == NAMES[:6]


def test_predictions_without_positive_keypoint_scores_are_dropped(xtcoco_dir: Path) -> None:
    """xtcocotools drops a prediction whose keypoint scores are all <= 0; so does crowdpose."""
    preds = json.loads((xtcoco_dir / "example_crowdpose_preds.json").read_text())
    zeroed = copy.deepcopy(preds)
    zeroed[0]["keypoints"][2::3] = [0.0] * 14
    zeroed[0]["score"] = 1.0  # would rank first if it were kept
    res = evaluate("crowdpose", xtcoco_dir / "example_crowdpose_val.json", zeroed)
    without = evaluate("crowdpose", xtcoco_dir / "example_crowdpose_val.json", preds[1:])
    assert res.stats == without.stats
