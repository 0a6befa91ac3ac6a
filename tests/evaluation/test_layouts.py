"""Keypoint layouts across datasets: joint-name spellings, correspondences, converting
predictions and ground truth, and which layouts each protocol accepts (with the errors)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets.layouts import (
    COCO17,
    CROWDPOSE14,
    LAYOUTS,
    MPII16,
    MVOR10,
    POSETRACK17,
    canonical_joint_name,
    correspondence,
    joint_name_differences,
    layout_of_names,
    shared_joints,
    shared_layout,
    sub_layout,
)
from benchmark.evaluation import PROTOCOLS, EvaluationInputError, compare, evaluate
from benchmark.evaluation.accumulate import COCO_KEYPOINT_STATS
from benchmark.evaluation.layout_map import convert_ground_truth, convert_predictions
from tests.evaluation.conftest import pycocotools_stats

STATS = [s[0] for s in COCO_KEYPOINT_STATS]
LIMBS = [f"{side}_{joint}" for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
         for side in ("left", "right")]
#: MPII's own abbreviations, in MPII's order (as MPII converters write them).
MPII_ABBREVIATIONS = ["r ankle", "r knee", "r hip", "l hip", "l knee", "l ankle", "pelvis",
                      "thorax", "upper neck", "head top", "r wrist", "r elbow", "r shoulder",
                      "l shoulder", "l elbow", "l wrist"]

# ------------------------------------------------------------------ joint names


@pytest.mark.parametrize(("spelling", "canonical"), [
    ("right_ankle", "right_ankle"), ("r_ankle", "right_ankle"), ("r ankle", "right_ankle"),
    ("R-Ankle", "right_ankle"), ("RightAnkle", "right_ankle"), ("Right Ankle", "right_ankle"),
    ("rankle", "right_ankle"), ("ankle_r", "right_ankle"), ("RAnkle", "right_ankle"),
    ("l wrist", "left_wrist"), ("LShoulder", "left_shoulder"), ("lt_hip", "left_hip"),
    ("upper neck", "upper_neck"), ("head top", "head_top"), ("HeadTop", "head_top"),
    ("Head", "head"), ("pelvis", "pelvis"), ("Nose", "nose"),
    # no side rule applies: left as they are, so different joints stay different
    ("left", "left"), ("rhead", "rhead"), ("neck_top", "neck_top"),
])
def test_spellings_of_a_joint_name(spelling: str, canonical: str) -> None:
    assert canonical_joint_name(spelling) == canonical


def test_every_layout_spells_its_names_canonically() -> None:
    for layout in LAYOUTS.values():
        assert [canonical_joint_name(n) for n in layout.keypoints] == list(layout.keypoints)
        assert layout_of_names(layout.keypoints) is layout


def test_mpii_abbreviations_are_mpii16_and_differences_are_listed() -> None:
    assert layout_of_names(MPII_ABBREVIATIONS) is MPII16
    assert layout_of_names([n.replace(" ", "_").upper() for n in MPII_ABBREVIATIONS]) is MPII16
    swapped = ["l ankle", *MPII_ABBREVIATIONS[1:5], "r ankle", *MPII_ABBREVIATIONS[6:]]
    assert joint_name_differences(swapped, MPII16) == [
        (0, "right_ankle", "l ankle"), (5, "left_ankle", "r ankle")]
    assert joint_name_differences(MPII_ABBREVIATIONS[:-1], MPII16) == [(15, "left_wrist", "")]
    assert layout_of_names(swapped) is None


# ------------------------------------------------------------------ correspondences


def test_correspondences_by_shared_names() -> None:
    assert shared_joints(COCO17, POSETRACK17) == ("nose", *POSETRACK17.keypoints[5:])
    assert shared_joints(POSETRACK17, COCO17) == ("nose", *COCO17.keypoints[5:])
    assert set(shared_joints(COCO17, CROWDPOSE14)) == set(LIMBS)
    assert set(shared_joints(MPII16, COCO17)) == set(LIMBS)
    assert set(shared_joints(COCO17, MPII16)) == set(LIMBS)
    assert set(shared_joints(MPII16, POSETRACK17)) == {*LIMBS, "head_top"}
    # local joints: CrowdPose's head (top of the head) is not MVOR's (the face)
    assert set(shared_joints(CROWDPOSE14, MVOR10)) == set(MVOR10.keypoints[2:])
    for layout in LAYOUTS.values():  # onto itself: the identity, local joints included
        assert correspondence(layout, layout) == tuple(range(layout.num_keypoints))
    c = correspondence(COCO17, CROWDPOSE14)
    assert [COCO17.keypoints[i] for i in c[:12]] == list(CROWDPOSE14.keypoints[:12])
    assert c[12:] == (-1, -1)


def test_shared_layout_keeps_the_targets_order_and_sigmas() -> None:
    shared = shared_layout(COCO17, POSETRACK17)
    assert shared.name == "posetrack17&coco17" and shared.num_keypoints == 13
    assert shared.sigmas == tuple(POSETRACK17.sigmas[POSETRACK17.index[n]]
                                  for n in shared.keypoints)
    assert set(shared.skeleton_indices) and all(set(p) <= set(shared.keypoints)
                                                for p in shared.skeleton)
    with pytest.raises(ValueError, match="has no joints"):
        sub_layout(COCO17, ["head_top"])


def test_convert_predictions() -> None:
    kp = np.arange(51, dtype=float) + 1
    pred = {"image_id": 3, "category_id": 1, "keypoints": kp.tolist(), "score": 0.5, "x": 1}
    out = convert_predictions([pred], COCO17, "posetrack17")
    assert out[0]["x"] == 1 and pred["keypoints"] == kp.tolist()  # new dicts
    got = np.asarray(out[0]["keypoints"]).reshape(17, 3)
    src = kp.reshape(17, 3)
    for j, name in enumerate(POSETRACK17.keypoints):
        expected = src[COCO17.index[name]] if name in shared_joints(COCO17, POSETRACK17) else 0
        np.testing.assert_array_equal(got[j], expected)
    back = convert_predictions(out, POSETRACK17, COCO17)
    assert np.count_nonzero(np.asarray(back[0]["keypoints"]).reshape(17, 3)[:, 0]) == 13
    assert convert_predictions([], COCO17, MPII16) == []
    with pytest.raises(EvaluationInputError, match="index 1 is not 51 keypoint values"):
        convert_predictions([pred, {**pred, "keypoints": [1.0] * 30}], COCO17, MPII16)


# ---------------------------------------------- a COCO-17 model on PoseTrack17 ground truth


def _coco_model_predictions(gt: dict, seed: int) -> list[dict]:
    """What a COCO-trained model outputs on PoseTrack frames: 17 COCO joints per person
    (eyes and ears near the nose, every joint placed even where the GT has none), with noise,
    duplicates, false positives and tied scores."""
    rng = np.random.default_rng(seed)
    names = gt["categories"][0]["keypoints"]
    preds = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(-1, 3)
        x, y, w, h = ann["bbox"]
        centre = np.array([x + w / 2, y + h / 2])
        for _ in range(int(rng.integers(1, 3))):
            out = np.zeros((17, 3))
            for j, name in enumerate(COCO17.keypoints):
                src = names.index(name) if name in names and name not in (
                    "left_ear", "right_ear") else None
                if src is not None and kp[src, 2] > 0:
                    out[j, :2] = kp[src, :2]
                elif kp[names.index("nose"), 2] > 0 and "e" in name[:6]:  # eyes and ears
                    out[j, :2] = kp[names.index("nose"), :2] + rng.normal(0, 8, 2)
                else:
                    out[j, :2] = centre + rng.normal(0, w / 3, 2)
            out[:, :2] += rng.normal(0, rng.uniform(2, 25), (17, 2))
            out[:, 2] = rng.uniform(0.1, 1, 17)
            preds.append({"image_id": ann["image_id"], "category_id": 1,
                          "keypoints": out.ravel().tolist(),
                          "score": float(rng.choice([0.5, rng.uniform()]))})
    for img in gt["images"]:
        out = np.column_stack([rng.uniform(0, img["width"], 17),
                               rng.uniform(0, img["height"], 17), rng.uniform(0, 1, 17)])
        preds.append({"image_id": img["id"], "category_id": 1,
                      "keypoints": out.ravel().tolist(), "score": float(rng.uniform())})
    return preds


def _reference_13(gt: dict, preds: list[dict]) -> tuple[dict, list[dict], list[float]]:
    """The 13-joint pair built by hand for pycocotools: the shared joints picked by name from
    each file's own list, pycocotools' COCO sigmas for them."""
    names13 = ["nose", *(f"{s}_{j}" for j in ("shoulder", "elbow", "wrist", "hip", "knee",
                                                "ankle") for s in ("left", "right"))]
    coco_names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", *names13[1:]]
    coco_sigmas = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07,
                            1.07, .87, .87, .89, .89]) / 10.0
    gt_idx = [gt["categories"][0]["keypoints"].index(n) for n in names13]
    pr_idx = [coco_names.index(n) for n in names13]
    anns = []
    for ann in gt["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(-1, 3)[gt_idx]
        anns.append({**ann, "keypoints": kp.ravel().tolist(),
                     "num_keypoints": int((kp[:, 2] > 0).sum())})
    ref_gt = {**gt, "annotations": anns,
              "categories": [{**gt["categories"][0], "keypoints": names13, "skeleton": []}]}
    ref_preds = [{**p, "keypoints": np.asarray(p["keypoints"]).reshape(17, 3)[pr_idx]
                  .ravel().tolist()} for p in preds]
    return ref_gt, ref_preds, coco_sigmas[pr_idx].tolist()


def test_convert_ground_truth(posetrack_gt: dict) -> None:
    shared = shared_layout(COCO17, POSETRACK17)
    out = convert_ground_truth(posetrack_gt, POSETRACK17, shared)
    assert out["categories"][0]["keypoints"] == list(shared.keypoints)
    assert out["images"] == posetrack_gt["images"]
    for ann, new in zip(posetrack_gt["annotations"], out["annotations"]):
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(17, 3)
        picked = kp[[POSETRACK17.index[n] for n in shared.keypoints]]
        assert new["keypoints"] == picked.ravel().tolist()
        assert new["num_keypoints"] == int((picked[:, 2] > 0).sum()) <= ann["num_keypoints"]
        assert new["track_id"] == ann["track_id"]
    with pytest.raises(EvaluationInputError, match="its joints are not coco17's: position 1: "
                       "expected 'left_eye', got 'head_bottom'"):
        convert_ground_truth(posetrack_gt, COCO17, shared)


@pytest.fixture(scope="module")
def posetrack_coco_gt(posetrack_gt: dict) -> dict:
    """The PoseTrack18 sample as ``coco`` needs it: an ``area`` per person (its box's)."""
    gt = copy.deepcopy(posetrack_gt)
    for ann in gt["annotations"]:
        ann["area"] = ann["bbox"][2] * ann["bbox"][3]
    return gt


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coco_model_on_the_shared_joints_equals_pycocotools(posetrack_coco_gt: dict,
                                                             seed: int) -> None:
    """COCO-17 predictions scored on PoseTrack17 ground truth through the correspondence (both
    sides converted to the 13 shared joints, with their sigmas) equal pycocotools on the
    13-joint pair built by hand, every statistic to the last digit."""
    gt = posetrack_coco_gt
    preds = _coco_model_predictions(gt, seed)
    shared = shared_layout(COCO17, POSETRACK17)
    res = evaluate("coco", convert_ground_truth(gt, POSETRACK17, shared),
                   convert_predictions(preds, COCO17, shared), sigmas=shared.sigmas)
    ref_gt, ref_preds, ref_sigmas = _reference_13(gt, preds)
    assert list(shared.sigmas) == ref_sigmas
    assert np.array_equal([res.stats[s] for s in STATS],
                          pycocotools_stats(ref_gt, ref_preds, ref_sigmas))
    assert 0 < res.value < 1


def test_coco_model_in_posetrack17_with_zeros_equals_pycocotools_on_oks(
        posetrack_coco_gt: dict) -> None:
    """Converted to the 17 PoseTrack joints instead (the 4 unshared ones at (0, 0, 0)) and
    scored against the ground truth restricted to the shared joints, the OKS of every pair is
    the 13-joint one, so AP and AR over all areas are equal. The area-range statistics may
    not be: pycocotools takes a prediction's area from the extent of *all* its keypoints,
    (0, 0) included, so the padded joints move predictions into other area ranges."""
    gt = posetrack_coco_gt
    preds = _coco_model_predictions(gt, 3)
    shared = shared_layout(COCO17, POSETRACK17)
    restricted = convert_ground_truth(convert_ground_truth(gt, POSETRACK17, shared), shared,
                                      POSETRACK17)
    res = evaluate("coco", restricted, convert_predictions(preds, COCO17, POSETRACK17))
    assert res.details["sigmas"] == list(POSETRACK17.sigmas)
    ref = dict(zip(STATS, pycocotools_stats(*_reference_13(gt, preds))))
    for name in ("AP", "AP50", "AP75", "AR", "AR50", "AR75"):
        assert res.stats[name] == ref[name], name

    # where the padding matters: a medium person, its exact prediction, and a higher-scored
    # medium false positive, which the (0, 0) joints make "large" (out of the medium range)
    kp = np.zeros((17, 3))
    for j, (dx, dy) in enumerate(np.random.default_rng(0).uniform(0, 40, (17, 2))):
        kp[j] = [1000 + dx, 500 + dy, 2]
    small = {"images": [{"id": 1, "width": 2000, "height": 1000}],
             "categories": posetrack_coco_gt["categories"],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                              "keypoints": kp.ravel().tolist(), "num_keypoints": 17,
                              "bbox": [1000, 500, 40, 40], "area": 1600.0}]}
    coco_kp = convert_predictions([{"keypoints": kp.ravel().tolist()}], POSETRACK17,
                                  COCO17)[0]["keypoints"]
    fp = (np.asarray(coco_kp).reshape(17, 3) + [500, 0, 0]).ravel().tolist()
    preds = [{"image_id": 1, "category_id": 1, "keypoints": coco_kp, "score": 0.9},
             {"image_id": 1, "category_id": 1, "keypoints": fp, "score": 0.95}]
    restricted = convert_ground_truth(convert_ground_truth(small, POSETRACK17, shared), shared,
                                      POSETRACK17)
    res = evaluate("coco", restricted, convert_predictions(preds, COCO17, POSETRACK17))
    ref = dict(zip(STATS, pycocotools_stats(*_reference_13(small, preds))))
    assert res.stats["AP"] == ref["AP"] == 0.5
    assert ref["APm"] == 0.5 and res.stats["APm"] > 0.99  # the false positive left the range


# ------------------------------------------------------------------ accepted layouts


def test_every_protocol_declares_its_accepted_layouts() -> None:
    assert [lay.name for lay in PROTOCOLS["mvor-pck"].layouts.layouts] == ["mvor10", "coco17"]
    assert [lay.name for lay in PROTOCOLS["mpii-pckh"].layouts.layouts] == ["mpii16"]
    for name in ("coco", "crowdpose", "posetrack-map"):  # the ground truth's own layout
        assert PROTOCOLS[name].layouts.layouts == ()


def _mvor_image(mvor_gt: dict) -> dict:
    ann = next(a for a in mvor_gt["annotations"] if a["only_bbox"] == 0 and any(a["keypoints"]))
    img = next(i for i in mvor_gt["images"] if i["id"] == ann["image_id"])
    return {"images": [img], "annotations": [ann], "categories": mvor_gt["categories"]}


def _record(image_id: int, n: int, score: float = 0.5) -> dict:
    return {"image_id": image_id, "category_id": 1, "keypoints": [10.0, 20.0, 1.0] * (n // 3),
            "score": score}


@pytest.mark.usefixtures("engine_mode")
def test_mixed_and_unknown_lengths_are_refused(mvor_gt: dict, tmp_path: Path) -> None:
    gt = _mvor_image(mvor_gt)
    iid = gt["images"][0]["id"]
    mixed = [_record(iid, 30), _record(iid, 30), _record(iid, 51), _record(iid, 51)]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(mixed))
    with pytest.raises(EvaluationInputError) as err:
        evaluate("mvor-pck", gt, path)
    assert str(err.value) == (
        f"{path}: prediction at index 2 has 51 keypoint values, expected 30 (mvor10, the "
        "layout of the file's first record); mvor-pck accepts 30 values (mvor10) or 51 "
        "(coco17), one layout per file (2 of 4 predictions)")
    with pytest.raises(EvaluationInputError, match=r"index 0 has 30 keypoint values, expected "
                       r"51 \(coco17, given as pred_layout\)"):
        evaluate("mvor-pck", gt, mixed, pred_layout="coco17")
    with pytest.raises(EvaluationInputError, match=r"<predictions list>: prediction at index 1 "
                       r"has 48 keypoint values, expected 30 values \(mvor10\) or 51 \(coco17\)"):
        evaluate("mvor-pck", gt, [{"not": "a prediction"}, _record(iid, 48)])
    # other problems are still described as before, after the layout is known
    with pytest.raises(EvaluationInputError, match="index 1 lacks key"):
        evaluate("mvor-pck", gt, [_record(iid, 30), {"keypoints": [1.0] * 30}])
    with pytest.raises(EvaluationInputError, match=r"index 0 has 51 keypoint values, expected "
                       r"48 values \(mpii16\)"):
        evaluate("mpii-pckh", {"images": [{"id": 1}], "annotations": [],
                               "categories": [MPII16.coco_category()]}, [_record(1, 51)])


@pytest.mark.usefixtures("engine_mode")
def test_named_layouts_must_be_accepted(mvor_gt: dict, posetrack_gt: dict) -> None:
    gt = _mvor_image(mvor_gt)
    iid = gt["images"][0]["id"]
    native = [_record(iid, 30)]
    assert (evaluate("mvor-pck", gt, native, pred_layout="mvor10").details["pred_layout"]
            == evaluate("mvor-pck", gt, native).details["pred_layout"] == "mvor10")
    assert evaluate("mvor-pck", gt, [_record(iid, 51)]).details["pred_layout"] == "coco17"
    with pytest.raises(EvaluationInputError, match="mvor-pck scores predictions in mvor10 or "
                       "coco17, not mpii16"):
        evaluate("mvor-pck", gt, native, pred_layout="mpii16")
    with pytest.raises(ValueError, match="unknown keypoint layout 'coco'"):
        evaluate("mvor-pck", gt, native, pred_layout="coco")
    # COCO-17 and PoseTrack17 both have 17 joints: naming the layout catches the mix-up
    frame = [_record(posetrack_gt["images"][0]["id"], 51)]
    assert evaluate("posetrack-map", posetrack_gt, frame).details["pred_layout"] == "posetrack17"
    with pytest.raises(EvaluationInputError, match="posetrack-map scores predictions in "
                       "posetrack17, not coco17; .*convert_predictions"):
        evaluate("posetrack-map", posetrack_gt, frame, pred_layout="coco17")


@pytest.mark.usefixtures("engine_mode")
def test_compare_reads_each_files_layout(mvor_gt: dict) -> None:
    """A COCO-17 model against a native one on the same ground truth."""
    gt = _mvor_image(mvor_gt)
    ann = gt["annotations"][0]
    kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)
    native = [{"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
               "keypoints": kp.ravel().tolist()}]
    coco = [{**native[0], "keypoints": [0.0] * 51}]
    out = compare("mvor-pck", gt, coco, native, bootstrap=10)
    assert out["pred_layouts"] == ["coco17", "mvor10"]
    assert out["a"] == 0.0 and out["b"] > 0


@pytest.mark.usefixtures("engine_mode")
def test_posetrack_joint_names_are_read_by_their_spellings(posetrack_gt: dict) -> None:
    preds = _coco_model_predictions(posetrack_gt, 4)
    preds = convert_predictions(preds, COCO17, POSETRACK17)
    renamed = copy.deepcopy(posetrack_gt)
    renamed["categories"][0]["keypoints"] = [
        n.replace("left_", "L-").replace("right_", "R ").replace("_", " ").title()
        for n in POSETRACK17.keypoints]
    assert renamed["categories"][0]["keypoints"][:3] == ["Nose", "Head Bottom", "Head Top"]
    assert (evaluate("posetrack-map", renamed, preds).stats
            == evaluate("posetrack-map", posetrack_gt, preds).stats)
