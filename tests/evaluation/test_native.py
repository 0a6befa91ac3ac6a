"""The compiled helpers (``_records.c``, ``_kernels.c``) against their numpy counterparts.

Their contract: they accept a subset of what the Python path accepts, and whatever they accept
they turn into the same doubles; whatever they refuse goes through the Python path. So for any
input, reading or evaluating it gives the same arrays, the same numbers or the same error with
and without them. The engines' own tests run in both modes (the ``engine_mode`` fixture); here
the edge cases of the input rules are compared directly.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import pytest

from benchmark.datasets.layouts import COCO17
from benchmark.evaluation import EvaluationInputError, evaluate, native
from benchmark.evaluation.inputs import load_ground_truth, load_predictions, pack_rows, read_table
from tests.evaluation import references, synthetic


def test_native_modules_are_built() -> None:
    """`make install` compiles both (the speed of mvor-pck and mpii-pckh depends on them)."""
    assert native.records is not None, "benchmark/evaluation/_records.c is not built"
    assert native.kernels is not None, "benchmark/evaluation/_kernels.c is not built"


@contextmanager
def numpy_only() -> Iterator[None]:
    saved = native.records, native.kernels
    native.records = native.kernels = None
    try:
        yield
    finally:
        native.records, native.kernels = saved


def both(fn: Callable[[], Any]) -> tuple[Any, Any]:
    """``fn()`` with the native helpers and with numpy only: a result or the error message."""
    out = []
    for ctx in (nullcontext(), numpy_only()):
        with ctx:
            try:
                out.append(("ok", fn()))
            except (EvaluationInputError, ValueError) as exc:
                out.append(("error", f"{type(exc).__name__}: {exc}"))
    return out[0], out[1]


def _same(a: Any, b: Any) -> None:
    assert a[0] == b[0], (a, b)
    if a[0] == "error":
        assert a[1] == b[1]
    elif isinstance(a[1], dict):
        assert a[1].keys() == b[1].keys()
        for key in a[1]:
            x, y = a[1][key], b[1][key]
            assert x == y or (math.isnan(x) and math.isnan(y)), key
    else:
        for x, y in zip(a[1], b[1]):
            assert (x is None and y is None) or np.array_equal(x, y, equal_nan=True)


def _mvor_case() -> tuple[dict, list[dict]]:
    return synthetic.mvor_dataset(40, seed=11)


#: One odd prediction record each, put in the middle of a valid list.
ODD_PREDICTIONS: dict[str, Callable[[dict], Any]] = {
    "not a dict": lambda r: [r["keypoints"]],
    "missing score": lambda r: {k: v for k, v in r.items() if k != "score"},
    "keypoints tuple": lambda r: {**r, "keypoints": tuple(r["keypoints"])},
    "keypoints string": lambda r: {**r, "keypoints": "1,2,3"},
    "short keypoints": lambda r: {**r, "keypoints": r["keypoints"][:-3]},
    "int keypoints": lambda r: {**r, "keypoints": [int(v) for v in r["keypoints"]]},
    "bool keypoint": lambda r: {**r, "keypoints": [True, *r["keypoints"][1:]]},
    "numpy float32": lambda r: {**r, "keypoints": [np.float32(1.5), *r["keypoints"][1:]]},
    "numpy float64": lambda r: {**r, "keypoints": [np.float64(1.5), *r["keypoints"][1:]]},
    "huge int": lambda r: {**r, "keypoints": [10 ** 400, *r["keypoints"][1:]]},
    "nan keypoint": lambda r: {**r, "keypoints": [math.nan, *r["keypoints"][1:]]},
    "inf score": lambda r: {**r, "score": math.inf},
    "string score": lambda r: {**r, "score": "0.5"},
    "int score": lambda r: {**r, "score": 1},
    "unknown image": lambda r: {**r, "image_id": -12345},
    "unhashable image id": lambda r: {**r, "image_id": [1]},
    "other category": lambda r: {**r, "category_id": 99},
    "all absent": lambda r: {**r, "keypoints": [0.0] * len(r["keypoints"])},
    "negative zero": lambda r: {**r, "keypoints": [-0.0, 0.0, 1.0, *r["keypoints"][3:]]},
}


@pytest.mark.parametrize("case", sorted(ODD_PREDICTIONS))
def test_odd_predictions_read_and_score_the_same(case: str) -> None:
    gt, preds = _mvor_case()
    preds = copy.deepcopy(preds)
    preds[len(preds) // 2] = ODD_PREDICTIONS[case](preds[len(preds) // 2])
    g = load_ground_truth(gt)

    def read() -> tuple:
        p = load_predictions(preds, g, COCO17.num_keypoints, {1}, arrays=True, boxes=True)
        return p.keypoints, p.scores, p.image_positions(g), p.present_boxes

    _same(*both(read))
    _same(*both(lambda: evaluate("mvor-pck", gt, preds).stats))


#: One odd ground-truth annotation each (MVOR layout).
ODD_ANNOTATIONS: dict[str, Callable[[dict], dict]] = {
    "keypoints None": lambda a: {**a, "keypoints": None},
    "keypoints empty": lambda a: {**a, "keypoints": []},
    "no keypoints key": lambda a: {k: v for k, v in a.items() if k != "keypoints"},
    "keypoints string": lambda a: {**a, "keypoints": "abc"},
    "short keypoints": lambda a: {**a, "keypoints": a["keypoints"][:-3]},
    "int keypoints": lambda a: {**a, "keypoints": [int(v) for v in a["keypoints"]]},
    "only_bbox True": lambda a: {**a, "only_bbox": True},
    "only_bbox None": lambda a: {**a, "only_bbox": None},
    "only_bbox string": lambda a: {**a, "only_bbox": "0"},
    "only_bbox float": lambda a: {**a, "only_bbox": 0.0},
    "unknown image": lambda a: {**a, "image_id": -1},
    "bad keypoints on only_bbox": lambda a: {**a, "only_bbox": 1, "keypoints": "abc"},
    "nothing labelled": lambda a: {**a, "keypoints": [0] * len(a["keypoints"])},
}


@pytest.mark.parametrize("case", sorted(ODD_ANNOTATIONS))
def test_odd_mvor_annotations_score_the_same(case: str) -> None:
    gt, preds = _mvor_case()
    gt = copy.deepcopy(gt)
    anns = gt["annotations"]
    i = next(i for i, a in enumerate(anns) if a.get("only_bbox", 0) == 0 and any(a["keypoints"]))
    anns[i] = ODD_ANNOTATIONS[case](anns[i])
    _same(*both(lambda: evaluate("mvor-pck", gt, preds).stats))


@pytest.mark.parametrize("case", ["head_box None", "no head_box", "short head_box",
                                  "head_box ints", "keypoints tuple", "zero head box"])
def test_odd_mpii_annotations_score_the_same(case: str) -> None:
    gt, preds, _ = synthetic.mpii_dataset(30, seed=5)
    gt = copy.deepcopy(gt)
    a = gt["annotations"][7]
    change = {"head_box None": {"head_box": None}, "short head_box": {"head_box": [1, 2, 3]},
              "head_box ints": {"head_box": [int(v) for v in a["head_box"]]},
              "keypoints tuple": {"keypoints": tuple(a["keypoints"])},
              "zero head box": {"head_box": [5.0, 5.0, 5.0, 5.0]}}.get(case, {})
    a.update(change)
    if case == "no head_box":
        del a["head_box"]
    _same(*both(lambda: evaluate("mpii-pckh", gt, preds).stats))


def test_read_table_rules() -> None:
    """Absent: no key or an empty list; present: `width` numbers, or a bare number for width
    1; anything else (None included) is refused, and the caller's slow path decides."""
    index = {10: 0, 20: 1}
    records = [{"image_id": 10, "kp": [1, 2.5, 3], "flag": 1},
               {"image_id": 30, "kp": [], "flag": [2.0]},
               {"image_id": 20}]
    for ctx in (nullcontext(), numpy_only()):
        with ctx:
            pos, cols = read_table(records, "image_id", index, {"kp": 3, "flag": 1}, {"kp"})
            assert pos.tolist() == [0, -1, 1]
            assert cols["kp"].rows.tolist() == [[1, 2.5, 3], [0, 0, 0], [0, 0, 0]]
            assert cols["kp"].present.tolist() == [True, False, False]
            assert cols["kp"].boxes.tolist()[0] == [1, 2.5, 1, 2.5]
            assert np.isnan(cols["kp"].boxes[1:]).all()
            assert cols["flag"].rows[:, 0].tolist() == [1, 2, 0]
            assert cols["flag"].present.tolist() == [True, True, False]
            for bad in ({"image_id": 10, "kp": None}, {"image_id": 10, "kp": [1, 2]},
                        {"image_id": 10, "kp": ["1", 2, 3]}, [1, 2, 3]):
                assert read_table([*records, bad], "image_id", index, {"kp": 3}) is None


@pytest.mark.parametrize("rows", [
    [[1, 2.5, -0.0], [np.float32(0.5), True, 10 ** 20]],
    [[1, 2, 3], [4, 5]],
    [[1, 2, 3], [4, "5", 6]],
    [[1, 2, 3], None],
    [[math.nan, math.inf, -math.inf]],
    [(1, 2, 3), range(3)],
    [[1, 2, 10 ** 400]],
])
def test_pack_rows_is_the_same_either_way(rows: list) -> None:
    _same(*both(lambda: (pack_rows(rows, 3),)))


def test_kernels_equal_numpy_on_dense_random_sets() -> None:
    """Many persons per image, exact and 1e-7 score ties, predictions without joints: the
    native matching, joint test and PCKh equal the numpy functions bit for bit."""
    for seed in range(3):
        mvor_gt, mvor_preds = synthetic.mvor_dataset(300, seed=seed)
        mpii_gt, mpii_preds, _ = synthetic.mpii_dataset(2000, seed=seed)
        for protocol, gt, preds in (("mvor-pck", mvor_gt, mvor_preds),
                                    ("mpii-pckh", mpii_gt, mpii_preds)):
            _same(*both(lambda p=protocol, g=gt, r=preds: evaluate(p, g, r).stats))


def test_mvor_kernels_equal_numpy_on_native_predictions() -> None:
    """Predictions in MVOR's 10 joints (stride 10 in the kernels, identity source table):
    the same bits either way, and the adapted reference's numbers."""
    for seed in range(2):
        gt, coco = synthetic.mvor_dataset(300, seed=seed)
        native_preds = [{**p, "keypoints": [v for q in references._mvor_from_coco(p["keypoints"])
                                            for v in ((*q, 1.0) if q else (0.0, 0.0, 0.0))]}
                        for p in coco]
        a, b = both(lambda g=gt, r=native_preds: evaluate("mvor-pck", g, r).stats)
        _same(a, b)
        ref = references.mvor_pck(gt, native_preds, layout="mvor10")
        np.testing.assert_allclose([a[1][k] for k in ref], list(ref.values()), atol=1e-9)


class _Hostile:
    """An image id whose hash empties the list being read (what a careless C loop would not
    survive)."""

    def __init__(self, victim: list) -> None:
        self.victim = victim

    def __hash__(self) -> int:
        self.victim.clear()
        return 1

    def __eq__(self, other: object) -> bool:
        return True  # found: the loop goes on to the next record


def test_native_readers_survive_a_list_changed_by_hashing() -> None:
    assert native.records is not None
    records = [{"image_id": 1, "category_id": 1, "keypoints": [1.0, 2.0, 1.0], "score": 0.5}
               for _ in range(4)]
    records[1]["image_id"] = _Hostile(records)
    with pytest.raises(RuntimeError, match="changed size"):
        native.records.gather(records, 3, {1: 0}, None, np.empty((4, 3)), np.empty(4),
                              np.empty(4, dtype=np.int64), None)
    records = [{"image_id": 1, "kp": [1.0, 2.0, 1.0]} for _ in range(4)]
    records[1]["image_id"] = _Hostile(records)
    with pytest.raises(RuntimeError, match="changed size"):
        native.records.table(records, "image_id", {1: 0}, np.empty(4, dtype=np.int64),
                             [("kp", 3, np.empty((4, 3)), np.empty(4, dtype=np.int64))])
    images = [{"id": 1}, {"id": 2}, {"id": 3}]
    images[0]["id"] = _Hostile(images)
    with pytest.raises(RuntimeError, match="changed size"):
        native.records.index_of(images, "id")
