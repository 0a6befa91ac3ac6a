"""Malformed inputs give one clear error naming the file and the problem, in every protocol."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from benchmark.evaluation import EvaluationInputError, evaluate, mpii_mat_to_coco

#: every test runs with the compiled helpers and with their numpy counterparts
pytestmark = pytest.mark.usefixtures("engine_mode")

VALID_K = {"coco": 17, "crowdpose": 14, "mvor-pck": 17, "mpii-pckh": 16, "posetrack-map": 17}


@pytest.fixture(scope="module")
def cases(real_fixtures: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, tuple[Path, dict]]:
    """protocol -> (GT path, one valid prediction) on the real samples."""
    x = real_fixtures / "xtcocoapi/annotations"
    d = real_fixtures / "mmpose/tests/data"
    mpii = tmp_path_factory.mktemp("mpii") / "mpii_val.json"
    mpii.write_text(json.dumps(mpii_mat_to_coco(real_fixtures / "mpii/gt_valid.mat")))
    paths = {"coco": x / "example_coco_val.json", "crowdpose": x / "example_crowdpose_val.json",
             "mvor-pck": real_fixtures / "mvor/annotations/camma_mvor_2018.json",
             "mpii-pckh": mpii,
             "posetrack-map": d / "posetrack18/annotations/test_posetrack18_val.json"}
    out = {}
    for protocol, path in paths.items():
        gt = json.loads(path.read_text())
        k = VALID_K[protocol]
        out[protocol] = (path, {"image_id": gt["images"][0]["id"], "category_id": 1,
                                "keypoints": [10.0, 20.0, 0.5] * k, "score": 0.5})
    return out


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "preds.json"
    path.write_text(content)
    return path


BAD = {
    "not a list": (lambda p: {"predictions": [p]}, "must be a JSON list"),
    "wrong K": (lambda p: [{**p, "keypoints": p["keypoints"][:-3]}], "keypoint values, expected"),
    "NaN": (lambda p: [{**p, "keypoints": [float("nan"), *p["keypoints"][1:]]}], "non-finite"),
    "infinite score": (lambda p: [{**p, "score": float("inf")}], "score"),
    "string keypoint": (lambda p: [{**p, "keypoints": ["1", *p["keypoints"][1:]]}],
                        "non-numeric"),
    "unknown image": (lambda p: [p, {**p, "image_id": 123456789}], "image_id 123456789"),
    "missing key": (lambda p: [{k: v for k, v in p.items() if k != "score"}], "'score'"),
    "not an object": (lambda p: [p, [1, 2, 3]], "not an object"),
}


@pytest.mark.parametrize("protocol", sorted(VALID_K))
@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_predictions(cases: dict, tmp_path: Path, protocol: str, case: str) -> None:
    gt_path, valid = cases[protocol]
    make, message = BAD[case]
    path = _write(tmp_path, json.dumps(make(copy.deepcopy(valid))))
    with pytest.raises(EvaluationInputError, match=message) as err:
        evaluate(protocol, gt_path, path)
    assert str(path) in str(err.value)


def test_unreadable_and_missing_files(cases: dict, tmp_path: Path) -> None:
    gt_path, valid = cases["coco"]
    truncated = _write(tmp_path, json.dumps([valid])[:-5])
    with pytest.raises(EvaluationInputError, match="not valid JSON"):
        evaluate("coco", gt_path, truncated)
    with pytest.raises(EvaluationInputError, match="not found"):
        evaluate("coco", gt_path, tmp_path / "nope.json")
    with pytest.raises(EvaluationInputError, match="ground-truth file not found"):
        evaluate("coco", tmp_path / "nope.json", [valid])


def test_errors_count_every_bad_prediction(cases: dict) -> None:
    gt_path, valid = cases["coco"]
    preds = [valid, {**valid, "image_id": -1}, {**valid, "image_id": -2}]
    with pytest.raises(EvaluationInputError, match=r"index 1 .* \(2 of 3 predictions"):
        evaluate("coco", gt_path, preds)


def test_unknown_category_for_oks_protocols(cases: dict) -> None:
    gt_path, valid = cases["coco"]
    with pytest.raises(EvaluationInputError, match="category_id 3"):
        evaluate("coco", gt_path, [{**valid, "category_id": 3}])


@pytest.mark.parametrize("protocol", sorted(VALID_K))
def test_empty_prediction_list_scores_zero(cases: dict, protocol: str) -> None:
    """Documented: no predictions is a valid, all-zero result (not an error)."""
    res = evaluate(protocol, cases[protocol][0], [])
    assert res.value == 0.0


def test_ground_truth_problems(cases: dict, tmp_path: Path) -> None:
    gt_path, valid = cases["coco"]
    gt = json.loads(gt_path.read_text())
    with pytest.raises(EvaluationInputError, match="no 'images' list"):
        evaluate("coco", {"annotations": []}, [valid])
    no_area = copy.deepcopy(gt)
    del no_area["annotations"][2]["area"]
    with pytest.raises(EvaluationInputError, match="lacks 'area'"):
        evaluate("coco", no_area, [valid])
    with pytest.raises(EvaluationInputError, match="ground truth must be"):
        evaluate("coco", _write(tmp_path, "[1, 2]"), [valid])


def test_inputs_are_not_modified(cases: dict, xtcoco_dir: Path) -> None:
    gt = json.loads((xtcoco_dir / "example_coco_val.json").read_text())
    preds = json.loads((xtcoco_dir / "example_coco_preds.json").read_text())
    before = (copy.deepcopy(gt), copy.deepcopy(preds))
    evaluate("coco", gt, preds, bootstrap=2)
    evaluate("crowdpose", *(json.loads((xtcoco_dir / f"example_crowdpose_{n}.json")
                                       .read_text()) for n in ("val", "preds")))
    assert (gt, preds) == before


def test_unknown_protocol_and_bad_bootstrap(cases: dict) -> None:
    gt_path, valid = cases["coco"]
    with pytest.raises(ValueError, match="unknown protocol"):
        evaluate("oks", gt_path, [valid])
    with pytest.raises(ValueError, match="bootstrap"):
        evaluate("coco", gt_path, [valid], bootstrap=-1)
