"""Data stage helpers: data version from dvc.lock, dataset status, CLI errors."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmark.datasets.status import dataset_table
from benchmark.stages.dvc import data_version

LOCK = """schema: '2.0'
stages:
  download@demo:
    cmd: mpbench data download --dataset demo
    outs:
    - path: data/demo/raw
      md5: aaa.dir
  preprocess@demo:
    cmd: mpbench data preprocess --dataset demo
    outs:
    - path: data/demo/processed
      md5: bbb.dir
"""


def test_data_version_follows_the_outputs_in_dvc_lock(tmp_path) -> None:
    lock = tmp_path / "dvc.lock"
    lock.write_text(LOCK)
    v1 = data_version("demo", lock)
    assert len(v1) == 12 and v1 == data_version("demo", lock)
    lock.write_text(LOCK.replace("bbb.dir", "ccc.dir"))
    assert data_version("demo", lock) != v1
    assert data_version("other", lock) == "unversioned"
    assert data_version("demo", tmp_path / "missing.lock") == "unversioned"


def test_dataset_status_follows_the_stage_folders(tmp_path) -> None:
    def status() -> str:
        return next(r for r in dataset_table(tmp_path) if r["name"] == "demo")["status"]

    assert status() == "missing"
    (tmp_path / "demo" / "raw").mkdir(parents=True)
    assert status() == "downloaded"
    (tmp_path / "demo" / "qa").mkdir()
    (tmp_path / "demo" / "processed").mkdir()
    assert status() == "downloaded"  # a stage counts only when those before it are done
    (tmp_path / "demo" / "converted").mkdir()
    assert status() == "preprocessed"
    row = next(r for r in dataset_table(tmp_path) if r["name"] == "demo")
    assert row["modalities"] == ["rgb", "thermal", "lowlight", "depth", "depth_lowres"]
    assert row["protocol"] == "coco" and row["num_keypoints"] == 17


def _mpbench(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmark.cli", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_cli_reports_user_errors_without_traceback(tmp_path) -> None:
    proc = _mpbench("leaderboard", "--cell", "demo/rgb", cwd=tmp_path)
    assert proc.returncode == 2
    assert "error: --cell 'demo/rgb': expected DATASET/MODALITY/MODEL" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _mpbench("matrix", "--config", str(tmp_path / "none.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and "none.yaml: matrix file not found" in proc.stderr


def test_cli_data_list_json(tmp_path) -> None:
    proc = _mpbench("data", "list", "--json", "--data-root", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert set(rows) == {"demo", "llvip_pose", "exlpose", "mvor", "coco", "mpii", "posetrack18"}
    assert rows["demo"]["status"] == "missing"
    # a dataset with manual sources says which files to place, and where
    assert rows["exlpose"]["status"] == "manual files needed"
    assert rows["exlpose"]["manual_files_missing"] == ["ExLPose.zip", "ExLPose-OC.zip"]
    assert rows["mvor"]["status"] == "missing" and rows["mvor"]["protocol"] == "mvor-pck"
    assert rows["llvip_pose"]["modalities"][:2] == ["thermal", "rgb"]
    (tmp_path / "exlpose" / "manual").mkdir(parents=True)
    for name in ("ExLPose.zip", "ExLPose-OC.zip"):
        (tmp_path / "exlpose" / "manual" / name).write_bytes(b"x")
    proc = _mpbench("data", "list", "--data-root", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "exlpose:" in proc.stdout and "license: ExLPose terms" in proc.stdout
    assert "place in data/llvip_pose/manual/: LLVIP.zip" in proc.stdout
