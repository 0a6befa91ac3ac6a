"""Disagreement between annotation files of two aligned modalities."""

from __future__ import annotations

import copy

from benchmark.datasets.layouts import COCO17
from benchmark.qa import run_qa
from tests.qa.synth import crowd, flags_of, kpts_of, replace_kpts

ELBOW, WRIST = COCO17.index["left_elbow"], COCO17.index["left_wrist"]


def _thermal(rgb: dict) -> dict:
    """The same people annotated on the thermal frames, stored in a sibling folder."""
    out = copy.deepcopy(rgb)
    for img in out["images"]:
        img["id"] += 1000
        img["file_name"] = "thermal/" + img["file_name"]
    for a in out["annotations"]:
        a["image_id"] += 1000
        a["id"] += 500
    return out


def test_agreeing_modalities_have_no_flags() -> None:
    rgb = crowd(4)
    report = run_qa(rgb, COCO17, paired=_thermal(rgb))
    assert report.summary["flagged"] == 0
    assert (report.table["paired_status"] == "matched").all()
    assert report.table["paired_ann_id"].tolist() == [501, 502, 503, 504]
    assert (report.table["paired_oks"] == 1.0).all()


def test_disagreeing_person_is_flagged() -> None:
    rgb = crowd(4)
    thermal = _thermal(rgb)
    kp = kpts_of(thermal, 502)
    kp[[ELBOW, WRIST], 0] += 120.0  # the thermal annotator put the left arm elsewhere
    report = run_qa(rgb, COCO17, paired=replace_kpts(thermal, 502, kp))
    assert flags_of(report, 2) == {"modality_disagreement"}
    assert report.table.loc[1, "paired_oks"] < 0.9
    assert report.table.loc[1, "paired_worst_joint"] == "left_wrist"
    assert report.table.loc[1, "fixed"] == ""  # which modality is right? flag only


def test_person_missing_in_the_other_modality() -> None:
    rgb = crowd(4)
    thermal = _thermal(rgb)
    thermal["annotations"] = [a for a in thermal["annotations"] if a["id"] != 503]
    report = run_qa(rgb, COCO17, paired=thermal)
    assert flags_of(report, 3) == {"modality_unmatched"}
    assert report.table.loc[2, "paired_status"] == "unmatched"


def test_images_match_by_id_when_names_differ() -> None:
    rgb = crowd(2)
    thermal = copy.deepcopy(rgb)
    for img in thermal["images"]:
        img["file_name"] = f"ir_{img['id']}.png"
    report = run_qa(rgb, COCO17, paired=thermal)
    assert (report.table["paired_status"] == "matched").all()
