"""Bootstrap intervals and paired comparisons, for every protocol."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmark.evaluation import PROTOCOLS, compare, evaluate, mpii_mat_to_coco
from benchmark.evaluation.inputs import load_ground_truth
from benchmark.evaluation.protocols import get_protocol
from tests.evaluation.conftest import perturb
from tests.evaluation.test_mvor import perfect_prediction
from tests.evaluation.test_posetrack import perfect


def _jitter(preds: list[dict], seed: int, sigma: float, k: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = copy.deepcopy(preds)
    for p in out:
        kp = np.asarray(p["keypoints"]).reshape(k, 3)
        kp[:, :2] += rng.normal(0, sigma, (k, 2)) * (kp[:, :2] != 0).any(axis=1)[:, None]
        p["keypoints"] = kp.ravel().tolist()
        p["score"] = float(rng.uniform())
    return out


@pytest.fixture(scope="module")
def inputs(real_fixtures: Path) -> dict[str, Callable[[int], tuple[object, list[dict]]]]:
    """protocol -> seed -> (ground truth, a realistic imperfect prediction set)."""
    x = real_fixtures / "xtcocoapi/annotations"
    d = real_fixtures / "mmpose/tests/data"
    coco = json.loads((d / "coco/test_coco.json").read_text())
    crowd = json.loads((x / "example_crowdpose_val.json").read_text())
    mvor = json.loads((real_fixtures / "mvor/annotations/camma_mvor_2018.json").read_text())
    mvor_preds = [perfect_prediction(a, 0.5) for a in mvor["annotations"]
                  if a["only_bbox"] == 0 and any(a["keypoints"])]
    mpii = mpii_mat_to_coco(real_fixtures / "mpii/gt_valid.mat")
    mpii_preds = [{"image_id": a["image_id"], "category_id": 1, "score": 1.0,
                   "keypoints": a["keypoints"]} for a in mpii["annotations"]]
    pt = json.loads((d / "posetrack18/annotations/test_posetrack18_val.json").read_text())
    return {
        "coco": lambda s: (coco, perturb(coco, s)),
        "crowdpose": lambda s: (crowd, perturb(crowd, s)),
        "mvor-pck": lambda s: (mvor, _jitter(mvor_preds, s, 8.0 + 8 * s, 17)),
        "mpii-pckh": lambda s: (mpii, _jitter(mpii_preds, s, 6.0 + 6 * s, 16)),
        "posetrack-map": lambda s: (pt, _jitter(perfect(pt), s, 15.0 + 15 * s, 17)),
    }


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_identity_resample_reproduces_the_reference_numbers(inputs: dict, protocol: str
                                                            ) -> None:
    gt, preds = inputs[protocol](0)
    prepared = get_protocol(protocol).prepare(load_ground_truth(gt), preds, None)
    point = prepared.point()
    again = prepared.resampled(np.ones(prepared.n_units, dtype=np.int64))
    assert again.keys() == point.keys()
    assert all(a == b or (np.isnan(a) and np.isnan(b)) for a, b in
               zip(again.values(), point.values()))


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_intervals_contain_the_estimate_and_follow_the_seed(inputs: dict, protocol: str
                                                            ) -> None:
    gt, preds = inputs[protocol](0)
    res = evaluate(protocol, gt, preds, bootstrap=60, seed=3)
    lo, hi = res.intervals[res.headline]
    assert lo <= res.value <= hi and lo < hi
    assert res.intervals.keys() == res.stats.keys()
    assert evaluate(protocol, gt, preds, bootstrap=60, seed=3).intervals == res.intervals
    assert evaluate(protocol, gt, preds, bootstrap=60, seed=4).intervals != res.intervals
    out = res.to_dict()
    assert out["bootstrap"] == {"resamples": 60, "seed": 3, "confidence": 0.95}
    assert out["intervals"][res.headline] == [lo, hi]


def test_weights_equal_a_materialised_resample(inputs: dict) -> None:
    """For PCK, resampling weights are exact: weighted sums = the duplicated dataset."""
    gt, preds = inputs["mvor-pck"](1)
    prepared = get_protocol("mvor-pck").prepare(load_ground_truth(gt), preds, None)
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 3, prepared.n_units)
    # units are the GT images holding evaluated persons, in file order
    with_persons = sorted({a["image_id"] for a in gt["annotations"]
                           if a["only_bbox"] == 0 and any(a["keypoints"])},
                          key=[i["id"] for i in gt["images"]].index)
    big = {"images": [], "annotations": [], "categories": gt["categories"]}
    big_preds = []
    for image_id, w in zip(with_persons, weights):
        for c in range(w):
            new = image_id * 10 + c
            big["images"].append({"id": new})
            big["annotations"] += [{**a, "image_id": new} for a in gt["annotations"]
                                   if a["image_id"] == image_id]
            big_preds += [{**p, "image_id": new} for p in preds if p["image_id"] == image_id]
    ref = evaluate("mvor-pck", big, big_preds).stats
    got = prepared.resampled(weights)
    np.testing.assert_allclose([got[k] for k in ref], list(ref.values()), atol=1e-9)


def test_compare_a_with_itself(inputs: dict) -> None:
    gt, preds = inputs["coco"](0)
    out = compare("coco", gt, preds, preds, bootstrap=50)
    assert out["difference"] == 0.0 and out["interval"] == [0.0, 0.0] and out["p_value"] == 1.0
    assert out["a"] == out["b"] == evaluate("coco", gt, preds).value


@pytest.mark.parametrize("protocol", ["mvor-pck", "mpii-pckh"])
def test_compare_detects_a_worse_prediction_set(inputs: dict, protocol: str) -> None:
    gt, better = inputs[protocol](0)
    _, worse = inputs[protocol](1)
    out = compare(protocol, gt, better, worse, bootstrap=200, seed=1)
    assert out["difference"] == pytest.approx(out["b"] - out["a"])
    assert out["difference"] < 0 and out["interval"][1] < 0
    assert out["p_value"] < 0.05
    assert compare(protocol, gt, better, worse, bootstrap=200, seed=1) == out
    assert out["a"] == evaluate(protocol, gt, better).value


def test_compare_on_three_frames_is_inconclusive(inputs: dict) -> None:
    """PoseTrack's sample has 3 frames: the difference is clear, its significance is not."""
    gt, better = inputs["posetrack-map"](0)
    _, worse = inputs["posetrack-map"](1)
    out = compare("posetrack-map", gt, better, worse, bootstrap=100)
    assert out["difference"] < 0 and out["interval"][0] < out["difference"]
    assert out["interval"][1] <= 0 and out["p_value"] > 0.01


def test_compare_without_bootstrap_gives_only_the_difference(inputs: dict) -> None:
    gt, preds = inputs["crowdpose"](0)
    _, other = inputs["crowdpose"](1)
    out = compare("crowdpose", gt, preds, other, bootstrap=0)
    assert out["interval"] is None and out["p_value"] is None
    assert out["difference"] == pytest.approx(out["b"] - out["a"])


class _MeanOfUnits:
    """A minimal :class:`~benchmark.evaluation.base.Prepared`: the statistic is the weighted
    mean of one value per unit, so each resample's value can be recomputed independently."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, dtype=float)
        self.n_units = len(self.values)

    def point(self) -> dict[str, float]:
        return {"m": float(self.values.mean())}

    def resampled(self, weights: np.ndarray) -> dict[str, float]:
        return {"m": float(np.average(self.values, weights=weights))}


def test_percentile_interval_is_the_central_95_percent() -> None:
    """0..1000: numpy's linear percentiles 2.5 and 97.5 are exactly 25 and 975 (a 5 % or 90 %
    interval would give 50 / 950); undefined (negative, NaN) resamples are left out."""
    from benchmark.evaluation.bootstrap import percentile_interval

    # 100 * (1 - 0.95) / 2 is 2.500000000000002 in floats: hence approx, not ==
    assert percentile_interval(np.arange(1001.0)) == pytest.approx((25.0, 975.0), abs=1e-9)
    with_undefined = np.concatenate([np.arange(1001.0), [-1.0, np.nan, -1.0]])
    assert percentile_interval(with_undefined) == pytest.approx((25.0, 975.0), abs=1e-9)


def test_interval_rebuilt_from_independently_drawn_resamples() -> None:
    """Same seed, same resampling (numpy's default_rng, ``integers(0, n, n)`` per resample):
    the interval is numpy's 2.5 / 97.5 percentiles of the recomputed statistic, and the paired
    difference's interval likewise. A skewed sample makes 2.5 and 5 clearly different."""
    from benchmark.evaluation.bootstrap import intervals, paired_difference

    values = np.random.default_rng(3).exponential(1.0, 60) ** 2
    a, b = _MeanOfUnits(values), _MeanOfUnits(values * 1.5 + 0.1)
    seed, n = 11, 400
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(values), size=len(values)) for _ in range(n)]
    stat_a = np.array([values[d].mean() for d in draws])
    stat_b = np.array([(values[d] * 1.5 + 0.1).mean() for d in draws])
    lo, hi = np.percentile(stat_a, [2.5, 97.5])
    assert np.percentile(stat_a, 5) - lo > 0.01  # the boundary matters for this sample
    got = intervals(a, n, seed)["m"]
    assert got == pytest.approx((lo, hi), rel=1e-12, abs=0)
    diff = paired_difference(a, b, "m", n, seed)
    want = np.percentile(stat_b - stat_a, [2.5, 97.5])
    assert diff["interval"] == pytest.approx(list(want), rel=1e-12, abs=0)
    assert diff["difference"] == pytest.approx(b.point()["m"] - a.point()["m"])
    # two-sided p from the docstring's formula: every resampled difference is > 0 here
    deltas = stat_b - stat_a
    tail = min(np.count_nonzero(deltas <= 0) + 1, np.count_nonzero(deltas >= 0) + 1)
    assert tail == 1 and diff["p_value"] == pytest.approx(2 * tail / (n + 1), rel=1e-12)


def test_replicates_report_the_sample_standard_deviation(real_fixtures: Path) -> None:
    """``std`` is the across-replicate sample standard deviation (ddof 1) of the per-set
    values ``evaluate`` gives; ``stats`` their mean."""
    from benchmark.evaluation.api import replicates

    gt = json.loads((real_fixtures / "mmpose/tests/data/coco/test_coco.json").read_text())
    preds = [perturb(gt, seed) for seed in (1, 2, 3)]
    out = replicates("coco", gt, preds, bootstrap=0)
    ap = [evaluate("coco", gt, p, bootstrap=0).stats["AP"] for p in preds]
    assert len(set(ap)) == 3
    assert out["std"]["AP"] == pytest.approx(float(np.std(ap, ddof=1)), rel=1e-12)
    assert out["stats"]["AP"] == pytest.approx(float(np.mean(ap)), rel=1e-12)


def test_sum_by_unit_keeps_the_shape_of_no_units() -> None:
    """No rows: an empty sum per unit with the trailing shape of the values."""
    from benchmark.evaluation.base import sum_by_unit

    empty = sum_by_unit(np.zeros((0, 2, 16)), np.zeros(0, dtype=np.int64))
    assert empty.shape == (0, 2, 16)
    rows = sum_by_unit(np.arange(6.0).reshape(3, 2), np.array([2, 0, 2]))
    assert rows.tolist() == [[2.0, 3.0], [4.0, 6.0]]


def test_result_json_states_the_interval_level(real_fixtures: Path) -> None:
    """The JSON result names the confidence of its intervals: 0.95, the level they are."""
    from benchmark.evaluation.bootstrap import LEVEL

    gt = json.loads((real_fixtures / "mmpose/tests/data/coco/test_coco.json").read_text())
    res = evaluate("coco", gt, perturb(gt, 1), bootstrap=5, seed=0)
    assert res.to_dict()["bootstrap"] == {"resamples": 5, "seed": 0, "confidence": 0.95}
    assert LEVEL == 0.95
