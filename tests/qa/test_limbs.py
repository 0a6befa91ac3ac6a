"""Limb lengths against robust statistics, and the pose-outlier shape model."""

from __future__ import annotations

import copy

import numpy as np

from benchmark.datasets.layouts import COCO17, MVOR10
from benchmark.qa import run_qa
from tests.qa.synth import crowd, flags_of, kpts_of, replace_kpts

WRIST, ELBOW = COCO17.index["left_wrist"], COCO17.index["left_elbow"]


def test_far_too_long_forearm_is_flagged_with_its_link() -> None:
    data = crowd(6)
    kp = kpts_of(data, 3)
    forearm = kp[WRIST, :2] - kp[ELBOW, :2]
    kp[WRIST, :2] = kp[ELBOW, :2] + 3.0 * forearm  # three forearms long, straight down
    report = run_qa(replace_kpts(data, 3, kp), COCO17)
    assert "limb_length" in flags_of(report, 3)
    assert report.table.loc[2, "limb_worst"] == "left_elbow-left_wrist"
    assert report.table.loc[2, "limb_worst_z"] > 5
    assert report.table.loc[2, "fixed"] == ""  # which joint is wrong is unknown: flag only


def test_small_file_uses_priors_large_file_its_own_statistics(mvor_report) -> None:
    small = run_qa(crowd(6), COCO17)
    assert set(small.limb_stats["source"]) == {"prior"}
    stats = mvor_report.limb_stats.set_index("link")
    assert set(stats["source"]) == {"file"}
    # MVOR measured on itself, in person-scale units (torso side = 1 by construction)
    assert abs(stats.loc["left_shoulder-left_hip", "median_length"] - 1.0) < 0.02
    assert 0.5 < stats.loc["left_shoulder-left_elbow", "median_length"] < 0.75
    # many MVOR forearms are collapsed (occluded wrists parked on the elbow): a wide lower tail
    assert stats.loc["left_elbow-left_wrist", "sigma_below_log"] > 1.0


def test_clean_mvor_flag_rates_are_low(mvor_report) -> None:
    counts = mvor_report.summary["flag_counts"]
    skeletons = mvor_report.summary["skeletons"]
    assert skeletons == 2926
    assert counts["limb_length"] / skeletons < 0.015
    assert counts["pose_outlier"] / skeletons < 0.035
    assert counts["lr_swap"] / skeletons < 0.01
    assert counts["duplicate"] == 0


def test_pose_outlier_catches_a_head_moved_sideways(mvor: dict, mvor_report) -> None:
    table = mvor_report.table
    row = table[(table["n_labelled"] == 10) & (table["flags"] == "")].iloc[0]
    data = copy.deepcopy(mvor)
    ann = next(a for a in data["annotations"] if a["id"] == row["ann_id"])
    kp = np.asarray(ann["keypoints"], float).reshape(10, 3)
    kp[MVOR10.index["head"], 0] += 1.2 * row["person_scale"]
    ann["keypoints"] = kp.reshape(-1).tolist()
    report = run_qa(data, MVOR10)
    moved = report.table[report.table["ann_id"] == row["ann_id"]].iloc[0]
    assert "pose_outlier" in moved["flags"]
    assert moved["pose_worst"] == "head"
    assert np.isnan(run_qa(crowd(6), COCO17).table["pose_distance"]).all()  # too few to fit
