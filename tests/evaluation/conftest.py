"""Shared helpers for the evaluation tests: fixture paths and the reference engines' numbers."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.evaluation import native


@pytest.fixture(params=["native", "numpy"])
def engine_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the compiled helpers (``benchmark.evaluation.native``) and again with
    their numpy counterparts: both must give every number the test expects."""
    if request.param == "numpy":
        monkeypatch.setattr(native, "records", None)
        monkeypatch.setattr(native, "kernels", None)
    elif native.records is None or native.kernels is None:
        pytest.fail("the native modules are not built: run `make install` (pip install -e .)")
    return request.param


@pytest.fixture(scope="session")
def xtcoco_dir(real_fixtures: Path) -> Path:
    return real_fixtures / "xtcocoapi" / "annotations"


@pytest.fixture(scope="session")
def mmpose_data(real_fixtures: Path) -> Path:
    return real_fixtures / "mmpose" / "tests" / "data"


@pytest.fixture(scope="session")
def posetrack_gt(mmpose_data: Path) -> dict:
    return json.loads((mmpose_data / "posetrack18/annotations/test_posetrack18_val.json")
                      .read_text())


@pytest.fixture(scope="session")
def mvor_gt(real_fixtures: Path) -> dict:
    return json.loads((real_fixtures / "mvor/annotations/camma_mvor_2018.json").read_text())


def pycocotools_stats(gt: dict, preds: list[dict], sigmas: list[float] | None = None
                      ) -> np.ndarray:
    """pycocotools' own 10 keypoint stats (on copies: it writes into its inputs)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.array(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def perturb(gt: dict, seed: int, per_person: int = 2, fp_per_image: int = 2,
            noise: float = 0.05) -> list[dict]:
    """Predictions derived from a ground truth: jittered copies of each person (noise relative
    to the person's bbox size), random false positives, scores with some exact ties."""
    rng = np.random.default_rng(seed)
    k = len(gt["annotations"][0]["keypoints"]) // 3
    preds = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(k, 3)
        size = max(ann["bbox"][2], ann["bbox"][3], 1.0)
        for _ in range(per_person):
            out = kp.copy()
            out[:, :2] += rng.normal(0, noise * size * rng.uniform(0.2, 2.0), (k, 2))
            out[:, 2] = rng.uniform(0.05, 1.0, k)
            preds.append({"image_id": ann["image_id"], "category_id": ann["category_id"],
                          "keypoints": out.ravel().tolist(),
                          "score": float(rng.choice([0.5, round(rng.uniform(0, 1), 3)]))})
    for img in gt["images"]:
        for _ in range(fp_per_image):
            w, h = img.get("width", 640), img.get("height", 480)
            out = np.column_stack([rng.uniform(0, w, k), rng.uniform(0, h, k),
                                   rng.uniform(0, 1, k)])
            preds.append({"image_id": img["id"], "category_id": 1,
                          "keypoints": out.ravel().tolist(), "score": float(rng.uniform())})
    return preds
