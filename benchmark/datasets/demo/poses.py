"""Random but plausible poses and body sizes for the demo people.

Poses are drawn from a few everyday families (standing, walking, raising arms, reaching,
crouching) with joint angles kept inside human ranges, so that a pose estimator trained on the
demo data learns a prior that transfers in spirit to real datasets. The body yaw is biased
towards frontal views, as in COCO, but back and side views are frequent enough that left/right
handling (and flip augmentation) is exercised.
"""

from __future__ import annotations

import numpy as np

from benchmark.datasets.demo.body import Pose

_D = np.pi / 180.0
Triple = tuple[float, float, float]


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Uniform angle between ``lo`` and ``hi`` degrees, in radians."""
    return float(rng.uniform(lo, hi)) * _D


def sample_yaw(rng: np.random.Generator) -> float:
    """Body yaw: 45% frontal, 20% side, 20% back, 15% anything."""
    r = rng.random()
    if r < 0.45:
        return _u(rng, -35, 35)
    if r < 0.65:
        return float(rng.choice([-1.0, 1.0])) * _u(rng, 55, 125)
    if r < 0.85:
        return np.pi + _u(rng, -35, 35)
    return _u(rng, -180, 180)


def _arm(rng: np.random.Generator, family: str) -> Triple:
    if family == "raise":
        return (_u(rng, 20, 170), _u(rng, 30, 160), _u(rng, 0, 100))
    if family == "reach":
        return (_u(rng, 60, 110), _u(rng, 0, 30), _u(rng, 0, 30))
    return (_u(rng, -25, 35), _u(rng, 4, 30), _u(rng, 0, 70))


def _arms(rng: np.random.Generator, family: str) -> tuple[Triple, Triple]:
    if family == "walk":
        swing = _u(rng, 10, 35)
        sgn = float(rng.choice([-1.0, 1.0]))
        return ((sgn * swing, _u(rng, 3, 15), _u(rng, 5, 45)),
                (-sgn * swing, _u(rng, 3, 15), _u(rng, 5, 45)))
    if family in ("raise", "reach"):
        which = rng.integers(3)  # left, right or both
        left = _arm(rng, family if which in (0, 2) else "rest")
        right = _arm(rng, family if which in (1, 2) else "rest")
        return left, right
    return _arm(rng, "rest"), _arm(rng, "rest")


def _legs(rng: np.random.Generator, family: str) -> tuple[Triple, Triple]:
    if family == "walk":
        sgn = float(rng.choice([-1.0, 1.0]))
        front = (_u(rng, 15, 35), _u(rng, 0, 8), _u(rng, 0, 25))
        back = (-_u(rng, 5, 25), _u(rng, 0, 8), _u(rng, 10, 45))
        return (front, back) if sgn > 0 else (back, front)
    if family == "crouch":
        flex = _u(rng, 50, 95)
        return ((flex + _u(rng, -10, 10), _u(rng, 5, 25), flex + _u(rng, 20, 40)),
                (flex + _u(rng, -10, 10), _u(rng, 5, 25), flex + _u(rng, 20, 40)))
    return ((_u(rng, -10, 15), _u(rng, 0, 12), _u(rng, 0, 15)),
            (_u(rng, -10, 15), _u(rng, 0, 12), _u(rng, 0, 15)))


def sample_pose(rng: np.random.Generator) -> Pose:
    """A random pose from one of the everyday families."""
    family = str(rng.choice(["stand", "walk", "raise", "reach", "crouch"],
                            p=[0.35, 0.25, 0.17, 0.13, 0.10]))
    lean = _u(rng, 10, 35) if family == "crouch" else _u(rng, -5, 12)
    return Pose(yaw=sample_yaw(rng), lean_fwd=lean, lean_side=_u(rng, -8, 8),
                head_yaw=_u(rng, -40, 40), head_pitch=_u(rng, -15, 20),
                arms=_arms(rng, family), legs=_legs(rng, family))


def sample_height(rng: np.random.Generator) -> float:
    """Standing height in metres: mostly adults, sometimes a child."""
    if rng.random() < 0.1:
        return float(rng.uniform(1.1, 1.45))
    return float(rng.uniform(1.5, 1.95))
