"""``coco`` equals pycocotools, whichever engine runs, on real and adversarial inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets.layouts import COCO17
from benchmark.evaluation import evaluate
from benchmark.evaluation.accumulate import COCO_KEYPOINT_STATS
from benchmark.evaluation.coco import prepare_coco
from benchmark.evaluation.inputs import load_ground_truth
from tests.evaluation.conftest import perturb, pycocotools_stats

NAMES = [s[0] for s in COCO_KEYPOINT_STATS]


def _stats(res_stats: dict[str, float]) -> np.ndarray:
    return np.array([res_stats[n] for n in NAMES])


def test_example_coco_equals_pycocotools(xtcoco_dir: Path) -> None:
    gt = json.loads((xtcoco_dir / "example_coco_val.json").read_text())
    preds = json.loads((xtcoco_dir / "example_coco_preds.json").read_text())
    res = evaluate("coco", xtcoco_dir / "example_coco_val.json",
                   xtcoco_dir / "example_coco_preds.json")
    assert list(res.stats) == NAMES and res.headline == "AP" and res.scale == "fraction"
    # pycocotools' built-in sigmas (.26/10 ...) differ from the layout's literals by 1 ulp
    np.testing.assert_allclose(_stats(res.stats), pycocotools_stats(gt, preds), rtol=0,
                               atol=1e-12)
    # with the same sigmas, bit for bit
    assert np.array_equal(_stats(res.stats), pycocotools_stats(gt, preds, list(COCO17.sigmas)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mmpose_sample_with_derived_predictions(mmpose_data: Path, seed: int) -> None:
    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    preds = perturb(gt, seed)
    res = evaluate("coco", gt, preds)
    ref = pycocotools_stats(gt, preds, list(COCO17.sigmas))
    assert np.array_equal(_stats(res.stats), ref)
    np.testing.assert_allclose(_stats(res.stats), pycocotools_stats(gt, preds), atol=1e-12)
    assert 0 < res.value < 1


def test_numpy_accumulate_and_both_engines_agree(mmpose_data: Path) -> None:
    """The engine's own summary, numpy's from the same evalImgs, and the pycocotools engine
    (forced by an annotation id 0, which hotcoco does not treat as pycocotools does)."""
    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    preds = perturb(gt, 7)
    truth = load_ground_truth(gt)
    engine = prepare_coco(truth, preds, None)
    numpy_ = prepare_coco(truth, preds, None, summarize_in_engine=False)
    assert engine.point() == numpy_.point()
    ones = np.ones(engine.n_units, dtype=np.int64)
    assert engine.resampled(ones) == engine.point()

    gt0 = json.loads(json.dumps(gt))
    gt0["annotations"][0]["id"] = 0
    forced = prepare_coco(load_ground_truth(gt0), preds, None)
    assert forced.details["engine"] == "pycocotools"
    ref = pycocotools_stats(gt0, preds, list(COCO17.sigmas))
    assert np.array_equal(_stats(forced.point()), ref)
    assert forced.resampled(ones) == forced.point()


def _random_case(rng: np.random.Generator) -> tuple[dict, list[dict]]:
    """Small adversarial datasets: crowd and keypoint-less GT, ``num_keypoints`` disagreeing
    with the visibilities, two categories, image id 0, many detections per image (> 20), tied
    scores, tiny and huge areas."""
    k = 17
    images = [{"id": i} for i in range(int(rng.integers(1, 6)))]
    anns, preds = [], []
    for img in images:
        for _ in range(int(rng.integers(0, 4))):
            cx, cy, s = rng.uniform(20, 300), rng.uniform(20, 300), rng.uniform(3, 120)
            kp = np.column_stack([cx + rng.normal(0, s / 3, k), cy + rng.normal(0, s / 3, k),
                                  rng.choice([0, 1, 2], k, p=[.3, .2, .5])])
            if rng.random() < 0.15:
                kp[:, 2] = 0
            kp[kp[:, 2] == 0, :2] = 0
            anns.append({"id": len(anns) + 1, "image_id": img["id"],
                         "category_id": int(rng.choice([1, 1, 2])),
                         "iscrowd": int(rng.random() < 0.1),
                         "area": float(s * s * rng.uniform(.5, 4)),
                         "bbox": [cx - s, cy - s, 2 * s, 2 * s],
                         # sometimes inconsistent: pycocotools trusts the field
                         "num_keypoints": int((kp[:, 2] > 0).sum()) if rng.random() > 0.1
                         else int(rng.integers(0, 3)),
                         "keypoints": np.round(kp, 1).ravel().tolist()})
        own = [a for a in anns if a["image_id"] == img["id"]]
        for _ in range(int(rng.integers(0, 26))):
            if own and rng.random() < 0.7:
                src = own[int(rng.integers(len(own)))]
                kp = np.asarray(src["keypoints"], dtype=float).reshape(k, 3)
                kp[:, :2] += rng.normal(0, rng.uniform(0.1, 8), (k, 2))
            else:
                kp = np.column_stack([rng.uniform(0, 300, k), rng.uniform(0, 300, k),
                                      np.ones(k)])
            kp[:, 2] = rng.uniform(0, 1, k)
            preds.append({"image_id": img["id"], "category_id": int(rng.choice([1, 1, 2])),
                          "keypoints": np.round(kp, 2).ravel().tolist(),
                          "score": float(rng.choice([0.5, 0.9, round(rng.uniform(), 2)]))})
    cats = [COCO17.coco_category(1), {**COCO17.coco_category(2), "name": "other"}]
    return {"images": images, "annotations": anns, "categories": cats}, preds


def test_adversarial_random_cases_equal_pycocotools() -> None:
    rng = np.random.default_rng(2024)
    checked = 0
    for _ in range(40):
        gt, preds = _random_case(rng)
        if not preds:
            continue
        res = evaluate("coco", gt, preds)
        assert np.array_equal(_stats(res.stats), pycocotools_stats(gt, preds,
                                                                   list(COCO17.sigmas)))
        prepared = prepare_coco(load_ground_truth(gt), preds, None)
        assert prepared.resampled(np.ones(prepared.n_units, dtype=np.int64)) == res.stats
        checked += 1
    assert checked > 30


def test_explicit_sigmas_reach_the_engine(xtcoco_dir: Path) -> None:
    gt = json.loads((xtcoco_dir / "example_coco_val.json").read_text())
    preds = json.loads((xtcoco_dir / "example_coco_preds.json").read_text())
    sigmas = [s * 2 for s in COCO17.sigmas]
    res = evaluate("coco", gt, preds, sigmas=sigmas)
    assert np.array_equal(_stats(res.stats), pycocotools_stats(gt, preds, sigmas))
    assert res.stats["AP"] > evaluate("coco", gt, preds).stats["AP"]


def test_empty_prediction_list_scores_zero(xtcoco_dir: Path) -> None:
    res = evaluate("coco", xtcoco_dir / "example_coco_val.json", [])
    assert all(v == 0.0 for v in res.stats.values())


def test_resample_equals_pycocotools_on_the_materialised_resample(mmpose_data: Path) -> None:
    """Weights mean 'this image drawn w times': with untied scores the weighted curve equals
    pycocotools run on a dataset that really contains the duplicated images."""
    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    preds = perturb(gt, 3)
    for i, p in enumerate(preds):
        p["score"] = 0.1 + i / 1000  # untied

    prepared = prepare_coco(load_ground_truth(gt), preds, None)
    order = sorted(img["id"] for img in gt["images"])
    weights = np.array([2, 0, 1, 3])
    images, anns, dts = [], [], []
    for img_id, w in zip(order, weights):
        for copy in range(w):
            new_id = img_id * 10 + copy
            images.append({"id": new_id})
            anns += [{**a, "id": a["id"] * 10 + copy, "image_id": new_id}
                     for a in gt["annotations"] if a["image_id"] == img_id]
            dts += [{**p, "image_id": new_id} for p in preds if p["image_id"] == img_id]
    big = {"images": images, "annotations": anns, "categories": gt["categories"]}
    np.testing.assert_allclose(_stats(prepared.resampled(weights)),
                               pycocotools_stats(big, dts, list(COCO17.sigmas)), atol=1e-12)
