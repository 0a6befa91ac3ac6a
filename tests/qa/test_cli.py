"""``mpbench qa`` end to end on real fixture files."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import pytest

from benchmark.qa.cli import main, register

COCO = "mmpose/tests/data/coco"


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_qa_on_real_coco_writes_the_outputs(real_fixtures: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "qa"
    rc, stdout, _ = _run(capsys, "qa", "--layout", "coco17", "--ann",
                         str(real_fixtures / COCO / "test_coco.json"), "--out", str(out),
                         "--images", str(real_fixtures / COCO))
    assert rc == 0 and "12 skeletons" in stdout
    for name in ("skeletons.csv", "corrected.json", "fixes.jsonl", "index.html"):
        assert (out / name).is_file()
    rows = list(csv.DictReader((out / "skeletons.csv").open()))
    assert len(rows) == 14
    assert {"ann_id", "image_id", "score", "flags", "fixed"} <= set(rows[0])
    corrected = json.loads((out / "corrected.json").read_text())
    assert len(corrected["annotations"]) == 14
    html = (out / "index.html").read_text()
    assert html.count("data:image/png;base64,") >= 1 and "(image)" in html


def test_qa_resolves_the_dataset_registry(real_fixtures: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    """``--dataset demo``: the demo spec's layout is COCO-17."""
    rc, _, err = _run(capsys, "qa", "--dataset", "demo", "--ann",
                      str(real_fixtures / COCO / "test_coco.json"), "--out", str(tmp_path))
    assert rc == 0, err
    rc, _, err = _run(capsys, "qa", "--dataset", "nope", "--ann",
                      str(real_fixtures / COCO / "test_coco.json"), "--out", str(tmp_path))
    assert rc == 2 and err.startswith("error: unknown dataset 'nope'")


def test_qa_fixes_a_corrupted_real_file(real_fixtures: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    data = json.loads((real_fixtures / COCO / "test_coco.json").read_text())
    ann = next(a for a in data["annotations"] if a["id"] == 437295)
    original = list(ann["keypoints"])
    kp = ann["keypoints"]
    kp[45:48], kp[48:51] = kp[48:51], kp[45:48]  # ankles swapped
    ann["keypoints"][27:30] = [ann["keypoints"][27], ann["keypoints"][28], 0]  # wrist v=0
    data["annotations"].append({**data["annotations"][0], "id": 7})  # an exact duplicate
    src = tmp_path / "corrupted.json"
    src.write_text(json.dumps(data))
    out = tmp_path / "qa"
    rc, _, _ = _run(capsys, "qa", "--layout", "coco17", "--ann", str(src), "--out", str(out))
    assert rc == 0
    fixes = [json.loads(line) for line in (out / "fixes.jsonl").read_text().splitlines()]
    assert {(f["ann_id"], f["fix"]) for f in fixes} == {
        (437295, "zeroed_v0_coords"), (437295, "swapped_back"), (437295, "num_keypoints"),
        (7, "dropped_exact_duplicate")}
    corrected = json.loads((out / "corrected.json").read_text())
    fixed = next(a for a in corrected["annotations"] if a["id"] == 437295)
    assert fixed["keypoints"][45:51] == original[45:51]
    assert fixed["keypoints"][27:30] == [0, 0, 0]
    assert 7 not in [a["id"] for a in corrected["annotations"]]
    assert "blank canvas" in (out / "index.html").read_text()  # no --images given


def test_paired_modality_from_the_command_line(real_fixtures: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    src = real_fixtures / COCO / "test_coco.json"
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann", str(src), "--paired",
                      str(src), "--out", str(tmp_path))
    assert rc == 0, err
    rows = list(csv.DictReader((tmp_path / "skeletons.csv").open()))
    assert {r["paired_status"] for r in rows if r["n_labelled"] != "0"} == {"matched"}


def test_bad_input_is_an_error_not_a_traceback(real_fixtures: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [], ')
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann", str(bad), "--out",
                      str(tmp_path / "o"))
    assert rc == 2 and err.startswith("error: ") and "broken.json" in err
    assert "Traceback" not in err
    mvor = real_fixtures / "mvor/annotations/camma_mvor_2018.json"
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann", str(mvor), "--out",
                      str(tmp_path / "o"))
    assert rc == 2 and "camma_mvor_2018.json: category id '1' has 10 keypoints" in err
    crowdpose = tmp_path / "crowdpose.json"
    shutil.copy(real_fixtures / "mmpose/tests/data/crowdpose/test_crowdpose.json", crowdpose)
    data = json.loads(crowdpose.read_text())
    del data["categories"]
    crowdpose.write_text(json.dumps(data))
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann", str(crowdpose), "--out",
                      str(tmp_path / "o"))
    assert rc == 2 and "annotation id 123803: 'keypoints' has 42 values" in err
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann", str(crowdpose), "--out",
                      str(tmp_path / "o"), "--threshold", "1.5")
    assert rc == 2 and "threshold" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    rc, _, err = _run(capsys, "qa", "--layout", "coco17", "--ann",
                      str(real_fixtures / COCO / "test_coco.json"), "--out", str(blocker / "x"))
    assert rc == 2 and "cannot write the report" in err


def test_exactly_one_of_dataset_or_layout(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["qa", "--ann", "a.json", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        parser.parse_args(["qa", "--dataset", "demo", "--layout", "coco17", "--ann", "a.json",
                           "--out", str(tmp_path)])
    args = parser.parse_args(["qa", "--layout", "mvor10", "--ann", "a.json", "--out", "o"])
    assert args.func.__name__ == "handler" and args.threshold == 0.5
