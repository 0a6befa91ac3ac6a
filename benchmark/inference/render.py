"""Overlays of ``mpbench infer``: poses drawn on the network input in the dataset's colours.

The skeleton is the dataset layout's (:mod:`benchmark.datasets.layouts`); link and keypoint
colours come from the dataset's MMPose metainfo (``configs/_base_/datasets/<dataset>.py``,
RGB as MMPose writes them), and from :data:`PALETTE` where the metainfo gives none. Poses are
drawn on the network input (the converted thermal or depth image, upsampled when the modality
is), because that is the frame the keypoints are in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: BGR colours for links and keypoints when the metainfo has none (cycled).
PALETTE = ((0, 255, 0), (255, 128, 0), (0, 128, 255), (255, 0, 255), (0, 255, 255),
           (255, 255, 0), (128, 0, 255), (0, 0, 255))
#: Keypoints (and links) below this score are not drawn.
DEFAULT_KPT_THR = 0.3


@dataclass
class Style:
    """Skeleton and BGR colours of one dataset."""

    links: list[tuple[int, int]]
    link_colors: list[tuple[int, int, int]]
    point_colors: list[tuple[int, int, int]]


def _bgr(colors: Any, n: int) -> list[tuple[int, int, int]]:
    arr = np.asarray(colors if colors is not None else [], dtype=np.int64).reshape(-1, 3)
    if len(arr) != n or n == 0:
        return [PALETTE[i % len(PALETTE)] for i in range(n)]
    return [(int(c[2]), int(c[1]), int(c[0])) for c in arr]  # RGB -> BGR


def style_of(dataset_meta: dict[str, Any], dataset: str | None, num_keypoints: int) -> Style:
    """The layout's skeleton (the metainfo's links when the dataset is unknown) and colours."""
    links = [tuple(link) for link in dataset_meta.get("skeleton_links") or []]
    if dataset:
        from benchmark.datasets import get_spec

        try:
            layout = get_spec(dataset).layout
        except KeyError:
            layout = None
        if layout is not None and layout.num_keypoints == num_keypoints:
            links = [tuple(link) for link in layout.skeleton_indices]
    meta_links = [tuple(link) for link in dataset_meta.get("skeleton_links") or []]
    link_colors = (_bgr(dataset_meta.get("skeleton_link_colors"), len(links))
                   if meta_links == links else _bgr(None, len(links)))
    return Style(links, link_colors,
                 _bgr(dataset_meta.get("keypoint_colors"), num_keypoints))


def draw(image: np.ndarray, instances: list[dict[str, Any]], style: Style,
         kpt_thr: float = DEFAULT_KPT_THR) -> np.ndarray:
    """A copy of ``image`` with each instance's box, links and keypoints."""
    import cv2

    out = image.copy()
    scale = max(1, round(max(out.shape[:2]) / 400))
    for inst in instances:
        x, y, w, h = inst["bbox"]
        cv2.rectangle(out, (round(x), round(y)), (round(x + w), round(y + h)), (200, 200, 200),
                      scale)
        pts = np.asarray(inst["keypoints"], dtype=np.float64).reshape(-1, 3)
        for (a, b), color in zip(style.links, style.link_colors):
            if a < len(pts) and b < len(pts) and min(pts[a, 2], pts[b, 2]) >= kpt_thr:
                cv2.line(out, (round(pts[a, 0]), round(pts[a, 1])),
                         (round(pts[b, 0]), round(pts[b, 1])), color, 2 * scale, cv2.LINE_AA)
        for (px, py, s), color in zip(pts, style.point_colors):
            if s >= kpt_thr:
                cv2.circle(out, (round(px), round(py)), 2 * scale + 1, color, -1, cv2.LINE_AA)
    return out


def write_image(path: Path, image: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"{path}: cv2.imwrite failed")


class VideoOverlay:
    """An mp4 (``mp4v``) of overlays, opened at the first frame's size."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps, self.writer, self.size = path, fps, None, None
        self.frames = 0

    def add(self, image: np.ndarray) -> None:
        import cv2

        h, w = image.shape[:2]
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.size = (w, h)
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"),
                                          self.fps, self.size)
            if not self.writer.isOpened():
                raise OSError(f"{self.path}: cv2.VideoWriter (mp4v) cannot write it")
        if (w, h) != self.size:
            image = cv2.resize(image, self.size)
        self.writer.write(image)
        self.frames += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()
            self.writer = None
