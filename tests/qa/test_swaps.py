"""Left/right swaps: single pairs, the whole body, and people who merely face away."""

from __future__ import annotations

import pytest

from benchmark.datasets.layouts import COCO17
from benchmark.qa import run_qa
from tests.qa.synth import crowd, flags_of, kpts_of, mirror_labels, replace_kpts, swap_pair

PAIRS = ["eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle"]
#: Seen from behind the eyes are unlabelled, so there is no eye pair to swap.
CASES = [(p, f) for f in ("front", "away") for p in PAIRS if (p, f) != ("eye", "away")]


@pytest.mark.parametrize("facing", ["front", "away"])
def test_clean_people_are_not_flagged(facing: str) -> None:
    report = run_qa(crowd(6, facing=facing), COCO17)
    assert report.summary["flagged"] == 0
    assert (report.table["score"] == 1.0).all()


def test_facing_away_is_not_a_swap() -> None:
    """Seen from behind, every left joint is on the image left: consistent, so no flag."""
    front, away = crowd(6, facing="front"), crowd(6, facing="away")
    kp_front, kp_away = kpts_of(front, 3), kpts_of(away, 3)
    assert kp_away[COCO17.index["left_shoulder"], 0] < kp_away[COCO17.index["right_shoulder"], 0]
    assert kp_front[COCO17.index["left_shoulder"], 0] > kp_front[COCO17.index["right_shoulder"],
                                                                 0]
    mixed = replace_kpts(front, 3, kp_away)
    report = run_qa(mixed, COCO17)
    assert report.summary["flagged"] == 0
    assert report.fixes == []


@pytest.mark.parametrize(("pair", "facing"), CASES)
def test_single_pair_swap_is_flagged_and_fixed_back(pair: str, facing: str) -> None:
    data = crowd(6, facing=facing)
    clean = kpts_of(data, 3)
    report = run_qa(replace_kpts(data, 3, swap_pair(clean, f"left_{pair}", f"right_{pair}")),
                    COCO17)
    assert flags_of(report, 3) == {"lr_swap"}
    assert report.table.loc[2, "swap_pairs"] == pair
    assert report.table.loc[2, "fixed"] == "swapped_back"
    assert kpts_of(report.corrected, 3).tolist() == clean.tolist()
    assert all(flags_of(report, i) == set() for i in (1, 2, 4, 5, 6))


def test_whole_body_mirror_against_a_visible_face() -> None:
    """All labels mirrored on a person whose face is visible: the face says front."""
    data = crowd(6)
    clean = kpts_of(data, 4)
    report = run_qa(replace_kpts(data, 4, mirror_labels(clean)), COCO17)
    assert flags_of(report, 4) == {"lr_swap_body"}
    assert kpts_of(report.corrected, 4).tolist() == clean.tolist()


def test_whole_body_mirror_without_a_face_is_indistinguishable() -> None:
    """Mirroring a person seen from behind yields a frontal pose with a hidden face."""
    data = crowd(6, facing="away")
    report = run_qa(replace_kpts(data, 4, mirror_labels(kpts_of(data, 4))), COCO17)
    assert flags_of(report, 4) == set()


def test_half_and_half_is_flagged_but_not_fixed() -> None:
    """Two of four labelled pairs swapped: inconsistent, but which half is wrong is unknown."""
    data = crowd(6)
    kp = kpts_of(data, 2)
    for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_knee",
                 "right_knee", "left_ankle", "right_ankle"):
        kp[COCO17.index[name]] = 0.0
    data = replace_kpts(data, 2, kp)
    swapped = swap_pair(swap_pair(kp, "left_elbow", "right_elbow"), "left_wrist", "right_wrist")
    report = run_qa(replace_kpts(data, 2, swapped), COCO17)
    assert "lr_swap" in flags_of(report, 2)
    assert "swapped_back" not in report.table.loc[1, "fixed"]


def test_swaps_on_real_coco_annotations(real_fixtures) -> None:
    import json

    path = real_fixtures / "mmpose/tests/data/coco/test_coco.json"
    data = json.loads(path.read_text())
    clean = run_qa(data, COCO17)
    assert clean.summary["flag_counts"]["lr_swap"] == 0
    assert clean.summary["flag_counts"]["lr_swap_body"] == 0
    ann_id = 437295  # a skier with both legs apart
    kp = kpts_of(data, ann_id)
    report = run_qa(replace_kpts(data, ann_id, swap_pair(kp, "left_ankle", "right_ankle")),
                    COCO17)
    assert "lr_swap" in flags_of(report, ann_id)
    assert kpts_of(report.corrected, ann_id).tolist() == kp.tolist()


def test_walking_stride_seen_from_the_side_is_not_a_swap() -> None:
    """Legs (and the swinging arms) cross in projection; the narrow hips give no reference."""
    data = crowd(6)
    kp = kpts_of(data, 5)
    height, cx = 400 + 25 * 4, 300 + 40 * 4
    profile = {"left_shoulder": 0.01, "right_shoulder": -0.01, "left_hip": 0.01,
               "right_hip": -0.01, "left_elbow": -0.06, "right_elbow": 0.06,
               "left_wrist": -0.1, "right_wrist": 0.1, "left_knee": -0.08, "right_knee": 0.1,
               "left_ankle": -0.16, "right_ankle": 0.18, "left_ear": 0.0, "right_ear": 0.0}
    for name, x in profile.items():
        kp[COCO17.index[name], 0] = cx + x * height
    for name in ("nose", "left_eye", "right_eye", "right_ear"):
        kp[COCO17.index[name]] = 0.0
    hips = kp[COCO17.index["right_hip"], 0] - kp[COCO17.index["left_hip"], 0]
    knees = kp[COCO17.index["right_knee"], 0] - kp[COCO17.index["left_knee"], 0]
    assert hips * knees < 0  # the legs point against the hips: crossed in projection
    report = run_qa(replace_kpts(data, 5, kp), COCO17)
    assert not {"lr_swap", "lr_swap_body"} & flags_of(report, 5)
    assert report.fixes == []
