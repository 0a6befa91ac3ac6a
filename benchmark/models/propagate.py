"""Video pose propagation with a trained PoseWarper cell (Bertasius et al., NeurIPS 2019,
sec. 4.2): pseudo-labels for sparsely labelled videos, measured before anyone trains on them.

The protocol, on a split whose frames are labelled densely enough to check: in each video the
labelled frames are taken in frame order and every ``every``-th one (from the ``every // 2``-th:
frames 3, 10, 17, ... of a run of consecutive labels) keeps its labels (the sources); every other
labelled frame within ``max_offset`` frames of a source (the paper's +-3) is a target and gets
the nearest source's poses, each person warped from the source frame into the target frame by
:func:`benchmark.models.ext.posewarper.propagate_keypoints` on a crop of the source person's box
(the same crop of both frames). The targets' propagated poses are scored against the targets'
own labels with the dataset's protocol (``posetrack-map``); the sources are not scored. A split
without targets (one labelled frame per video) has no propagation score.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import MpbenchError
from benchmark.fileio import write_text_atomic

EVERY, MAX_OFFSET = 7, 3


def _frame(img: dict[str, Any]) -> tuple[str, int]:
    """(video, frame number) of a canonical PoseTrack image (``<video>/<frame>.jpg``)."""
    path = Path(img["file_name"])
    if not path.stem.isdigit():
        raise MpbenchError(f"image {img['id']}: {img['file_name']!r} is not a numbered frame "
                           "(<video>/<frame>.jpg): propagation needs video frames")
    return str(img.get("vid_id", path.parent.as_posix())), int(path.stem)


def plan(gt: dict[str, Any], every: int = EVERY, max_offset: int = MAX_OFFSET
         ) -> dict[int, int]:
    """``{target image id: source image id}`` (see the module docstring)."""
    posed = {a["image_id"] for a in gt["annotations"] if any(a["keypoints"][2::3])}
    videos: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for img in gt["images"]:
        if img["id"] in posed:
            video, frame = _frame(img)
            videos[video].append((frame, img["id"]))
    out: dict[int, int] = {}
    for frames in videos.values():
        frames.sort()
        sources = frames[every // 2::every]
        source_ids = {i for _, i in sources}
        for frame, image_id in frames:
            if image_id in source_ids:
                continue
            near = min(sources, key=lambda s: (abs(s[0] - frame), s[0]), default=None)
            if near is not None and abs(near[0] - frame) <= max_offset:
                out[image_id] = near[1]
    return out


def target_ground_truth(gt: dict[str, Any], targets: set[int]) -> dict[str, Any]:
    """The split's ground truth restricted to the target frames (what is scored)."""
    return {**gt, "images": [i for i in gt["images"] if i["id"] in targets],
            "annotations": [a for a in gt["annotations"] if a["image_id"] in targets]}


def propagate_split(work_dir: Path, checkpoint: str | None, gt_file: Path, out: Path,
                    gt_out: Path, *, every: int = EVERY, max_offset: int = MAX_OFFSET,
                    device: str = "cpu") -> tuple[Path, Path] | None:
    """Propagate the sources' labels of ``gt_file`` to its targets with the cell of
    ``work_dir`` (its ``config.py``, weights ``checkpoint``): write the targets' poses
    (``out``, COCO results with the source person's ``track_id``) and their ground truth
    (``gt_out``); None when the split has no target frame."""
    gt = json.loads(Path(gt_file).read_text())
    pairs = plan(gt, every, max_offset)
    if not pairs:
        return None
    model, cfg = _load(work_dir, checkpoint, device)
    from mmpose.registry import TRANSFORMS

    pipeline = cfg.test_dataloader.dataset.pipeline
    loader = TRANSFORMS.build(pipeline[0])  # the cell's modality loader
    img_root = Path(cfg.test_dataloader.dataset.data_prefix["img"])
    images = {i["id"]: i for i in gt["images"]}
    persons: dict[int, list[dict]] = defaultdict(list)
    for ann in gt["annotations"]:
        if any(ann["keypoints"][2::3]):
            persons[ann["image_id"]].append(ann)
    input_size = tuple(cfg.codec["input_size"])
    results = []
    from tqdm import tqdm

    for target, source in tqdm(sorted(pairs.items()), desc=f"propagate {gt_file.name}",
                               unit="frame"):
        img_a = loader.transform({"img_path": str(img_root / images[source]["file_name"])})
        img_b = loader.transform({"img_path": str(img_root / images[target]["file_name"])})
        for ann in persons[source]:
            results.append(_propagate_person(model, img_a["img"], img_b["img"], ann,
                                             input_size, target))
    write_text_atomic(out, json.dumps(results) + "\n")
    write_text_atomic(gt_out, json.dumps(target_ground_truth(gt, set(pairs))) + "\n")
    return out, gt_out


def _propagate_person(model, img_a: np.ndarray, img_b: np.ndarray, ann: dict[str, Any],
                      input_size: tuple[int, int], target: int) -> dict[str, Any]:
    import cv2
    from mmpose.structures.bbox import bbox_xywh2cs, get_warp_matrix

    from benchmark.models.ext.posewarper import propagate_keypoints

    center, scale = bbox_xywh2cs(np.asarray(ann["bbox"], np.float32), padding=1.25)
    w, h = input_size
    aspect = w / h  # MMPose's TopdownAffine: the box widened to the input's aspect ratio
    scale = np.array([max(scale[0], scale[1] * aspect), max(scale[1], scale[0] / aspect)],
                     np.float32)
    warp = get_warp_matrix(center, scale, 0.0, output_size=(w, h))
    crop_a = cv2.warpAffine(img_a, warp, (w, h), flags=cv2.INTER_LINEAR)
    crop_b = cv2.warpAffine(img_b, warp, (w, h), flags=cv2.INTER_LINEAR)
    kp = np.asarray(ann["keypoints"], np.float32).reshape(-1, 3)
    in_crop = cv2.transform(kp[None, :, :2], warp)[0]
    moved, scores = propagate_keypoints(model, crop_a, crop_b, in_crop, kp[:, 2] > 0)
    back = cv2.transform(moved[None], cv2.invertAffineTransform(warp))[0]
    labelled = scores > 0
    keypoints = np.concatenate([back, scores[:, None]], axis=1)
    return {"image_id": target, "category_id": 1, "track_id": ann.get("track_id"),
            "keypoints": [round(float(v), 3) for v in keypoints.ravel()],
            "score": float(scores[labelled].mean()) if labelled.any() else 0.0}


def _load(work_dir: Path, checkpoint: str | None, device: str):
    """The cell's model: initialised as for training (PoseWarper's identity warp), then the
    trained weights."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401 - registers PoseWarper
    from benchmark.models.checkpoints import allow_mmengine_checkpoints
    from benchmark.models.families import strip_pretrained
    from benchmark.models.train import limit_threads

    cfg = Config.fromfile(str(Path(work_dir) / "config.py"))
    if cfg.model.type != "PoseWarperEstimator":
        raise MpbenchError(f"{work_dir}: propagation needs a PoseWarper cell; this one is a "
                           f"{cfg.model.type}")
    allow_mmengine_checkpoints()
    limit_threads()
    init_default_scope("mmpose")
    strip_pretrained(cfg)  # the trained checkpoint replaces any ImageNet/COCO init
    model = MODELS.build(cfg.model)
    model.init_weights()
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location="cpu")
    return model.to(device).eval(), cfg
