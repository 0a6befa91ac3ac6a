"""RGB rendering of a demo scene: a lit, cluttered room with clothed people.

The background is deliberately busy (wall gradient and texture, floor planks in perspective,
posters, furniture, clutter, lighting falloff) so that "person" is not simply "the only thing
in the picture". People are coloured per material (skin, hair, shirt, trousers, shoes) and
shaded by the surface orientation, which gives limbs their round look.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.datasets.demo.background import draw_shape
from benchmark.datasets.demo.raster import EYE, LIP, N_MATERIALS, SHIRT, Raster
from benchmark.datasets.demo.scene import Scene


def _low_freq(rng: np.random.Generator, shape: tuple[int, int], cells: int = 6) -> np.ndarray:
    """Smooth random field in about [-1, 1] (bicubic upsampling of a coarse noise grid)."""
    coarse = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _room(scene: Scene, rng: np.random.Generator) -> np.ndarray:
    cam = scene.camera
    h, w = cam.height, cam.width
    img = np.empty((h, w, 3), np.float32)
    rows = np.arange(h) + 0.5
    floor = cam.floor_depth(rows) < scene.wall_m
    ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None, None]
    img[:] = np.array(scene.wall_bgr, np.float32) * (1 + 0.08 * ramp)
    img += 10 * _low_freq(rng, (h, w))[..., None]
    img[floor] = np.array(scene.floor_bgr, np.float32)
    # Floor planks: lines converging at the vanishing point plus rows of equal depth.
    v_wall = cam.floor_row(scene.wall_m)
    dark = tuple(0.75 * c for c in scene.floor_bgr)
    for k in range(-12, 13):
        x_bottom = cam.cx + k * 0.5 * cam.f * (h - cam.cy) / (cam.f * cam.height_m)
        x_wall = cam.cx + (x_bottom - cam.cx) * (v_wall - cam.cy) / (h - cam.cy)
        cv2.line(img, (round(x_wall), round(v_wall)), (round(x_bottom), h), dark, 1, cv2.LINE_AA)
    for z in np.arange(1.0, scene.wall_m, 0.8):
        y = round(cam.floor_row(z))
        if y < h:
            cv2.line(img, (0, y), (w, y), dark, 1, cv2.LINE_AA)
    for shape in scene.shapes:
        draw_shape(img, shape, tuple(float(c) for c in shape.bgr), antialias=True)
    return img


def _palette(scene: Scene) -> np.ndarray:
    """(n_persons * N_MATERIALS, 3) BGR colours indexed by ``owner * N_MATERIALS + material``."""
    pal = np.zeros((max(len(scene.persons), 1) * N_MATERIALS, 3), np.float32)
    for i, p in enumerate(scene.persons):
        lk = p.look
        eye = (30, 30, 40)
        lip = (0.8 * lk.skin[0], 0.8 * lk.skin[1], min(255.0, lk.skin[2] * 1.05))
        pal[i * N_MATERIALS:(i + 1) * N_MATERIALS] = [lk.skin, lk.shirt, lk.trousers, lk.hair,
                                                      lk.shoes, eye, lip]
    return pal


def paint_rgb(scene: Scene, raster: Raster, rng: np.random.Generator) -> np.ndarray:
    """8-bit BGR image of the scene."""
    cam = scene.camera
    img = _room(scene, rng)
    person = raster.owner >= 0
    if person.any():
        owner = raster.owner[person].astype(np.int64)
        mat = raster.material[person].astype(np.int64)
        col = _palette(scene)[owner * N_MATERIALS + mat]
        shade = 0.5 + 0.5 * raster.shade[person]
        flat = (mat == EYE) | (mat == LIP)
        shade[flat] = 0.9
        stripes = np.array([p.look.striped for p in scene.persons])[owner] & (mat == SHIRT)
        yy = np.nonzero(person)[0]
        shade[stripes & ((yy // 3) % 2 == 0)] *= 0.7
        img[person] = col * shade[:, None]
    # Lighting: a linear falloff in a random direction and a vignette.
    xx = (np.arange(cam.width, dtype=np.float32) + 0.5) / cam.width - 0.5
    yy = (np.arange(cam.height, dtype=np.float32)[:, None] + 0.5) / cam.height - 0.5
    a = rng.uniform(0, 2 * np.pi)
    d = xx * np.cos(a) + yy * np.sin(a)
    light = (1.0 + rng.uniform(0.15, 0.35) * d) * (1.0 - 0.35 * (xx * xx + yy * yy))
    img *= (light * rng.uniform(0.85, 1.1)).astype(np.float32)[..., None]
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    img += 2.0 * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
