"""Pinhole camera shared by all modalities of a demo scene.

One camera for RGB, thermal and depth is what makes the modalities pixel-aligned, so a single
annotation file serves all of them. Pixel ``(i, j)`` spans ``[i, i+1) x [j, j+1)`` in image
coordinates (the COCO convention), i.e. its centre is at ``(i + 0.5, j + 0.5)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """A level pinhole camera ``height_m`` above a flat floor (optical axis horizontal)."""

    width: int
    height: int
    f: float
    cx: float
    cy: float
    height_m: float

    def project(self, xyz: np.ndarray) -> np.ndarray:
        """Camera coordinates (..., 3) -> (..., 3) of image ``u``, ``v`` and depth ``Z``."""
        xyz = np.asarray(xyz, dtype=np.float64)
        z = xyz[..., 2]
        return np.stack([self.cx + self.f * xyz[..., 0] / z,
                         self.cy + self.f * xyz[..., 1] / z, z], axis=-1)

    def floor_depth(self, v: np.ndarray) -> np.ndarray:
        """Depth Z (m) of the floor seen at image row coordinate ``v`` (inf above the horizon)."""
        dv = np.asarray(v, dtype=np.float64) - self.cy
        with np.errstate(divide="ignore"):
            return np.where(dv > 0, self.f * self.height_m / np.maximum(dv, 1e-9), np.inf)

    def floor_row(self, depth_m: float) -> float:
        """Image row coordinate where the floor is at ``depth_m``."""
        return self.cy + self.f * self.height_m / depth_m

    def pixel_size_m(self, depth_m: float) -> float:
        """Metres per pixel at a given depth (for converting sizes)."""
        return depth_m / self.f


def make_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    """A camera with a ~80 degree horizontal field of view at 1.0-1.6 m above the floor.

    The focal length scales with the width so that a 1.75 m person at 1.5-5 m spans about
    220-70 px in a 320x240 image; the horizon jitters so the floor/wall split varies.
    """
    f = 0.6 * width
    return Camera(width=width, height=height, f=f, cx=width / 2.0,
                  cy=height / 2.0 + float(rng.uniform(-0.12, 0.08)) * height,
                  height_m=float(rng.uniform(1.0, 1.6)))
