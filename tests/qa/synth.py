"""Hand-built skeletons for the unit tests: a person in COCO-17 standing with legs apart.

Coordinates are fractions of the person's height (image y grows downwards), so every test
knows exactly what the clean skeleton looks like and what a corruption changed.
"""

from __future__ import annotations

import copy

import numpy as np

from benchmark.datasets.layouts import COCO17

#: (x, y) per COCO-17 keypoint, frontal view: the person's left is on the image *right*.
FRONT = np.array([
    [0.0, 0.06], [0.02, 0.04], [-0.02, 0.04], [0.045, 0.05], [-0.045, 0.05],  # head
    [0.11, 0.18], [-0.11, 0.18], [0.15, 0.32], [-0.15, 0.32], [0.17, 0.45], [-0.17, 0.45],
    [0.08, 0.50], [-0.08, 0.50], [0.12, 0.71], [-0.12, 0.71], [0.16, 0.92], [-0.16, 0.92],
])


def person(cx: float, top: float, height: float, *, facing: str = "front") -> np.ndarray:
    """(17, 3) keypoints of a standing person; ``facing='away'`` shows the back.

    Seen from behind, the person's left is on the image left and the face is hidden: the
    nose and eyes are unlabelled (v=0, x=y=0) and the ears are occluded (v=1).
    """
    xy = FRONT.copy()
    v = np.full(17, 2.0)
    if facing == "away":
        xy[:, 0] *= -1.0
        v[:3] = 0.0
        v[3:5] = 1.0
    kp = np.zeros((17, 3))
    kp[:, 0] = cx + xy[:, 0] * height
    kp[:, 1] = top + xy[:, 1] * height
    kp[:, 2] = v
    kp[v == 0, :2] = 0.0
    return kp


def ann(ann_id: int, image_id: int, kp: np.ndarray, *, pad: float = 0.05) -> dict:
    lab = kp[:, 2] > 0
    lo, hi = kp[lab, :2].min(0), kp[lab, :2].max(0)
    size = hi - lo
    box = [float(lo[0] - pad * size[1]), float(lo[1] - pad * size[1]),
           float(size[0] + 2 * pad * size[1]), float(size[1] + 2 * pad * size[1])]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": [float(x) for x in kp.reshape(-1)], "bbox": box,
            "area": box[2] * box[3], "num_keypoints": int(lab.sum())}


def coco(*anns: dict, width: int = 1000, height: int = 800) -> dict:
    images = sorted({a["image_id"] for a in anns})
    return {"images": [{"id": i, "file_name": f"{i:06d}.jpg", "width": width,
                        "height": height} for i in images],
            "annotations": list(anns),
            "categories": [COCO17.coco_category()]}


def crowd(n: int = 6, *, facing: str = "front") -> dict:
    """``n`` clean people in ``n`` images, slightly different in size and place."""
    return coco(*(ann(i + 1, i + 1, person(300 + 40 * i, 100 + 10 * i, 400 + 25 * i,
                                           facing=facing)) for i in range(n)))


def swap_pair(kp: np.ndarray, a: str, b: str) -> np.ndarray:
    out = kp.copy()
    i, j = COCO17.index[a], COCO17.index[b]
    out[[i, j]] = out[[j, i]]
    return out


def mirror_labels(kp: np.ndarray) -> np.ndarray:
    """Every flip pair swapped: the same picture with all left/right labels exchanged."""
    return kp[list(COCO17.flip_index)].copy()


def replace_kpts(data: dict, ann_id: int, kp: np.ndarray, *, recount: bool = True) -> dict:
    """A copy of ``data`` with annotation ``ann_id``'s keypoints replaced (and recounted)."""
    out = copy.deepcopy(data)
    for a in out["annotations"]:
        if a["id"] == ann_id:
            a["keypoints"] = [float(x) for x in kp.reshape(-1)]
            if recount and "num_keypoints" in a:
                a["num_keypoints"] = int((kp[:, 2] > 0).sum())
    return out


def kpts_of(data: dict, ann_id: int) -> np.ndarray:
    for a in data["annotations"]:
        if a["id"] == ann_id:
            return np.asarray(a["keypoints"], float).reshape(-1, 3)
    raise KeyError(ann_id)


def flags_of(report: object, ann_id: int) -> set[str]:
    table = report.table  # type: ignore[attr-defined]
    value = table.loc[table["ann_id"] == ann_id, "flags"].iloc[0]
    return set(value.split(";")) if value else set()
