"""The vectorised engines against the per-person loop oracles on seeded synthetic benchmarks,
and the vectorised building blocks against their one-at-a-time definitions.

The synthetic sets (``tests/evaluation/synthetic.py``) contain every case the rules single out:
ties and near ties (1e-6) of scores, missing and unlabelled joints, joints at (0, 0) that are
present, false positives, images and frames without persons, predictions in shuffled file
order, ignore regions with joints exactly on their edges. No real files are needed.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import numpy as np
import pytest

from benchmark.datasets.layouts import MPII16, MVOR10, POSETRACK17
from benchmark.evaluation import EvaluationInputError, evaluate
from benchmark.evaluation.geometry import (
    group_boxes,
    inside_any,
    inside_rings,
    orientation,
    strictly_inside,
)
from benchmark.evaluation.inputs import (
    bad_row,
    load_ground_truth,
    pack_rows,
    stable_argsort,
)
from benchmark.evaluation.mpii import CURVE, curve_hits, first_hits
from benchmark.evaluation.posetrack import head_size, head_sizes
from benchmark.evaluation.protocols import get_protocol
from tests.evaluation import references, synthetic

#: every test runs with the compiled helpers and with their numpy counterparts
pytestmark = pytest.mark.usefixtures("engine_mode")


def _assert_same(ours: dict[str, float], ref: dict[str, float], atol: float) -> None:
    assert ours.keys() == ref.keys()
    a = np.array([ours[k] for k in ref])
    b = np.array(list(ref.values()))
    assert np.array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=0, atol=atol)


# ---------------------------------------------------------------------------- engines vs oracles


@pytest.mark.parametrize("seed", range(6))
def test_mvor_equals_the_loop_oracle(seed: int) -> None:
    gt, preds = synthetic.mvor_dataset(120, seed=seed)
    res = evaluate("mvor-pck", gt, preds)
    ref = references.mvor_pck(gt, preds)
    _assert_same(res.stats, ref, 1e-12)
    assert 10 < res.value < 90  # a meaningful benchmark, not all hits or all misses
    evaluated = sum(a["only_bbox"] == 0 and any(a["keypoints"][i] for i in range(30) if i % 3 < 2)
                    for a in gt["annotations"])
    assert res.details["gt_persons"] == evaluated


def test_mvor_score_ties_pick_the_first_prediction_of_the_image() -> None:
    """Two candidates within 1e-6 of the best score: the first of the image in file order is
    used, even when a later one is the better (or the only overlapping) prediction."""
    gt, preds = synthetic.mvor_dataset(30, seed=11, max_false_positives=0)
    for p in preds:
        p["score"] = 0.5 + (1e-7 if p["image_id"] % 2 else 0.0)
    res = evaluate("mvor-pck", gt, preds)
    _assert_same(res.stats, references.mvor_pck(gt, preds), 1e-12)
    shuffled = preds[::-1]
    _assert_same(evaluate("mvor-pck", gt, shuffled).stats,
                 references.mvor_pck(gt, shuffled), 1e-12)
    assert evaluate("mvor-pck", gt, shuffled).value != res.value  # file order matters


@pytest.mark.parametrize("seed", range(4))
def test_mpii_equals_the_loop_oracle(seed: int) -> None:
    gt, preds, mat = synthetic.mpii_dataset(400, seed=seed)
    res = evaluate("mpii-pckh", gt, preds)
    ref = references.hrnet_pckh(mat["pred"], mat["gt"], mat["missing"], mat["headboxes"])
    _assert_same(res.stats, ref, 1e-12)
    assert 20 < res.value < 95
    # the curve: hits at every threshold, by brute force on the same errors
    err = np.linalg.norm(mat["pred"] - mat["gt"], axis=1)  # (16, N)
    head = 0.6 * np.linalg.norm(mat["headboxes"][1] - mat["headboxes"][0], axis=0)
    labelled = mat["missing"] == 0
    kept = [j for j, n in enumerate(MPII16.keypoints) if n not in ("pelvis", "thorax")]
    expected = [100 * ((err / head <= t) & labelled)[kept].sum() / labelled[kept].sum()
                for t in CURVE]
    np.testing.assert_allclose(res.details["curve"]["Mean"], expected, rtol=0, atol=1e-12)


def test_mpii_pairing_of_multi_person_images_equals_a_per_image_assignment() -> None:
    """Single-person images are paired in one vectorised step, the others by the linear
    assignment: merge persons into shared images and compare with a per-image loop."""
    from scipy.optimize import linear_sum_assignment

    gt, preds, _ = synthetic.mpii_dataset(300, seed=5)
    rng = np.random.default_rng(5)
    new_image = np.sort(rng.integers(1, 181, len(gt["annotations"])))  # 1-4 persons/image
    for ann, p, img in zip(gt["annotations"], preds, new_image):
        ann["image_id"] = p["image_id"] = int(img)
    gt["images"] = [{"id": int(i)} for i in np.unique(new_image)]
    preds = [preds[i] for i in rng.permutation(len(preds)) if rng.random() > 0.15]  # some lost
    res = evaluate("mpii-pckh", gt, preds)

    hits = np.zeros(16)
    count = np.zeros(16)
    for img in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == img["id"]]
        prs = [p for p in preds if p["image_id"] == img["id"]]
        kp = np.array([a["keypoints"] for a in anns]).reshape(-1, 16, 3)
        box = np.array([a["head_box"] for a in anns])
        norm = 0.6 * np.linalg.norm(box[:, 2:] - box[:, :2], axis=1)
        lab = kp[:, :, 2] > 0
        count += lab.sum(axis=0)
        if not prs:
            continue
        pxy = np.array([p["keypoints"] for p in prs]).reshape(-1, 16, 3)[:, :, :2]
        err = np.linalg.norm(pxy[:, None] - kp[None, :, :, :2], axis=3) / norm[None, :, None]
        cost = np.where(lab[None], err, 0).sum(axis=2) / np.maximum(lab.sum(axis=1), 1)[None]
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols):
            hits += (err[r, c] <= 0.5) & lab[c]
    kept = [j for j, n in enumerate(MPII16.keypoints) if n not in ("pelvis", "thorax")]
    assert res.value == pytest.approx(100 * hits[kept].sum() / count[kept].sum(), abs=1e-12)
    for j, name in enumerate(MPII16.keypoints):
        assert res.stats[f"joint/{name}"] == pytest.approx(100 * hits[j] / count[j], abs=1e-12)
    assert res.details["paired_persons"] < len(gt["annotations"])


@pytest.mark.parametrize("seed", range(6))
def test_posetrack_equals_the_loop_oracle(seed: int) -> None:
    pytest.importorskip("shapely")
    gt, preds = synthetic.posetrack_dataset(60, seed=seed, region_rate=0.5)
    res = evaluate("posetrack-map", gt, preds)
    ref = references.posetrack_map(gt, preds)
    _assert_same(res.stats, ref, 1e-9)
    assert 5 < res.value < 95
    assert res.details["frames"] == len({a["image_id"] for a in gt["annotations"]})
    assert res.details["predictions_dropped"] > 0


def test_posetrack_regions_covering_persons_and_crowded_frames() -> None:
    """Large regions (whole persons removed on one side or both), many persons per frame
    (many pairs, many equal fractions), and all joint scores equal (ties everywhere)."""
    pytest.importorskip("shapely")
    gt, preds = synthetic.posetrack_dataset(25, seed=9, max_persons=12, region_rate=1.0)
    for img in gt["images"]:
        img["ignore_regions_x"] = [*img.get("ignore_regions_x", []), [0, 700, 700, 0, 350]]
        img["ignore_regions_y"] = [*img.get("ignore_regions_y", []), [0, 0, 500, 500, 250]]
    for p in preds:
        p["keypoints"] = [0.5 if i % 3 == 2 and v else v for i, v in enumerate(p["keypoints"])]
    res = evaluate("posetrack-map", gt, preds)
    _assert_same(res.stats, references.posetrack_map(gt, preds), 1e-9)


def test_posetrack_bootstrap_identity_and_materialised_resample() -> None:
    """A weight vector equals evaluating the frames duplicated. Joint scores are made
    distinct: among equal scores a weighted sample counts its copies at once, while
    duplicated frames interleave (the documented difference)."""
    gt, preds = synthetic.posetrack_dataset(40, seed=3)
    rng = np.random.default_rng(3)
    for p in preds:
        p["keypoints"] = [float(rng.uniform(0.01, 1)) if i % 3 == 2 and v else v
                          for i, v in enumerate(p["keypoints"])]
    prepared = get_protocol("posetrack-map").prepare(load_ground_truth(gt), preds, None)
    point = prepared.point()
    _assert_same(prepared.resampled(np.ones(prepared.n_units, dtype=np.int64)), point, 0)
    frames = [img["id"] for img in gt["images"]
              if any(a["image_id"] == img["id"] for a in gt["annotations"])]
    weights = np.random.default_rng(0).integers(0, 3, len(frames))
    big = {"images": [], "annotations": [], "categories": gt["categories"]}
    big_preds = []
    by_id = {img["id"]: img for img in gt["images"]}
    for fid, w in zip(frames, weights):
        for c in range(w):
            new = fid * 10 + c
            big["images"].append({**by_id[fid], "id": new})
            big["annotations"] += [{**a, "image_id": new} for a in gt["annotations"]
                                   if a["image_id"] == fid]
            big_preds += [{**p, "image_id": new} for p in preds if p["image_id"] == fid]
    _assert_same(prepared.resampled(weights), evaluate("posetrack-map", big, big_preds).stats,
                 1e-9)


# ---------------------------------------------------------------------------- building blocks


def _square(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def test_point_in_polygon_matches_shapely_on_edges_vertices_and_near_misses() -> None:
    shapely = pytest.importorskip("shapely")
    rng = np.random.default_rng(0)
    polys = [_square(0, 0, 10, 10), _square(0, 0, 10, 10)[::-1],  # both orientations
             np.array([[0, 0], [10, 0], [0, 10], [10, 10]]),  # self-intersecting bow tie
             np.array([[0, 0], [4, 0], [4, 4], [4, 4], [0, 4], [0, 0]]),  # repeated, closed
             np.array([[0.1, 0.3], [7.7, 0.2], [9.9, 5.5], [3.3, 9.1], [5.0, 4.0]]),
             np.array([[0, 0], [5, 5], [10, 10]])]  # degenerate: no interior
    for poly in polys:
        edges = np.column_stack([poly, np.roll(poly, -1, axis=0)])
        t = rng.uniform(0, 1, (200, 1))
        on = edges[:, :2][rng.integers(0, len(poly), 200)] * (1 - t) \
            + edges[:, 2:][rng.integers(0, len(poly), 200)] * t
        pts = np.vstack([rng.uniform(-1, 11, (300, 2)), poly, on,
                         np.nextafter(poly, np.inf), np.nextafter(poly, -np.inf),
                         [[5, 5], [0, 5], [10, 5], [5, 0], [5, 10], [-0.0, 3], [3, 10.0]]])
        ref = shapely.contains_xy(shapely.Polygon(poly), pts[:, 0], pts[:, 1]) \
            if len(np.unique(poly, axis=0)) >= 3 else np.zeros(len(pts), bool)
        assert strictly_inside(pts, poly).tolist() == ref.tolist()


def test_points_are_only_tested_against_their_own_groups_rings() -> None:
    rng = np.random.default_rng(1)
    rings = [_square(0, 0, 10, 10), _square(5, 5, 20, 20), _square(0, 0, 3, 3), _square(2, 2, 4, 4)]
    ring_group = np.array([0, 0, 2, 5])
    pts = rng.uniform(-2, 22, (2000, 2))
    group = rng.integers(0, 6, 2000)
    flat = np.concatenate(rings)
    got = inside_rings(pts[:, 0], pts[:, 1], group, flat[:, 0], flat[:, 1], np.array([4, 4, 4, 4]),
                       ring_group)
    want = np.zeros(len(pts), dtype=bool)
    for g in range(6):
        mine = [r for r, rg in zip(rings, ring_group) if rg == g]
        want[group == g] = inside_any(pts[group == g], mine)
    assert np.array_equal(got, want) and got.any()


def test_group_boxes_bound_each_groups_rings() -> None:
    rings = [_square(0, 0, 10, 10), _square(5, -5, 20, 2), np.array([[0, 0], [9, 9]]),
             _square(-3, 4, -1, 6)]
    flat = np.concatenate(rings)
    box = group_boxes(flat[:, 0], flat[:, 1], np.array([4, 4, 2, 4]), np.array([2, 2, 1, 0]), 4)
    assert box[:, 2].tolist() == [0, -5, 20, 10]
    assert box[:, 0].tolist() == [-3, 4, -1, 6]
    assert box[:, 1].tolist() == [np.inf, np.inf, -np.inf, -np.inf]  # a 2-point ring: none
    assert np.isinf(box[:, 3]).all()


def test_orientation_is_exact_where_doubles_are_not() -> None:
    """Points within rounding distance of a long edge's line: the double determinant has the
    wrong sign or zero for some; the orientation must equal the rational one."""
    rng = np.random.default_rng(2)
    n = 3000
    ax, ay = rng.uniform(0, 1e3, n), rng.uniform(0, 1e3, n)
    bx, by = ax + rng.uniform(1, 1e4, n), ay + rng.uniform(1, 1e4, n)
    t = rng.uniform(0, 1, n)
    px = ax + t * (bx - ax)
    py = ay + t * (by - ay)
    py = py + rng.integers(-2, 3, n) * np.spacing(py)
    got = orientation(ax, ay, bx, by, px, py)
    want = []
    for v in zip(ax, ay, bx, by, px, py):
        f = [Fraction(float(x)) for x in v]
        d = (f[2] - f[0]) * (f[5] - f[1]) - (f[3] - f[1]) * (f[4] - f[0])
        want.append((d > 0) - (d < 0))
    naive = np.sign((bx - ax) * (py - ay) - (by - ay) * (px - ax))
    assert got.tolist() == want
    assert (naive != np.array(want)).any()  # the case exists


def test_vectorised_head_sizes_are_poseval_bits() -> None:
    rng = np.random.default_rng(3)
    boxes = np.column_stack([rng.uniform(0, 1920, 2000), rng.uniform(0, 1080, 2000),
                             rng.uniform(1, 90, 2000), rng.uniform(1, 90, 2000)])
    assert np.array_equal(head_sizes(boxes), [head_size(b) for b in boxes.tolist()])


def test_curve_hits_counts_every_threshold() -> None:
    rng = np.random.default_rng(4)
    scaled = rng.choice([*CURVE, *rng.uniform(0, 0.6, 20), np.nan, np.inf], (500, 16))
    labelled = rng.random((500, 16)) < 0.9
    brute = np.array([((scaled <= t) & labelled).sum(axis=0) for t in CURVE])
    assert np.array_equal(curve_hits(first_hits(scaled, labelled)), brute)


@pytest.mark.parametrize("ids", [[5, 3, 9, 1], ["a", "b", 3, 4.0], [7, 7, 2, 9],
                                 [2 ** 70, 1, 2, 3]])
def test_image_positions_equal_the_dict_lookup(ids: list) -> None:
    """The vectorised id -> position look-up (distinct integer ids) and the dict fallback
    agree with ``image_index`` (last position wins for a duplicated id)."""
    gt = load_ground_truth({"images": [{"id": i} for i in ids], "annotations": []})
    queries = [ids[2], ids[0], ids[3], ids[0], ids[1]]
    want = [gt.image_index[q] for q in queries]
    assert gt.image_positions_of(queries).tolist() == want
    assert gt.image_positions_of([*queries, "nope"], missing=-1).tolist() == [*want, -1]
    with pytest.raises(KeyError):
        gt.image_positions_of([*queries, 123456])


def test_stable_argsort_is_numpys_stable_order() -> None:
    rng = np.random.default_rng(6)
    for top in (3, 70_000, 2 ** 40, 2 ** 62):
        keys = rng.integers(0, top, 5000)
        keys[::7] = keys[0]  # ties
        assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))
    keys = rng.integers(-5, 5, 100)  # negative keys: numpy's own sort
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_pack_rows_checks_while_converting() -> None:
    rows = [[1.5, 2, True], [0.0, -3.25, 1e300]]
    assert pack_rows(rows, 3).tolist() == [[1.5, 2.0, 1.0], [0.0, -3.25, 1e300]]
    for bad in ([[1.0, "2", 3.0]], [[1.0, None, 3.0]], [[1.0, 2.0]], [[1.0, [2.0], 3.0]],
                [[10 ** 400, 1.0, 2.0]]):
        with pytest.raises(ValueError):
            pack_rows(bad, 3)
        assert bad_row(bad, 3) == 0
    assert np.isnan(pack_rows([[float("nan"), 0.0, 0.0]], 3)).any()


@pytest.mark.parametrize("protocol", ["mvor-pck", "mpii-pckh", "posetrack-map"])
def test_string_numbers_are_rejected_not_parsed(protocol: str) -> None:
    layout = {"mvor-pck": MVOR10, "mpii-pckh": MPII16, "posetrack-map": POSETRACK17}[protocol]
    gt = {"images": [{"id": 1}], "annotations": [], "categories": [layout.coco_category(1)]}
    k = 16 if protocol == "mpii-pckh" else 17
    good = {"image_id": 1, "category_id": 1, "keypoints": [1.0, 2.0, 0.5] * k, "score": 0.5}
    for bad, message in (({**good, "score": "0.5"}, "score"),
                         ({**good, "keypoints": ["1", *good["keypoints"][1:]]}, "non-numeric")):
        with pytest.raises(EvaluationInputError, match=message):
            evaluate(protocol, gt, [good, bad])


def test_bad_ground_truth_keypoints_name_the_annotation() -> None:
    gt, preds = synthetic.mvor_dataset(5, seed=0)
    broken = copy.deepcopy(gt)
    target = next(a for a in broken["annotations"] if a["only_bbox"] == 0)
    target["keypoints"][4] = "x"
    with pytest.raises(EvaluationInputError, match=f"annotation id {target['id']}.*non-numeric"):
        evaluate("mvor-pck", broken, preds)
    gt, preds = synthetic.posetrack_dataset(5, seed=0)
    del gt["annotations"][2]["bbox_head"]
    with pytest.raises(EvaluationInputError, match=f"annotation id {gt['annotations'][2]['id']}"
                                                   ".*bbox_head"):
        evaluate("posetrack-map", gt, preds)
