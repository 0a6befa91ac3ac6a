"""Depth rendering of a demo scene (16-bit millimetres, 0 = invalid).

Depth is the z-buffer of the scene: a room (floor plane receding to a back wall at 5.5-8 m),
furniture at its own depth, people with per-part depth. The sensor model adds what consumer
depth cameras (Kinect-like structured light / ToF) do: noise whose standard deviation grows
with the square of the distance, quantisation to millimetres, and invalid pixels: along depth
discontinuities (occlusion shadows / flying-pixel filtering), in random blobs (specular or
absorbing surfaces) and outside the working range.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.datasets.demo.background import draw_shape
from benchmark.datasets.demo.raster import Raster
from benchmark.datasets.demo.scene import Scene

#: Working range of the simulated sensor (mm); outside it the sensor reports 0.
RANGE_MM = (500.0, 8000.0)


def noise_sigma_mm(depth_mm: np.ndarray) -> np.ndarray:
    """Axial noise standard deviation: 1 mm + 1.5 mm * (Z / 1 m)^2."""
    z_m = np.asarray(depth_mm, dtype=np.float64) / 1000.0
    return 1.0 + 1.5 * z_m * z_m


def scene_depth_m(scene: Scene, raster: Raster) -> np.ndarray:
    """Noise-free depth (metres) of every pixel: room, furniture, people."""
    cam = scene.camera
    rows = np.arange(cam.height) + 0.5
    col = np.minimum(cam.floor_depth(rows), scene.wall_m).astype(np.float32)
    depth = np.repeat(col[:, None], cam.width, axis=1)
    for shape in scene.shapes:
        draw_shape(depth, shape, shape.depth_m)
    person = raster.owner >= 0
    depth[person] = raster.depth[person]
    return depth


def _invalid_mask(depth_m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = depth_m.shape
    gy = np.abs(np.diff(depth_m, axis=0, prepend=depth_m[:1]))
    gx = np.abs(np.diff(depth_m, axis=1, prepend=depth_m[:, :1]))
    edges = ((gx > 0.25) | (gy > 0.25)).astype(np.uint8)
    # Structured-light / ToF sensors lose pixels mostly beside horizontal discontinuities.
    edges = cv2.dilate(edges, np.ones((1, 2), np.uint8)).astype(bool)
    bad = edges & (rng.random((h, w)) < 0.5)
    blobs = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(2, 7))):
        c = (int(rng.integers(w)), int(rng.integers(h)))
        ax = (int(rng.integers(2, 8)), int(rng.integers(2, 6)))
        cv2.ellipse(blobs, c, ax, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return bad | blobs.astype(bool) | (rng.random((h, w)) < 0.003)


def paint_depth(scene: Scene, raster: Raster, rng: np.random.Generator) -> np.ndarray:
    """16-bit depth image in millimetres with sensor noise and invalid (0) pixels."""
    clean = scene_depth_m(scene, raster)
    mm = clean.astype(np.float64) * 1000.0
    mm = np.round(mm + rng.standard_normal(mm.shape, dtype=np.float32) * noise_sigma_mm(mm))
    invalid = _invalid_mask(clean, rng) | (mm < RANGE_MM[0]) | (mm > RANGE_MM[1])
    mm[invalid] = 0
    return mm.astype(np.uint16)
