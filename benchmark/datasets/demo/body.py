"""Articulated 3D body model of the demo people.

The people are built in 3D (metres, camera coordinates) rather than drawn as 2D stick figures
because three things of the benchmark depend on real geometry: per-part depth for the depth
modality, self-occlusion decided by a z-buffer (a far arm behind the torso of a person turned
sideways), and anatomically correct left/right labels for people seen from the back.

Conventions (used by every module of the generator and asserted in the tests):

* camera coordinates: X right, Y down, Z forward (into the scene), floor at ``Y = +cam_height``;
* body-local coordinates ``(l, u, f)``: towards the person's own left, up, forward;
* ``yaw = 0`` means the person faces the camera; the person's **left** side is then on the
  viewer's **right** (larger image x). ``yaw = pi`` is the back view: left is on the viewer's
  left. Labels always follow the person's anatomy, never the image side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.datasets.layouts import COCO17

#: Unit-sphere directions of the face keypoints in head-local (left, up, forward) coordinates.
#: The head texture (eyes, nose, ears) is painted at exactly these directions, so the face
#: keypoints are anchored on visible image features and therefore learnable.
FACE_DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "nose": (0.0, -0.2, 0.98),
    "left_eye": (0.36, 0.12, 0.92),
    "right_eye": (-0.36, 0.12, 0.92),
    "left_ear": (0.98, -0.05, -0.12),
    "right_ear": (-0.98, -0.05, -0.12),
}
#: Face keypoints sit this fraction of the head radius from its centre (just under the
#: surface), so that the ray through their pixel always hits the head ellipsoid.
FACE_DEPTH = 0.96

# Body proportions as fractions of the standing height H (anthropometric averages).
_PELVIS_H = 0.53
_SHOULDER_ABOVE_PELVIS = 0.29
_SHOULDER_HALF = 0.105
_HIP_HALF = 0.052
_UPPER_ARM, _FOREARM, _HAND = 0.174, 0.158, 0.055
_THIGH, _SHIN, _FOOT = 0.245, 0.245, 0.1
_ANKLE_H = 0.04
_NECK_LEN, _HEAD_UP = 0.045, 0.058
HEAD_RADII = (0.045, 0.066, 0.056)  # (left, up, forward) half-axes
TORSO_HALF_DEPTH = 0.068


@dataclass(frozen=True)
class Pose:
    """Joint angles in radians.

    ``arms``/``legs`` are ``(left, right)`` triples ``(flexion, abduction, bend)``: flexion
    swings the limb forward, abduction raises it sideways, bend is elbow or knee flexion.
    """

    yaw: float
    lean_fwd: float
    lean_side: float
    head_yaw: float
    head_pitch: float
    arms: tuple[tuple[float, float, float], tuple[float, float, float]]
    legs: tuple[tuple[float, float, float], tuple[float, float, float]]


@dataclass(frozen=True)
class Body:
    """A posed body in camera coordinates (metres)."""

    height_m: float
    yaw: float
    keypoints: np.ndarray  # (17, 3) in COCO17 order
    points: dict[str, np.ndarray]  # construction points: neck, head, hands, toes, ...
    head_axes: np.ndarray  # (3, 3) columns: head left, up, forward (camera coordinates)
    head_radii: np.ndarray  # (3,) half-axes in metres

    def radius(self, fraction: float) -> float:
        """A body dimension given as a fraction of the height, in metres."""
        return fraction * self.height_m


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _limb_dir(side: float, flex: float, abd: float, ax_l: np.ndarray, ax_u: np.ndarray,
              ax_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direction of a hanging limb after flexion/abduction, and its natural bend direction.

    The bend direction is d(direction)/d(flexion): orthogonal to the limb and pointing where
    the distal segment goes when the elbow flexes (for knees the caller negates it).
    """
    ca = np.cos(abd)
    d = side * np.sin(abd) * ax_l - ca * np.cos(flex) * ax_u + ca * np.sin(flex) * ax_f
    bend = np.sin(flex) * ax_u + np.cos(flex) * ax_f
    return d, bend


def build_body(height_m: float, pose: Pose, root: np.ndarray) -> Body:
    """Pose a body of the given height with its floor point (under the pelvis) at ``root``."""
    h = height_m
    ex, ey, ez = np.eye(3)  # local l, u, f axes
    pelvis = _PELVIS_H * h * ey
    t_up = _unit(np.array([np.sin(pose.lean_side), np.cos(pose.lean_side) * np.cos(pose.lean_fwd),
                           np.cos(pose.lean_side) * np.sin(pose.lean_fwd)]))
    t_f = _unit(ez - (ez @ t_up) * t_up)
    t_l = np.cross(t_up, t_f)
    shoulder_c = pelvis + _SHOULDER_ABOVE_PELVIS * h * t_up
    pts: dict[str, np.ndarray] = {"pelvis": pelvis, "shoulder_centre": shoulder_c}
    for side, sgn, (flex, abd, bend) in zip(("left", "right"), (1.0, -1.0), pose.arms,
                                            strict=True):
        sh = shoulder_c + sgn * _SHOULDER_HALF * h * t_l
        d, b = _limb_dir(sgn, flex, abd, t_l, t_up, t_f)
        elbow = sh + _UPPER_ARM * h * d
        d2 = np.cos(bend) * d + np.sin(bend) * b
        wrist = elbow + _FOREARM * h * d2
        pts.update({f"{side}_shoulder": sh, f"{side}_elbow": elbow, f"{side}_wrist": wrist,
                    f"{side}_hand": wrist + _HAND * h * d2})
    for side, sgn, (flex, abd, bend) in zip(("left", "right"), (1.0, -1.0), pose.legs,
                                            strict=True):
        hip = pelvis + sgn * _HIP_HALF * h * ex
        d, b = _limb_dir(sgn, flex, abd, ex, ey, ez)
        knee = hip + _THIGH * h * d
        ankle = knee + _SHIN * h * (np.cos(bend) * d - np.sin(bend) * b)
        toe = ankle + _FOOT * h * _unit(ez + 0.25 * sgn * ex) - 0.03 * h * ey
        pts.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle,
                    f"{side}_toe": toe})
    # Stand on the floor: the lowest foot touches u = 0 (squats lower the pelvis).
    lowest = min(pts["left_ankle"][1], pts["right_ankle"][1]) - _ANKLE_H * h
    pts = {k: v - lowest * ey for k, v in pts.items()}

    cy, sy = np.cos(pose.head_yaw), np.sin(pose.head_yaw)
    h_f, h_l = cy * t_f + sy * t_l, cy * t_l - sy * t_f
    cp, sp = np.cos(pose.head_pitch), np.sin(pose.head_pitch)
    h_f, h_u = cp * h_f - sp * t_up, cp * t_up + sp * h_f
    neck = pts["shoulder_centre"] + _NECK_LEN * h * t_up
    head_c = neck + _HEAD_UP * h * h_u + 0.01 * h * h_f
    radii = np.array(HEAD_RADII) * h
    head_local = np.stack([h_l, h_u, h_f], axis=1)
    for name, direction in FACE_DIRECTIONS.items():
        q = _unit(np.array(direction)) * FACE_DEPTH
        pts[name] = head_c + head_local @ (radii * q)
    pts.update({"neck": neck, "head": head_c})

    # Local (l, u, f) -> camera: the person's left turns with the yaw about the vertical axis.
    c, s = np.cos(pose.yaw), np.sin(pose.yaw)
    to_cam = np.array([[c, 0.0, -s], [0.0, -1.0, 0.0], [-s, 0.0, -c]])
    cam = {k: root + to_cam @ v for k, v in pts.items()}
    keypoints = np.stack([cam[n] for n in COCO17.keypoints])
    return Body(height_m=h, yaw=pose.yaw, keypoints=keypoints, points=cam,
                head_axes=to_cam @ head_local, head_radii=radii)
