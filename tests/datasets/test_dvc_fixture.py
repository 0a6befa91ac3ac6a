"""`dvc repro` of a real-format dataset end to end, offline: LLVIP-Pose with its annotation
files served by a loopback HTTP server (through the documented mirror setting) and the LLVIP
image archive as a manual file built from the real LLVIP pairs in the fixtures.

Checks: the first run stops and names the manual file, where to get it and where to put it;
once placed, download -> convert -> qa -> preprocess complete with the expected counts, pins
and outputs; a second `dvc repro` does nothing and downloads nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.repo_copy import committed_copy

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(shutil.which("dvc", path=str(BIN)) is None,
                                reason="needs dvc in the project venv: run `make test`")

#: A standing person in the PoseTrack18 layout (unit box, y down); ears unlabelled.
TEMPLATE = {"nose": (0.5, 0.1), "head_bottom": (0.5, 0.17), "head_top": (0.5, 0.0),
            "left_shoulder": (0.65, 0.22), "right_shoulder": (0.35, 0.22),
            "left_elbow": (0.72, 0.38), "right_elbow": (0.28, 0.38),
            "left_wrist": (0.75, 0.52), "right_wrist": (0.25, 0.52),
            "left_hip": (0.6, 0.55), "right_hip": (0.4, 0.55),
            "left_knee": (0.62, 0.77), "right_knee": (0.38, 0.77),
            "left_ankle": (0.63, 0.98), "right_ankle": (0.37, 0.98)}


def _annotations(names: list[str], first_id: int) -> dict:
    from benchmark.datasets.layouts import POSETRACK17

    images, anns = [], []
    for i, name in enumerate(names):
        x0, y0, w, h = 300 + 40 * i, 200 + 10 * i, 120, 360
        kp = []
        for joint in POSETRACK17.keypoints:
            u = TEMPLATE.get(joint)
            kp += [x0 + u[0] * w, y0 + u[1] * h, 2] if u else [0, 0, 0]
        images.append({"id": first_id + i, "file_name": name, "width": 1280, "height": 1024})
        anns.append({"id": 100 + first_id + i, "image_id": first_id + i, "category_id": 1,
                     "bbox": [x0, y0, w, h], "area": w * h, "iscrowd": 0,
                     "keypoints": kp, "num_keypoints": 15})
    return {"images": images, "annotations": anns,
            "categories": [POSETRACK17.coco_category(1)]}


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture()
def server(tmp_path: Path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, httpd
    httpd.shutdown()
    httpd.server_close()


def _only_llvip_pose(params: dict) -> None:
    params["datasets"] = ["llvip_pose"]
    params["preprocess"] |= {"workers": 1, "stats_images": 4}


def _repo_copy(dst: Path) -> Path:
    dst.mkdir(parents=True)
    return committed_copy(dst, params=_only_llvip_pose, drop=("dvc.lock",))


def _dvc(repo: Path, mirror: str, *args: str, exe: str = "dvc") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MPBENCH_"))}
    env |= {"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "MPBENCH_MIRROR": mirror,
            "HOME": str(repo.parent)}
    return subprocess.run(["timeout", "-k", "10", "600", str(BIN / exe), *args], cwd=repo,
                          env=env, capture_output=True, text=True)


def test_dvc_repro_of_llvip_pose_end_to_end(real_fixtures: Path, tmp_path: Path,
                                            server) -> None:
    served, httpd = server
    pairs = sorted(p.name for p in (real_fixtures / "llvip/FusionGAN/Test_LLVIP_ir").glob("*.jpg"))
    split = {"train": pairs[:8], "test": pairs[8:]}
    (served / "train_llvip.json").write_text(json.dumps(_annotations(split["train"], 1)))
    test = _annotations(split["test"], 50)
    (served / "test_llvip.json").write_text(json.dumps(test))
    for name in ("test_bbox_thermal_nms_50_llvip.json", "test_bbox_rgb_nms_50_llvip.json"):
        (served / name).write_text(json.dumps([]))
    keep13 = [0, *range(5, 17)]
    (served / "test_llvip_finetuning_13_kpts.json").write_text(json.dumps({
        **test, "annotations": [{**a, "keypoints": [v for j in keep13
                                                    for v in a["keypoints"][3 * j:3 * j + 3]],
                                 "num_keypoints": 13} for a in test["annotations"]]}))
    repo = _repo_copy(tmp_path / "repo")
    mirror = f"http://127.0.0.1:{httpd.server_address[1]}/"

    first = _dvc(repo, mirror, "repro", "preprocess@llvip_pose")
    assert first.returncode != 0
    out = first.stdout + first.stderr
    dest = repo / "data/llvip_pose/manual/LLVIP.zip"
    assert "LLVIP.zip" in out and "bupt-ai-cz.github.io/LLVIP" in out and str(dest) in out, out
    assert "Traceback" not in out
    downloaded = sorted(p.name for p in (repo / "data/llvip_pose/downloads").iterdir()
                        if p.suffix == ".json")
    assert len(downloaded) == 5  # automatic sources were fetched before stopping

    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w") as zf:
        for sp, names in split.items():
            for name in names:
                zf.write(real_fixtures / "llvip/FusionGAN/Test_LLVIP_ir" / name,
                         f"LLVIP/infrared/{sp}/{name}")
                zf.write(real_fixtures / "llvip/FusionGAN/Test_LLVIP_vi" / name,
                         f"LLVIP/visible/{sp}/{name}")
    second = _dvc(repo, mirror, "repro", "preprocess@llvip_pose")
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-5000:]

    base = repo / "data/llvip_pose"
    summary = json.loads((base / "converted/summary.json").read_text())
    assert summary["train"] == {"images": 8, "persons": 8, "keypoints": 8 * 15}
    assert summary["test"] == {"images": 4, "persons": 4, "keypoints": 4 * 15}
    assert summary["test_13kpts"] == {"images": 4, "persons": 4, "keypoints": 4 * 13}
    assert (base / "qa/report/train/skeletons.csv").is_file()
    thermal = json.loads((base / "processed/annotations/thermal/test.json").read_text())
    rgb = json.loads((base / "processed/annotations/rgb/test.json").read_text())
    assert [i["id"] for i in thermal["images"]] == [i["id"] for i in rgb["images"]]
    assert thermal["images"][0]["file_name"].startswith("images/LLVIP/infrared/test/")
    assert rgb["images"][0]["file_name"].startswith("images/LLVIP/visible/test/")
    norm = json.loads((base / "processed/annotations/thermal_norm/train.json").read_text())
    assert all((base / "processed/thermal_norm" / i["file_name"]).is_file()
               for i in norm["images"])
    pins = yaml.safe_load((repo / "datasets.lock").read_text())
    assert set(pins["llvip_pose"]) >= {"train_llvip.json", "LLVIP.zip"}

    requests = len(httpd.requests)
    third = _dvc(repo, mirror, "repro", "preprocess@llvip_pose")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "up to date" in third.stdout, third.stdout
    assert len(httpd.requests) == requests  # nothing downloaded again

    status = subprocess.run([str(BIN / "mpbench"), "data", "list", "--json"], cwd=repo,
                            capture_output=True, text=True, check=True)
    row = next(r for r in json.loads(status.stdout) if r["name"] == "llvip_pose")
    assert row["status"] == "preprocessed"

    # DVC never re-hashes its cache: a corrupted object checks out as it is. `mpbench data
    # verify` names a corrupted cache object and a corrupted workspace file; --repair
    # re-derives both (the same bytes) and leaves dvc.lock as it was.
    lock_text = (repo / "dvc.lock").read_text()
    (out,) = yaml.safe_load(lock_text)["stages"]["preprocess@llvip_pose"]["outs"]
    cache = Path(".dvc/cache/files/md5")
    listing = json.loads((repo / cache / out["md5"][:2] / out["md5"][2:]).read_text())
    md5 = {e["relpath"]: e["md5"] for e in listing}
    in_cache, in_workspace = "annotations/thermal/test.json", "annotations/rgb/test.json"
    obj = cache / md5[in_cache][:2] / md5[in_cache][2:]
    good = {rel: (base / "processed" / rel).read_bytes() for rel in (in_cache, in_workspace)}
    (repo / obj).chmod(0o644)
    (repo / obj).write_text("junk\n")
    (base / "processed" / in_workspace).unlink()
    (base / "processed" / in_workspace).write_text("junk\n")

    found = _dvc(repo, mirror, "data", "verify", "--dataset", "llvip_pose", exe="mpbench")
    assert found.returncode == 1, found.stdout + found.stderr
    errors = sorted(line for line in found.stderr.splitlines() if line.startswith("error: "))
    assert errors == [
        f"error: {obj}: cache object of data/llvip_pose/processed/{in_cache} (stage "
        "preprocess@llvip_pose) is corrupted",
        f"error: data/llvip_pose/processed/{in_workspace}: workspace file (stage "
        "preprocess@llvip_pose) differs from dvc.lock"], found.stderr
    assert "mpbench data verify --repair" in found.stderr

    fixed = _dvc(repo, mirror, "data", "verify", "--dataset", "llvip_pose", "--repair",
                 exe="mpbench")
    assert fixed.returncode == 0, fixed.stdout[-3000:] + fixed.stderr[-5000:]
    assert "re-ran preprocess@llvip_pose; every file matches dvc.lock now" in fixed.stdout
    assert {rel: (base / "processed" / rel).read_bytes() for rel in good} == good
    assert hashlib.md5((repo / obj).read_bytes()).hexdigest() == md5[in_cache]  # noqa: S324
    assert (repo / "dvc.lock").read_text() == lock_text
    again = _dvc(repo, mirror, "data", "verify", exe="mpbench")
    assert again.returncode == 0 and "every recorded stage output matches" in again.stdout
