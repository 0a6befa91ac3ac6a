"""Visibility flags that contradict coordinates, and num_keypoints bookkeeping."""

from __future__ import annotations

import json

import numpy as np

from benchmark.datasets.layouts import COCO17, CROWDPOSE14
from benchmark.qa import run_qa
from tests.qa.synth import crowd, flags_of, kpts_of, replace_kpts

WRIST = COCO17.index["left_wrist"]


def _with(kp_change: dict[int, list[float]], *, recount: bool = True) -> tuple[dict, np.ndarray]:
    data = crowd(4)
    kp = kpts_of(data, 2)
    for j, value in kp_change.items():
        kp[j] = value
    return replace_kpts(data, 2, kp, recount=recount), kp


def test_v0_with_coordinates_is_flagged_and_zeroed() -> None:
    data, kp = _with({WRIST: [412.0, 300.0, 0.0]})
    report = run_qa(data, COCO17)
    assert flags_of(report, 2) == {"vis_v0_with_coords"}
    assert report.table.loc[1, "vis_issue_joints"] == "left_wrist"
    fixed = kpts_of(report.corrected, 2)
    assert fixed[WRIST].tolist() == [0.0, 0.0, 0.0]
    [log] = report.fixes
    assert log["fix"] == "zeroed_v0_coords" and log["before"] == [[412, 300, 0]]


def test_labelled_at_origin_is_flagged_and_unlabelled() -> None:
    data, _ = _with({WRIST: [0.0, 0.0, 2.0]})
    report = run_qa(data, COCO17)
    assert flags_of(report, 2) == {"vis_labelled_at_origin"}
    assert kpts_of(report.corrected, 2)[WRIST].tolist() == [0.0, 0.0, 0.0]
    ann = next(a for a in report.corrected["annotations"] if a["id"] == 2)
    assert ann["num_keypoints"] == 16
    assert [f["fix"] for f in report.fixes] == ["unlabelled_at_origin", "num_keypoints"]


def test_invalid_visibility_value_is_flagged_not_fixed() -> None:
    data, kp = _with({WRIST: [412.0, 300.0, 3.0]})
    report = run_qa(data, COCO17)
    assert "vis_invalid" in flags_of(report, 2)
    assert kpts_of(report.corrected, 2)[WRIST].tolist() == [412.0, 300.0, 3.0]


def test_stale_num_keypoints_is_flagged_and_recomputed() -> None:
    """A joint removed (x=y=v=0) without updating num_keypoints."""
    data, _ = _with({WRIST: [0.0, 0.0, 0.0]}, recount=False)
    report = run_qa(data, COCO17)
    assert flags_of(report, 2) == {"num_keypoints_mismatch"}
    assert report.table.loc[1, "num_keypoints_file"] == 17
    assert report.table.loc[1, "num_keypoints_expected"] == 16
    ann = next(a for a in report.corrected["annotations"] if a["id"] == 2)
    assert ann["num_keypoints"] == 16


def test_clean_skeletons_have_no_visibility_flags() -> None:
    report = run_qa(crowd(4), COCO17)
    assert report.table.filter(like="sev_vis").to_numpy().sum() == 0
    assert report.table["sev_num_keypoints_mismatch"].sum() == 0


def test_crowdpose_counting_convention_is_respected(real_fixtures) -> None:
    """CrowdPose counts only its 12 limb joints; that is the file's convention, not an error."""
    path = real_fixtures / "mmpose/tests/data/crowdpose/test_crowdpose.json"
    report = run_qa(json.loads(path.read_text()), CROWDPOSE14)
    assert report.summary["flag_counts"]["num_keypoints_mismatch"] == 0
    assert not any(f["fix"] == "num_keypoints" for f in report.fixes)
