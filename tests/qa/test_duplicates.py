"""Two annotations of one person in one image."""

from __future__ import annotations

import copy

import numpy as np

from benchmark.datasets.layouts import COCO17
from benchmark.qa import run_qa
from tests.qa.synth import ann, coco, crowd, flags_of, kpts_of, person


def _with_copy(jitter: float) -> dict:
    data = crowd(4)
    twin = copy.deepcopy(data["annotations"][2])
    twin["id"] = 99
    kp = np.asarray(twin["keypoints"]).reshape(17, 3)
    kp[:, :2] += jitter * np.random.default_rng(0).normal(size=(17, 2))
    twin["keypoints"] = kp.reshape(-1).tolist()
    data["annotations"].append(twin)
    return data


def test_exact_duplicate_is_flagged_and_dropped() -> None:
    report = run_qa(_with_copy(0.0), COCO17)
    assert flags_of(report, 99) == {"duplicate"}
    assert flags_of(report, 3) == set()  # the first copy is the original
    row = report.table[report.table["ann_id"] == 99].iloc[0]
    assert row["duplicate_of"] == 3 and row["duplicate_oks"] == 1.0 and row["exact_duplicate"]
    assert [a["id"] for a in report.corrected["annotations"]] == [1, 2, 3, 4]
    assert report.fixes[-1]["fix"] == "dropped_exact_duplicate"


def test_near_duplicate_is_flagged_but_kept() -> None:
    report = run_qa(_with_copy(3.0), COCO17)  # a second annotator, 3 px of click noise
    assert flags_of(report, 99) == {"duplicate"}
    row = report.table[report.table["ann_id"] == 99].iloc[0]
    assert 0.9 < row["duplicate_oks"] < 1.0 and not row["exact_duplicate"]
    assert 99 in [a["id"] for a in report.corrected["annotations"]]


def test_two_people_side_by_side_are_not_duplicates() -> None:
    data = coco(ann(1, 1, person(300, 100, 400)), ann(2, 1, person(420, 110, 390)))
    report = run_qa(data, COCO17)
    assert report.summary["flag_counts"]["duplicate"] == 0
    assert report.table["duplicate_oks"].max() < 0.2


def test_same_place_in_another_image_is_not_a_duplicate() -> None:
    data = coco(ann(1, 1, person(300, 100, 400)), ann(2, 2, person(300, 100, 400)))
    assert run_qa(data, COCO17).summary["flag_counts"]["duplicate"] == 0
    assert kpts_of(data, 1).tolist() == kpts_of(data, 2).tolist()
