"""Left/right convention: labels follow the person's anatomy, not the image side.

Convention: image x grows to the viewer's right. A person facing the camera has their LEFT
side on the viewer's RIGHT, so ``x(left_shoulder) > x(right_shoulder)``; seen from the back
the order reverses. Left/right keypoints are never swapped to match the image side.
"""

from __future__ import annotations

import numpy as np

from benchmark.datasets.demo.annotate import label_person
from benchmark.datasets.demo.body import Pose, build_body
from benchmark.datasets.demo.camera import Camera
from benchmark.datasets.demo.raster import rasterize
from benchmark.datasets.demo.scene import Person, Scene, sample_look
from benchmark.datasets.layouts import COCO17
from tests.demo.helpers import GeometryDataset, images_with_people

IDX = COCO17.index
CAM = Camera(width=320, height=240, f=192.0, cx=160.0, cy=110.0, height_m=1.3)
PAIRS = ("shoulder", "hip", "eye", "ear", "elbow", "knee")


def _labels(yaw_deg: float, head_yaw_deg: float = 0.0) -> np.ndarray:
    pose = Pose(yaw=np.radians(yaw_deg), lean_fwd=0.0, lean_side=0.0,
                head_yaw=np.radians(head_yaw_deg), head_pitch=0.0,
                arms=((0.0, 0.25, 0.2), (0.0, 0.25, 0.2)), legs=((0.0, 0.08, 0.0),) * 2)
    body = build_body(1.75, pose, np.array([0.0, CAM.height_m, 3.0]))
    person = Person(body=body, depth_m=3.0, look=sample_look(np.random.default_rng(0), 20.0))
    scene = Scene(camera=CAM, wall_m=7.0, ambient_c=20.0, wall_bgr=(200, 200, 200),
                  floor_bgr=(90, 90, 90), persons=(person,), shapes=())
    return label_person(scene, rasterize(CAM, scene.persons), 0).keypoints


def test_facing_camera_left_is_on_viewers_right() -> None:
    k = _labels(0.0)
    assert np.all(k[:, 2] == 2)  # a frontal, upright person shows all 17 keypoints
    for part in PAIRS:
        assert k[IDX[f"left_{part}"], 0] > k[IDX[f"right_{part}"], 0], part


def test_back_view_keeps_anatomical_labels() -> None:
    k = _labels(180.0)
    for part in PAIRS:
        assert k[IDX[f"left_{part}"], 0] < k[IDX[f"right_{part}"], 0], part
    for name in ("nose", "left_eye", "right_eye"):  # behind the head: self-occluded
        assert k[IDX[name], 2] == 1, name
    for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"):
        assert k[IDX[name], 2] == 2, name


def test_side_view_far_side_is_self_occluded() -> None:
    # yaw +90 deg: the person faces the viewer's left and shows the camera their left side.
    k = _labels(90.0)
    for name in ("shoulder", "hip", "ear", "eye"):
        assert k[IDX[f"left_{name}"], 2] == 2, name
        assert k[IDX[f"right_{name}"], 2] == 1, name
    assert k[IDX["nose"], 0] < k[IDX["left_ear"], 0]  # nose points to the viewer's left


def test_head_turn_hides_the_far_ear() -> None:
    # Head turned 60 deg to the person's left: the nose moves to the viewer's right and the
    # left ear goes behind the head.
    k = _labels(0.0, head_yaw_deg=60.0)
    k0 = _labels(0.0)
    assert k[IDX["nose"], 0] > k0[IDX["nose"], 0] + 3
    assert k[IDX["left_ear"], 2] == 1 and k[IDX["right_ear"], 2] == 2


def test_generated_people_follow_the_convention(geometry_dataset: GeometryDataset) -> None:
    root, cocos = geometry_dataset
    frontal = back = 0
    for _, kps, r, _ in images_with_people(root, cocos, 3):
        for k, person in zip(kps, r.scene.persons, strict=True):
            ls, rs = k[IDX["left_shoulder"]], k[IDX["right_shoulder"]]
            if ls[2] == 0 or rs[2] == 0:
                continue
            yaw = np.degrees(np.angle(np.exp(1j * person.body.yaw)))  # wrap to (-180, 180]
            if abs(yaw) < 35:
                frontal += 1
                assert ls[0] > rs[0]
            elif abs(yaw) > 145:
                back += 1
                assert ls[0] < rs[0]
    assert frontal >= 5 and back >= 3
