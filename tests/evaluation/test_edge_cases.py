"""Edge cases of ``benchmark.evaluation`` that the broader tests left unpinned.

Each test pins one rule at its boundary (a default, a tie, a point on an edge, a value exactly
at a threshold, an unusual input) and checks the number against the reference evaluator
(pycocotools, shapely, exact rational arithmetic, or the literal restatements in
:mod:`tests.evaluation.references`) wherever one exists.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets.layouts import COCO17, MVOR10
from benchmark.evaluation import EvaluationInputError, compare, engines, evaluate
from benchmark.evaluation.cli import format_result
from benchmark.evaluation.coco import prepare_coco
from benchmark.evaluation.geometry import orientation, strictly_inside
from benchmark.evaluation.inputs import load_ground_truth
from tests.evaluation import references
from tests.evaluation.conftest import perturb, pycocotools_stats

COCO_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def _coco_vector(stats: dict[str, float]) -> np.ndarray:
    return np.array([stats[n] for n in COCO_NAMES])


def _assert_same_stats(ours: dict[str, float], ref: dict[str, float]) -> None:
    """Same statistic names and values (NaN where the reference has NaN)."""
    assert ours.keys() == ref.keys()
    np.testing.assert_allclose([ours[k] for k in ref], [float(v) for v in ref.values()],
                               rtol=0, atol=1e-9)


# ------------------------------------------------------------------ api / cli


def _mvor_subset(mvor_gt: dict, n_images: int) -> dict:
    """The first ``n_images`` MVOR images with their annotations (a small real ground truth)."""
    images = mvor_gt["images"][:n_images]
    kept = {img["id"] for img in images}
    return {"images": copy.deepcopy(images), "categories": copy.deepcopy(mvor_gt["categories"]),
            "annotations": copy.deepcopy([a for a in mvor_gt["annotations"]
                                          if a["image_id"] in kept])}


def _mvor_native_preds(gt: dict, shift: float, seed: int) -> list[dict]:
    """One MVOR-10 prediction per evaluated GT person: its joints moved by ``shift`` pixels
    times a random factor (unlabelled joints stay absent)."""
    rng = np.random.default_rng(seed)
    preds = []
    for ann in gt["annotations"]:
        if ann.get("only_bbox", 0) != 0 or not ann.get("keypoints"):
            continue
        kp = np.asarray(ann["keypoints"], dtype=float).reshape(10, 3)
        labelled = ~((kp[:, 0] == 0) & (kp[:, 1] == 0))
        if not labelled.any():
            continue
        kp[labelled, :2] += shift * rng.uniform(0, 1, (int(labelled.sum()), 2))
        kp[:, 2] = labelled
        preds.append({"image_id": ann["image_id"], "category_id": 1,
                      "keypoints": kp.ravel().tolist(), "score": float(rng.uniform())})
    return preds


def test_compare_defaults_to_1000_paired_resamples(mvor_gt: dict) -> None:
    """``compare``'s documented default is 1000 resamples (the CLI's ``eval-compare`` default
    too): the result reports it and equals an explicit ``bootstrap=1000`` run."""
    gt = _mvor_subset(mvor_gt, 40)
    a, b = _mvor_native_preds(gt, 5.0, 0), _mvor_native_preds(gt, 40.0, 1)
    out = compare("mvor-pck", gt, a, b)
    assert out["resamples"] == 1000
    assert out == compare("mvor-pck", gt, a, b, bootstrap=1000)
    assert out["interval"] is not None and out["difference"] < 0


def test_table_marks_only_the_headline_row(xtcoco_dir: Path) -> None:
    """``format_result`` marks the headline statistic with ``*`` and no other row."""
    res = evaluate("coco", xtcoco_dir / "example_coco_val.json",
                   xtcoco_dir / "example_coco_preds.json")
    rows = format_result(res).splitlines()[1:]  # first line: the header
    assert [r.split()[-2] for r in rows] == list(COCO_NAMES)
    marked = [r for r in rows if r.startswith("*")]
    assert marked == [f"* {'AP':<6}{res.stats['AP']:>8.3f}"]
    assert all(r.startswith("  ") for r in rows if r not in marked)


# ------------------------------------------------------------------ engines


def test_without_hotcoco_pycocotools_runs_and_gives_its_numbers(
        mmpose_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When hotcoco is not installed no ground truth is hotcoco-eligible, and ``coco`` gives
    pycocotools' own numbers through pycocotools."""
    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    preds = perturb(gt, 11)
    if engines.hotcoco is not None:  # eligible while installed: the patch is what changes
        assert engines.hotcoco_eligible(load_ground_truth(gt))
    monkeypatch.setattr(engines, "hotcoco", None)
    assert not engines.hotcoco_eligible(load_ground_truth(gt))
    res = evaluate("coco", gt, preds)
    assert res.details["engine"] == "pycocotools"
    assert np.array_equal(_coco_vector(res.stats),
                          pycocotools_stats(gt, preds, list(COCO17.sigmas)))


def test_pycocotools_does_not_write_into_the_callers_ground_truth(
        mmpose_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pycocotools writes ``ignore``/``_ignore`` into the annotation dicts it gets: the engine
    must get copies, so one loaded ground truth evaluated twice (and the caller's dict) stays
    as it was, and both runs give pycocotools' numbers. The numbers alone would not show a
    shared dict (pycocotools and xtcocotools recompute both keys on every run, hotcoco does
    not read them), so the dicts themselves are compared."""
    monkeypatch.setattr(engines, "hotcoco", None)  # the pycocotools path for every id
    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    before = copy.deepcopy(gt)
    truth = load_ground_truth(gt)
    for seed in (3, 4):
        preds = perturb(gt, seed)
        prepared = prepare_coco(truth, preds, None)
        assert prepared.details["engine"] == "pycocotools"
        assert np.array_equal(_coco_vector(prepared.point()),
                              pycocotools_stats(before, preds, list(COCO17.sigmas)))
        assert gt == before
    assert not any({"ignore", "_ignore"} & a.keys() for a in truth.annotations)


# ------------------------------------------------------------------ geometry


def _exact_signs(rows: np.ndarray) -> np.ndarray:
    """Sign of ``(b - a) x (p - a)`` per row ``ax, ay, bx, by, px, py``, in rationals."""
    out = []
    for ax, ay, bx, by, px, py in (map(Fraction, r) for r in rows.tolist()):
        value = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
        out.append((value > 0) - (value < 0))
    return np.array(out, dtype=np.int8)


def _orient(rows: np.ndarray) -> np.ndarray:
    return orientation(*(np.ascontiguousarray(rows[:, i]) for i in range(6)))


def test_orientation_of_nearly_collinear_points_is_exact() -> None:
    """Points on or within rounding distance of a line, where the double determinant cannot
    be trusted: the sign must be the exact rational one (small integers, where the
    differences and products are exact; 2**26-sized integers off the line by one unit; and
    Kettner et al.'s 0.5 + k * 2**-53 grid, where doubles give wrong signs)."""
    rng = np.random.default_rng(5)
    # exactly collinear: a + k d, b = a + m d (small integers)
    a = rng.integers(-50, 50, (200, 2))
    d = rng.integers(-9, 10, (200, 2))
    m, k = rng.integers(1, 8, (200, 1)), rng.integers(-8, 9, (200, 1))
    collinear = np.column_stack([a, a + m * d, a + k * d]).astype(float)
    # off a long line by a unit: |det| = 1 against products of about 2**52
    big = 2.0 ** 26
    near = np.array([[0, 0, big + 1, big, big, big - 1], [0, 0, big + 1, big, big + 2, big + 1],
                     [0, 0, big, big + 1, big - 1, big], [1, 1, big + 2, big + 1, big + 1, big],
                     [0, 0, big + 1, big, 2 * big + 2, 2 * big]], dtype=float)
    # Kettner et al.: p on a grid of 2**-53 steps near (0.5, 0.5), line through (12, 12)
    u = 2.0 ** -53
    grid = np.array([[0.5 + i * u, 0.5 + j * u, 12.0, 12.0, 24.0, 24.0]
                     for i, j in itertools.product(range(16), range(16))])
    rows = np.concatenate([collinear, near, grid])
    exact = _exact_signs(rows)
    assert np.array_equal(_orient(rows), exact)
    # the cases are the hard ones: zero, both signs, and signs doubles get wrong
    assert {-1, 0, 1} <= set(exact.tolist()) and (exact[:200] == 0).all()
    naive = np.sign((rows[:, 2] - rows[:, 0]) * (rows[:, 5] - rows[:, 1])
                    - (rows[:, 3] - rows[:, 1]) * (rows[:, 4] - rows[:, 0]))
    assert (naive != exact).any()


def test_points_on_the_boundary_are_not_strictly_inside() -> None:
    """shapely's ``Polygon.contains`` (poseval's ignore-region test): a point on an edge, on
    a vertex or on a horizontal edge is not inside; the interior is, the outside is not."""
    square = np.array([[10, 10], [30, 10], [30, 20], [10, 20]], dtype=float)
    triangle = np.array([[0, 0], [8, 0], [0, 6]], dtype=float)  # hypotenuse 3x + 4y = 24
    cases = [
        (square, (10, 15), False),  # left (vertical) edge
        (square, (30, 12), False),  # right edge
        (square, (20, 10), False),  # bottom (horizontal) edge
        (square, (20, 20), False),  # top (horizontal) edge
        (square, (10, 10), False),  # vertex
        (square, (30, 20), False),  # vertex
        (square, (20, 15), True),
        (square, (10.000001, 15), True),
        (square, (9.999999, 15), False),
        (square, (31, 15), False),
        (triangle, (4, 3), False),  # on the slanted edge
        (triangle, (0, 3), False),
        (triangle, (4, 0), False),
        (triangle, (2, 2), True),
        (triangle, (4, 3.000001), False),
    ]
    got = [bool(strictly_inside(np.array([pt], dtype=float), poly)[0])
           for poly, pt, _ in cases]
    assert got == [expected for _, _, expected in cases]
    try:
        from shapely.geometry import Point, Polygon
    except ImportError:  # the expectations above are shapely's; nothing more to compare
        return
    assert got == [Polygon(poly).contains(Point(*pt)) for poly, pt, _ in cases]


# ------------------------------------------------------------------ inputs / layouts


def test_an_unhashable_image_id_is_an_input_error_naming_the_file(
        xtcoco_dir: Path, mvor_gt: dict, tmp_path: Path) -> None:
    """A list as ``image_id`` (cannot be a key of the GT's image index) is reported as an
    unknown image of that prediction, naming the file, for the engine and numpy protocols."""
    preds = json.loads((xtcoco_dir / "example_coco_preds.json").read_text())
    preds[2]["image_id"] = [preds[2]["image_id"]]
    path = tmp_path / "preds.json"
    path.write_text(json.dumps(preds))
    with pytest.raises(EvaluationInputError) as exc:
        evaluate("coco", xtcoco_dir / "example_coco_val.json", path)
    assert str(exc.value) == (f"{path}: prediction at index 2 has image_id "
                              f"{preds[2]['image_id']!r}, which is not an image of the "
                              "ground truth")

    gt = _mvor_subset(mvor_gt, 5)
    mvor_preds = _mvor_native_preds(gt, 1.0, 0)
    mvor_preds[0]["image_id"] = [1, 2]
    with pytest.raises(EvaluationInputError, match=r"^<predictions list>: prediction at index "
                       r"0 has image_id \[1, 2\], which is not an image of the ground truth$"):
        evaluate("mvor-pck", gt, mvor_preds)


def test_predictions_without_keypoint_lists_take_the_protocols_first_layout(
        mvor_gt: dict) -> None:
    """With no keypoint list to read the layout from, ``mvor-pck`` reads a file as its first
    accepted layout, MVOR's own: an empty file scores 0 as ``mvor10``, and records lacking
    ``keypoints`` are refused by name."""
    gt = _mvor_subset(mvor_gt, 10)
    res = evaluate("mvor-pck", gt, [])
    assert res.details["pred_layout"] == "mvor10"
    assert res.details["matched_persons"] == 0 and res.details["gt_persons"] > 0
    assert all(v == 0.0 for v in res.stats.values())
    assert compare("mvor-pck", gt, [], [], bootstrap=5)["pred_layouts"] == ["mvor10", "mvor10"]
    bare = [{"image_id": gt["images"][0]["id"], "category_id": 1, "score": 0.5}] * 2
    with pytest.raises(EvaluationInputError) as exc:
        evaluate("mvor-pck", gt, bare)
    assert str(exc.value) == ("<predictions list>: prediction at index 0 lacks key(s) "
                              "'keypoints' (2 of 2 predictions are malformed)")


def test_mixed_layout_message_counts_only_several_bad_predictions(mvor_gt: dict) -> None:
    """The "(n of N predictions)" suffix appears when more than one prediction has the wrong
    length, not for a single one."""
    gt = _mvor_subset(mvor_gt, 5)
    mvor10 = _mvor_native_preds(gt, 1.0, 0)[:3]
    coco = {**mvor10[0], "keypoints": [1.0] * 51}
    expected = ("<predictions list>: prediction at index 1 has 51 keypoint values, expected 30 "
                "(mvor10, the layout of the file's first record); mvor-pck accepts 30 values "
                "(mvor10) or 51 (coco17), one layout per file")
    with pytest.raises(EvaluationInputError) as one:
        evaluate("mvor-pck", gt, [mvor10[0], coco, mvor10[1]])
    assert str(one.value) == expected
    with pytest.raises(EvaluationInputError) as two:
        evaluate("mvor-pck", gt, [mvor10[0], coco, mvor10[1], coco])
    assert str(two.value) == expected + " (2 of 4 predictions)"


# ------------------------------------------------------------------ mvor-pck


@pytest.mark.usefixtures("engine_mode")
def test_mvor_annotations_without_only_bbox_on_the_per_record_path(mvor_gt: dict) -> None:
    """A missing ``only_bbox`` means a person to evaluate, also when an unusual value (a null
    ``keypoints`` on a box-only annotation) sends the ground truth down the per-record path;
    the numbers are the MVOR script's on the same file with ``only_bbox: 0`` written out."""
    gt = _mvor_subset(mvor_gt, 30)
    preds = _mvor_native_preds(gt, 25.0, 2)
    ref = references.mvor_pck(gt, preds, layout="mvor10")
    odd = copy.deepcopy(gt)
    for ann in odd["annotations"]:
        if ann["only_bbox"] == 0:
            del ann["only_bbox"]
        else:
            ann["keypoints"] = None  # the script skips only_bbox before reading keypoints
    assert any(a["only_bbox"] for a in gt["annotations"])
    res = evaluate("mvor-pck", odd, preds)
    _assert_same_stats(res.stats, ref)
    assert res.details["gt_persons"] == sum(a["only_bbox"] == 0 for a in gt["annotations"])
    assert 20 < res.value < 100


@pytest.mark.usefixtures("engine_mode")
def test_mvor_boxes_apart_in_y_do_not_overlap() -> None:
    """A GT person whose joints lie on a nearly horizontal line (box 100 x 2 px): a
    prediction beside it in x but 200 px below shares no area with it and is no candidate,
    however high its score; the overlapping one is used (as the MVOR script decides)."""
    kp = [0.0] * 30
    for j, (x, y) in enumerate([(100, 100), (130, 100.5), (160, 101), (199, 101)]):
        kp[3 * j:3 * j + 3] = [x, y, 2]
    gt = {"images": [{"id": 1}], "categories": [MVOR10.coco_category(1)],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "only_bbox": 0,
                           "keypoints": kp}]}
    good = {"image_id": 1, "category_id": 1, "keypoints": kp, "score": 0.5}
    below = {**good, "keypoints": [v + 200 if i % 3 == 1 and v else v
                                   for i, v in enumerate(kp)], "score": 0.9}
    res = evaluate("mvor-pck", gt, [below, good])
    _assert_same_stats(res.stats, references.mvor_pck(gt, [below, good], layout="mvor10"))
    assert res.stats["joint/head"] == 100.0 and res.details["matched_persons"] == 1
    alone = evaluate("mvor-pck", gt, [below])
    assert alone.details["matched_persons"] == 0 and alone.value == 0.0


# ------------------------------------------------------------------ posetrack-map


@pytest.mark.usefixtures("engine_mode")
def test_posetrack_pair_exactly_at_the_distance_gate_is_matched(posetrack_gt: dict) -> None:
    """A GT person whose joints lie on one vertical line and a prediction moved right by
    exactly 0.5 x the head size: every joint is on the threshold (a hit, inclusive), so the
    pair must not be pruned by the joint-extent gate, whose gap equals the threshold."""
    names = posetrack_gt["categories"][0]["keypoints"]
    kp = [0.0] * 51
    for name, y in (("head_top", 300.0), ("head_bottom", 340.0), ("nose", 320.0)):
        j = names.index(name)
        kp[3 * j:3 * j + 3] = [700.0, y, 2]
    box = [700, 260, 30, 40]  # head size 0.6 x 50 = 30: threshold 15 px
    image = {k: v for k, v in posetrack_gt["images"][0].items() if "ignore" not in k}
    gt = {"images": [image], "categories": posetrack_gt["categories"],
          "annotations": [{"id": 1, "image_id": image["id"], "category_id": 1,
                           "keypoints": kp, "bbox_head": box, "track_id": 0}]}
    shift = 0.5 * 0.6 * math.dist((box[0] + box[2], box[1] + box[3]), box[:2])
    moved = list(kp)
    for j in range(17):
        if kp[3 * j + 2]:
            moved[3 * j] += shift
            moved[3 * j + 2] = 0.9
    preds = [{"image_id": image["id"], "category_id": 1, "keypoints": moved, "score": 1.0}]
    ref = references.posetrack_map(gt, preds)
    res = evaluate("posetrack-map", gt, preds)
    _assert_same_stats(res.stats, ref)
    assert res.stats["Head"] == 100.0 and ref["joint/nose"] == 100.0
    # a hair further: every joint misses (the gate's slack never turns a miss into a hit)
    far = [{**preds[0], "keypoints": [v + 1e-6 if i % 3 == 0 and v else v
                                      for i, v in enumerate(moved)]}]
    assert evaluate("posetrack-map", gt, far).stats["Head"] == 0.0


# ------------------------------------------------------------------ mpii-pckh


@pytest.mark.usefixtures("engine_mode")
def test_mpii_pairing_averages_over_labelled_joints_only(real_fixtures: Path) -> None:
    """Two GT persons in one image, one prediction: it goes to the person with the lowest
    mean normalised error over *that person's labelled joints* (unlabelled joints add
    nothing), here a partly labelled person it nearly hits, not a fully labelled one 1.5 head
    sizes away; the scores are then HRNet's for that pairing."""
    from benchmark.evaluation import mpii_mat_to_coco

    mpii = mpii_mat_to_coco(real_fixtures / "mpii" / "gt_valid.mat")
    full = next(a for a in mpii["annotations"]
                if all(v > 0 for v in a["keypoints"][2::3]))
    kp_a = np.asarray(full["keypoints"], dtype=float).reshape(16, 3)
    box_a = np.asarray(full["head_box"], dtype=float)
    norm = 0.6 * float(np.linalg.norm(box_a[2:] - box_a[:2]))
    offset = np.array([1.5 * norm, 0.0])
    kp_b = kp_a.copy()
    kp_b[:, :2] += offset
    kp_b[4:, :] = 0  # B: only the first 4 joints labelled
    gt = {"images": [{"id": 1}], "categories": mpii["categories"],
          "annotations": [
              {"id": 1, "image_id": 1, "category_id": 1, "keypoints": kp_a.ravel().tolist(),
               "head_box": box_a.tolist()},
              {"id": 2, "image_id": 1, "category_id": 1, "keypoints": kp_b.ravel().tolist(),
               "head_box": (box_a + np.tile(offset, 2)).tolist()}]}
    pred_xy = kp_a[:, :2] + offset + np.array([0.1 * norm, 0.0])  # 0.1 from B, 1.6 from A
    pred = {"image_id": 1, "category_id": 1, "score": 1.0,
            "keypoints": np.column_stack([pred_xy, np.ones(16)]).ravel().tolist()}

    # the documented rule, literally: mean of dist / normaliser over labelled joints
    persons = [(kp_a, norm), (kp_b, norm)]
    errors = []
    for kp, n in persons:
        labelled = [j for j in range(16) if kp[j, 2] > 0]
        errors.append(sum(math.dist(pred_xy[j], kp[j, :2]) / n for j in labelled)
                      / len(labelled))
    paired = int(np.argmin(errors))
    assert paired == 1
    # HRNet's PCKh on the pairing: the unpaired person's joints are all misses
    gt_xy = np.stack([kp[:, :2] for kp, _ in persons], axis=2)  # (16, 2, 2)
    pred_arr = gt_xy + 1e6
    pred_arr[:, :, paired] = pred_xy
    missing = np.stack([kp[:, 2] == 0 for kp, _ in persons], axis=1)
    boxes = np.stack([box_a.reshape(2, 2), (box_a + np.tile(offset, 2)).reshape(2, 2)], axis=2)
    ref = references.hrnet_pckh(pred_arr, gt_xy, missing, boxes)
    res = evaluate("mpii-pckh", gt, [pred])
    _assert_same_stats(res.stats, ref)
    assert res.details["paired_persons"] == 1 and res.stats["joint/right_ankle"] == 50.0


# ------------------------------------------------------------------ defaults and output


def test_replicates_default_to_200_resamples(mmpose_data: Path) -> None:
    """``replicates``' documented default is 200 resamples of the pooled mean: the default
    intervals are the ``bootstrap=200`` ones, not those of another count."""
    from benchmark.evaluation.api import replicates

    gt = json.loads((mmpose_data / "coco/test_coco.json").read_text())
    preds = [perturb(gt, seed) for seed in (1, 2)]
    default = replicates("coco", gt, preds)
    assert default["intervals"] == replicates("coco", gt, preds, bootstrap=200)["intervals"]
    assert default["intervals"] != replicates("coco", gt, preds, bootstrap=400)["intervals"]


def test_eval_json_output_is_indented_by_two(xtcoco_dir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``mpbench eval --json`` prints the result as JSON indented by two spaces (what users
    diff and what the docs show), the same text ``json.dumps(..., indent=2)`` gives."""
    from tests.evaluation.test_cli import run

    gt, pred = xtcoco_dir / "example_coco_val.json", xtcoco_dir / "example_coco_preds.json"
    assert run(["eval", "--protocol", "coco", "--gt", str(gt), "--pred", str(pred),
                "--json", "--bootstrap", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == '  "protocol": "coco",'
    assert out == json.dumps(json.loads(out), indent=2) + "\n"


def test_a_first_record_of_no_accepted_length_counts_only_the_bad_records(
        mvor_gt: dict) -> None:
    """A file whose first record has a length of no accepted layout: the error names that
    record, and counts only records of no accepted length (here one, so no count)."""
    gt = _mvor_subset(mvor_gt, 5)
    good = _mvor_native_preds(gt, 1.0, 0)[:2]
    short = {**good[0], "keypoints": [1.0] * 12}
    with pytest.raises(EvaluationInputError) as one:
        evaluate("mvor-pck", gt, [short, *good])
    assert str(one.value) == ("<predictions list>: prediction at index 0 has 12 keypoint "
                              "values, expected 30 values (mvor10) or 51 (coco17)")
    with pytest.raises(EvaluationInputError) as two:
        evaluate("mvor-pck", gt, [short, *good, short])
    assert str(two.value).endswith(" (2 of 4 predictions)")


def test_mpii_ground_truth_error_names_the_annotation_without_a_head_box(
        real_fixtures: Path) -> None:
    """An MPII ground truth where one person lacks ``head_box``: the error names that
    annotation's id, not another one's."""
    from benchmark.evaluation import mpii_mat_to_coco

    mpii = mpii_mat_to_coco(real_fixtures / "mpii" / "gt_valid.mat")
    anns = copy.deepcopy(mpii["annotations"][:3])
    image_ids = {a["image_id"] for a in anns}
    del anns[1]["head_box"]
    gt = {"images": [i for i in mpii["images"] if i["id"] in image_ids],
          "categories": mpii["categories"], "annotations": anns}
    with pytest.raises(EvaluationInputError, match=(
            rf"annotation id {anns[1]['id']!r} needs 'head_box' \[x1, y1, x2, y2\] and 48 "
            "keypoint values")):
        evaluate("mpii-pckh", gt, [])
