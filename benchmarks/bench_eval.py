"""Speed of mpbench's evaluation engines against the reference implementations.

    python benchmarks/bench_eval.py [--quick] [--images 5000 --preds 100000] [--bootstrap 100]

- ``coco``: mpbench (hotcoco engine where exact, else pycocotools) vs pycocotools on synthetic
  ground truth and predictions held in memory (JSON parsing, identical for both, is excluded);
  every statistic must be equal to 1e-12.
- ``mvor-pck``, ``mpii-pckh``, ``posetrack-map``: mpbench's vectorised engines vs the
  per-person loop oracles of ``tests/evaluation/references.py``, on large seeded synthetic
  benchmarks (``tests/evaluation/synthetic.py``, no files needed) and on the real samples in
  ``../shared/fixtures/real`` (skipped when absent).

Prints each time and the ratio, and exits non-zero when any statistic differs from its
reference by more than the protocol's tolerance (1e-12 where the arithmetic is the
reference's, 1e-9 for PoseTrack, whose AP sum is numpy's pairwise sum as in poseval while the
oracle sums in Python). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.datasets.layouts import COCO17, MVOR10  # noqa: E402
from benchmark.evaluation import evaluate, mpii_mat_to_coco  # noqa: E402
from tests.evaluation import references, synthetic  # noqa: E402

FIXTURES = Path(os.environ.get("MPBENCH_REAL_FIXTURES", REPO.parent / "shared/fixtures/real"))
COCO_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
#: Largest accepted |mpbench - oracle| per protocol (see the module doc).
TOLERANCE = {"mvor-pck": 1e-12, "mpii-pckh": 1e-12, "posetrack-map": 1e-9}
#: Default sizes of the synthetic benchmarks, and the ``--quick`` ones.
SIZES = {"mvor_images": 20_000, "mpii_persons": 50_000, "posetrack_frames": 5_000}
QUICK = {"mvor_images": 2_000, "mpii_persons": 5_000, "posetrack_frames": 500,
         "images": 500, "preds": 10_000, "posetrack_copies": 10}


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (the machine may be shared), and the last result."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()  # start each measurement without the previous one's garbage
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def report(name: str, ours: float, ref: float, ref_name: str, max_diff: float) -> None:
    print(f"{name:<14} mpbench {ours:8.3f} s   {ref_name} {ref:8.3f} s   "
          f"ratio {ref / ours:6.1f}x   max |diff| {max_diff:.1e}")


def synthetic_coco(n_images: int, n_preds: int, seed: int = 0) -> tuple[dict, list[dict]]:
    """Persons with COCO-17 keypoints (some crowd, some without keypoints) and predictions:
    jittered copies of the persons plus false positives, scores with ties."""
    rng = np.random.default_rng(seed)
    k = COCO17.num_keypoints
    images, anns, preds = [], [], []
    per_image = n_preds // n_images
    for i in range(1, n_images + 1):
        images.append({"id": i, "width": 640, "height": 480})
        persons = []
        for _ in range(int(rng.integers(0, 6))):
            cx, cy, s = rng.uniform(50, 590), rng.uniform(50, 430), rng.uniform(10, 150)
            kp = np.column_stack([cx + rng.normal(0, s / 3, k), cy + rng.normal(0, s / 2, k),
                                  rng.choice([0, 1, 2], k, p=[.2, .2, .6])])
            kp[kp[:, 2] == 0, :2] = 0
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1,
                         "iscrowd": int(rng.random() < 0.03),
                         "area": float(s * s * rng.uniform(0.5, 3)),
                         "bbox": [cx - s, cy - s, 2 * s, 2 * s],
                         "num_keypoints": int((kp[:, 2] > 0).sum()),
                         "keypoints": np.round(kp, 2).ravel().tolist()})
            persons.append((kp, s))
        for _ in range(per_image):
            if persons and rng.random() < 0.7:
                kp, s = persons[int(rng.integers(len(persons)))]
                kp = kp.copy()
                kp[:, :2] += rng.normal(0, s * rng.uniform(0.01, 0.3), (k, 2))
            else:
                kp = np.column_stack([rng.uniform(0, 640, k), rng.uniform(0, 480, k),
                                      np.ones(k)])
            kp[:, 2] = rng.uniform(0, 1, k)
            preds.append({"image_id": i, "category_id": 1, "keypoints": kp.ravel().tolist(),
                          "score": float(np.round(rng.uniform(), 3))})
    return {"images": images, "annotations": anns,
            "categories": [COCO17.coco_category(1)]}, preds


def pycocotools_run(gt: dict, preds: list[dict]) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(preds), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(COCO17.sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def bench_coco(n_images: int, n_preds: int, bootstrap: int, repeat: int) -> None:
    gt, preds = synthetic_coco(n_images, n_preds)
    print(f"coco: {n_images} images, {len(gt['annotations'])} GT persons, "
          f"{len(preds)} predictions")
    t_ours, res = timed(lambda: evaluate("coco", gt, preds), repeat)
    copies = [(copy.deepcopy(gt), copy.deepcopy(preds)) for _ in range(repeat)]
    t_ref, ref = timed(lambda: pycocotools_run(*copies.pop()), repeat)  # it writes into them
    ours = np.array([res.stats[n] for n in COCO_NAMES])
    diff = float(np.max(np.abs(ours - ref)))
    report(f"coco[{res.details['engine']}]", t_ours, t_ref, "pycocotools", diff)
    if diff > 1e-12:
        raise SystemExit(f"coco statistics differ from pycocotools by {diff}")
    if bootstrap:
        t_boot, boot = timed(lambda: evaluate("coco", gt, preds, bootstrap=bootstrap))
        lo, hi = boot.intervals["AP"]
        print(f"{'':<14} with --bootstrap {bootstrap}: {t_boot:.2f} s "
              f"(AP {boot.value:.4f}, 95% [{lo:.4f}, {hi:.4f}])")


def _max_diff(ours: dict[str, float], ref: dict[str, float]) -> float:
    """Largest absolute difference; a statistic undefined (NaN) on one side only, or missing,
    counts as infinite."""
    if ours.keys() != ref.keys():
        return float("inf")
    diffs = [0.0 if (np.isnan(ours[k]) and np.isnan(v)) else abs(ours[k] - v)
             for k, v in ref.items()]
    return float(np.nanmax([np.inf if np.isnan(d) else d for d in diffs]))


def check(protocol: str, label: str, ours: dict[str, float], ref: dict[str, float],
          failures: list[str]) -> float:
    diff = _max_diff(ours, ref)
    if not diff <= TOLERANCE[protocol]:
        failures.append(f"{label}: statistics differ from the oracle by {diff} "
                        f"(tolerance {TOLERANCE[protocol]})")
    return diff


def compare_synthetic(protocol: str, label: str, describe: str, gt: dict, preds: list[dict],
                      oracle: Callable[[], dict[str, float]], repeat: int, bootstrap: int,
                      failures: list[str]) -> None:
    """Time the oracle and mpbench on one synthetic benchmark, check the numbers."""
    print(f"{label}: {describe}")
    t_ref, ref = timed(oracle, repeat)
    t_ours, res = timed(lambda: evaluate(protocol, gt, preds), repeat)
    diff = check(protocol, label, res.stats, ref, failures)
    report(protocol, t_ours, t_ref, "loop oracle", diff)
    if bootstrap:
        t_boot, boot = timed(lambda: evaluate(protocol, gt, preds, bootstrap=bootstrap))
        lo, hi = boot.intervals[boot.headline]
        print(f"{'':<14} with --bootstrap {bootstrap}: {t_boot:.2f} s ({boot.headline} "
              f"{boot.value:.3f}, 95% [{lo:.3f}, {hi:.3f}])")


def bench_synthetic(sizes: dict[str, int], repeat: int, bootstrap: int,
                    failures: list[str]) -> None:
    """The three PCK/mAP engines on large seeded synthetic benchmarks (no files needed)."""
    synthetic_mvor(sizes["mvor_images"], repeat, bootstrap, failures)
    synthetic_mpii(sizes["mpii_persons"], repeat, bootstrap, failures)
    if _has_shapely():
        synthetic_posetrack(sizes["posetrack_frames"], repeat, bootstrap, failures)


def as_read_from_files(*objs: Any) -> tuple[Any, ...]:
    """The objects as ``json.load`` returns them from files: the generators build and shuffle
    them, which scatters their floats over the heap; a parsed file has them in file order."""
    return tuple(json.loads(json.dumps(obj)) for obj in objs)


def synthetic_mvor(n_images: int, repeat: int, bootstrap: int, failures: list[str]) -> None:
    gt, preds = as_read_from_files(*synthetic.mvor_dataset(n_images, seed=0))
    n_gt = sum(a["only_bbox"] == 0 and any(a["keypoints"]) for a in gt["annotations"])
    compare_synthetic("mvor-pck", "mvor-pck synthetic",
                      f"{len(gt['images'])} images, {len(gt['annotations'])} GT persons "
                      f"({n_gt} evaluated), {len(preds)} predictions",
                      gt, preds, lambda: references.mvor_pck(gt, preds), repeat, bootstrap,
                      failures)


def synthetic_mpii(n_persons: int, repeat: int, bootstrap: int, failures: list[str]) -> None:
    gt, preds, mat = synthetic.mpii_dataset(n_persons, seed=0)
    gt, preds = as_read_from_files(gt, preds)
    compare_synthetic("mpii-pckh", "mpii-pckh synthetic",
                      f"{len(gt['annotations'])} persons (one per image), "
                      f"{len(preds)} predictions",
                      gt, preds, lambda: references.hrnet_pckh(
                          mat["pred"], mat["gt"], mat["missing"], mat["headboxes"]),
                      repeat, bootstrap, failures)


def synthetic_posetrack(n_frames: int, repeat: int, bootstrap: int,
                        failures: list[str]) -> None:
    gt, preds = as_read_from_files(*synthetic.posetrack_dataset(n_frames, seed=0))
    n_regions = sum(len(img.get("ignore_regions_x", [])) for img in gt["images"])
    compare_synthetic("posetrack-map", "posetrack-map synthetic",
                      f"{len(gt['images'])} frames, {len(gt['annotations'])} GT persons, "
                      f"{len(preds)} predictions, {n_regions} ignore regions",
                      gt, preds, lambda: references.posetrack_map(gt, preds), repeat, bootstrap,
                      failures)


def _has_shapely() -> bool:
    try:
        import shapely  # noqa: F401  (the poseval oracle uses it, as poseval does)
    except ImportError:
        print("shapely not installed: posetrack-map oracle skipped")
        return False
    return True


def bench_mvor(repeat: int, failures: list[str]) -> None:
    gt = json.loads((FIXTURES / "mvor/annotations/camma_mvor_2018.json").read_text())
    rng = np.random.default_rng(0)
    c = COCO17.index
    preds = []
    for ann in gt["annotations"]:
        if ann["only_bbox"] or not any(ann["keypoints"]):
            continue
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)
        for _ in range(2):
            out = np.zeros((17, 3))
            for name in MVOR10.keypoints[2:]:  # limbs: same names in both layouts
                out[c[name]] = [*kp[MVOR10.index[name], :2], 1]
            out[c["nose"]] = [*kp[MVOR10.index["head"], :2], 1]
            out[:, :2] += rng.normal(0, 15, (17, 2)) * (out[:, 2:] > 0)
            preds.append({"image_id": ann["image_id"], "category_id": 1,
                          "keypoints": out.ravel().tolist(), "score": float(rng.uniform())})
    print(f"mvor-pck real: MVOR GT, {len(preds) // 2} persons, {len(preds)} predictions")
    t_ref, ref = timed(lambda: references.mvor_pck(gt, preds), repeat)
    t_ours, res = timed(lambda: evaluate("mvor-pck", gt, preds), repeat)
    report("mvor-pck", t_ours, t_ref, "loop oracle",
           check("mvor-pck", "mvor-pck real", res.stats, ref, failures))


def bench_mpii(repeat: int, failures: list[str]) -> None:
    from scipy.io import loadmat

    mat = loadmat(str(FIXTURES / "mpii/gt_valid.mat"))
    rng = np.random.default_rng(0)
    pred = mat["pos_gt_src"] + rng.normal(0, 8, mat["pos_gt_src"].shape)
    gt = mpii_mat_to_coco(FIXTURES / "mpii/gt_valid.mat")
    preds = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0,
              "keypoints": np.column_stack([pred[:, :, i] - 1, np.ones(16)]).ravel().tolist()}
             for i, a in enumerate(gt["annotations"])]
    print(f"mpii-pckh real: gt_valid.mat, {len(preds)} persons")
    t_ref, ref = timed(lambda: references.hrnet_pckh(
        pred, mat["pos_gt_src"], mat["jnt_missing"], mat["headboxes_src"]), repeat)
    t_ours, res = timed(lambda: evaluate("mpii-pckh", gt, preds), repeat)
    report("mpii-pckh", t_ours, t_ref, "loop oracle",
           check("mpii-pckh", "mpii-pckh real", res.stats, ref, failures))


def bench_posetrack(copies: int, repeat: int, failures: list[str]) -> None:
    """The 3-frame PoseTrack18 sample replicated ``copies`` times, with noisy predictions."""
    base = json.loads((FIXTURES / "mmpose/tests/data/posetrack18/annotations/"
                       "test_posetrack18_val.json").read_text())
    rng = np.random.default_rng(0)
    gt = {"images": [], "annotations": [], "categories": base["categories"]}
    preds = []
    for c in range(copies):
        for img in base["images"]:
            gt["images"].append({**img, "id": img["id"] * 1000 + c})
        for ann in base["annotations"]:
            new = {**ann, "id": ann["id"] * 1000 + c, "image_id": ann["image_id"] * 1000 + c}
            gt["annotations"].append(new)
            kp = np.asarray(ann["keypoints"], dtype=float).reshape(17, 3)
            present = kp[:, 2] > 0
            kp[:, :2] += rng.normal(0, 20, (17, 2)) * present[:, None]
            kp[:, 2] = np.where(present, rng.uniform(0, 1, 17), 0)
            preds.append({"image_id": new["image_id"], "category_id": 1, "score": 1.0,
                          "keypoints": kp.ravel().tolist()})
    print(f"posetrack-map real: PoseTrack18 sample x {copies} ({len(gt['images'])} frames)")
    t_ref, ref = timed(lambda: references.posetrack_map(gt, preds), repeat)
    t_ours, res = timed(lambda: evaluate("posetrack-map", gt, preds), repeat)
    report("posetrack-map", t_ours, t_ref, "loop oracle",
           check("posetrack-map", "posetrack-map real", res.stats, ref, failures))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and one run each (a smoke test, not a measurement)")
    parser.add_argument("--images", type=int, default=5000, help="coco: images")
    parser.add_argument("--preds", type=int, default=100_000, help="coco: predictions")
    parser.add_argument("--mvor-images", type=int, default=SIZES["mvor_images"],
                        help="synthetic mvor-pck: images (~2.5 persons each)")
    parser.add_argument("--mpii-persons", type=int, default=SIZES["mpii_persons"],
                        help="synthetic mpii-pckh: persons (one per image)")
    parser.add_argument("--posetrack-frames", type=int, default=SIZES["posetrack_frames"],
                        help="synthetic posetrack-map: frames")
    parser.add_argument("--bootstrap", type=int, default=100,
                        help="also time each protocol with this many resamples (0: skip)")
    parser.add_argument("--posetrack-copies", type=int, default=100,
                        help="real posetrack-map: copies of the 3-frame sample")
    parser.add_argument("--repeat", type=int, default=2,
                        help="report the best of this many runs of each side")
    parser.add_argument("--only", choices=("coco", "synthetic", "real"), action="append",
                        help="run only these parts (repeatable; default: all)")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
        args.repeat, args.bootstrap = 1, min(args.bootstrap, 10)
    parts = set(args.only or ("coco", "synthetic", "real"))
    failures: list[str] = []
    print(f"best of {args.repeat} runs per measurement")
    if "coco" in parts:
        bench_coco(args.images, args.preds, args.bootstrap, args.repeat)
    if "synthetic" in parts:
        sizes = {"mvor_images": args.mvor_images, "mpii_persons": args.mpii_persons,
                 "posetrack_frames": args.posetrack_frames}
        bench_synthetic(sizes, args.repeat, args.bootstrap, failures)
    if "real" in parts:
        if not FIXTURES.is_dir():
            print(f"real fixtures not found at {FIXTURES}: real mvor/mpii/posetrack skipped")
        else:
            bench_mvor(args.repeat, failures)
            bench_mpii(args.repeat, failures)
            if _has_shapely():
                bench_posetrack(args.posetrack_copies, args.repeat, failures)
    if failures:
        raise SystemExit("FAILED:\n" + "\n".join(failures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
