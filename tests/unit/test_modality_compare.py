"""Paired modality comparisons on real COCO ground truth and predictions."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.models.evaluate import ScoreKey
from benchmark.reports.modality_compare import dataset_comparisons, to_csv, write_comparisons
from tests.evaluation.conftest import pycocotools_stats


def _jitter(preds: list[dict], step: float) -> list[dict]:
    """A second 'modality': the same detections with deterministic keypoint offsets."""
    out = copy.deepcopy(preds)
    for i, p in enumerate(out):
        kp = p["keypoints"]
        for j in range(0, len(kp), 3):
            kp[j] += step * (((i + j) % 5) - 2)
            kp[j + 1] += step * (((i * 3 + j) % 7) - 3)
    return out


def _cell(tmp: Path, modality: str, gt: dict, preds: list[dict]) -> Path:
    root = tmp / modality
    root.mkdir()
    (root / "gt.json").write_text(json.dumps(gt))
    (root / "pred.json").write_text(json.dumps(preds))
    score = {"set": "val", "split": "val", "images": None, "boxes": "gt",
             "annotations": "official", "gt_file": str(root / "gt.json"), "gt_sha256": "",
             "predictions": str(root / "pred.json"), "stats": {}, "intervals": {}}
    data = {"cell": f"coco/{modality}/m", "dataset": "coco", "modality": modality, "model": "m",
            "protocol": "coco", "headline": "AP", "scale": "fraction", "bootstrap": 50,
            "primary": ScoreKey("val").label, "scores": {"val": score}}
    (root / "metrics.json").write_text(json.dumps(data))
    return root / "metrics.json"


@pytest.fixture
def cells(tmp_path, real_fixtures) -> tuple[list[Path], dict, list[dict], list[dict]]:
    ann = real_fixtures / "xtcocoapi" / "annotations"
    gt = json.loads((ann / "example_coco_val.json").read_text())
    preds = json.loads((ann / "example_coco_preds.json").read_text())
    other = _jitter(preds, 4.0)
    # the second modality lacks one image (as ExLPose-OC lacks a well-lit partner)
    dropped = gt["images"][0]["id"]
    gt_b = {**gt, "images": gt["images"][1:],
            "annotations": [a for a in gt["annotations"] if a["image_id"] != dropped]}
    paths = [_cell(tmp_path, "rgb", gt, preds),
             _cell(tmp_path, "thermal", gt_b, [p for p in other if p["image_id"] != dropped])]
    shared = {i["id"] for i in gt_b["images"]}
    return paths, gt_b, [p for p in preds if p["image_id"] in shared], \
        [p for p in other if p["image_id"] in shared]


def test_pair_is_scored_on_the_shared_images_as_pycocotools_scores_them(cells) -> None:
    paths, shared_gt, pred_a, pred_b = cells
    (row,) = dataset_comparisons(paths, bootstrap=50, seed=0)["coco"]
    ref_a = pycocotools_stats(shared_gt, pred_a)[0] * 100
    ref_b = pycocotools_stats(shared_gt, pred_b)[0] * 100
    assert ref_a != ref_b  # the jitter changes the score, so the pairing is visible
    assert (row["a"], row["b"], row["set"]) == ("rgb", "thermal", "val")
    assert row["value_a"] == pytest.approx(ref_a, abs=1e-12)
    assert row["value_b"] == pytest.approx(ref_b, abs=1e-12)
    assert row["difference"] == pytest.approx(ref_b - ref_a, abs=1e-12)
    assert row["images"] == len(shared_gt["images"]) == 3
    assert row["ci95_low"] <= row["difference"] <= row["ci95_high"]
    assert 0 < row["p_value"] <= 1


def test_tables_are_written_for_each_dataset(cells, tmp_path) -> None:
    paths = cells[0]
    written = write_comparisons(paths, tmp_path / "compare", datasets=["coco", "demo"],
                                bootstrap=20)
    assert sorted(p.name for p in written) == ["coco.csv", "coco.md", "demo.csv", "demo.md"]
    md = (tmp_path / "compare" / "coco.md").read_text()
    assert "| m | val | rgb | thermal |" in md and "20 paired bootstrap resamples" in md
    rows = list(csv.DictReader(io.StringIO((tmp_path / "compare" / "coco.csv").read_text())))
    assert len(rows) == 1 and rows[0]["statistic"] == "AP"
    assert list(csv.DictReader(io.StringIO(to_csv([])))) == []
    assert (tmp_path / "compare" / "demo.csv").read_text().startswith("dataset,model,set")


def test_p_value_at_the_bootstrap_floor_is_shown_as_a_bound() -> None:
    from benchmark.reports.modality_compare import _p_text

    assert _p_text(2 / 1001, 1000) == "≤ 0.002"  # no resample crossed zero
    assert _p_text(0.25, 1000) == "0.250"
    assert _p_text(None, 1000) == "–"
