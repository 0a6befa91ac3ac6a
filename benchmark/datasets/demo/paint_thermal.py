"""Thermal (LWIR-like) rendering of a demo scene.

A thermal image is rendered from surface temperatures, not from colours: the same scene as the
RGB image but with a different contrast mechanism. Skin is the warmest body surface (~33 C),
clothing and hair are cooler, the room sits at ambient temperature, lamps, radiators and a
car's engine are warm distractors, windows are cold. The camera model then adds what makes
real thermal data hard: a wide, low-contrast radiometric mapping to 8 bits, optics blur
(Gaussian PSF), temporal Gaussian noise and fixed-pattern column noise (a per-sensor offset
per column, identical in every image of a dataset, as in uncooled microbolometers).
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.datasets.demo.background import draw_shape
from benchmark.datasets.demo.raster import (
    EYE,
    HAIR,
    LIP,
    N_MATERIALS,
    SHIRT,
    SHOES,
    SKIN,
    TROUSERS,
    Raster,
)
from benchmark.datasets.demo.scene import Scene

#: Fixed-pattern column offsets: standard deviation in 8-bit levels.
COLUMN_NOISE_DN = 1.6


def fixed_pattern(seed: int, width: int) -> np.ndarray:
    """The per-column offsets (8-bit levels) of the simulated sensor of a dataset seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7, width)))
    return rng.normal(0, COLUMN_NOISE_DN, width).astype(np.float32)


def temperature_map(scene: Scene, raster: Raster, rng: np.random.Generator) -> np.ndarray:
    """Surface temperature (deg C) per pixel."""
    cam = scene.camera
    h, w = cam.height, cam.width
    amb = scene.ambient_c
    rows = np.arange(h) + 0.5
    temp = np.empty((h, w), np.float32)
    temp[:] = (amb + 0.8 * np.linspace(0.5, -0.5, h, dtype=np.float32))[:, None]
    temp[cam.floor_depth(rows) < scene.wall_m] -= 1.2
    coarse = rng.normal(0, 0.3, (5, 5)).astype(np.float32)
    temp += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    for shape in scene.shapes:
        draw_shape(temp, shape, shape.temp_c)
    person = raster.owner >= 0
    if person.any():
        table = np.full((max(len(scene.persons), 1), N_MATERIALS), amb, np.float32)
        for i, p in enumerate(scene.persons):
            lk = p.look
            table[i, SKIN], table[i, SHIRT], table[i, TROUSERS] = lk.skin_c, lk.shirt_c, \
                lk.trousers_c
            table[i, HAIR], table[i, SHOES] = lk.hair_c, lk.shoes_c
            table[i, EYE], table[i, LIP] = lk.skin_c + 0.6, lk.skin_c + 0.3
        t_surf = table[raster.owner[person], raster.material[person]]
        # Emissivity falls at grazing angles: silhouettes look cooler than surfaces facing us.
        temp[person] = amb + (t_surf - amb) * (0.8 + 0.2 * raster.shade[person])
    return temp


def paint_thermal(scene: Scene, raster: Raster, rng: np.random.Generator,
                  column_offsets: np.ndarray) -> np.ndarray:
    """8-bit single-channel thermal image (white = hot)."""
    temp = temperature_map(scene, raster, rng)
    # Wide, fixed-ish radiometric window: low contrast, as with auto-gain on hot distractors.
    lo = scene.ambient_c - float(rng.uniform(5.0, 9.0))
    span = float(rng.uniform(30.0, 42.0))
    dn = (temp - lo) * (255.0 / span)
    dn = cv2.GaussianBlur(dn, (0, 0), float(rng.uniform(0.9, 1.5)))
    h, w = dn.shape
    xx = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
    yy = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h - 0.5
    dn += 6.0 * (xx * xx + yy * yy)  # narcissus / vignetting
    dn += column_offsets[None, :w] * float(rng.uniform(0.8, 1.2))
    dn += float(rng.uniform(1.5, 3.0)) * rng.standard_normal(dn.shape, dtype=np.float32)
    return np.clip(np.round(dn), 0, 255).astype(np.uint8)
