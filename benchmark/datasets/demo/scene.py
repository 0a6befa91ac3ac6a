"""Random demo scenes: a room, 1-3 posed people and background clutter.

Everything random about an image is drawn here from one generator, so a scene (and hence every
modality rendered from it) is a pure function of the per-image seed. People are placed at
1.5-5 m; a share of them is put next to an earlier person so that overlaps and inter-person
occlusion are common, and lateral positions extend past the image borders so that some people
are cut by the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.datasets.demo.background import Shape, sample_background
from benchmark.datasets.demo.body import Body, build_body
from benchmark.datasets.demo.camera import Camera, make_camera
from benchmark.datasets.demo.poses import sample_height, sample_pose

_SKIN = ((60, 90, 150), (80, 120, 190), (110, 160, 225), (130, 180, 235), (40, 60, 100))
_HAIR = ((20, 20, 25), (30, 45, 70), (60, 100, 150), (150, 150, 150), (40, 60, 110))
_TROUSERS = ((110, 60, 30), (40, 40, 40), (90, 140, 170), (100, 100, 100), (60, 50, 40))


@dataclass(frozen=True)
class Look:
    """Appearance of one person: BGR colours and surface temperatures (deg C) per material."""

    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    shirt: tuple[int, int, int]
    trousers: tuple[int, int, int]
    shoes: tuple[int, int, int]
    long_sleeves: bool
    shorts: bool
    striped: bool
    skin_c: float
    hair_c: float
    shirt_c: float
    trousers_c: float
    shoes_c: float


@dataclass(frozen=True)
class Person:
    """A posed body, its root depth and its appearance."""

    body: Body
    depth_m: float  # Z of the floor point under the pelvis
    look: Look


@dataclass(frozen=True)
class Scene:
    """Everything an image is rendered from; all modalities share it."""

    camera: Camera
    wall_m: float
    ambient_c: float
    wall_bgr: tuple[int, int, int]
    floor_bgr: tuple[int, int, int]
    persons: tuple[Person, ...]
    shapes: tuple[Shape, ...]


def _pick(rng: np.random.Generator, options: tuple) -> tuple[int, int, int]:
    c = np.array(options[int(rng.integers(len(options)))], dtype=np.float64)
    c = np.clip(c * rng.uniform(0.85, 1.15) + rng.normal(0, 6, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def sample_look(rng: np.random.Generator, ambient_c: float) -> Look:
    """Clothing colours and the thermal signature.

    Skin is the warmest surface; clothing sits between skin and ambient temperature (heat
    flows through it), trousers a little cooler than shirts, hair cooler than skin.
    """
    shirt = rng.integers(0, 256, 3)
    skin_c = float(rng.uniform(32.0, 35.0))
    return Look(skin=_pick(rng, _SKIN), hair=_pick(rng, _HAIR),
                shirt=(int(shirt[0]), int(shirt[1]), int(shirt[2])),
                trousers=_pick(rng, _TROUSERS), shoes=_pick(rng, ((20, 20, 20), (60, 60, 70))),
                long_sleeves=bool(rng.random() < 0.5), shorts=bool(rng.random() < 0.2),
                striped=bool(rng.random() < 0.25), skin_c=skin_c,
                hair_c=skin_c - float(rng.uniform(3.0, 6.0)),
                shirt_c=ambient_c + float(rng.uniform(0.5, 0.75)) * (skin_c - ambient_c),
                trousers_c=ambient_c + float(rng.uniform(0.4, 0.65)) * (skin_c - ambient_c),
                shoes_c=ambient_c + float(rng.uniform(1.0, 4.0)))


def _sample_person(rng: np.random.Generator, cam: Camera, ambient_c: float,
                   placed: list[Person]) -> Person:
    depth = float(rng.uniform(1.5, 5.0))
    if placed and rng.random() < 0.45:
        # Next to an earlier person, so that the two overlap in the image.
        other = placed[int(rng.integers(len(placed)))]
        u_other = cam.project(other.body.points["pelvis"])[0]
        u = u_other + rng.normal(0, 0.35) * cam.f / other.depth_m
    else:
        u = rng.uniform(-0.08, 1.08) * cam.width
    root = np.array([(u - cam.cx) * depth / cam.f, cam.height_m, depth])
    body = build_body(sample_height(rng), sample_pose(rng), root)
    return Person(body=body, depth_m=depth, look=sample_look(rng, ambient_c))


def sample_scene(rng: np.random.Generator, width: int, height: int) -> Scene:
    """A random scene; people are not yet checked for visibility (see ``render.compose``)."""
    cam = make_camera(rng, width, height)
    ambient = float(rng.uniform(17.0, 24.0))
    persons: list[Person] = []
    for _ in range(int(rng.choice([1, 2, 3], p=[0.4, 0.35, 0.25]))):
        persons.append(_sample_person(rng, cam, ambient, persons))
    farthest = max(p.depth_m for p in persons)
    wall = float(rng.uniform(max(5.5, farthest + 1.0), 8.0))
    shapes = sample_background(rng, cam, wall, farthest + 0.6, ambient)
    wall_bgr = _pick(rng, ((200, 210, 220), (170, 190, 200), (150, 160, 150), (210, 200, 190),
                           (120, 130, 140)))
    floor_bgr = _pick(rng, ((60, 90, 130), (110, 110, 110), (50, 60, 70), (90, 120, 150)))
    return Scene(camera=cam, wall_m=wall, ambient_c=ambient, wall_bgr=wall_bgr,
                 floor_bgr=floor_bgr, persons=tuple(persons), shapes=tuple(shapes))
