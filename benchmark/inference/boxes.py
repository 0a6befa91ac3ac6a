"""Person boxes of ``mpbench infer``: a COCO detection file, a detector, or the whole frame.

A detection file is a COCO results list, ``[{"image_id", "bbox": [x, y, w, h], "score"}]``
(``category_id`` other than 1 is left out; ``file_name`` may replace or accompany
``image_id``). Matching, once, here:

- images and folders: an entry with ``file_name`` belongs to the image of that file name (its
  name in the folder, or a path ending in it); otherwise its ``image_id`` is the image's id:
  the numeric file stem (``000000000785.jpg`` is 785) when every stem of the source is a
  distinct integer, else the 0-based position of the file in sorted order;
- videos: ``image_id`` is the 0-based frame index.

The file's boxes are used as given (no threshold: filter the file to choose). A detector's
boxes go through :func:`benchmark.models.detect.postprocess` (person class, ``score_thr``,
clipping, NMS), run on the network input, so thermal and depth frames are detected on what the
pose model sees.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.inference.sources import Frame, InferenceError, Source

#: MMPose's top-down demo draws persons above this detector score (``--bbox-thr 0.3``).
DEFAULT_BBOX_THR = 0.3


def load_box_file(path: Path, source: Source) -> dict[int, list[tuple[list[float], float]]]:
    """Boxes by frame index (see the module docstring for the matching)."""
    try:
        records = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InferenceError(f"{path}: not a readable JSON detection file ({exc})") from None
    if not isinstance(records, list):
        raise InferenceError(f"{path}: expected a COCO results list [{{image_id, bbox, "
                             "score}}, ...]")
    by_id: dict[Any, int] = {}
    by_name: dict[str, int] = {}
    if source.kind == "images":
        by_id = {image_id: i for i, image_id in enumerate(source.image_ids())}
        by_name = {f.name: i for i, f in enumerate(source.files)}
    out: dict[int, list[tuple[list[float], float]]] = defaultdict(list)
    for n, rec in enumerate(records):
        if not isinstance(rec, dict) or "bbox" not in rec:
            raise InferenceError(f"{path}: entry {n} has no bbox")
        if int(rec.get("category_id", 1)) != 1:
            continue
        if source.kind == "images":
            if rec.get("file_name") is not None:
                index = by_name.get(Path(str(rec["file_name"])).name)
            else:
                index = by_id.get(rec.get("image_id"))
        else:
            index = int(rec["image_id"]) if "image_id" in rec else None
        if index is None:
            continue  # a box of an image that is not in the source
        x, y, w, h = (float(v) for v in rec["bbox"])
        if w > 0 and h > 0:
            out[index].append(([x, y, w, h], float(rec.get("score", 1.0))))
    if records and not out:
        raise InferenceError(f"{path}: none of its {len(records)} boxes matches a frame of "
                             f"{source.spec} (by file_name, or image_id as described in "
                             "docs/inference.md)")
    return dict(out)


def whole_frame(frame: Frame) -> list[tuple[list[float], float]]:
    h, w = frame.image.shape[:2]
    return [([0.0, 0.0, float(w), float(h)], 1.0)]


@dataclass
class Detector:
    """An MMDetection person detector, built once (``checkpoint=None``: random weights, for
    tests)."""

    config: str
    checkpoint: str | None
    score_thr: float = DEFAULT_BBOX_THR
    nms_iou: float = 0.5
    cfg_options: dict[str, Any] | None = None
    device: str = "cpu"
    _model: Any = field(default=None, repr=False)
    _label: int = 0
    _pipeline: Any = field(default=None, repr=False)

    def identity(self) -> dict[str, Any]:
        return {"config": self.config, "checkpoint": self.checkpoint,
                "score_thr": self.score_thr, "nms_iou": self.nms_iou,
                "cfg_options": self.cfg_options}

    def load(self) -> None:
        from mmcv.transforms import Compose
        from mmdet.utils import get_test_pipeline_cfg
        from mmengine.registry import DefaultScope

        from benchmark.models.detect import build_detector, person_label

        with DefaultScope.overwrite_default_scope("mmdet"):
            self._model = build_detector(self.config, self.checkpoint, device=self.device,
                                         score_thr=self.score_thr,
                                         cfg_options=self.cfg_options)
            self._label = person_label(self._model)
            steps = [dict(s) for s in get_test_pipeline_cfg(self._model.cfg.copy())]
            steps[0] = dict(type="mmdet.LoadImageFromNDArray")
            self._pipeline = Compose(steps)

    def __call__(self, frames: list[Frame]) -> list[list[tuple[list[float], float]]]:
        """Person boxes ``([x, y, w, h], score)`` of each frame, by decreasing score."""
        import torch
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import DefaultScope

        from benchmark.models.detect import postprocess

        if self._model is None:
            self.load()
        if not frames:
            return []
        with DefaultScope.overwrite_default_scope("mmdet"):
            data = [self._pipeline(dict(img=f.image, img_id=f.image_id)) for f in frames]
            with torch.no_grad():
                results = self._model.test_step(pseudo_collate(data))
        out = []
        for frame, res in zip(frames, results):
            pred = res.pred_instances
            h, w = frame.image.shape[:2]
            out.append(postprocess(np.asarray(pred.bboxes.cpu()), np.asarray(pred.scores.cpu()),
                                   np.asarray(pred.labels.cpu()), label=self._label, width=w,
                                   height=h, score_thr=self.score_thr, nms_iou=self.nms_iou))
        return out
