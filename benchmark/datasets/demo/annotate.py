"""COCO keypoint annotations of a rasterised demo scene.

Visibility follows COCO: ``v=2`` labelled and visible, ``v=1`` labelled but occluded, ``v=0``
not labelled (here: outside the frame, stored as ``x=y=0``). Occlusion is decided from the
scene geometry, as a careful annotator would: a keypoint is visible when the line of sight to
it first meets its own person at (about) the keypoint's depth. A nearer person on that line,
or a nearer part of the same person (the far arm of a person seen from the side, the nose of a
person seen from behind), makes it occluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.datasets.demo.raster import Raster, surface_along_rays
from benchmark.datasets.demo.scene import Scene
from benchmark.datasets.layouts import COCO17

#: How far (fraction of body height) a keypoint may lie behind the surface seen at its pixel
#: and still count as visible: joints sit inside limbs, so the visible surface is in front of
#: them by about the limb's radius (more for the trunk-bound shoulders and hips).
_TOLERANCE = {"nose": 0.02, "eye": 0.02, "ear": 0.03, "shoulder": 0.085, "hip": 0.085,
              "elbow": 0.04, "wrist": 0.035, "knee": 0.05, "ankle": 0.04}
TOLERANCE = np.array([_TOLERANCE[n.split("_")[-1]] for n in COCO17.keypoints])

#: Persons with fewer visible keypoints or pixels are removed from the scene (not annotated
#: as ghosts): they would be unfair targets for every modality.
MIN_VISIBLE_KEYPOINTS = 5
MIN_AREA_PX = 120


@dataclass(frozen=True)
class PersonLabel:
    """Annotation of one person: keypoints (17, 3) as [x, y, v], bbox, visible area."""

    keypoints: np.ndarray
    bbox: tuple[float, float, float, float]
    area: int

    @property
    def num_keypoints(self) -> int:
        """Labelled keypoints (v > 0), COCO's ``num_keypoints``."""
        return int(np.count_nonzero(self.keypoints[:, 2] > 0))

    @property
    def num_visible(self) -> int:
        """Visible keypoints (v = 2)."""
        return int(np.count_nonzero(self.keypoints[:, 2] == 2))


def keypoint_labels(scene: Scene, raster: Raster, pid: int) -> np.ndarray:
    """[x, y, v] per keypoint of person ``pid``, coordinates rounded to 0.01 px.

    Visibility is decided on the exact line of sight to the keypoint: visible when the nearest
    body surface on it belongs to the person and lies at most ``TOLERANCE * height`` in front
    of the keypoint (the keypoint sits inside its own limb, behind that limb's surface).
    """
    cam, body = scene.camera, scene.persons[pid].body
    proj = cam.project(body.keypoints)
    xy = np.round(proj[:, :2], 2)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < cam.width) & (xy[:, 1] >= 0) & (xy[:, 1] < cam.height)
    depth, owner = surface_along_rays(raster.primitives, proj[:, :2])
    seen = (owner == pid) & (depth >= proj[:, 2] - TOLERANCE * body.height_m)
    v = np.where(inside, np.where(seen, 2, 1), 0)
    out = np.zeros((len(v), 3))
    out[inside, :2] = xy[inside]
    out[:, 2] = v
    return out


def label_person(scene: Scene, raster: Raster, pid: int) -> PersonLabel:
    """Keypoints, bbox and area of one person.

    ``bbox`` is the extent of the person's visible pixels, grown to contain every labelled
    keypoint (an occluded hand behind another person still lies inside its person's box, as
    top-down pose estimators assume); it never leaves the image. ``area`` is the number of
    visible pixels of the person (their segmentation mask).
    """
    kps = keypoint_labels(scene, raster, pid)
    ys, xs = np.nonzero(raster.owner == pid)
    lab = kps[kps[:, 2] > 0, :2]
    if len(xs) == 0:
        return PersonLabel(kps, (0.0, 0.0, 0.0, 0.0), 0)
    x0, y0 = float(xs.min()), float(ys.min())
    x1, y1 = float(xs.max() + 1), float(ys.max() + 1)
    if len(lab):
        x0, y0 = min(x0, float(lab[:, 0].min())), min(y0, float(lab[:, 1].min()))
        x1, y1 = max(x1, float(lab[:, 0].max())), max(y1, float(lab[:, 1].max()))
    x0, y0 = np.floor(x0 * 100) / 100, np.floor(y0 * 100) / 100
    x1, y1 = np.ceil(x1 * 100) / 100, np.ceil(y1 * 100) / 100
    bbox = (round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2))
    return PersonLabel(kps, bbox, len(xs))


def is_annotatable(label: PersonLabel) -> bool:
    """Whether a person is visible enough to be a fair annotation target."""
    return label.num_visible >= MIN_VISIBLE_KEYPOINTS and label.area >= MIN_AREA_PX


def coco_annotation(label: PersonLabel, ann_id: int, image_id: int) -> dict:
    """The COCO ``annotations`` entry of one person."""
    flat = []
    for x, y, v in label.keypoints:
        flat += [round(float(x), 2), round(float(y), 2), int(v)]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": flat,
            "num_keypoints": label.num_keypoints, "bbox": [float(b) for b in label.bbox],
            "area": float(label.area), "iscrowd": 0}
