"""Detection files: released files load; files of another split and malformed records are refused.

Reads mmpose's real COCO detector boxes (``test_coco_det_AP_H_56.json``, from HRNet's
``COCO_val2017_detections_AP_H_56_person.json``) against their ground truth in place; broken
variants are written to tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.datasets.detections import (
    DetectionFileError,
    canonical_detections,
    load_detections,
    read_detections,
    summary,
    write_detections,
)
from benchmark.errors import MpbenchError

COCO = "mmpose/tests/data/coco"


@pytest.fixture()
def coco(real_fixtures: Path) -> tuple[Path, Path]:
    """(detection file, ground truth) of the real COCO sample."""
    d = real_fixtures / COCO
    return d / "test_coco_det_AP_H_56.json", d / "test_coco.json"


def _broken(tmp_path: Path, det: Path, index: int, **change) -> Path:
    records = json.loads(det.read_text())
    records[index] = records[index] | change
    out = tmp_path / "broken.json"
    out.write_text(json.dumps(records))  # allow_nan: a NaN score is written as NaN
    return out


def test_real_coco_file_loads_every_person_record(coco: tuple[Path, Path]) -> None:
    det, gt = coco
    raw = json.loads(det.read_text())
    records = load_detections(det, gt)
    assert len(records) == sum(1 for r in raw if r["category_id"] == 1) == 118
    assert records[0] == {k: raw[0][k] for k in ("image_id", "category_id", "bbox", "score")}
    ids = {img["id"] for img in json.loads(gt.read_text())["images"]}
    assert {r["image_id"] for r in records} == ids
    kept = load_detections(det, json.loads(gt.read_text()), min_score=0.5)
    assert len(kept) == sum(1 for r in raw if r["score"] >= 0.5)


def test_file_of_another_split_is_refused(real_fixtures: Path, coco: tuple[Path, Path]) -> None:
    crowdpose = real_fixtures / "mmpose/tests/data/crowdpose/test_crowdpose_det_AP_40.json"
    with pytest.raises(DetectionFileError) as exc:
        load_detections(crowdpose, coco[1])
    msg = str(exc.value)
    assert str(crowdpose) in msg and str(coco[1]) in msg
    assert "6 of 6 records name image ids" in msg and "another split" in msg
    assert "record 0 (image_id 106848)" in msg


def test_one_unknown_image_is_refused_or_dropped(tmp_path: Path,
                                                 coco: tuple[Path, Path]) -> None:
    bad = _broken(tmp_path, coco[0], 5, image_id=999999)
    with pytest.raises(MpbenchError, match=r"(?s)broken\.json: .*1 of 118 records .*record 5 "
                                           r"\(image_id 999999\)"):
        load_detections(bad, coco[1])
    records, counts = read_detections(bad, coco[1], drop_unknown_images=True)
    assert len(records) == 117 and counts["unknown_images"] == 1


@pytest.mark.parametrize(("change", "problem"), [
    ({"bbox": [10.0, 10.0, 0.0, 20.0]}, "width and height must be > 0"),
    ({"bbox": [10.0, 10.0, -3.0, 20.0]}, "width and height must be > 0"),
    ({"bbox": [10.0, 10.0, 20.0]}, "bbox must be 4 finite numbers"),
    ({"bbox": [10.0, float("inf"), 20.0, 20.0]}, "bbox must be 4 finite numbers"),
    ({"score": float("nan")}, "score must be a finite number"),
    ({"score": None}, "score must be a finite number"),
    ({"score": "0.9"}, "score must be a finite number"),
])
def test_malformed_record_is_refused_with_file_and_index(tmp_path: Path, coco: tuple[Path, Path],
                                                         change: dict, problem: str) -> None:
    bad = _broken(tmp_path, coco[0], 7, **change)
    with pytest.raises(DetectionFileError) as exc:
        load_detections(bad, coco[1])
    msg = str(exc.value)
    assert msg.startswith(f"{bad}: 1 problem(s)")
    assert "record 7 (image_id" in msg and problem in msg


def test_missing_score_and_non_list_are_refused(tmp_path: Path, coco: tuple[Path, Path]) -> None:
    records = json.loads(coco[0].read_text())
    del records[3]["score"]
    bad = tmp_path / "noscore.json"
    bad.write_text(json.dumps(records))
    with pytest.raises(DetectionFileError,
                       match=r"(?s)noscore\.json: .*record 3 .*missing 'score'"):
        load_detections(bad, coco[1])
    as_dict = tmp_path / "dict.json"
    as_dict.write_text(coco[1].read_text())  # a ground-truth file given as detections
    with pytest.raises(DetectionFileError, match=r"dict\.json: .*JSON list.*COCO annotation"):
        load_detections(as_dict, coco[1])
    not_json = tmp_path / "trunc.json"
    not_json.write_text(coco[0].read_text()[:500])
    with pytest.raises(DetectionFileError, match=r"trunc\.json: not valid JSON"):
        load_detections(not_json, coco[1])


def test_other_categories_are_dropped_and_counted(tmp_path: Path, coco: tuple[Path, Path],
                                                  capsys: pytest.CaptureFixture) -> None:
    bad = _broken(tmp_path, coco[0], 0, category_id=3)
    records = load_detections(bad, coco[1])
    assert len(records) == 117
    assert "kept 117 of 118 records (dropped: 1 other categories)" in capsys.readouterr().err


def test_write_is_atomic_and_round_trips(tmp_path: Path, coco: tuple[Path, Path]) -> None:
    records = load_detections(*coco)
    out = write_detections(records, tmp_path / "sub" / "det.json")
    assert load_detections(out, coco[1]) == records
    bad = [dict(records[0], score=float("nan"))]
    with pytest.raises(ValueError):
        write_detections(bad, out)
    assert load_detections(out, coco[1]) == records  # the old file is intact
    assert sorted(p.name for p in out.parent.iterdir()) == ["det.json"]  # no temp file left


def test_canonical_copy_and_summary(tmp_path: Path, coco: tuple[Path, Path]) -> None:
    det, gt = coco
    info = canonical_detections(det, gt, tmp_path / "canonical.json")
    assert info["kept"] == info["detections"] == 118 and info["other_categories"] == 0
    assert info["gt_images"] == 4 and info["images_without_detections"] == 0
    assert info["per_image_max"] == 37 and info["per_image_mean"] == 29.5
    q = info["score_quantiles"]
    assert q["min"] <= q["q25"] <= q["median"] <= q["q75"] <= q["max"] <= 1.0
    assert load_detections(tmp_path / "canonical.json", gt) == load_detections(det, gt)
    assert summary([]) == {"detections": 0, "images_with_detections": 0, "per_image_mean": 0.0,
                           "per_image_max": 0}
