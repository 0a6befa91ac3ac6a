"""Overlay crops of single skeletons, for reviewers to see what a flag means at a glance.

Drawn with OpenCV on the real image when it is available, otherwise on a blank canvas of the
same geometry, so a report is useful even where images cannot be shipped (MVOR, licences).
Left joints are orange, right joints blue, centre joints green (as mmpose draws them, so a
swap is visible as a colour on the wrong side); flagged joints are ringed in red; occluded
joints (v=1) are drawn hollow.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.datasets.native import image_path_problem

_LEFT, _RIGHT, _CENTRE = (0, 140, 255), (255, 128, 0), (0, 200, 0)
_FLAG, _BOX, _CANVAS = (0, 0, 255), (180, 180, 180), (48, 48, 48)


def _colour(name: str) -> tuple[int, int, int]:
    if name.startswith("left"):
        return _LEFT
    if name.startswith("right"):
        return _RIGHT
    return _CENTRE


def crop_region(kpts: np.ndarray, bbox: np.ndarray, pad: float = 0.15) -> tuple[int, ...]:
    """Integer x0, y0, x1, y1 around the box and the labelled joints, padded."""
    lab = (kpts[:, 2] > 0) & np.isfinite(kpts[:, :2]).all(1) & (kpts[:, :2] != 0).any(1)
    pts = [kpts[lab, :2]]
    if np.isfinite(bbox).all() and bbox[2] > 0 and bbox[3] > 0:
        pts.append(np.array([[bbox[0], bbox[1]], [bbox[0] + bbox[2], bbox[1] + bbox[3]]]))
    allp = np.concatenate(pts) if sum(len(p) for p in pts) else np.zeros((1, 2))
    lo, hi = allp.min(0), allp.max(0)
    size = np.maximum(hi - lo, 32.0)
    lo, hi = lo - pad * size, hi + pad * size
    return int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0])), int(np.ceil(hi[1]))


def _background(image: np.ndarray | None, region: tuple[int, ...]) -> np.ndarray:
    x0, y0, x1, y1 = region
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    canvas = np.empty((h, w, 3), np.uint8)
    canvas[:] = _CANVAS
    if image is None:
        return canvas
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    ih, iw = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, iw), min(y1, ih)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1, :3]
    return canvas


def render_skeleton(kpts: np.ndarray, layout: KeypointLayout, bbox: np.ndarray,
                    image: np.ndarray | None, flagged: set[str], size: int = 256) -> np.ndarray:
    """BGR crop of one annotation drawn over its image (or a blank canvas)."""
    region = crop_region(kpts, bbox)
    canvas = _background(image, region)
    zoom = size / max(canvas.shape[:2])
    canvas = cv2.resize(canvas, (max(int(canvas.shape[1] * zoom), 1),
                                 max(int(canvas.shape[0] * zoom), 1)))
    lab = (kpts[:, 2] > 0) & np.isfinite(kpts[:, :2]).all(1) & (kpts[:, :2] != 0).any(1)

    def at(x: float, y: float) -> tuple[int, int]:
        return round((x - region[0]) * zoom), round((y - region[1]) * zoom)

    if np.isfinite(bbox).all():
        cv2.rectangle(canvas, at(bbox[0], bbox[1]), at(bbox[0] + bbox[2], bbox[1] + bbox[3]),
                      _BOX, 1)
    for a, b in layout.skeleton_indices:
        if lab[a] and lab[b]:
            name = layout.keypoints[a] if layout.keypoints[a] != "neck" else layout.keypoints[b]
            cv2.line(canvas, at(*kpts[a, :2]), at(*kpts[b, :2]), _colour(name), 2, cv2.LINE_AA)
    for j, name in enumerate(layout.keypoints):
        if not lab[j]:
            continue
        p = at(*kpts[j, :2])
        cv2.circle(canvas, p, 4, _colour(name), -1 if kpts[j, 2] >= 2 else 1, cv2.LINE_AA)
        if name in flagged:
            cv2.circle(canvas, p, 9, _FLAG, 2, cv2.LINE_AA)
    return canvas


def png_data_uri(image: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("OpenCV could not encode a PNG")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


class ImageCache:
    """Loads each image of ``root`` at most once; None when absent, unreadable or named by a
    path that could leave ``root``."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._cache: dict[str, np.ndarray | None] = {}

    def get(self, file_name: str | None) -> np.ndarray | None:
        if self.root is None or not file_name or image_path_problem(file_name) is not None:
            return None  # an absolute or '..' path is never read: it could leave the root
        if file_name not in self._cache:
            path = self.root / file_name
            self._cache[file_name] = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) \
                if path.is_file() else None
            img = self._cache[file_name]
            if img is not None and img.dtype != np.uint8:  # 16-bit depth/thermal: stretch
                self._cache[file_name] = cv2.normalize(img, None, 0, 255,
                                                       cv2.NORM_MINMAX).astype(np.uint8)
        return self._cache[file_name]
