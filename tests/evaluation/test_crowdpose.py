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


#: Crowd indices on and just off xtcocotools' boundaries (``get_type_result(first=0.2,
#: second=0.8)``: easy < 0.2 <= medium < 0.8 <= hard).
BOUNDARY_INDICES = [0.2, 0.8, 0.19999, 0.79999]


def test_crowd_index_on_the_boundaries_binned_as_xtcocotools(xtcoco_dir: Path,
                                                             tmp_path: Path) -> None:
    """Images exactly at 0.2 and 0.8 fall in medium and hard, as xtcocotools' own ``split``
    puts them; AP(E)/AP(M)/AP(H) then equal xtcocotools' summary of the same file."""
    from xtcocotools.cocoeval import COCOeval

    from benchmark.evaluation.coco import _crowd_masks

    gt = json.loads((xtcoco_dir / "example_crowdpose_val.json").read_text())
    for img, index in zip(gt["images"], BOUNDARY_INDICES, strict=True):
        img["crowdIndex"] = index
    path = tmp_path / "boundaries.json"
    path.write_text(json.dumps(gt))
    ids = [img["id"] for img in gt["images"]]
    masks = _crowd_masks(load_ground_truth(gt), ids)
    assert masks is not None
    # the split xtcocotools' keypoints_crowd summary uses (literals in _summarizeKps_crowd)
    easy, medium, hard = COCOeval.split(None, str(path), 0.2, 0.8)
    for name, ref in (("AP(E)", easy), ("AP(M)", medium), ("AP(H)", hard)):
        assert [i for i, m in zip(ids, masks[name]) if m] == ref, name
    # on the boundary: 0.2 -> medium, 0.8 -> hard (published split, not just xtcocotools')
    assert [bin_ for i in ids for bin_ in ("AP(E)", "AP(M)", "AP(H)")
            if masks[bin_][ids.index(i)]] == ["AP(M)", "AP(H)", "AP(E)", "AP(M)"]
    preds = json.loads((xtcoco_dir / "example_crowdpose_preds.json").read_text())
    res = evaluate("crowdpose", path, preds)
    assert np.array_equal([res.stats[n] for n in NAMES], xtcocotools_crowd(path, preds))
