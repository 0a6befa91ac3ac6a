"""Bad input fails with one clear QAInputError naming the file and the record."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from benchmark.datasets.layouts import COCO17, MVOR10
from benchmark.qa import QAInputError, run_qa
from benchmark.qa.data import load_json
from tests.qa.synth import crowd


def test_unreadable_and_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(QAInputError, match="missing.json: cannot read"):
        load_json(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(QAInputError, match="bad.json: not valid JSON"):
        load_json(bad)
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(QAInputError, match="expected a COCO object"):
        load_json(tmp_path / "list.json")


def test_missing_keys_name_the_record() -> None:
    with pytest.raises(QAInputError, match="f.json: missing or invalid key 'annotations'"):
        run_qa({"images": []}, COCO17, source="f.json")
    data = crowd(2)
    del data["annotations"][1]["image_id"]
    with pytest.raises(QAInputError, match="f.json: annotation id 2: missing key 'image_id'"):
        run_qa(data, COCO17, source="f.json")
    data = crowd(2)
    data["annotations"][0]["image_id"] = 77
    with pytest.raises(QAInputError, match="annotation id 1: image_id 77 is not in 'images'"):
        run_qa(data, COCO17, source="f.json")


def test_wrong_keypoint_count_for_the_layout() -> None:
    with pytest.raises(QAInputError, match="f.json: category id 1 has 17 keypoints, layout "
                                           "mvor10 has 10"):
        run_qa(crowd(2), MVOR10, source="f.json")
    data = crowd(2)
    del data["categories"]
    with pytest.raises(QAInputError, match=r"f.json: annotation id 1: 'keypoints' has 51 "
                                           r"values, layout mvor10 needs 30"):
        run_qa(data, MVOR10, source="f.json")


def test_non_numbers_and_duplicate_ids() -> None:
    data = crowd(2)
    data["annotations"][1]["keypoints"][4] = "12"
    with pytest.raises(QAInputError, match="annotation id 2: keypoints: expected a number"):
        run_qa(data, COCO17)
    data = crowd(2)
    data["annotations"][1]["id"] = 1
    with pytest.raises(QAInputError, match="annotation id 1: duplicate annotation id"):
        run_qa(data, COCO17)


def test_paired_file_errors_name_the_paired_file() -> None:
    paired = copy.deepcopy(crowd(2))
    del paired["annotations"][0]["keypoints"]
    with pytest.raises(QAInputError, match="thermal.json: annotation id 1: missing key"):
        run_qa(crowd(2), COCO17, paired=paired, paired_source="thermal.json")
