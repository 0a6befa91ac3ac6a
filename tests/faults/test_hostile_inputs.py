"""Hostile and broken inputs, run through the CLI as a user would: each is refused with one
``error:`` line naming the file (or matrix key) and the problem, exit status 2, no traceback,
and nothing written (issue 16, item 3; the table is docs/_reliability_inputs.md).

The 10^7-prediction file is really written (~610 MB, ~1 s in chunks) and the CLI runs under an
address-space limit (``RLIMIT_AS``, 3 GiB): it must be refused by its size before it is parsed,
never by exhausting memory. A pickled callable in a checkpoint is refused by torch's
``weights_only`` unpickler: tests/unit/test_checkpoints.py::test_other_globals_are_still_refused.
"""

from __future__ import annotations

import copy
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COCO17 = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
          "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
          "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
K = len(COCO17)


def run_cli(*args: str | Path, env: dict[str, str] | None = None,
            max_memory: int | None = None) -> subprocess.CompletedProcess:
    """``python -m benchmark.cli ARGS`` from the repository root, optionally with its
    address space capped (so that reading a huge input whole would fail with MemoryError)."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))

    return subprocess.run([sys.executable, "-m", "benchmark.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})},
                          preexec_fn=cap if max_memory else None)


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 2 and one ``error:`` line holding every needle; no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def keypoints(x0: float) -> list[float]:
    return [v for i in range(K) for v in (x0 + i, 20.0 + i, 2)]


def ground_truth() -> dict:
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in (1, 2)]
    anns = [{"id": i, "image_id": i, "category_id": 1, "keypoints": keypoints(10.0 * i),
             "num_keypoints": K, "bbox": [5.0, 5.0, 50.0, 50.0], "area": 2500.0, "iscrowd": 0}
            for i in (1, 2)]
    return {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": COCO17, "skeleton": []}]}


def predictions(gt: dict) -> list[dict]:
    return [{"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]),
             "score": 0.9} for a in gt["annotations"]]


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))  # json writes NaN/Infinity literals, as a hostile file may
    return path


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- ground truth and predictions: mpbench eval -------------------------------------------

def broken_gt(case: str) -> dict:
    gt = ground_truth()
    ann = gt["annotations"][0]
    if case == "nan keypoint":
        ann["keypoints"][3] = float("nan")
    elif case == "infinite bbox":
        ann["bbox"][0] = float("inf")
    elif case == "negative keypoint":
        ann["keypoints"][3] = -500.0
    elif case == "enormous keypoint":
        ann["keypoints"][4] = 1e12
    elif case == "enormous bbox":
        ann["bbox"][2] = 1e9
    elif case == "duplicate image id":
        gt["images"][1]["id"] = 1
    elif case == "duplicate annotation id":
        gt["annotations"][1]["id"] = 1
    return gt


GT_CASES = {
    "nan keypoint": "annotation id 1 has a non-finite value (NaN or infinity) in 'keypoints'",
    "infinite bbox": "annotation id 1 has a non-finite value (NaN or infinity) in 'bbox'",
    "negative keypoint": "annotation id 1 has keypoint 1 at (-500, 21), outside its 100x100",
    "enormous keypoint": "annotation id 1 has keypoint 1 at (11, 1e+12), outside its 100x100",
    "enormous bbox": "annotation id 1 has bbox corner at (1e+09, 55), outside its 100x100",
    "duplicate image id": "image id 1 appears more than once in 'images'",
    "duplicate annotation id": "annotation id 1 appears more than once in 'annotations'",
}


@pytest.mark.parametrize("case", sorted(GT_CASES))
def test_eval_refuses_broken_ground_truth(case: str, tmp_path: Path) -> None:
    gt = write(tmp_path / "gt.json", broken_gt(case))
    pred = write(tmp_path / "pred.json", predictions(ground_truth()))
    before = files_under(tmp_path)
    proc = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred)
    assert_refused(proc, f"{gt}: ground truth: ", GT_CASES[case])
    assert files_under(tmp_path) == before


PRED_CASES = {
    "nan keypoint": (lambda p: p[0]["keypoints"].__setitem__(0, float("nan")),
                     "prediction at index 0 has a non-finite keypoint value"),
    "infinite score": (lambda p: p[1].__setitem__("score", float("inf")),
                       "prediction at index 1 has a non-numeric or non-finite score inf"),
    "enormous keypoint": (lambda p: p[1]["keypoints"].__setitem__(4, 1e12),
                          "prediction at index 1 has keypoint value 1e+12, beyond +-200"),
    "negative keypoint": (lambda p: p[0]["keypoints"].__setitem__(0, -1e6),
                          "prediction at index 0 has keypoint value -1e+06, beyond +-200"),
}


@pytest.mark.parametrize("protocol", ["coco", "posetrack-map"])
@pytest.mark.parametrize("case", sorted(PRED_CASES))
def test_eval_refuses_broken_predictions(case: str, protocol: str, tmp_path: Path) -> None:
    """Both validation paths: per-field lists (coco) and arrays (posetrack-map)."""
    gt_data = ground_truth()
    if protocol == "posetrack-map":
        gt_data = copy.deepcopy(gt_data)
        for ann in gt_data["annotations"]:
            ann["bbox_head"] = [0.0, 0.0, 10.0, 10.0]
            ann["track_id"] = ann["id"]
        for img in gt_data["images"]:
            img.update(vid_id=1, frame_id=img["id"])
    preds = predictions(gt_data)
    mutate, message = PRED_CASES[case]
    mutate(preds)
    gt, pred = write(tmp_path / "gt.json", gt_data), write(tmp_path / "pred.json", preds)
    before = files_under(tmp_path)
    proc = run_cli("eval", "--protocol", protocol, "--gt", gt, "--pred", pred)
    assert_refused(proc, f"{pred}: {message}")
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("which", ["gt", "pred"])
def test_eval_refuses_deeply_nested_json(which: str, tmp_path: Path) -> None:
    gt, pred = write(tmp_path / "gt.json", ground_truth()), tmp_path / "pred.json"
    write(pred, predictions(ground_truth()))
    target = gt if which == "gt" else pred
    target.write_text(nested(100_000))
    proc = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred)
    assert_refused(proc, f"{target}: ", "file is nested too deeply to parse")


def test_eval_refuses_ten_million_predictions_by_size(tmp_path: Path) -> None:
    """10^7 entries (~610 MB) are refused before parsing, within a 3 GiB address space."""
    entry = b'{"image_id":1,"category_id":1,"keypoints":[1,2,1],"score":1},'
    pred = tmp_path / "pred.json"
    with open(pred, "wb") as f:
        f.write(b"[")
        for _ in range(100):
            f.write(entry * 100_000)
        f.seek(-1, os.SEEK_CUR)
        f.write(b"]")
    gt = write(tmp_path / "gt.json", ground_truth())
    before = files_under(tmp_path)
    proc = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred,
                   max_memory=3 << 30)
    assert_refused(proc, f"{pred}: predictions file is {pred.stat().st_size:,} bytes",
                   "-byte limit of JSON inputs", "MPBENCH_MAX_JSON_BYTES")
    assert files_under(tmp_path) == before


def test_json_size_limit_is_configurable(tmp_path: Path) -> None:
    gt = write(tmp_path / "gt.json", ground_truth())
    pred = write(tmp_path / "pred.json", predictions(ground_truth()))
    ok = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred)
    assert ok.returncode == 0, ok.stderr
    proc = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred,
                   env={"MPBENCH_MAX_JSON_BYTES": "1000"})
    assert_refused(proc, f"{gt}: ground-truth file is", "above the 1,000-byte limit")
    bad = run_cli("eval", "--protocol", "coco", "--gt", gt, "--pred", pred,
                  env={"MPBENCH_MAX_JSON_BYTES": "lots"})
    assert_refused(bad, "MPBENCH_MAX_JSON_BYTES='lots': expected a number of bytes")


# --- annotation files: mpbench qa ----------------------------------------------------------

QA_CASES = {
    "nan keypoint": "annotation file has a non-finite number (NaN, Infinity or beyond a "
                    "double's range) at annotations[0].keypoints[3]",
    "infinite bbox": "at annotations[0].bbox[0]",
    "negative keypoint": "annotation id 1: keypoint 1 at (-500, 21) is outside its 100x100",
    "enormous keypoint": "annotation id 1: keypoint 1 at (11, 1e+12) is outside its 100x100",
    "duplicate image id": "image id 1: duplicate image id",
    "duplicate annotation id": "annotation id 1: duplicate annotation id",
}


@pytest.mark.parametrize("case", sorted(QA_CASES))
def test_qa_refuses_broken_annotations(case: str, tmp_path: Path) -> None:
    ann = write(tmp_path / "ann.json", broken_gt(case))
    proc = run_cli("qa", "--layout", "coco17", "--ann", ann, "--out", tmp_path / "out")
    assert_refused(proc, f"{ann}: ", QA_CASES[case])
    assert not (tmp_path / "out").exists()


def test_qa_refuses_overflowing_number_and_deep_nesting(tmp_path: Path) -> None:
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(ground_truth()).replace('"area": 2500.0', '"area": 1e400', 1))
    proc = run_cli("qa", "--layout", "coco17", "--ann", ann, "--out", tmp_path / "out")
    assert_refused(proc, f"{ann}: ", "at annotations[0].area")
    ann.write_text(nested(100_000))
    proc = run_cli("qa", "--layout", "coco17", "--ann", ann, "--out", tmp_path / "out")
    assert_refused(proc, f"{ann}: annotation file is nested too deeply")
    assert not (tmp_path / "out").exists()


# --- native files and image paths: mpbench data convert ------------------------------------

def demo_raw(root: Path, file_name: str, split_data: dict | None = None) -> None:
    """A raw folder of the demo dataset whose first train image is named ``file_name``."""
    folder = root / "demo" / "raw" / "annotations"
    folder.mkdir(parents=True)
    for split in ("train", "val", "test"):
        data = split_data or ground_truth()
        if split == "train":
            data = copy.deepcopy(data)
            data["images"][0]["file_name"] = file_name
        write(folder / f"{split}.json", data)


@pytest.mark.parametrize("file_name", ["../../../outside.jpg", "/etc/passwd",
                                       "rgb/../../../../etc/passwd"])
def test_convert_refuses_image_paths_outside_the_data_root(file_name: str,
                                                           tmp_path: Path) -> None:
    demo_raw(tmp_path, file_name)
    before = files_under(tmp_path)
    proc = run_cli("data", "convert", "--dataset", "demo", "--data-root", tmp_path)
    assert_refused(proc, "image 1 file_name: image path", repr(file_name))
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("content, needle", [
    (nested(100_000), "annotation file is nested too deeply"),
    (json.dumps(broken_gt("nan keypoint")), "at annotations[0].keypoints[3]"),
])
def test_convert_refuses_hostile_native_json(content: str, needle: str, tmp_path: Path) -> None:
    demo_raw(tmp_path, "1.jpg")
    native = tmp_path / "demo" / "raw" / "annotations" / "train.json"
    native.write_text(content)
    before = files_under(tmp_path)
    proc = run_cli("data", "convert", "--dataset", "demo", "--data-root", tmp_path)
    assert_refused(proc, f"{native}: ", needle)
    assert files_under(tmp_path) == before


def test_convert_refuses_oversized_native_json(tmp_path: Path) -> None:
    demo_raw(tmp_path, "1.jpg")
    before = files_under(tmp_path)
    proc = run_cli("data", "convert", "--dataset", "demo", "--data-root", tmp_path,
                   env={"MPBENCH_MAX_JSON_BYTES": "100"})
    assert_refused(proc, "annotation file is", "above the 100-byte limit")
    assert files_under(tmp_path) == before


# --- matrix files: mpbench matrix --config --------------------------------------------------

MATRIX_CASES = {
    "detectors.person.config": ({"detectors": {"person": {"config": "/etc/mmdet/det.py"}}},
                                "'/etc/mmdet/det.py' is outside the repository"),
    "detectors.person.checkpoint": (
        {"detectors": {"person": {"config": "mmdet::rtmdet/x.py",
                                  "checkpoint": "../../weights/det.pth"}}},
        "'../../weights/det.pth' climbs outside the repository"),
    "matrix[0].init.url": ({"init": {"url": "file:///etc/ckpt.pth", "sha256": "0" * 64}},
                           "'/etc/ckpt.pth' is outside the repository"),
}


@pytest.mark.parametrize("key", sorted(MATRIX_CASES))
def test_matrix_refuses_paths_outside_the_repository(key: str, tmp_path: Path) -> None:
    extra, needle = MATRIX_CASES[key]
    entry = {"dataset": "demo", "modalities": ["rgb"], "models": ["rtmpose_t_demo"]}
    config = {"experiment": "x", "matrix": [entry]}
    if "init" in extra:
        entry.update(extra)
    else:
        config.update(extra)
    path = tmp_path / "matrix.yaml"
    path.write_text(yaml.safe_dump(config))
    before = files_under(tmp_path)
    proc = run_cli("matrix", "--config", path)
    assert_refused(proc, f"error: {key}: {needle}", "; use a path inside the repository")
    assert files_under(tmp_path) == before
