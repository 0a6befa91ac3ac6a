"""Person detection over a split with a real MMDetection detector on real images.

RTMDet-tiny from the installed mmdet package as a 1-class person detector, randomly initialised
(no weights are fetched),
runs over mmpose's 4 COCO photos (annotation file = their ground truth) and over LLVIP thermal
images (a tiny annotation file in tmp_path). Random weights give meaningless boxes, so the
checks are on the plumbing: a file that ``load_detections`` accepts against the same ground
truth, boxes inside the image, the score threshold, NMS, the per-image cap and determinism.
``score_thr=0`` so that random weights still produce boxes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets.detections import load_detections

RTMDET_TINY = "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py"
#: RTMDet-tiny as a 1-class person detector (the head of mmpose's RTMDet person detectors:
#: one class, ``exp_on_reg``). With random weights, exp() gives boxes of about 2 strides, so
#: neighbouring boxes overlap and NMS has work; the 80-class tiny head gives sub-pixel boxes.
PERSON_TINY = {"model.bbox_head.num_classes": 1, "model.bbox_head.exp_on_reg": True}
NMS_IOU = 0.5
MAX_PER_IMAGE = 15


def _stack_available() -> bool:
    try:
        import mmcv._ext  # noqa: F401
        import mmdet.apis  # noqa: F401
        import torchvision.ops  # noqa: F401
    except ImportError:
        return False
    return True


needs_stack = pytest.mark.skipif(
    not _stack_available(),
    reason="needs MMDetection with mmcv's compiled ops (mmcv._ext) and torchvision: `make install`")


def _iou(a: list[float], b: list[float]) -> float:
    """IoU of two [x, y, w, h] boxes (no +1 pixel offset), written out independently."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _check_file(out: Path, gt: Path | dict, score_thr: float) -> list[dict]:
    """The detection file is valid against ``gt``, in bounds, thresholded, NMS'd and capped."""
    records = load_detections(out, gt)
    assert records, "random RTMDet weights with score_thr=0 should give boxes"
    gt = gt if isinstance(gt, dict) else json.loads(Path(gt).read_text())
    images = {img["id"]: img for img in gt["images"]}
    by_image: dict[int, list[dict]] = {}
    for r in records:
        assert r["image_id"] in images and r["category_id"] == 1
        x, y, w, h = r["bbox"]
        img = images[r["image_id"]]
        assert x >= 0 and y >= 0 and w > 0 and h > 0
        assert x + w <= img["width"] + 1e-6 and y + h <= img["height"] + 1e-6
        assert r["score"] >= score_thr
        by_image.setdefault(r["image_id"], []).append(r)
    for recs in by_image.values():
        assert len(recs) <= MAX_PER_IMAGE
        scores = [r["score"] for r in recs]
        assert scores == sorted(scores, reverse=True)
        for i in range(len(recs)):
            for j in range(i + 1, len(recs)):
                assert _iou(recs[i]["bbox"], recs[j]["bbox"]) <= NMS_IOU + 1e-9
    return records


@pytest.fixture(scope="module")
def coco_runs(real_fixtures: Path, module_tmp: Path
              ) -> tuple[Path, list[Path], list[dict]]:
    """Two identical runs over the 4 COCO photos: (gt, [file 1, file 2], [summary 1, 2])."""
    if not _stack_available():
        pytest.skip("needs MMDetection with mmcv's compiled ops (mmcv._ext): `make install`")
    from benchmark.models.detect import detect_split

    d = real_fixtures / "mmpose/tests/data/coco"
    tmp = module_tmp
    outs, infos = [], []
    for run in (1, 2):
        out = tmp / f"run{run}" / "det.json"
        infos.append(detect_split(RTMDET_TINY, None, d / "test_coco.json", d, out,
                                  score_thr=0.0, nms_iou=NMS_IOU, max_per_image=MAX_PER_IMAGE,
                                  progress_every=2, seed=0, cfg_options=PERSON_TINY))
        outs.append(out)
    return d / "test_coco.json", outs, infos


@needs_stack
def test_coco_photos_give_a_valid_detection_file(coco_runs) -> None:
    gt, outs, infos = coco_runs
    records = _check_file(outs[0], gt, 0.0)
    info = infos[0]
    assert info["random_weights"] and info["person_label"] == 0  # the only class
    assert info["detections"] == len(records) and info["gt_images"] == 4
    assert info["per_image_max"] <= MAX_PER_IMAGE


@needs_stack
def test_same_seed_gives_identical_files(coco_runs) -> None:
    _, outs, _ = coco_runs
    assert outs[0].read_bytes() == outs[1].read_bytes()


@needs_stack
def test_thermal_and_depth_images_go_through_the_modality_loader(
        real_fixtures: Path, tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    """A real LLVIP thermal frame, and the same frame as 16-bit depth (mm) and 8x low-res depth."""
    import cv2

    from benchmark.models.detect import DetectorError, detect_split

    ir = real_fixtures / "llvip/FusionGAN/Test_LLVIP_ir"
    gt = {"images": [{"id": 190001, "file_name": "190001.jpg", "width": 1280, "height": 1024}],
          "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    ann = tmp_path / "thermal.json"
    ann.write_text(json.dumps(gt))
    out = tmp_path / "thermal_det.json"
    info = detect_split(RTMDET_TINY, None, ann, ir, out, modality_loader={"kind": "thermal"},
                        score_thr=0.0, nms_iou=NMS_IOU, max_per_image=MAX_PER_IMAGE,
                        cfg_options=PERSON_TINY)
    _check_file(out, ann, 0.0)
    assert info["images_without_detections"] == 0
    err = capfd.readouterr().err
    assert "RANDOM weights" in err and "detect: 1/1 images" in err

    # 16-bit depth in millimetres, and its 8x subsampled low-resolution version.
    gray = cv2.imread(str(ir / "190001.jpg"), cv2.IMREAD_GRAYSCALE).astype(np.float64)
    depth = (500 + gray / 255 * 7500).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "depth.png"), depth)
    cv2.imwrite(str(tmp_path / "low.png"), depth[::8, ::8])
    depth_loader = {"type": "LoadModalityImage", "kind": "depth", "value_range": [500.0, 8000.0],
                    "upsample": 1}
    for name, loader in (("depth.png", depth_loader), ("low.png", depth_loader | {"upsample": 8})):
        gt["images"][0]["file_name"] = name
        ann.write_text(json.dumps(gt))
        detect_split(RTMDET_TINY, None, ann, tmp_path, out, modality_loader=loader,
                     score_thr=0.0, nms_iou=NMS_IOU, max_per_image=MAX_PER_IMAGE,
                     cfg_options=PERSON_TINY)
        _check_file(out, ann, 0.0)
    # The low-resolution image without its upsample factor is not in the annotation frame.
    with pytest.raises(DetectorError, match=r"low\.png: network input is 160x128 but .* 1280x1024"):
        detect_split(RTMDET_TINY, None, ann, tmp_path, out, modality_loader=depth_loader,
                     score_thr=0.0, cfg_options=PERSON_TINY)


def test_postprocess_threshold_clip_nms_cap() -> None:
    pytest.importorskip("torchvision.ops", reason="postprocess uses torchvision's nms")
    from benchmark.models.detect import postprocess

    boxes = np.array([[10, 10, 110, 210],     # person, best
                      [12, 12, 112, 212],     # person, overlaps the best: suppressed
                      [-50, 300, 80, 520],    # person, clipped to x >= 0 and y <= 400
                      [200, 10, 260, 100],    # person, below the threshold
                      [300, 10, 400, 100],    # another class
                      [500, 50, 500.4, 90],   # person, narrower than 1 px: dropped
                      [400, 150, 450, 250]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.95, 0.6, 0.5])
    labels = np.array([0, 0, 0, 0, 2, 0, 0])
    kept = postprocess(boxes, scores, labels, label=0, width=480, height=400, score_thr=0.3,
                       nms_iou=0.5, max_per_image=100)
    assert kept == [([10.0, 10.0, 100.0, 200.0], 0.9), ([0.0, 300.0, 80.0, 100.0], 0.7),
                    ([400.0, 150.0, 50.0, 100.0], 0.5)]
    assert len(postprocess(boxes, scores, labels, label=0, width=480, height=400,
                           score_thr=0.3, nms_iou=0.5, max_per_image=2)) == 2
    # IoU of the two overlapping boxes is ~0.94: a looser NMS keeps both.
    assert len(postprocess(boxes, scores, labels, label=0, width=480, height=400,
                           score_thr=0.3, nms_iou=0.95)) == 4


def _walk(node, key=None):
    """Every (key, value) of a nested config."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v, key)
    else:
        yield key, node


@needs_stack
def test_configs_resolve_offline_and_lose_their_pretrained_weights() -> None:
    from mmengine.config import Config

    from benchmark.models.detect import (
        DetectorError,
        build_detector,
        person_label,
        resolve_config_path,
        strip_pretrained,
    )

    person = resolve_config_path("mmpose::demo/mmdetection_cfg/rtmdet_m_640-8xb32_coco-person.py")
    assert Config.fromfile(str(person)).model.bbox_head.num_classes == 1
    cfg = Config.fromfile(str(resolve_config_path(RTMDET_TINY)))
    assert cfg.model.backbone.init_cfg["type"] == "Pretrained"  # what must not be fetched
    strip_pretrained(cfg.model)
    values = list(_walk(cfg.model.to_dict()))
    assert not [v for _, v in values if isinstance(v, str) and "://" in v]
    assert not [(k, v) for k, v in values if k in ("init_cfg", "pretrained") and v is not None]
    # The 80-class COCO detector: a person is its class 0.
    assert person_label(build_detector(RTMDET_TINY, None)) == 0
    with pytest.raises(DetectorError, match="no config 'rtmdet/nope.py'"):
        resolve_config_path("mmdet::rtmdet/nope.py")
    with pytest.raises(DetectorError, match="detector config not found"):
        resolve_config_path("/nonexistent/detector.py")


def test_detections_command_names_a_missing_annotation_view(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.cli import main

    monkeypatch.chdir(tmp_path)  # an empty checkout: no data/ prepared

    assert main(["detections", "--dataset", "demo", "--modality", "thermal", "--split", "test",
                 "--name", "tiny", "--out", str(tmp_path / "d.json")]) == 2
    assert "annotations_official/thermal/test.json: missing" in capsys.readouterr().err


def test_released_file_is_validated_and_restricted_to_the_split(
        real_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A released detection file (HRNet's COCO boxes) becomes the split's validated file, with
    every person box; a file naming images the view lacks is refused."""
    from benchmark.datasets import get_spec
    from benchmark.models.boxes import materialise

    coco = real_fixtures / "mmpose/tests/data/coco"
    data = tmp_path / "data"
    raw = data / "coco/raw"
    raw.mkdir(parents=True)
    (raw / "COCO_val2017_detections_AP_H_56_person.json").symlink_to(
        coco / "test_coco_det_AP_H_56.json")
    gt = json.loads((coco / "test_coco.json").read_text())
    view = data / "coco/processed/annotations_official/rgb/val.json"
    view.parent.mkdir(parents=True)
    view.write_text(json.dumps(gt))
    spec = get_spec("coco")
    out = materialise(spec, "rgb", "val", "hrnet_ap56", tmp_path / "val.json", data_root=data)
    released = json.loads((coco / "test_coco_det_AP_H_56.json").read_text())
    assert len(json.loads(out.read_text())) == sum(r["category_id"] == 1 for r in released)
    # a view without some of the file's images: the file is refused, naming the problem
    keep = gt["images"][0]["id"]
    sub = {**gt, "images": gt["images"][:1],
           "annotations": [a for a in gt["annotations"] if a["image_id"] == keep]}
    gray = data / "coco/processed/annotations_official/gray/val.json"
    gray.parent.mkdir(parents=True)
    gray.write_text(json.dumps(sub))
    with pytest.raises(Exception, match="another split"):
        materialise(spec, "gray", "val", "hrnet_ap56", tmp_path / "g.json", data_root=data)


@needs_stack
def test_detections_command_runs_the_matrix_detector_on_a_modality_s_images(
        real_fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``mpbench detections`` with a detector entry (what the workflow's rule passes) on a
    demo-layout data root holding one real LLVIP thermal frame."""
    from benchmark.cli import main

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    (data / "demo/raw/thermal").mkdir(parents=True)
    (data / "demo/raw/thermal/190001.jpg").symlink_to(
        real_fixtures / "llvip/FusionGAN/Test_LLVIP_ir/190001.jpg")
    view = data / "demo/processed/annotations_official/thermal/test.json"
    view.parent.mkdir(parents=True)
    gt = {"images": [{"id": 7, "file_name": "190001.jpg", "width": 1280, "height": 1024}],
          "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    view.write_text(json.dumps(gt))
    entry = {"config": RTMDET_TINY, "checkpoint": None, "score_thr": 0.0, "nms_iou": NMS_IOU,
             "max_per_image": MAX_PER_IMAGE, "cfg_options": PERSON_TINY}
    out = tmp_path / "results/detections/demo/thermal/test/tiny.json"
    assert main(["detections", "--dataset", "demo", "--modality", "thermal", "--split", "test",
                 "--name", "tiny", "--detector", json.dumps(entry)]) == 0
    assert len(_check_file(out, view, 0.0)) <= MAX_PER_IMAGE
