"""Keypoints outside the image or well outside the person's box."""

from __future__ import annotations

import json

from benchmark.datasets.layouts import COCO17, POSETRACK17
from benchmark.qa import run_qa
from tests.qa.synth import crowd, flags_of, kpts_of, replace_kpts

NOSE, ANKLE = COCO17.index["nose"], COCO17.index["left_ankle"]


def test_outside_image_is_flagged_and_zeroed() -> None:
    data = crowd(4)
    kp = kpts_of(data, 1)
    kp[ANKLE, 1] = 812.0  # image height is 800
    report = run_qa(replace_kpts(data, 1, kp), COCO17)
    assert "outside_image" in flags_of(report, 1)
    assert report.table.loc[0, "outside_image_joints"] == "left_ankle"
    fixed = next(a for a in report.corrected["annotations"] if a["id"] == 1)
    assert fixed["keypoints"][3 * ANKLE:3 * ANKLE + 3] == [0, 0, 0]
    assert fixed["num_keypoints"] == 16


def test_on_the_border_is_inside() -> None:
    data = crowd(4)
    kp = kpts_of(data, 1)
    kp[ANKLE, 1] = 800.4
    report = run_qa(replace_kpts(data, 1, kp), COCO17)
    assert "outside_image" not in flags_of(report, 1)


def test_outside_box_is_graded_by_distance() -> None:
    data = crowd(4)
    ann = data["annotations"][1]
    x, y, w, h = ann["bbox"]
    size = (w * h) ** 0.5
    near = kpts_of(data, 2)
    near[NOSE, 1] = y - 0.05 * size  # a little outside: occluded estimates do that
    far = kpts_of(data, 2)
    far[NOSE, 1] = y - 0.3 * size
    assert "outside_box" not in flags_of(run_qa(replace_kpts(data, 2, near), COCO17), 2)
    report = run_qa(replace_kpts(data, 2, far), COCO17)
    assert "outside_box" in flags_of(report, 2)
    assert abs(report.table.loc[1, "outside_box_dist"] - 0.3) < 0.01
    assert report.table.loc[1, "fixed"] == ""  # which is wrong, joint or box? flag only


def test_real_posetrack_keypoint_above_the_image(real_fixtures) -> None:
    """PoseTrack18's val sample has a joint clicked at y=-24.9: caught and zeroed."""
    path = real_fixtures / "mmpose/tests/data/posetrack18/annotations/test_posetrack18_val.json"
    report = run_qa(json.loads(path.read_text()), POSETRACK17)
    assert report.summary["flag_counts"]["outside_image"] == 1
    row = report.table[report.table["flags"].str.contains("outside_image")].iloc[0]
    assert row["ann_id"] == 1012834000010
    assert "zeroed_out_of_image" in row["fixed"]
