"""``mpii-pckh`` on MPII's ``gt_valid.mat``: converter, HRNet's numbers, one test per rule."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from scipy.io import loadmat

from benchmark.datasets.layouts import MPII16
from benchmark.evaluation import EvaluationInputError, evaluate, mpii_mat_to_coco
from tests.evaluation import references

#: every test runs with the compiled helpers and with their numpy counterparts
pytestmark = pytest.mark.usefixtures("engine_mode")

IDX = MPII16.index


@pytest.fixture(scope="module")
def mat_path(real_fixtures: Path) -> Path:
    return real_fixtures / "mpii" / "gt_valid.mat"


@pytest.fixture(scope="module")
def mpii_gt(mat_path: Path) -> dict:
    return mpii_mat_to_coco(mat_path)


def _preds_from_xy(gt: dict, xy: np.ndarray) -> list[dict]:
    """One prediction per GT person (in file order) from (N, 16, 2) zero-based points."""
    return [{"image_id": a["image_id"], "category_id": 1, "score": 1.0,
             "keypoints": np.column_stack([xy[i], np.ones(16)]).ravel().tolist()}
            for i, a in enumerate(gt["annotations"])]


def test_converter_is_zero_based_and_keeps_the_unflagged_zeros(mat_path: Path,
                                                                mpii_gt: dict) -> None:
    mat = loadmat(str(mat_path))
    assert len(mpii_gt["annotations"]) == len(mpii_gt["images"]) == 2958
    assert mpii_gt["categories"][0]["keypoints"] == list(MPII16.keypoints)
    ann = mpii_gt["annotations"][0]
    kp = np.asarray(ann["keypoints"]).reshape(16, 3)
    np.testing.assert_array_equal(kp[:, :2], mat["pos_gt_src"][:, :, 0] - 1)
    np.testing.assert_array_equal(ann["head_box"], (mat["headboxes_src"][:, :, 0] - 1).ravel())
    # person 2763: knees and ankles stored at (0, 0) but not flagged missing -> labelled
    odd = np.asarray(mpii_gt["annotations"][2763]["keypoints"]).reshape(16, 3)
    for name in ("left_knee", "right_knee", "left_ankle", "right_ankle"):
        assert odd[IDX[name]].tolist() == [-1.0, -1.0, 2.0]
    missing = mat["jnt_missing"].astype(bool)
    flat = np.array([a["keypoints"] for a in mpii_gt["annotations"]]).reshape(-1, 16, 3)
    assert np.array_equal(flat[:, :, 2] == 0, missing.T)
    assert np.all(flat[missing.T] == 0)


def test_perfect_predictions_score_100_on_present_joints(mpii_gt: dict) -> None:
    xy = np.array([a["keypoints"] for a in mpii_gt["annotations"]]).reshape(-1, 16, 3)[..., :2]
    res = evaluate("mpii-pckh", mpii_gt, _preds_from_xy(mpii_gt, xy))
    assert res.headline == "Mean" and res.scale == "percent"
    assert all(v == 100.0 for v in res.stats.values())
    assert res.details["curve"]["Mean"][0] == 100.0  # even at threshold 0


@pytest.mark.parametrize("sigma", [3.0, 12.0])
def test_noisy_predictions_equal_hrnets_evaluation(mat_path: Path, mpii_gt: dict,
                                                   sigma: float) -> None:
    """HRNet scores 1-based predictions on the .mat; mpbench the same points, zero-based."""
    mat = loadmat(str(mat_path))
    gt_src = mat["pos_gt_src"]
    rng = np.random.default_rng(int(sigma))
    pred_src = gt_src + rng.normal(0, sigma, gt_src.shape)
    ref = references.hrnet_pckh(pred_src, gt_src, mat["jnt_missing"], mat["headboxes_src"])
    res = evaluate("mpii-pckh", mpii_gt, _preds_from_xy(mpii_gt, pred_src.transpose(2, 0, 1) - 1))
    assert res.stats.keys() == ref.keys()
    np.testing.assert_allclose([res.stats[k] for k in ref], list(ref.values()), atol=1e-9)
    assert 10 < res.value < 100


# ------------------------------------------------------------ hand-checked rules


def _one_person(mpii_gt: dict, index: int = 0) -> tuple[dict, np.ndarray, float]:
    ann = copy.deepcopy(mpii_gt["annotations"][index])
    gt = {"images": [{"id": 1}], "annotations": [{**ann, "image_id": 1}],
          "categories": mpii_gt["categories"]}
    xy = np.asarray(ann["keypoints"]).reshape(16, 3)[:, :2]
    box = np.asarray(ann["head_box"])
    return gt, xy, 0.6 * float(np.linalg.norm(box[2:] - box[:2]))


def _stats(gt: dict, xy: np.ndarray) -> dict[str, float]:
    return evaluate("mpii-pckh", gt, _preds_from_xy(gt, xy[None])).stats


def test_threshold_is_half_the_normaliser_inclusive(mpii_gt: dict) -> None:
    gt, xy, norm = _one_person(mpii_gt)
    pred = xy.copy()
    pred[IDX["head_top"], 0] += 0.5 * norm
    assert _stats(gt, pred)["Head"] == 100.0
    pred[IDX["head_top"], 0] += 1e-6
    assert _stats(gt, pred)["Head"] == 0.0


def test_groups_and_mean(mpii_gt: dict) -> None:
    """Head is head_top alone; upper_neck is in Mean but in no group; pelvis and thorax are in
    neither; Mean = hits / present over the 14 others; Mean@0.1 uses threshold 0.10."""
    gt, xy, norm = _one_person(mpii_gt)
    pred = xy.copy()
    for name in ("upper_neck", "pelvis", "thorax", "left_wrist"):
        pred[IDX[name], 1] += 2 * norm
    pred[IDX["right_ankle"], 1] += 0.3 * norm  # within 0.5, not within 0.1
    s = _stats(gt, pred)
    assert s["Head"] == 100.0 and s["joint/upper_neck"] == 0.0
    assert s["Wrist"] == 50.0 and s["Ankle"] == 100.0
    assert s["Mean"] == pytest.approx(100 * 12 / 14, abs=1e-12)
    assert s["Mean@0.1"] == pytest.approx(100 * 11 / 14, abs=1e-12)
    assert s["joint/pelvis"] == 0.0 and s["joint/thorax"] == 0.0


def test_unlabelled_joints_are_not_counted(mpii_gt: dict) -> None:
    gt, xy, norm = _one_person(mpii_gt)
    kp = np.asarray(gt["annotations"][0]["keypoints"]).reshape(16, 3)
    kp[IDX["left_wrist"]] = 0
    gt["annotations"][0]["keypoints"] = kp.ravel().tolist()
    pred = xy.copy()
    pred[IDX["left_wrist"]] += 5 * norm
    s = _stats(gt, pred)
    assert s["Mean"] == 100.0 and s["joint/right_wrist"] == 100.0
    assert np.isnan(s["joint/left_wrist"])  # no labelled instance: undefined


def test_pairing_in_a_multi_person_image(mpii_gt: dict) -> None:
    """Predictions in any order are paired one-to-one with the nearest GT person; a GT person
    without a prediction scores 0, an extra prediction is ignored."""
    a, b = (copy.deepcopy(mpii_gt["annotations"][i]) for i in (0, 1))
    gt = {"images": [{"id": 1}],
          "annotations": [{**a, "image_id": 1}, {**b, "image_id": 1}],
          "categories": mpii_gt["categories"]}
    xy = [np.asarray(x["keypoints"]).reshape(16, 3)[:, :2] for x in (a, b)]
    both = _preds_from_xy(gt, np.stack([xy[1], xy[0]]))  # swapped order
    assert evaluate("mpii-pckh", gt, both).value == 100.0
    res = evaluate("mpii-pckh", gt, both[:1])
    assert res.details["paired_persons"] == 1 and 0 < res.value < 100
    far = {**both[0], "keypoints": (np.asarray(both[0]["keypoints"]) + 5000).tolist()}
    assert evaluate("mpii-pckh", gt, [*both, far]).value == 100.0


#: MPII's own abbreviations, as MPII converters name the joints.
ABBREVIATIONS = ["r ankle", "r knee", "r hip", "l hip", "l knee", "l ankle", "pelvis", "thorax",
                 "upper neck", "head top", "r wrist", "r elbow", "r shoulder", "l shoulder",
                 "l elbow", "l wrist"]


@pytest.mark.parametrize("names", [
    ABBREVIATIONS, [n.replace(" ", "_") for n in ABBREVIATIONS],
    [n.title().replace(" ", "") for n in ABBREVIATIONS]])
def test_mpii_spellings_of_the_joints_are_accepted(mpii_gt: dict, names: list[str]) -> None:
    gt, xy, norm = _one_person(mpii_gt)
    pred = xy.copy()
    pred[IDX["left_wrist"], 0] += norm  # one miss, so that the numbers are not all 100
    expected = _stats(gt, pred)
    gt["categories"] = [{**gt["categories"][0], "keypoints": names}]
    assert _stats(gt, pred) == expected and expected["Wrist"] == 50.0


def test_joints_in_another_order_are_refused_listing_them(mpii_gt: dict) -> None:
    gt, xy, _ = _one_person(mpii_gt)
    names = list(ABBREVIATIONS)
    names[10], names[15] = names[15], names[10]  # the wrists swapped
    gt["categories"] = [{**gt["categories"][0], "keypoints": names}]
    with pytest.raises(EvaluationInputError, match=(
            r"these differ: position 10: expected 'right_wrist', got 'l wrist'; position 15: "
            r"expected 'left_wrist', got 'r wrist'$")):
        _stats(gt, xy)
    gt["categories"] = [{**gt["categories"][0], "keypoints": ABBREVIATIONS[:15]}]
    with pytest.raises(EvaluationInputError, match="position 15: expected 'left_wrist', got "
                                                   "'\\(nothing\\)'"):
        _stats(gt, xy)
