"""Validated, array-shaped view of a COCO keypoint file.

Every check works on the same ``(N, K, 3)`` array so that checks stay vectorised and
layout-generic; validation happens once, here, so that a malformed file fails with one clear
message naming the file and the record instead of a traceback deep inside a check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.errors import MpbenchError
from benchmark.fileio import InputFileError, read_json_checked


class QAInputError(MpbenchError, ValueError):
    """The annotation file cannot be checked (unreadable, missing keys, wrong layout).

    An :class:`~benchmark.errors.MpbenchError`, so ``mpbench data qa`` reports it as one
    ``error:`` line like the ``mpbench qa`` subcommand does.
    """


@dataclass
class Skeletons:
    """All annotations of one file as arrays, in file order (row i = ``annotations[i]``)."""

    source: str
    layout: KeypointLayout
    ann_ids: list[Any]
    image_ids: list[Any]
    kpts: np.ndarray  # (N, K, 3) float: x, y, v exactly as in the file
    bbox: np.ndarray  # (N, 4) x, y, w, h; NaN when absent
    area: np.ndarray  # (N,) the file's ``area``; NaN when absent
    img_wh: np.ndarray  # (N, 2) image width, height; NaN when unknown
    iscrowd: np.ndarray  # (N,) bool
    num_keypoints: np.ndarray  # (N,) the file's ``num_keypoints``; NaN when absent
    image_files: list[str | None]
    #: Every image of the file (annotated or not): id -> file name.
    all_images: dict[Any, str | None]

    def __len__(self) -> int:
        return len(self.ann_ids)

    @property
    def xy(self) -> np.ndarray:
        return self.kpts[..., :2]

    @cached_property
    def labelled(self) -> np.ndarray:
        """(N, K) keypoints usable for geometry: v > 0, finite, and not parked at (0, 0)."""
        xy = self.xy
        finite = np.isfinite(xy).all(-1)
        at_origin = (xy[..., 0] == 0) & (xy[..., 1] == 0)
        return (self.kpts[..., 2] > 0) & finite & ~at_origin & ~self.iscrowd[:, None]

    def ref_area(self) -> np.ndarray:
        """Object area for OKS: the file's area, else the box area, else the keypoint extent.

        pycocotools uses the segment area; boxes are the closest stand-in when it is absent
        (MVOR), and the keypoint extent keeps box-less skeletons comparable at all.
        """
        area = self.area.copy()
        box_area = self.bbox[:, 2] * self.bbox[:, 3]
        use_box = ~(area > 0) & (box_area > 0)
        area[use_box] = box_area[use_box]
        missing = ~(area > 0)
        if missing.any():
            ext = keypoint_extent(self.xy, self.labelled)
            area[missing] = (ext[:, 2] * ext[:, 3])[missing]
        return np.maximum(np.nan_to_num(area, nan=1.0), 1.0)


def keypoint_extent(xy: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """(N, 4) box x, y, w, h around the labelled keypoints (zeros when none are labelled)."""
    lo = np.where(labelled[..., None], xy, np.inf).min(axis=1)
    hi = np.where(labelled[..., None], xy, -np.inf).max(axis=1)
    ok = labelled.any(axis=1)[:, None]
    lo, hi = np.where(ok, lo, 0.0), np.where(ok, hi, 0.0)
    return np.concatenate([lo, hi - lo], axis=1)


def load_json(path: Path) -> dict:
    """Read an annotation file, turning every failure into a :class:`QAInputError` (too large,
    too deeply nested and NaN/Infinity included: :func:`benchmark.fileio.read_json_checked`)."""
    try:
        data = read_json_checked(path, "annotation")
    except InputFileError as exc:
        raise QAInputError(str(exc)) from None
    except OSError as exc:
        raise QAInputError(f"{path}: cannot read annotation file ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise QAInputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise QAInputError(f"{path}: expected a COCO object at top level, got "
                           f"{type(data).__name__}")
    return data


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QAInputError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _optional_number(rec: dict, key: str, where: str) -> float:
    value = rec.get(key)
    return math.nan if value is None else _number(value, f"{where}: {key!r}")


def _check_categories(coco: dict, layout: KeypointLayout, source: str) -> None:
    for cat in coco.get("categories") or []:
        names = cat.get("keypoints") if isinstance(cat, dict) else None
        if names and len(names) != layout.num_keypoints:
            raise QAInputError(
                f"{source}: category id {cat.get('id')!r} has {len(names)} keypoints, layout "
                f"{layout.name} has {layout.num_keypoints}")


def _images(coco: dict, source: str) -> dict[Any, dict]:
    images = coco.get("images")
    if not isinstance(images, list):
        raise QAInputError(f"{source}: missing or invalid key 'images' (expected a list)")
    out: dict[Any, dict] = {}
    for i, img in enumerate(images):
        if not isinstance(img, dict) or "id" not in img:
            raise QAInputError(f"{source}: images[{i}] has no 'id'")
        if img["id"] in out:
            raise QAInputError(f"{source}: image id {img['id']!r}: duplicate image id")
        out[img["id"]] = img
    return out


def _check_in_image(kpts: np.ndarray, img_wh: np.ndarray, ann_ids: list[Any],
                    source: str) -> None:
    """Labelled keypoints far outside their image (negative or enormous pixels) are garbage
    that no check can score, and drawing them would allocate a canvas of their extent:
    refused, naming the annotation (tolerance: evaluation's ``COORDINATE_TOLERANCE``)."""
    from benchmark.evaluation.inputs import COORDINATE_TOLERANCE as t

    size = img_wh[:, None, :]
    xy = kpts[..., :2]
    with np.errstate(invalid="ignore"):
        out = ((xy < -t * size) | (xy > (1 + t) * size)).any(-1) & (kpts[..., 2] > 0)
    bad = np.argwhere(out)
    if len(bad):
        a, j = bad[0]
        w, h = img_wh[a]
        raise QAInputError(f"{source}: annotation id {ann_ids[a]!r}: keypoint {j} at "
                           f"({xy[a, j, 0]:g}, {xy[a, j, 1]:g}) is outside its {w:g}x{h:g} "
                           f"image (more than {t:g}x its size beyond an edge)")


def parse_coco(coco: dict, layout: KeypointLayout, source: str = "<memory>") -> Skeletons:
    """Validate ``coco`` against ``layout`` and return it as arrays.

    Raises :class:`QAInputError` naming ``source`` and the offending record id.
    """
    if not isinstance(coco, dict):
        raise QAInputError(f"{source}: expected a COCO dict, got {type(coco).__name__}")
    anns = coco.get("annotations")
    if not isinstance(anns, list):
        raise QAInputError(f"{source}: missing or invalid key 'annotations' (expected a list)")
    _check_categories(coco, layout, source)
    images = _images(coco, source)
    k = layout.num_keypoints
    n = len(anns)
    kpts = np.zeros((n, k, 3))
    bbox = np.full((n, 4), np.nan)
    area, nkp = np.full(n, np.nan), np.full(n, np.nan)
    img_wh = np.full((n, 2), np.nan)
    iscrowd = np.zeros(n, bool)
    ann_ids: list[Any] = []
    image_ids: list[Any] = []
    files: list[str | None] = []
    seen: set[Any] = set()
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict) or "id" not in ann:
            raise QAInputError(f"{source}: annotations[{i}] has no 'id'")
        aid = ann["id"]
        where = f"{source}: annotation id {aid!r}"
        if aid in seen:
            raise QAInputError(f"{where}: duplicate annotation id")
        seen.add(aid)
        for key in ("image_id", "keypoints"):
            if key not in ann:
                raise QAInputError(f"{where}: missing key {key!r}")
        if ann["image_id"] not in images:
            raise QAInputError(f"{where}: image_id {ann['image_id']!r} is not in 'images'")
        values = ann["keypoints"]
        if not isinstance(values, list) or len(values) != 3 * k:
            got = len(values) if isinstance(values, list) else type(values).__name__
            raise QAInputError(f"{where}: 'keypoints' has {got} values, layout {layout.name} "
                               f"needs {3 * k} ({k} keypoints x 3)")
        kpts[i] = np.array([_number(v, f"{where}: keypoints") for v in values]).reshape(k, 3)
        box = ann.get("bbox")
        if box is not None:
            if not isinstance(box, list) or len(box) != 4:
                raise QAInputError(f"{where}: 'bbox' must be [x, y, w, h], got {box!r}")
            bbox[i] = [_number(v, f"{where}: bbox") for v in box]
        area[i] = _optional_number(ann, "area", where)
        nkp[i] = _optional_number(ann, "num_keypoints", where)
        iscrowd[i] = bool(ann.get("iscrowd", 0))
        img = images[ann["image_id"]]
        img_wh[i] = [_optional_number(img, "width", f"{source}: image id {img['id']!r}"),
                     _optional_number(img, "height", f"{source}: image id {img['id']!r}")]
        ann_ids.append(aid)
        image_ids.append(ann["image_id"])
        fname = img.get("file_name")
        files.append(fname if isinstance(fname, str) else None)
    _check_in_image(kpts, img_wh, ann_ids, source)
    all_images = {i: (img.get("file_name") if isinstance(img.get("file_name"), str) else None)
                  for i, img in images.items()}
    return Skeletons(source, layout, ann_ids, image_ids, kpts, bbox, area, img_wh, iscrowd, nkp,
                     files, all_images)
