"""``posetrack-map`` on the PoseTrack18 sample: poseval's rules, one test per rule."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from benchmark.datasets.layouts import POSETRACK17
from benchmark.evaluation import evaluate
from benchmark.evaluation.geometry import strictly_inside
from tests.evaluation import references

#: every test runs with the compiled helpers and with their numpy counterparts
pytestmark = pytest.mark.usefixtures("engine_mode")

IDX = POSETRACK17.index
TWO_PERSONS = 10094730000  # frame 009473/000000: persons A and B, two ignore regions


def perfect(gt: dict, joint_score: float = 0.9) -> list[dict]:
    """Each GT person as a prediction: annotated joints scored, the others absent (0, 0, 0)."""
    preds = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(-1, 3)
        kp[:, 2] = np.where(kp[:, 2] > 0, joint_score, 0)
        kp[kp[:, 2] == 0] = 0
        preds.append({"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
                      "keypoints": kp.ravel().tolist()})
    return preds


def frame(gt: dict, image_id: int, regions: bool = False) -> dict:
    out = copy.deepcopy(gt)
    out["images"] = [img for img in out["images"] if img["id"] == image_id]
    if not regions:
        for img in out["images"]:
            img.pop("ignore_regions_x", None)
            img.pop("ignore_regions_y", None)
    out["annotations"] = [a for a in out["annotations"] if a["image_id"] == image_id]
    return out


def test_perfect_predictions_score_100(posetrack_gt: dict) -> None:
    res = evaluate("posetrack-map", posetrack_gt, perfect(posetrack_gt))
    assert res.headline == "Total" and res.scale == "percent"
    assert all(v == 100.0 for v in res.stats.values())
    assert res.details["frames"] == 3 and res.details["unit"] == "frame"


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_noisy_predictions_equal_the_reference_loop(posetrack_gt: dict, seed: int) -> None:
    """Jitter around the head-size threshold, dropped joints, duplicates, false positives
    (some inside ignore regions), tied joint scores."""
    pytest.importorskip("shapely")
    rng = np.random.default_rng(seed)
    preds = []
    for p in perfect(posetrack_gt):
        for _ in range(int(rng.integers(1, 3))):
            kp = np.asarray(p["keypoints"]).reshape(17, 3)
            present = kp[:, 2] > 0
            kp[:, :2] += rng.normal(0, rng.uniform(5, 60), (17, 2)) * present[:, None]
            kp[:, 2] = np.where(present, rng.choice([0.25, 0.5, 0.75, 0.9], 17), 0)
            kp[rng.random(17) < 0.15] = 0
            preds.append({**p, "keypoints": kp.ravel().tolist()})
    for img in posetrack_gt["images"]:
        for _ in range(3):
            kp = np.column_stack([rng.uniform(0, 1920, 17), rng.uniform(0, 1080, 17),
                                  rng.choice([0.25, 0.5, 0.6], 17)])
            preds.append({"image_id": img["id"], "category_id": 1, "score": 0.1,
                          "keypoints": kp.ravel().tolist()})
    res = evaluate("posetrack-map", posetrack_gt, preds)
    ref = references.posetrack_map(posetrack_gt, preds)
    assert res.stats.keys() == ref.keys()
    np.testing.assert_allclose([res.stats[k] for k in ref], list(ref.values()), atol=1e-9)


def test_frames_without_gt_persons_are_dropped_with_their_predictions(
        posetrack_gt: dict) -> None:
    gt = copy.deepcopy(posetrack_gt)
    gt["images"].append({"id": 42, "file_name": "images/val/x/000001.jpg"})
    preds = perfect(gt)
    extra = [{**p, "image_id": 42} for p in preds[:5]]
    res = evaluate("posetrack-map", gt, preds + extra)
    assert res.value == 100.0
    assert res.details["frames"] == 3 and res.details["predictions_dropped"] == 5


def _square(cx: float, cy: float, half: float) -> tuple[list[float], list[float]]:
    return ([cx - half, cx + half, cx + half, cx - half],
            [cy - half, cy - half, cy + half, cy + half])


def _with_region(gt: dict, xs: list[float], ys: list[float]) -> dict:
    gt = copy.deepcopy(gt)
    gt["images"][0]["ignore_regions_x"] = [xs]
    gt["images"][0]["ignore_regions_y"] = [ys]
    return gt


def test_ignore_regions(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    a = np.asarray(gt["annotations"][0]["keypoints"]).reshape(17, 3)
    wx, wy = a[IDX["left_wrist"], :2]
    inside = _with_region(gt, *_square(wx, wy, 10))
    preds = perfect(gt)
    # GT and predicted joint both inside: both removed, nothing is lost
    assert evaluate("posetrack-map", inside, preds).value == 100.0
    # GT joint removed, predicted joint just outside: the prediction's joint is a miss
    # (samples at 0.9: A's miss, then B's hit in file order; 1 GT wrist left -> AP 1 x 1/2)
    moved = copy.deepcopy(preds)
    moved[0]["keypoints"][3 * IDX["left_wrist"]] += 11
    assert evaluate("posetrack-map", inside, moved).stats["joint/left_wrist"] == 50.0
    # a joint on the polygon's edge is kept (strictly inside only)
    ring = ([wx, wx + 20, wx + 20, wx], [wy - 10, wy - 10, wy + 10, wy + 10])
    assert not strictly_inside(np.array([[wx, wy]]), np.column_stack(ring))[0]
    edge = _with_region(gt, *ring)
    assert evaluate("posetrack-map", edge, preds).stats["joint/left_wrist"] == 100.0
    # ... while the moved prediction now lies strictly inside and is removed: A's wrist is
    # not predicted, recall stops at 1/2
    assert evaluate("posetrack-map", edge, moved).stats["joint/left_wrist"] == 50.0
    # GT persons all inside, predictions outside: the frame keeps its predictions as
    # negatives, every joint has samples but no GT -> NaN, Total undefined
    covered = _with_region(gt, *_square(850, 520, 400))
    shifted = [{**p, "keypoints": [v + 1000 if i % 3 == 0 and v else v
                                   for i, v in enumerate(p["keypoints"])]} for p in preds]
    res = evaluate("posetrack-map", covered, shifted)
    assert np.isnan(res.value) and np.isnan(res.stats["joint/nose"])


def test_head_box_normaliser_and_inclusive_threshold(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    gt["annotations"][0]["bbox_head"] = [700, 260, 30, 40]  # 0.6 x 50 = 30 px
    preds = perfect(gt)
    j = 3 * IDX["nose"]
    preds[0]["keypoints"][j] += 9
    preds[0]["keypoints"][j + 1] += 12  # error 15 = 0.5 x 30
    assert evaluate("posetrack-map", gt, preds).stats["joint/nose"] == 100.0
    preds[0]["keypoints"][j + 1] += 1e-6
    # A's miss then B's hit (tied at 0.9, file order): precision 1/2 at recall 1/2
    assert evaluate("posetrack-map", gt, preds).stats["joint/nose"] == 25.0


def test_a_prediction_that_loses_its_best_gt_is_not_reassigned(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    a, b = (np.asarray(x["keypoints"]).reshape(17, 3) for x in gt["annotations"])
    p1 = perfect(gt)[0]  # A exactly (joint scores 0.9)
    hybrid = a.copy()
    b_joints = [IDX["left_knee"], IDX["right_knee"], IDX["left_ankle"], IDX["right_ankle"]]
    hybrid[b_joints] = b[b_joints]  # mostly A, but B's legs
    hybrid[:, 2] = np.where(hybrid[:, 2] > 0, 0.8, 0)
    p2 = {**p1, "keypoints": hybrid.ravel().tolist()}
    res = evaluate("posetrack-map", gt, [p1, p2])
    # p2 prefers A (10/14 joints) to B (4/15), A keeps p1: p2 is unmatched and its B-leg
    # joints are misses. Samples: 0.9 hit, 0.8 miss; 2 GT knees -> AP = 1/2 x precision 1.
    # (Offered to B, p2's knee would be a hit and the AP 100.)
    assert res.stats["joint/left_knee"] == 50.0


def test_equal_fractions_go_to_the_first_in_file_order(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    p = perfect(gt)[0]
    low = copy.deepcopy(p)
    low["keypoints"][2::3] = [0.5 if s else 0 for s in p["keypoints"][2::3]]
    # two identical predictions of A: the first in file order is matched, the second is all
    # misses; with the low-scored copy first, the misses rank above the hits
    first_high = evaluate("posetrack-map", gt, [p, low]).stats["joint/nose"]
    first_low = evaluate("posetrack-map", gt, [low, p]).stats["joint/nose"]
    assert first_high == 50.0  # hit at 0.9 (P=1, R=1/2), miss at 0.5
    assert first_low == 25.0  # miss at 0.9, hit at 0.5 (P=1/2, R=1/2)


def test_person_score_is_not_used_joint_scores_are(posetrack_gt: dict) -> None:
    preds = perfect(posetrack_gt)
    rescored = [{**p, "score": float(i % 3)} for i, p in enumerate(preds)]
    assert (evaluate("posetrack-map", posetrack_gt, preds).stats
            == evaluate("posetrack-map", posetrack_gt, rescored).stats)


def test_absent_means_x_y_and_score_all_zero(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    preds = perfect(gt)
    j = 3 * IDX["left_ear"]  # never annotated in PoseTrack18, and ears are not evaluated
    preds[0]["keypoints"][j + 2] = 0.7
    assert evaluate("posetrack-map", gt, preds).value == 100.0
    a_missing = 3 * IDX["left_elbow"]  # A's left elbow is not annotated
    preds[0]["keypoints"][a_missing + 2] = 0.3  # at (0, 0) with a score: a predicted joint
    res = evaluate("posetrack-map", gt, preds)
    assert res.stats["joint/left_elbow"] == 100.0  # ranked below B's hit: precision 1 at R=1
    preds[0]["keypoints"][a_missing + 2] = 0.95
    assert evaluate("posetrack-map", gt, preds).stats["joint/left_elbow"] == 50.0


def test_total_skips_nan_joints_but_counts_empty_ones(posetrack_gt: dict) -> None:
    gt = frame(posetrack_gt, TWO_PERSONS)
    preds = perfect(gt)
    for ann in gt["annotations"]:  # no GT head_top, predictions keep theirs -> NaN
        ann["keypoints"][3 * IDX["head_top"] + 2] = 0
    res = evaluate("posetrack-map", gt, preds)
    assert np.isnan(res.stats["joint/head_top"]) and np.isnan(res.stats["Head"])
    assert res.value == 100.0
    for p in preds:  # neither GT nor predictions of left_ankle -> 0, counted
        p["keypoints"][3 * IDX["left_ankle"]:3 * IDX["left_ankle"] + 3] = [0, 0, 0]
    for ann in gt["annotations"]:
        ann["keypoints"][3 * IDX["left_ankle"] + 2] = 0
    res = evaluate("posetrack-map", gt, preds)
    assert res.stats["joint/left_ankle"] == 0.0
    assert res.value == pytest.approx(100 * 13 / 14)


def test_missing_head_box_is_a_clear_error(posetrack_gt: dict) -> None:
    from benchmark.evaluation import EvaluationInputError

    gt = copy.deepcopy(posetrack_gt)
    del gt["annotations"][3]["bbox_head"]
    with pytest.raises(EvaluationInputError, match="bbox_head"):
        evaluate("posetrack-map", gt, perfect(posetrack_gt))


def test_point_in_polygon_matches_shapely(posetrack_gt: dict) -> None:
    shapely = pytest.importorskip("shapely.geometry")
    rng = np.random.default_rng(0)
    for img in posetrack_gt["images"]:
        for xs, ys in zip(img["ignore_regions_x"], img["ignore_regions_y"]):
            poly = np.column_stack([xs, ys]).astype(float)
            mids = (poly + np.roll(poly, -1, axis=0)) / 2
            lo, hi = poly.min(axis=0) - 5, poly.max(axis=0) + 5
            pts = np.vstack([rng.uniform(lo, hi, (300, 2)), poly, np.round(mids)])
            ours = strictly_inside(pts, poly)
            ref = [shapely.Polygon(poly).contains(shapely.Point(*p)) for p in pts]
            assert ours.tolist() == ref
