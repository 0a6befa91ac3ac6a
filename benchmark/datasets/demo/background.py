"""Background objects of a demo scene, shared by the RGB, thermal and depth renderers.

Each object is a small list of flat 2D shapes carrying a colour, a temperature and a depth, so
that the same clutter appears consistently in every modality: a poster is visible in RGB but
invisible in thermal (it has the wall's temperature) and in depth (it is flat on the wall); a
lamp or a car's engine is hot in thermal; furniture stands on the floor at its own depth.
Nothing here is person-shaped, so a detector cannot learn "any object is a person".
Objects are placed behind every person, so people are only ever occluded by other people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from benchmark.datasets.demo.camera import Camera


@dataclass(frozen=True)
class Shape:
    """A filled 2D primitive in pixel coordinates with per-modality values.

    ``kind`` is ``rect`` (x0, y0, x1, y1), ``ellipse`` (cx, cy, ax, ay, angle_deg),
    ``poly`` (x0, y0, x1, y1, ...) or ``line`` (x0, y0, x1, y1, thickness).
    """

    kind: str
    geom: tuple[float, ...]
    bgr: tuple[int, int, int]
    temp_c: float
    depth_m: float


def draw_shape(img: np.ndarray, shape: Shape, value: float | tuple[float, ...],
               antialias: bool = False) -> None:
    """Fill ``shape`` into ``img`` (any dtype cv2 draws on) with ``value``, in place."""
    g = shape.geom
    color = value if isinstance(value, tuple) else (float(value),)
    line = cv2.LINE_AA if antialias else cv2.LINE_8
    if shape.kind == "rect":
        cv2.rectangle(img, (round(g[0]), round(g[1])), (round(g[2]), round(g[3])), color, -1)
    elif shape.kind == "ellipse":
        cv2.ellipse(img, (round(g[0]), round(g[1])), (max(1, round(g[2])), max(1, round(g[3]))),
                    g[4], 0, 360, color, -1, line)
    elif shape.kind == "poly":
        pts = np.round(np.array(g, dtype=np.float64).reshape(-1, 2)).astype(np.int32)
        cv2.fillPoly(img, [pts], color, line)
    elif shape.kind == "line":
        cv2.line(img, (round(g[0]), round(g[1])), (round(g[2]), round(g[3])), color,
                 max(1, round(g[4])), line)
    else:
        raise ValueError(f"unknown shape kind {shape.kind!r}")


def _colour(rng: np.random.Generator, sat: tuple[float, float] = (0.1, 0.7),
            val: tuple[float, float] = (0.25, 0.95)) -> tuple[int, int, int]:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]])
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return int(bgr[0]), int(bgr[1]), int(bgr[2])


class _Placer:
    """Converts metric object placements into pixel shapes for one scene."""

    def __init__(self, cam: Camera, rng: np.random.Generator, wall_m: float,
                 ambient_c: float) -> None:
        self.cam, self.rng, self.wall_m, self.ambient = cam, rng, wall_m, ambient_c

    def uv(self, x_m: float, up_m: float, z_m: float) -> tuple[float, float]:
        """Image position of a point ``up_m`` above the floor at lateral ``x_m``, depth ``z_m``."""
        c = self.cam
        return c.cx + c.f * x_m / z_m, c.cy + c.f * (c.height_m - up_m) / z_m

    def random_x(self, z_m: float, margin: float = 0.1) -> float:
        """A lateral position (m) at depth ``z_m`` that lands in (or just beside) the image."""
        c = self.cam
        u = self.rng.uniform(-margin, 1 + margin) * c.width
        return (u - c.cx) * z_m / c.f

    def box(self, x_m: float, z_m: float, w_m: float, lo_m: float, hi_m: float,
            bgr: tuple[int, int, int], temp: float, kind: str = "rect") -> Shape:
        """A frontal rectangle (or ellipse) from ``lo_m`` to ``hi_m`` above the floor."""
        u0, v1 = self.uv(x_m - w_m / 2, lo_m, z_m)
        u1, v0 = self.uv(x_m + w_m / 2, hi_m, z_m)
        if kind == "ellipse":
            return Shape("ellipse", ((u0 + u1) / 2, (v0 + v1) / 2, (u1 - u0) / 2,
                                     (v1 - v0) / 2, 0.0), bgr, temp, z_m)
        return Shape("rect", (u0, v0, u1, v1), bgr, temp, z_m)


def _wall_item(p: _Placer) -> list[Shape]:
    """Posters, frames, windows (cold glass) and radiators (warm) on the back wall."""
    rng, z, amb = p.rng, p.wall_m, p.ambient
    x = p.random_x(z)
    kind = rng.choice(["poster", "window", "radiator", "shelf"], p=[0.45, 0.2, 0.15, 0.2])
    if kind == "radiator":
        w, top = rng.uniform(0.6, 1.4), rng.uniform(0.5, 0.8)
        t = float(rng.uniform(35, 50))
        out = [p.box(x, z, w, 0.1, top, _colour(rng, (0, 0.1), (0.7, 0.95)), t)]
        for k in range(int(w / 0.08)):
            xs = x - w / 2 + (k + 0.5) * 0.08
            out.append(p.box(xs, z, 0.02, 0.12, top - 0.02, (150, 150, 150), t + 2))
        return out
    if kind == "shelf":
        y = rng.uniform(0.9, 2.0)
        return [p.box(x, z, rng.uniform(0.8, 2.0), y, y + 0.04, _colour(rng), amb)]
    lo = rng.uniform(0.8, 1.5)
    w, hgt = rng.uniform(0.4, 1.5), rng.uniform(0.4, 1.2)
    if kind == "window":
        glass = (int(rng.uniform(200, 255)), int(rng.uniform(190, 240)), int(rng.uniform(160, 220)))
        cold = amb - float(rng.uniform(3, 7))
        return [p.box(x, z, w + 0.1, lo - 0.05, lo + hgt + 0.05, (235, 235, 235), amb - 1),
                p.box(x, z, w, lo, lo + hgt, glass, cold),
                p.box(x, z, 0.04, lo, lo + hgt, (235, 235, 235), amb - 1)]
    out = [p.box(x, z, w, lo, lo + hgt, _colour(rng), amb + float(rng.normal(0, 0.2)))]
    if rng.random() < 0.6:
        out.append(p.box(x, z, w * 0.7, lo + hgt * 0.15, lo + hgt * 0.85, _colour(rng),
                         amb + float(rng.normal(0, 0.2)), kind=str(rng.choice(["rect",
                                                                                "ellipse"]))))
    return out


def _floor_item(p: _Placer, z: float) -> list[Shape]:
    """Cabinets, boxes, screens and tables standing on the floor at depth ``z``."""
    rng, amb = p.rng, p.ambient
    x = p.random_x(z)
    kind = rng.choice(["cabinet", "box", "screen", "table"], p=[0.35, 0.3, 0.15, 0.2])
    if kind == "table":
        w, top, col = rng.uniform(0.8, 1.6), rng.uniform(0.7, 0.8), _colour(rng, (0.2, 0.6))
        return [p.box(x - w / 2 + 0.04, z, 0.05, 0.0, top, col, amb),
                p.box(x + w / 2 - 0.04, z, 0.05, 0.0, top, col, amb),
                p.box(x, z, w, top - 0.05, top, col, amb)]
    if kind == "screen":
        top = rng.uniform(1.0, 1.4)
        return [p.box(x, z, 0.08, 0.0, top - 0.4, (60, 60, 60), amb),
                p.box(x, z, rng.uniform(0.5, 0.9), top - 0.45, top, (30, 30, 35),
                      float(rng.uniform(29, 36)))]
    w, hgt = rng.uniform(0.3, 1.4), rng.uniform(0.3, 1.3) if kind == "cabinet" else 0.4
    out = [p.box(x, z, w, 0.0, hgt, _colour(rng, (0.1, 0.6), (0.3, 0.8)),
                 amb + float(rng.normal(0, 0.4)))]
    if kind == "cabinet" and hgt > 0.6:
        out.append(p.box(x, z, w * 0.9, hgt * 0.5 - 0.01, hgt * 0.5 + 0.01, (40, 40, 40), amb))
    return out


def _lamp(p: _Placer, z: float) -> list[Shape]:
    """A floor lamp: cool pole, warm shade, hot bulb (a warm non-person object in thermal)."""
    rng, amb = p.rng, p.ambient
    x, top = p.random_x(z, 0.0), rng.uniform(1.4, 1.8)
    bulb_t = float(rng.uniform(55, 90))
    u0, v0 = p.uv(x, 0.0, z)
    u1, v1 = p.uv(x, top, z)
    pole = Shape("line", (u0, v0, u1, v1, max(1.0, 0.03 * p.cam.f / z)), (50, 50, 50), amb, z)
    ua, va = p.uv(x - 0.12, top - 0.05, z)
    ub, vb = p.uv(x + 0.12, top + 0.25, z)
    shade = Shape("poly", (ua, va, ub, va, ub - 0.3 * (ub - ua), vb, ua + 0.3 * (ub - ua), vb),
                  _colour(rng, (0.2, 0.6), (0.6, 0.95)), bulb_t * 0.5, z)
    bulb = p.box(x, z, 0.1, top - 0.1, top, (210, 245, 255), bulb_t, kind="ellipse")
    return [pole, shade, bulb]


def _car(p: _Placer, z: float) -> list[Shape]:
    """A side-view car: warm engine bay at the front, warm tyres, cold windows."""
    rng, amb = p.rng, p.ambient
    x, ln, sgn = p.random_x(z, 0.0), rng.uniform(3.8, 4.6), float(rng.choice([-1.0, 1.0]))
    body_c = _colour(rng, (0.2, 0.8), (0.3, 0.9))
    out = [p.box(x, z, ln, 0.25, 0.85, body_c, amb + float(rng.uniform(1, 4)))]
    cab = [p.uv(x - 0.3 * ln, 0.85, z), p.uv(x + 0.25 * ln, 0.85, z),
           p.uv(x + 0.12 * ln, 1.42, z), p.uv(x - 0.2 * ln, 1.42, z)]
    out.append(Shape("poly", tuple(np.ravel(cab)), body_c, amb + 1.0, z))
    win = [p.uv(x - 0.26 * ln, 0.9, z), p.uv(x + 0.21 * ln, 0.9, z),
           p.uv(x + 0.1 * ln, 1.36, z), p.uv(x - 0.18 * ln, 1.36, z)]
    out.append(Shape("poly", tuple(np.ravel(win)), (90, 70, 60), amb - float(rng.uniform(2, 6)),
                     z))
    out.append(p.box(x + sgn * 0.38 * ln, z, 0.22 * ln, 0.3, 0.8, body_c,
                     float(rng.uniform(35, 50))))
    for wx in (-0.32, 0.32):
        out.append(p.box(x + wx * ln, z, 0.66, 0.0, 0.66, (25, 25, 25),
                         float(rng.uniform(28, 36)), kind="ellipse"))
    return out


def _clutter(p: _Placer, z_floor: tuple[float, float]) -> Shape:
    """Small non-person-shaped clutter: balls, books, cables, triangles."""
    rng, amb, c = p.rng, p.ambient, p.cam
    z = float(rng.uniform(*z_floor)) if rng.random() < 0.5 else p.wall_m
    u, v = rng.uniform(0, c.width), rng.uniform(0, c.height)
    s = rng.uniform(0.05, 0.3) * c.f / z
    col, t = _colour(rng, (0.2, 0.9)), amb + float(rng.normal(0, 0.7))
    kind = rng.choice(["ellipse", "rect", "line", "poly"])
    if kind == "ellipse":
        return Shape("ellipse", (u, v, s, s * rng.uniform(0.5, 1), rng.uniform(0, 180)), col, t, z)
    if kind == "rect":
        return Shape("rect", (u, v, u + s, v + s * rng.uniform(0.3, 1.5)), col, t, z)
    if kind == "line":
        a = rng.uniform(0, np.pi)
        return Shape("line", (u, v, u + 3 * s * np.cos(a), v + 3 * s * np.sin(a),
                              rng.uniform(1, 3)), col, t, z)
    pts = np.array([u, v]) + rng.uniform(-s, s, size=(3, 2))
    return Shape("poly", tuple(pts.ravel()), col, t, z)


def sample_background(rng: np.random.Generator, cam: Camera, wall_m: float, nearest_m: float,
                      ambient_c: float) -> list[Shape]:
    """Background shapes, sorted far to near (painter's order), all beyond ``nearest_m``."""
    p = _Placer(cam, rng, wall_m, ambient_c)
    z_floor = (min(nearest_m, wall_m - 0.3), wall_m - 0.2)
    items: list[Shape] = []
    for _ in range(int(rng.integers(2, 6))):
        items += _wall_item(p)
    makers: list[tuple[float, Callable[[_Placer, float], list[Shape]]]] = [
        (0.9, _floor_item), (0.6, _floor_item), (0.3, _floor_item), (0.6, _lamp), (0.3, _car)]
    for prob, make in makers:
        if rng.random() < prob:
            items += make(p, float(rng.uniform(*z_floor)))
    items += [_clutter(p, z_floor) for _ in range(int(rng.integers(4, 12)))]
    order = sorted(range(len(items)), key=lambda i: (-items[i].depth_m, i))
    return [items[i] for i in order]
