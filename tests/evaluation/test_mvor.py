"""``mvor-pck``: the real MVOR ground truth, the protocol's ceiling, and one test per rule, for
COCO-17 predictions and for predictions in MVOR's own 10 joints."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from benchmark.datasets.layouts import COCO17, MVOR10
from benchmark.evaluation import EvaluationInputError, evaluate, mvor
from benchmark.evaluation.inputs import load_ground_truth
from tests.evaluation import references

#: every test runs with the compiled helpers and with their numpy counterparts
pytestmark = pytest.mark.usefixtures("engine_mode")

M, C = MVOR10.index, COCO17.index
GROUPS = ("Head", "Shoulder", "Hip", "Elbow", "Wrist")


def _persons(gt: dict) -> list[dict]:
    """Evaluated GT persons: not only_bbox, at least one joint off (0, 0)."""
    return [a for a in gt["annotations"] if a["only_bbox"] == 0
            and any(v != 0 for i, v in enumerate(a["keypoints"]) if i % 3 != 2)]


def _labelled(ann: dict) -> np.ndarray:
    kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)
    return ~((kp[:, 0] == 0) & (kp[:, 1] == 0))


def perfect_prediction(ann: dict, score: float) -> dict:
    """The GT person in COCO-17: head -> nose, limbs by name; the neck is expressed through
    the shoulders where a shoulder is unlabelled (COCO-17 has no neck of its own)."""
    kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)[:, :2]
    lab = _labelled(ann)
    out = np.zeros((17, 3))
    if lab[M["head"]]:
        out[C["nose"]] = [*kp[M["head"]], 1]
    for name in MVOR10.keypoints[2:]:
        if lab[M[name]]:
            out[C[name]] = [*kp[M[name]], 1]
    if lab[M["neck"]]:
        neck = kp[M["neck"]]
        for side, other in (("left_shoulder", "right_shoulder"),
                            ("right_shoulder", "left_shoulder")):
            if not lab[M[side]]:
                out[C[side]] = [*(2 * neck - kp[M[other]] if lab[M[other]] else neck), 1]
    return {"image_id": ann["image_id"], "category_id": 1, "keypoints": out.ravel().tolist(),
            "score": score}


def ceiling(gt: dict) -> np.ndarray:
    """Per-joint rate (fraction) of a perfect COCO-17 predictor without matching collisions:
    an unlabelled GT joint is wrong, and a neck is reachable only as the shoulders' midpoint
    when both shoulders are labelled."""
    hits = []
    for ann in _persons(gt):
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)[:, :2]
        lab = _labelled(ann)
        pts = kp[lab]
        scale = np.max(pts.max(axis=0) - pts.min(axis=0) + 1)
        row = lab.astype(float)
        if lab[M["neck"]] and lab[M["left_shoulder"]] and lab[M["right_shoulder"]]:
            mid = (kp[M["left_shoulder"]] + kp[M["right_shoulder"]]) / 2
            row[M["neck"]] = np.sqrt(np.sum((mid - kp[M["neck"]]) ** 2)) <= 0.2 * scale
        hits.append(row)
    return np.mean(hits, axis=0)


def _joint_rates(stats: dict[str, float]) -> np.ndarray:
    return np.array([stats[f"joint/{n}"] for n in MVOR10.keypoints]) / 100


def test_perfect_predictions_on_single_person_images_reach_the_ceiling(mvor_gt: dict) -> None:
    persons = _persons(mvor_gt)
    per_image: dict[int, int] = {}
    for a in persons:
        per_image[a["image_id"]] = per_image.get(a["image_id"], 0) + 1
    gt = copy.deepcopy(mvor_gt)
    gt["images"] = [img for img in gt["images"] if per_image.get(img["id"]) == 1]
    kept = {img["id"] for img in gt["images"]}
    gt["annotations"] = [a for a in gt["annotations"] if a["image_id"] in kept]
    preds = [perfect_prediction(a, 0.5) for a in _persons(gt)]
    assert len(preds) > 500
    res = evaluate("mvor-pck", gt, preds)
    np.testing.assert_allclose(_joint_rates(res.stats), ceiling(gt), rtol=0, atol=1e-12)
    assert res.headline == "Mean" and res.scale == "percent"


def test_perfect_predictions_on_the_full_ground_truth(mvor_gt: dict) -> None:
    """All 2926 persons with distinct scores: the ceiling, less the persons whose box a
    higher-scoring neighbour's prediction also covers (no one-to-one matching)."""
    rng = np.random.default_rng(0)
    persons = _persons(mvor_gt)
    scores = rng.permutation(len(persons)) / len(persons)
    preds = [perfect_prediction(a, float(s)) for a, s in zip(persons, scores)]
    res = evaluate("mvor-pck", mvor_gt, preds)
    ref = references.mvor_pck(mvor_gt, preds)
    assert res.stats.keys() == ref.keys()
    np.testing.assert_allclose([res.stats[k] for k in ref], list(ref.values()), atol=1e-9)
    top = ceiling(mvor_gt)
    rates = _joint_rates(res.stats)
    assert np.all(rates <= top + 1e-12)
    assert np.all(top - rates < 0.015)  # collisions: about 1 % of the persons
    assert res.details["gt_persons"] == len(persons) == 2926


@pytest.mark.parametrize("seed", [0, 1])
def test_noisy_predictions_equal_the_reference_loop(mvor_gt: dict, seed: int) -> None:
    """Noise, dropped joints, extra and partial predictions, and tied scores (tie rule)."""
    rng = np.random.default_rng(seed)
    preds = []
    for ann in _persons(mvor_gt):
        base = perfect_prediction(ann, 0.0)
        for _ in range(int(rng.integers(0, 3))):
            kp = np.asarray(base["keypoints"]).reshape(17, 3)
            kp[:, :2] += rng.normal(0, rng.uniform(2, 40), (17, 2))
            kp[rng.random(17) < 0.2] = 0
            kp[C["left_eye"]] = [*(kp[C["nose"], :2] + rng.normal(0, 5, 2)), 1] \
                if rng.random() < 0.3 else 0
            preds.append({**base, "keypoints": kp.ravel().tolist(),
                          "score": float(rng.choice([0.3, 0.6, 0.6 + 4e-7, rng.uniform()]))})
    res = evaluate("mvor-pck", mvor_gt, preds)
    ref = references.mvor_pck(mvor_gt, preds)
    np.testing.assert_allclose([res.stats[k] for k in ref], list(ref.values()), atol=1e-9)
    assert 20 < res.value < 95


# ---------------------------------------------------------------- hand-checked rules
# One image, GT joints inside x in [100, 199], y in [100, 299]: scale 200, threshold 40 px.

GT_XY = {"head": (150, 100), "neck": (150, 130), "left_shoulder": (180, 140),
         "right_shoulder": (120, 140), "left_hip": (170, 250), "right_hip": (130, 250),
         "left_elbow": (199, 190), "right_elbow": (100, 190), "left_wrist": (190, 299),
         "right_wrist": (110, 230)}


def _gt(*persons: dict, only_bbox: dict | None = None) -> dict:
    anns = []
    for i, pts in enumerate(persons):
        kp = []
        for name in MVOR10.keypoints:
            kp += [*pts[name], 2] if name in pts else [0, 0, 0]
        anns.append({"id": i, "image_id": 1, "category_id": "1", "only_bbox": 0,
                     "keypoints": kp})
    if only_bbox is not None:
        anns.append({"id": 99, "image_id": 1, "category_id": "1", "only_bbox": 1,
                     "keypoints": [0] * 30, **only_bbox})
    return {"images": [{"id": 1}], "annotations": anns,
            "categories": [MVOR10.coco_category(1)]}


def _pred(points: dict[str, tuple[float, float]], score: float = 0.9) -> dict:
    kp = []
    for name in COCO17.keypoints:
        kp += [*points[name], 1.0] if name in points else [0, 0, 0]
    return {"image_id": 1, "category_id": 1, "keypoints": kp, "score": score}


LIMBS = {n: GT_XY[n] for n in MVOR10.keypoints[2:]}


def _joint(gt: dict, preds: list[dict], name: str) -> float:
    return evaluate("mvor-pck", gt, preds).stats[f"joint/{name}"]


def test_error_equal_to_the_scaled_threshold_is_correct() -> None:
    gt = _gt(GT_XY)
    off = 0.2 * 200  # scale = max(199-100+1, 299-100+1) = 200
    at = _pred({**LIMBS, "nose": (150 + off, 100)})
    past = _pred({**LIMBS, "nose": (150 + off + 1e-9, 100)})
    assert _joint(gt, [at], "head") == 100.0
    assert _joint(gt, [past], "head") == 0.0


def test_matching_needs_more_than_03_of_the_gt_box() -> None:
    box = {"head": (100, 100), "left_wrist": (199, 199)}  # area 100 x 100
    gt = _gt(box)
    # prediction extent x in [100, 129] covers exactly 30 x 100 = 0.3 of the box: no match
    exact = _pred({"left_wrist": (129, 199), "left_elbow": (100, 100)})
    more = _pred({"left_wrist": (129.5, 199), "left_elbow": (100, 100)})
    assert _joint(gt, [exact], "left_wrist") == 0.0
    assert _joint(gt, [_pred({"left_wrist": (199, 199), "left_elbow": (129.5, 100)})],
                  "left_wrist") == 100.0
    assert evaluate("mvor-pck", gt, [more]).details["matched_persons"] == 1
    assert evaluate("mvor-pck", gt, [exact]).details["matched_persons"] == 0


@pytest.mark.parametrize(("head_points", "expected"), [
    ({"left_eye": (145, 100), "right_eye": (155, 100), "nose": (900, 900)}, 100.0),
    ({"left_eye": (145, 160), "right_eye": (155, 160), "nose": (150, 100)}, 0.0),
    ({"left_ear": (140, 100), "right_ear": (160, 100), "nose": (150, 300)}, 100.0),
    ({"left_ear": (140, 190), "right_ear": (160, 190), "nose": (150, 100)}, 0.0),
    ({"nose": (150, 100), "left_eye": (150, 190)}, 100.0),
    ({"left_eye": (150, 100), "right_ear": (150, 190)}, 100.0),
    ({"right_eye": (150, 190), "left_ear": (150, 100)}, 0.0),
    ({"right_ear": (150, 100)}, 100.0),
])
def test_head_fallback_order(head_points: dict, expected: float) -> None:
    """Mid-eyes, else mid-ears, else nose, else the single eye, else the single ear."""
    assert _joint(_gt(GT_XY), [_pred({**LIMBS, **head_points})], "head") == expected


def test_neck_is_the_shoulders_midpoint_or_the_one_shoulder() -> None:
    gt = _gt(GT_XY)
    both = _pred({**LIMBS, "left_shoulder": (170, 130), "right_shoulder": (130, 130)})
    assert _joint(gt, [both], "neck") == 100.0
    one = dict(LIMBS)
    del one["left_shoulder"]
    one["right_shoulder"] = (150, 130)
    assert _joint(gt, [_pred(one)], "neck") == 100.0
    assert _joint(gt, [_pred(one)], "left_shoulder") == 0.0  # missing prediction: wrong


def test_missing_and_unlabelled_joints_count_as_wrong() -> None:
    pts = {k: v for k, v in GT_XY.items() if k != "right_wrist"}
    gt = _gt(pts)
    res = evaluate("mvor-pck", gt, [_pred({**LIMBS, "nose": (150, 100)})])
    assert res.stats["joint/right_wrist"] == 0.0  # unlabelled in GT
    assert res.stats["joint/left_wrist"] == 100.0
    assert res.stats["Wrist"] == 50.0
    # a predicted (0, 0) is absent, not a point at the origin
    gt0 = _gt({**GT_XY, "left_wrist": (0.5, 0.5)})
    pred0 = _pred({**LIMBS, "left_wrist": (0, 0), "nose": (150, 100), "left_ear": (1, 1)})
    res0 = evaluate("mvor-pck", gt0, [pred0])
    assert res0.details["matched_persons"] == 1
    assert res0.stats["joint/left_wrist"] == 0.0 and res0.stats["joint/head"] == 100.0


def test_score_tie_takes_the_first_prediction_of_the_image() -> None:
    gt = _gt(GT_XY)
    far = _pred({"left_wrist": (900, 900), "right_wrist": (950, 950)}, score=0.9)
    good = _pred({**LIMBS, "nose": (150, 100)}, score=0.9 + 5e-7)
    # the candidate's score is within 1e-6 of the far (non-candidate) prediction's: the
    # reference picks the first such prediction of the image, the far one
    assert evaluate("mvor-pck", gt, [far, good]).value == 0.0
    assert evaluate("mvor-pck", gt, [good, far]).value == 100.0
    far["score"] = 0.8
    assert evaluate("mvor-pck", gt, [far, good]).value == 100.0


def test_one_prediction_may_serve_several_persons() -> None:
    gt = _gt(GT_XY, {k: (x + 3, y) for k, (x, y) in GT_XY.items()})
    res = evaluate("mvor-pck", gt, [_pred({**LIMBS, "nose": (150, 100)})])
    assert res.details["matched_persons"] == 2
    assert res.value == 100.0


def test_only_bbox_and_empty_persons_are_not_evaluated() -> None:
    gt = _gt(GT_XY, only_bbox={"bbox": [0, 0, 10, 10]})
    gt["annotations"].append({"id": 7, "image_id": 1, "category_id": "1", "only_bbox": 0,
                              "keypoints": [0] * 30})
    res = evaluate("mvor-pck", gt, [_pred({**LIMBS, "nose": (150, 100)})])
    assert res.details["gt_persons"] == 1 and res.value == 100.0


def test_no_prediction_for_a_person_scores_zero() -> None:
    gt = _gt(GT_XY)
    assert evaluate("mvor-pck", gt, []).value == 0.0


# ------------------------------------------------ predictions in MVOR's own 10 joints


def _native(pred: dict) -> dict:
    """A COCO-17 prediction as MVOR's 10 joints by the reference's conversion (restated in
    ``references``), absent joints at (0, 0, 0)."""
    points = references._mvor_from_coco(pred["keypoints"])
    kp = [v for p in points for v in ((*p, 1.0) if p else (0.0, 0.0, 0.0))]
    return {**pred, "keypoints": kp}


@pytest.mark.parametrize("seed", [0, 1])
def test_native_predictions_equal_the_adapted_reference(mvor_gt: dict, seed: int) -> None:
    """10-joint predictions on the real ground truth: noise, dropped joints, predictions
    without joints, extra predictions and tied scores; the reference script with the 10
    predicted joints in place of the converted ones."""
    rng = np.random.default_rng(seed)
    preds = []
    for ann in _persons(mvor_gt):
        gt_kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)
        for _ in range(int(rng.integers(0, 3))):
            kp = gt_kp.copy()
            kp[:, :2] += rng.normal(0, rng.uniform(2, 40), (10, 2))
            kp[:, 2] = rng.uniform(0, 1, 10)
            kp[(rng.random(10) < 0.2) | (gt_kp[:, 0] == 0) & (rng.random(10) < 0.5)] = 0
            if rng.random() < 0.02:
                kp[:] = 0
            preds.append({"image_id": ann["image_id"], "category_id": 1,
                          "keypoints": kp.ravel().tolist(),
                          "score": float(rng.choice([0.3, 0.6, 0.6 + 4e-7, rng.uniform()]))})
    res = evaluate("mvor-pck", mvor_gt, preds)
    assert res.details["pred_layout"] == "mvor10"
    ref = references.mvor_pck(mvor_gt, preds, layout="mvor10")
    assert res.stats.keys() == ref.keys()
    np.testing.assert_allclose([res.stats[k] for k in ref], list(ref.values()), atol=1e-9)
    assert 20 < res.value < 95


def test_native_and_coco_predictions_agree_where_the_boxes_coincide(mvor_gt: dict) -> None:
    """COCO-17 predictions made of joints that convert exactly (nose, shoulders, elbows,
    wrists, hips: no eyes, ears, knees or ankles) have the same keypoint extent as their
    10-joint conversion (a neck between the shoulders lies inside it), so both layouts choose
    the same prediction for every person and get the same hits, joint by joint."""
    rng = np.random.default_rng(5)
    coco = []
    for ann in _persons(mvor_gt):
        base = np.asarray(perfect_prediction(ann, 0.0)["keypoints"]).reshape(17, 3)
        for _ in range(int(rng.integers(1, 3))):
            kp = base.copy()
            kp[:, :2] += rng.normal(0, rng.uniform(2, 30), (17, 2)) * (kp[:, 2:] > 0)
            kp[rng.random(17) < 0.15] = 0
            coco.append({"image_id": ann["image_id"], "category_id": 1,
                         "keypoints": kp.ravel().tolist(),
                         "score": float(rng.choice([0.5, rng.uniform()]))})
    native = [_native(p) for p in coco]
    truth = load_ground_truth(mvor_gt)
    _, chosen_c, hits_c, _, lay_c = mvor.person_hits(truth, coco)
    _, chosen_n, hits_n, _, lay_n = mvor.person_hits(truth, native)
    assert (lay_c, lay_n) == ("coco17", "mvor10")
    assert np.array_equal(chosen_c, chosen_n) and np.array_equal(hits_c, hits_n)
    assert evaluate("mvor-pck", mvor_gt, coco).stats == evaluate("mvor-pck", mvor_gt,
                                                                 native).stats


def _pred10(points: dict[str, tuple[float, float]], score: float = 0.9) -> dict:
    kp = []
    for name in MVOR10.keypoints:
        kp += [*points[name], 1.0] if name in points else [0, 0, 0]
    return {"image_id": 1, "category_id": 1, "keypoints": kp, "score": score}


def test_the_candidate_box_is_the_predicted_joints_extent() -> None:
    """Why the two layouts' numbers can differ: the box is taken from the joints as predicted.
    A COCO-17 prediction whose knees and ankles reach down covers the GT box; its 10 MVOR
    joints (head, neck and shoulders here) cover 41 of the box's 200 rows, under 0.3: the
    same upper body is matched in COCO-17 and unmatched in MVOR's layout."""
    gt = _gt(GT_XY)
    upper = {"nose": (150, 100), "left_shoulder": (180, 140), "right_shoulder": (120, 140)}
    legs = {"left_knee": (170, 400), "right_ankle": (130, 450)}
    coco = _pred({**upper, **legs})
    native = _native(coco)
    assert native["keypoints"][:6] == [150, 100, 1.0, 150, 140, 1.0]  # head, neck converted
    res_coco, res_native = evaluate("mvor-pck", gt, [coco]), evaluate("mvor-pck", gt, [native])
    assert res_coco.details["matched_persons"] == 1
    assert res_coco.stats["Head"] == res_coco.stats["Shoulder"] == 100.0
    assert res_native.details["matched_persons"] == 0 and res_native.value == 0.0
    # the reference restatements agree with both
    assert references.mvor_pck(gt, [coco])["Head"] == 100.0
    assert references.mvor_pck(gt, [native], layout="mvor10")["Mean"] == 0.0


def test_native_rules() -> None:
    """Joint j against joint j, no mid-points; (0, 0) is absent; the box spans the 10
    predicted joints; the threshold is unchanged."""
    gt = _gt(GT_XY)
    exact = _pred10(GT_XY)
    res = evaluate("mvor-pck", gt, [exact])
    assert res.value == 100.0 and res.details["pred_layout"] == "mvor10"
    off = 0.2 * 200
    at = _pred10({**GT_XY, "neck": (150 + off, 130)})
    past = _pred10({**GT_XY, "neck": (150 + off + 1e-9, 130)})
    assert evaluate("mvor-pck", gt, [at]).stats["joint/neck"] == 100.0
    assert evaluate("mvor-pck", gt, [past]).stats["joint/neck"] == 0.0
    gt0 = _gt({**GT_XY, "left_wrist": (0.5, 0.5)})
    missing = _pred10({**GT_XY, "left_wrist": (0, 0)})
    res0 = evaluate("mvor-pck", gt0, [missing])
    assert res0.stats["joint/left_wrist"] == 0.0 and res0.stats["joint/right_wrist"] == 100.0
    # the wrists span x in [110, 190], y in [230, 299]: 81 x 70 of the 100 x 200 box, 0.28;
    # with the head, y in [100, 299]: 0.81
    wrists = {n: GT_XY[n] for n in ("left_wrist", "right_wrist")}
    assert evaluate("mvor-pck", gt, [_pred10(wrists)]).details["matched_persons"] == 0
    head = _pred10({**wrists, "head": GT_XY["head"]})
    assert evaluate("mvor-pck", gt, [head]).details["matched_persons"] == 1
    one = _pred10({"left_wrist": GT_XY["left_wrist"]})  # a single point covers ~0
    assert evaluate("mvor-pck", gt, [one]).details["matched_persons"] == 0


def test_ground_truth_joint_spellings() -> None:
    """The names of the GT category are compared after normalising their spelling; joints
    that really differ are refused, listing them."""
    gt = _gt(GT_XY)
    preds = [_pred10(GT_XY)]
    gt["categories"][0]["keypoints"] = ["Head", "Neck", "L_Shoulder", "r shoulder", "l-hip",
                                        "RightHip", "LElbow", "r_elbow", "left wrist", "rwrist"]
    assert evaluate("mvor-pck", gt, preds).value == 100.0
    gt["categories"][0]["keypoints"][0] = "nose"
    gt["categories"][0]["keypoints"][6:8] = ["r_elbow", "l_elbow"]
    with pytest.raises(EvaluationInputError, match=(
            r"mvor-pck expects MVOR's 10 joints .* these differ: position 0: expected 'head', "
            r"got 'nose'; position 6: expected 'left_elbow', got 'r_elbow'; position 7: "
            r"expected 'right_elbow', got 'l_elbow'")):
        evaluate("mvor-pck", gt, preds)
