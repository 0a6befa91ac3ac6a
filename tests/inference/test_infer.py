"""``mpbench infer`` on real images, thermal images and a real video, with random weights.

Each model is composed like a benchmark cell (no data on disk: the composer needs only the
dataset spec and metainfo file), randomly initialised, and saved as a checkpoint in a tmp
folder. Random weights give meaningless poses, so the checks are on what inference owes the
user: one pose per box (or per frame), keypoints where the crop was, the same numbers as
MMPose's own ``inference_topdown``/``inference_bottomup`` on the same input, the modality
conversion of training, resumable output equal to an uninterrupted run, refusal of a
checkpoint that does not fit before anything is read or written, and skipped unreadable frames.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from benchmark.cells import Cell
from tests.conftest import REPO

torch.set_num_threads(1)

COCO = "mmpose/tests/data/coco"
DET_FILE = "test_coco_det_AP_H_56.json"
LLVIP_IR = "llvip/FusionGAN/Test_LLVIP_ir"
VIDEO = ("mmpose/tests/data/posetrack18/videos/000001_mpiinew_test/"
         "000001_mpiinew_test.mp4")


def make_model(folder: Path, cell: Cell, overrides: dict | None = None,
               cfg_edit: dict | None = None) -> tuple[Path, Path]:
    """A composed config and a random-weights checkpoint of ``cell`` in ``folder``."""
    from mmengine.registry import init_default_scope

    from benchmark.models.compose import compose

    cfg = compose(cell, repo_root=REPO,
                  overrides={"pretrained_backbone": False, **(overrides or {})})
    if cfg_edit:
        cfg.merge_from_dict(cfg_edit)
    init_default_scope("mmpose")
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401

    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "meta": {}}, folder / "model.pth")
    cfg.dump(str(folder / "config.py"))
    return folder / "config.py", folder / "model.pth"


@pytest.fixture(scope="module")
def coco_model(module_tmp: Path) -> tuple[Path, Path]:
    return make_model(module_tmp, Cell("coco", "rgb", "tiny_hrnet"))


def _infer(source, out: Path, model: tuple[Path, Path], **kw) -> dict:
    from benchmark.inference import run_inference

    return run_inference(str(source), out, config=model[0], checkpoint=model[1], device="cpu",
                         progress=False, **kw)


def _results(out: Path) -> list[dict]:
    return json.loads((out / "predictions.json").read_text())


def _crop_region(bbox: list[float], aspect: float, padding: float = 1.25) -> tuple:
    """The image region a top-down crop covers (MMPose's GetBBoxCenterScale + TopdownAffine:
    the box padded by 1.25 and widened to the input's aspect ratio w/h), written out here."""
    x, y, w, h = bbox
    cx, cy, w, h = x + w / 2, y + h / 2, w * padding, h * padding
    w, h = (w, w / aspect) if w > h * aspect else (h * aspect, h)
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def test_coco_photos_with_detector_boxes(real_fixtures, coco_model, tmp_path,
                                         monkeypatch) -> None:
    """Every box of the released detector file gets one pose, inside its crop, equal to
    MMPose's inference_topdown; overlays keep the photo's size."""
    folder = real_fixtures / COCO
    dets = json.loads((folder / DET_FILE).read_text())
    out = tmp_path / "out"
    summary = _infer(folder, out, coco_model, boxes=folder / DET_FILE, batch_size=16)
    results = _results(out)
    assert summary["complete"] and summary["computed"] == [0, 1, 2, 3]
    assert Counter(r["image_id"] for r in results) == Counter(d["image_id"] for d in dets)
    assert len(results) == len(dets) == 118
    by_box = {(d["image_id"], tuple(round(v, 2) for v in d["bbox"])) for d in dets}
    for r in results:
        assert r["category_id"] == 1 and len(r["keypoints"]) == 17 * 3
        assert (r["image_id"], tuple(r["bbox"])) in by_box
        assert 0.0 <= r["score"] <= 1.0
        x0, y0, x1, y1 = _crop_region(r["bbox"], 64 / 96)
        pts = np.asarray(r["keypoints"]).reshape(17, 3)
        assert (pts[:, 0] >= x0 - 1).all() and (pts[:, 0] <= x1 + 1).all()
        assert (pts[:, 1] >= y0 - 1).all() and (pts[:, 1] <= y1 + 1).all()
    images = json.loads((out / "images.json").read_text())["images"]
    assert {i["id"]: i["file_name"] for i in images} == {
        int(p.stem): p.name for p in folder.glob("*.jpg")}
    for img in images:
        overlay = cv2.imread(str(out / "overlays" / f"{Path(img['file_name']).stem}.jpg"))
        photo = cv2.imread(str(folder / img["file_name"]))
        assert overlay.shape == photo.shape == (img["height"], img["width"], 3)
    assert json.loads((out / "skipped.json").read_text()) == []

    # The batched pass gives MMPose's own top-down inference on the same boxes.
    from mmpose.apis import inference_topdown, init_model

    monkeypatch.chdir(REPO)  # the config's metainfo path is relative to the repository
    model = init_model(str(coco_model[0]), str(coco_model[1]), device="cpu")
    mine = [r for r in results if r["image_id"] == 785]
    # the file's boxes, in its order, as float32 (how MMPose's datasets hold boxes)
    xyxy = np.array([[x, y, x + w, y + h] for x, y, w, h in
                     (d["bbox"] for d in dets if d["image_id"] == 785)], dtype=np.float32)
    theirs = inference_topdown(model, str(folder / "000000000785.jpg"), xyxy)
    assert len(theirs) == len(mine) == sum(d["image_id"] == 785 for d in dets) > 0
    for r, sample in zip(mine, theirs):
        pts = np.asarray(r["keypoints"]).reshape(17, 3)
        np.testing.assert_allclose(pts[:, :2], sample.pred_instances.keypoints[0], atol=0.011)
        np.testing.assert_allclose(pts[:, 2], sample.pred_instances.keypoint_scores[0],
                                   atol=1e-6)


def test_thermal_images_get_the_training_conversion(real_fixtures, tmp_path,
                                                    monkeypatch) -> None:
    """LLVIP infrared frames (and a 16-bit copy of one) reach the network as the thermal
    loader makes them; one whole-frame pose per image, equal to MMPose's on that input."""
    from benchmark.inference.sources import iter_frames, open_source
    from benchmark.modalities.inputs import to_network_input

    model = make_model(tmp_path / "model", Cell("llvip_pose", "thermal", "tiny_hrnet"))
    folder = tmp_path / "ir"
    folder.mkdir()
    files = sorted((real_fixtures / LLVIP_IR).glob("*.jpg"))[:4]
    for f in files:
        shutil.copy(f, folder / f.name)
    gray = cv2.imread(str(files[0]), cv2.IMREAD_GRAYSCALE).astype(np.uint16)
    cv2.imwrite(str(folder / "900001.png"), gray * 200 + 1000)  # a 16-bit radiometric frame
    out = tmp_path / "out"
    summary = _infer(folder, out, model, batch_size=3)
    assert summary["frames"] == 5 and summary["skipped"] == []

    src = open_source(str(folder))
    loader = {"type": "LoadModalityImage", "kind": "thermal", "value_range": None,
              "upsample": 1}
    inputs = {f.name: f.image for f in iter_frames(src, loader)}
    for path in src.files:
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(inputs[path.stem], to_network_input(raw, "thermal"))
    raw16 = cv2.imread(str(folder / "900001.png"), cv2.IMREAD_UNCHANGED)
    assert raw16.dtype == np.uint16 and inputs["900001"].dtype == np.uint8

    results = _results(out)
    assert Counter(r["image_id"] for r in results) == Counter(
        [190001, 190002, 190003, 190004, 900001])
    for r in results:
        h, w = inputs[str(r["image_id"])].shape[:2]
        assert r["bbox"] == [0.0, 0.0, float(w), float(h)]
    from mmpose.apis import inference_topdown, init_model

    monkeypatch.chdir(REPO)
    mm = init_model(str(model[0]), str(model[1]), device="cpu")
    theirs = inference_topdown(mm, str(folder / "900001.png"))[0].pred_instances
    mine = np.asarray(next(r for r in results if r["image_id"] == 900001)["keypoints"])
    np.testing.assert_allclose(mine.reshape(17, 3)[:, :2], theirs.keypoints[0], atol=0.011)


def test_video_resumes_where_it_stopped(real_fixtures, tmp_path) -> None:
    """A run stopped after 2 of the 5 PoseTrack frames computes only the other 3 when
    restarted (a line cut short by the kill is dropped), ends equal to an uninterrupted run,
    and writes a 5-frame overlay video."""
    video = real_fixtures / VIDEO
    model = make_model(tmp_path / "model", Cell("posetrack18", "rgb", "tiny_hrnet"))
    whole = _infer(video, tmp_path / "whole", model, batch_size=2, render=False)
    assert whole["computed"] == [0, 1, 2, 3, 4] and whole["complete"]

    out = tmp_path / "out"
    first = _infer(video, out, model, batch_size=2, max_frames=2)
    assert first["computed"] == [0, 1] and not first["complete"]
    assert not (out / "overlay.mp4").exists()
    with open(out / "predictions.jsonl", "a") as f:
        f.write('{"frame": 2, "image_id": 2, "na')  # killed mid-line
    second = _infer(video, out, model, batch_size=2)
    assert second["computed"] == [2, 3, 4] and second["resumed"] == 2 and second["complete"]
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 5
    assert _results(out) == _results(tmp_path / "whole")
    assert len(_results(out)) == 5
    assert [i["frame"] for i in json.loads((out / "images.json").read_text())["images"]] == [
        0, 1, 2, 3, 4]

    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img.shape)
    cap.release()
    assert frames == [(720, 1280, 3)] * 5
    third = _infer(video, out, model)  # nothing left to do
    assert third["computed"] == [] and third["frames"] == 5

    from benchmark.inference import InferenceError

    ckpt = torch.load(model[1], weights_only=True)
    ckpt["state_dict"]["head.final_layer.bias"] += 1.0
    torch.save(ckpt, tmp_path / "other.pth")
    with pytest.raises(InferenceError, match=r"another run \(checkpoint_sha256 differ"):
        _infer(video, out, (model[0], tmp_path / "other.pth"))


def test_a_checkpoint_that_does_not_fit_is_refused_before_reading(real_fixtures, coco_model,
                                                                  tmp_path) -> None:
    from benchmark.inference import InferenceError

    mpii = make_model(tmp_path / "mpii", Cell("mpii", "rgb", "tiny_hrnet"))
    out = tmp_path / "out"
    with pytest.raises(InferenceError, match=r"predicts 16 keypoints, the model 17"):
        _infer(real_fixtures / COCO, out, (coco_model[0], mpii[1]))
    assert not out.exists()
    gray = make_model(tmp_path / "gray", Cell("coco", "rgb", "tiny_hrnet"),
                      cfg_edit={"model.backbone.in_channels": 1})
    with pytest.raises(InferenceError, match=r"takes 1 channels, the model's 3"):
        _infer(real_fixtures / COCO, out, (coco_model[0], gray[1]))
    cid = make_model(tmp_path / "cid", Cell("coco", "rgb", "cid_hrnet_w32"),
                     overrides={"input_size": (64, 64)})
    with pytest.raises(InferenceError, match="another architecture"):
        _infer(real_fixtures / COCO, out, (coco_model[0], cid[1]))
    assert not out.exists()


def test_a_corrupt_image_is_skipped_and_listed(real_fixtures, coco_model, tmp_path,
                                               capfd) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for f in sorted((real_fixtures / COCO).glob("*.jpg"))[:2]:
        shutil.copy(f, folder / f.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    out = tmp_path / "out"
    summary = _infer(folder, out, coco_model)
    assert summary["skipped"] == [2] and summary["computed"] == [0, 1]
    skipped = json.loads((out / "skipped.json").read_text())
    assert [s["name"] for s in skipped] == ["broken"] and "broken.jpg" in skipped[0]["reason"]
    assert "skipped broken" in capfd.readouterr().err
    assert sorted(r["image_id"] for r in _results(out)) == [0, 1]
    assert sorted(p.name for p in (out / "overlays").iterdir()) == [
        "000000000785.jpg", "000000040083.jpg"]


def test_bottom_up_cell_needs_no_boxes(real_fixtures, tmp_path, monkeypatch) -> None:
    """CID at 64x64 finds people in whole photos; its poses equal MMPose's
    inference_bottomup."""
    model = make_model(tmp_path / "cid", Cell("coco", "rgb", "cid_hrnet_w32"),
                       overrides={"input_size": (64, 64)})
    folder = real_fixtures / COCO
    out = tmp_path / "out"
    summary = _infer(folder, out, model, boxes=folder / DET_FILE)  # boxes are not used
    results = _results(out)
    assert summary["complete"] and summary["instances"] == len(results) > 0
    from mmpose.apis import inference_bottomup, init_model

    monkeypatch.chdir(REPO)
    mm = init_model(str(model[0]), str(model[1]), device="cpu")
    for path in sorted(folder.glob("*.jpg")):
        theirs = inference_bottomup(mm, str(path))[0].pred_instances
        mine = [r for r in results if r["image_id"] == int(path.stem)]
        assert len(mine) == len(theirs.keypoints)
        for r, kpts, scores in zip(mine, theirs.keypoints, theirs.keypoint_scores):
            assert len(r["keypoints"]) == 17 * 3
            pts = np.asarray(r["keypoints"]).reshape(17, 3)
            np.testing.assert_allclose(pts[:, :2], kpts, atol=0.011)
            np.testing.assert_allclose(pts[:, 2], scores, atol=1e-6)


def _mpbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO), "MPBENCH_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "benchmark.cli", "infer", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_cli_end_to_end_on_a_trained_cell(real_fixtures, coco_model, tmp_path) -> None:
    """``mpbench infer PHOTO --cell KEY`` reads the cell's config and summary's checkpoint."""
    work = tmp_path / "work_dirs" / "coco" / "rgb" / "tiny_hrnet"
    work.mkdir(parents=True)
    shutil.copy(coco_model[0], work / "config.py")
    (work / "train_summary.json").write_text(json.dumps({"checkpoint": str(coco_model[1])}))
    photo = real_fixtures / COCO / "000000040083.jpg"
    proc = _mpbench(str(photo), "--cell", "coco/rgb/tiny_hrnet", "--out", "out",
                    "--boxes", str(real_fixtures / COCO / DET_FILE), "--device", "cpu",
                    cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    dets = [d for d in json.loads((real_fixtures / COCO / DET_FILE).read_text())
            if d["image_id"] == 40083]
    assert summary["computed"] == 1 and summary["instances"] == len(dets) > 0
    assert len(_results(tmp_path / "out")) == len(dets)
    assert cv2.imread(str(tmp_path / "out" / "overlays" / "000000040083.jpg")).shape == (
        333, 500, 3)

    proc = _mpbench(str(photo), "--cell", "coco/rgb/hrnet_w32", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "is not trained" in proc.stderr


def test_detector_boxes_are_those_of_the_project_s_detector(real_fixtures, coco_model,
                                                            tmp_path) -> None:
    """``--detector``: RTMDet-tiny (random weights, 1-class person head, score_thr 0) gives
    the boxes ``mpbench detections`` writes for the same photos, and one pose per box."""
    pytest.importorskip("mmdet.apis")
    pytest.importorskip("mmcv._ext")
    from benchmark.inference.boxes import Detector
    from benchmark.models.detect import detect_split

    config = "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py"
    person = {"model.bbox_head.num_classes": 1, "model.bbox_head.exp_on_reg": True}
    folder = real_fixtures / COCO
    detect_split(config, None, folder / "test_coco.json", folder, tmp_path / "det.json",
                 score_thr=0.0, nms_iou=0.5, progress_every=0, cfg_options=person)
    expected = Counter((d["image_id"], tuple(d["bbox"]))
                       for d in json.loads((tmp_path / "det.json").read_text()))
    detector = Detector(config, None, score_thr=0.0, nms_iou=0.5, cfg_options=person)
    _infer(folder, tmp_path / "out", coco_model, detector=detector, render=False)
    results = _results(tmp_path / "out")
    assert len(results) == sum(expected.values()) > 0
    assert Counter((r["image_id"], tuple(r["bbox"])) for r in results) == expected


def test_overlays_use_the_layout_skeleton_and_metainfo_colours() -> None:
    """Links follow the COCO layout in the metainfo's link colour; keypoints in their own
    (RGB in the metainfo, BGR in the image); low-score keypoints are not drawn."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    from benchmark.datasets import get_spec
    from benchmark.inference.render import draw, style_of

    meta = parse_pose_metainfo({"from_file": str(REPO / "configs/_base_/datasets/coco.py")})
    layout = get_spec("coco").layout
    style = style_of(meta, "coco", 17)
    assert style.links == list(layout.skeleton_indices)
    a, b = layout.index["left_shoulder"], layout.index["left_elbow"]
    link = style.links.index((a, b)) if (a, b) in style.links else style.links.index((b, a))
    pts = np.zeros((17, 3))
    pts[a], pts[b] = (20, 50, 0.9), (80, 50, 0.9)
    pts[layout.index["nose"]] = (50, 90, 0.1)  # below the threshold
    image = draw(np.zeros((100, 100, 3), np.uint8),
                 [{"bbox": [0, 0, 99, 99], "keypoints": pts.ravel().tolist()}], style)
    rgb = meta["skeleton_link_colors"][link]
    assert tuple(image[50, 50]) == (rgb[2], rgb[1], rgb[0])
    rgb = meta["keypoint_colors"][a]
    assert tuple(image[50, 20]) == (rgb[2], rgb[1], rgb[0]) != tuple(image[50, 50])
    assert tuple(image[90, 50]) == (0, 0, 0)
