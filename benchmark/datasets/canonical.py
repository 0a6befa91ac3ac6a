"""The canonical annotation form every converter produces, and its validation.

Canonical = COCO person-keypoint JSON in the dataset's layout, with two additions on each image:
``modality_paths`` (``{modality: path under that modality's root}``; aligned modalities of one
instant share the image id) and ``file_name`` equal to the path of the first sensor modality.
Keypoints are zero-based pixels, visibility 0 (unlabelled: x = y = 0), 1 or 2; ``category_id``
is the integer 1. Native extras that a protocol needs are kept (``head_box``, ``bbox_head``,
``ignore_regions_x/y``, ``track_id``, ``crowdIndex``, ``only_bbox``).

A converter that meets a bad record does not guess: :func:`validate` names the file and the
record id of every problem, so that a broken download or a wrong file is found at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from benchmark.datasets.layouts import KeypointLayout
from benchmark.errors import MpbenchError


class InvalidAnnotations(MpbenchError):
    """One or more records of an annotation file break the canonical form."""


def bbox_from_keypoints(kp: list[float]) -> list[float] | None:
    """Tight ``[x, y, w, h]`` box of the labelled keypoints (None when there are none)."""
    xs = [kp[i] for i in range(0, len(kp), 3) if kp[i + 2] > 0]
    ys = [kp[i + 1] for i in range(0, len(kp), 3) if kp[i + 2] > 0]
    if not xs:
        return None
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def count_labelled(kp: list[float]) -> int:
    return sum(1 for i in range(2, len(kp), 3) if kp[i] > 0)


def canonical_dict(layout: KeypointLayout, images: list[dict], annotations: list[dict],
                   **info: Any) -> dict:
    return {"info": {"layout": layout.name, **info}, "images": images,
            "annotations": annotations, "categories": [layout.coco_category(1)]}


#: How far outside the image a labelled keypoint may lie, as a fraction of the image's width
#: (for x) or height (for y). Annotators place the joints of a person cut by the frame edge a
#: little beyond it (a PoseTrack18 sample has one 25 px above a 1080 px frame); a keypoint
#: further out is a converter bug, such as x and y swapped (on a landscape frame the swapped
#: x of a person right of centre lands far below the image).
OUTSIDE_TOLERANCE = 0.25


def _outside_image(kp: list, width: Any, height: Any) -> list[int]:
    """Indices of the labelled joints of ``kp`` beyond the image by more than the tolerance
    (none when the image has no valid size: that is reported on its own)."""
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        return []
    mx, my = OUTSIDE_TOLERANCE * width, OUTSIDE_TOLERANCE * height
    return [j for j in range(len(kp) // 3) if kp[3 * j + 2] > 0
            and not (-mx <= kp[3 * j] <= width + mx and -my <= kp[3 * j + 1] <= height + my)]


def _finite(values: Iterable[Any]) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def validate(coco: dict, layout: KeypointLayout, source: str, modalities: Iterable[str],
             max_report: int = 20) -> None:
    """Raise :class:`InvalidAnnotations` listing every broken record of ``coco``.

    ``source`` names the native file(s) the records came from, so that the message points the
    user at the file to inspect; each problem names the image or annotation id.
    """
    known = set(modalities)
    problems: list[str] = []
    image_ids: set = set()
    sizes: dict[Any, tuple[Any, Any]] = {}
    k = layout.num_keypoints
    for img in coco.get("images", []):
        iid = img.get("id")
        if iid in image_ids:
            problems.append(f"image id {iid}: duplicate image id")
        image_ids.add(iid)
        sizes[iid] = (img.get("width"), img.get("height"))
        paths = img.get("modality_paths")
        if not isinstance(paths, dict) or not paths:
            problems.append(f"image id {iid}: no modality_paths")
        elif set(paths) - known:
            problems.append(f"image id {iid}: unknown modalities {sorted(set(paths) - known)}")
        for key in ("width", "height"):
            if not isinstance(img.get(key), int) or img[key] <= 0:
                problems.append(f"image id {iid}: {key} must be a positive integer, "
                                f"got {img.get(key)!r}")
    ann_ids: set = set()
    for ann in coco.get("annotations", []):
        aid = ann.get("id")
        where = f"annotation id {aid} (image {ann.get('image_id')})"
        if aid in ann_ids:
            problems.append(f"{where}: duplicate annotation id")
        ann_ids.add(aid)
        if ann.get("image_id") not in image_ids:
            problems.append(f"{where}: refers to an unknown image")
        kp = ann.get("keypoints")
        if not isinstance(kp, list) or len(kp) != 3 * k:
            problems.append(f"{where}: expected {3 * k} keypoint values ({k} joints of "
                            f"{layout.name}), got {len(kp) if isinstance(kp, list) else kp!r}")
        elif not _finite(kp):
            problems.append(f"{where}: keypoints contain NaN, infinite or non-numeric values")
        elif any(v not in (0, 1, 2) for v in kp[2::3]):
            problems.append(f"{where}: visibility flags must be 0, 1 or 2")
        elif ann.get("num_keypoints") != count_labelled(kp):
            problems.append(f"{where}: num_keypoints {ann.get('num_keypoints')} != "
                            f"{count_labelled(kp)} labelled keypoints")
        elif outside := _outside_image(kp, *sizes.get(ann.get("image_id"), (None, None))):
            w, h = sizes[ann["image_id"]]
            joints = ", ".join(f"{layout.keypoints[j]} ({kp[3 * j]:g}, {kp[3 * j + 1]:g})"
                               for j in outside[:4])
            more = f" and {len(outside) - 4} more" if len(outside) > 4 else ""
            problems.append(f"{where}: {len(outside)} keypoint(s) outside the {w}x{h} image "
                            f"(beyond {OUTSIDE_TOLERANCE:.0%} of its size): {joints}{more}; "
                            "x and y swapped, or the wrong image?")
        box = ann.get("bbox")
        if box is not None and (not isinstance(box, list) or len(box) != 4 or not _finite(box)
                                or box[2] < 0 or box[3] < 0):
            problems.append(f"{where}: bbox must be [x, y, w, h] with w, h >= 0, got {box!r}")
        if ann.get("category_id") != 1:
            problems.append(f"{where}: category_id must be 1, got {ann.get('category_id')!r}")
    if problems:
        more = len(problems) - max_report
        listed = "\n  ".join(problems[:max_report])
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise InvalidAnnotations(f"{source}: {len(problems)} invalid record(s):\n  {listed}{tail}")


def counts(coco: dict) -> dict[str, int]:
    """Images, persons and labelled keypoints: what a round trip must preserve."""
    anns = coco.get("annotations", [])
    return {"images": len(coco.get("images", [])), "persons": len(anns),
            "keypoints": sum(count_labelled(a["keypoints"]) for a in anns
                             if isinstance(a.get("keypoints"), list))}
