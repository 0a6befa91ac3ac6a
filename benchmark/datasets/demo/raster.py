"""Z-buffer rasteriser of the demo people: capsule limbs, a rounded torso, an ellipsoid head.

Every body part is a primitive that can be evaluated at arbitrary image points: on the pixel
grid (inside its bounding box) to build the z-buffer from which all modalities are painted, and
on the exact rays through the keypoints to decide their visibility (see :mod:`annotate`). Using
the exact ray, not the nearest pixel centre, keeps visibility independent of the resolution: an
ear on the head's silhouette is a fraction of a pixel from background, where the surface depth
changes by centimetres per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmark.datasets.demo.body import FACE_DIRECTIONS, TORSO_HALF_DEPTH
from benchmark.datasets.demo.camera import Camera
from benchmark.datasets.demo.scene import Person

# Materials (per-pixel codes; painters map them to colours / temperatures per person).
SKIN, SHIRT, TROUSERS, HAIR, SHOES, EYE, LIP = range(7)
N_MATERIALS = 7

# (from point, to point, radius at start, radius at end as fractions of height, material)
# "sleeve"/"leg" are resolved per person (long sleeves, shorts).
_LIMBS = (
    ("{s}_shoulder", "{s}_elbow", 0.026, 0.021, SHIRT),
    ("{s}_elbow", "{s}_wrist", 0.02, 0.016, "sleeve"),
    ("{s}_wrist", "{s}_hand", 0.017, 0.015, SKIN),
    ("{s}_hip", "{s}_knee", 0.042, 0.031, TROUSERS),
    ("{s}_knee", "{s}_ankle", 0.03, 0.021, "leg"),
    ("{s}_ankle", "{s}_toe", 0.022, 0.018, SHOES),
)
# Nose, ears and eyeballs protrude a little from the head ellipsoid; as primitives centred on
# the face keypoints they make every face keypoint lie inside its own person's silhouette.
_FACE_PARTS = (("nose", 0.011, SKIN), ("left_ear", 0.016, SKIN), ("right_ear", 0.016, SKIN),
               ("left_eye", 0.007, EYE), ("right_eye", 0.007, EYE))


@dataclass(frozen=True)
class Hit:
    """A primitive evaluated at sample points: coverage, surface depth Z, shading, material."""

    inside: np.ndarray
    z: np.ndarray
    shade: np.ndarray
    material: int | np.ndarray


def _seg(xs: np.ndarray, ys: np.ndarray, p: np.ndarray,
         q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points to segment pq and the segment parameter of the closest point."""
    ex, ey = q[0] - p[0], q[1] - p[1]
    dx, dy = xs - p[0], ys - p[1]
    t = np.clip((dx * ex + dy * ey) / max(ex * ex + ey * ey, 1e-9), 0.0, 1.0)
    return np.hypot(dx - t * ex, dy - t * ey), t


class Capsule:
    """A tapered capsule between 3D points ``a`` and ``b`` (radii in metres).

    The projected radius is at least one pixel, so the pixel containing an endpoint (a joint)
    is always covered by it.
    """

    def __init__(self, cam: Camera, a: np.ndarray, b: np.ndarray, rad_a: float, rad_b: float,
                 material: int) -> None:
        self.pa, self.pb = cam.project(a), cam.project(b)
        self.ra = max(cam.f * rad_a / self.pa[2], 1.0)
        self.rb = max(cam.f * rad_b / self.pb[2], 1.0)
        self.rad_a, self.rad_b, self.material = rad_a, rad_b, material

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Image-space bounding box (lo, hi) of the projection."""
        r = max(self.ra, self.rb)
        return (np.minimum(self.pa[:2], self.pb[:2]) - r,
                np.maximum(self.pa[:2], self.pb[:2]) + r)

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> Hit:
        """The primitive at image points (broadcastable ``xs``, ``ys``)."""
        dist, t = _seg(xs, ys, self.pa, self.pb)
        rad = self.ra + t * (self.rb - self.ra)
        s = np.sqrt(np.clip(1.0 - (dist / rad) ** 2, 0.0, 1.0))
        z = self.pa[2] + t * (self.pb[2] - self.pa[2]) - (self.rad_a + t * (self.rad_b -
                                                                           self.rad_a)) * s
        return Hit(dist < rad, z, s.astype(np.float32), self.material)


class Torso:
    """The trunk: the shoulder-hip quadrilateral with rounded edges and a bulging front.

    The corner radius grows from the frontal to the side view, where the quad collapses to a
    line and the trunk's visible width is its depth (chest to back).
    """

    def __init__(self, cam: Camera, person: Person) -> None:
        body, h = person.body, person.body.height_m
        names = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")
        corners = cam.project(np.stack([body.points[n] for n in names]))
        r_m = float(np.hypot(0.035 * h * np.cos(body.yaw), 0.062 * h * np.sin(body.yaw)))
        self.r_px = max(cam.f * r_m / float(corners[:, 2].mean()), 1.0)
        self.uv = corners[:, :2]
        design = np.c_[self.uv, np.ones(4)]
        self.plane = np.linalg.lstsq(design, corners[:, 2], rcond=None)[0]
        self.half_depth = TORSO_HALF_DEPTH * h

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Image-space bounding box (lo, hi) of the projection."""
        return self.uv.min(0) - self.r_px, self.uv.max(0) + self.r_px

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> Hit:
        """The primitive at image points (broadcastable ``xs``, ``ys``)."""
        uv = self.uv
        cross, edge = [], None
        for i in range(4):
            p, q = uv[i], uv[(i + 1) % 4]
            cross.append((q[0] - p[0]) * (ys - p[1]) - (q[1] - p[1]) * (xs - p[0]))
            d = _seg(xs, ys, p, q)[0]
            edge = d if edge is None else np.minimum(edge, d)
        cr = np.stack(np.broadcast_arrays(*cross))
        inside = np.all(cr >= 0, axis=0) | np.all(cr <= 0, axis=0) | (edge < self.r_px)
        plane = self.plane[0] * xs + self.plane[1] * ys + self.plane[2]
        lateral, t = _seg(xs, ys, uv[:2].mean(0), uv[2:].mean(0))
        half = ((1 - t) * np.linalg.norm(uv[0] - uv[1]) + t * np.linalg.norm(uv[2] - uv[3])) / 2
        s = np.sqrt(np.clip(1.0 - (lateral / (half + self.r_px)) ** 2, 0.0, 1.0))
        return Hit(inside, plane - self.half_depth * s, s.astype(np.float32), SHIRT)


_FACE = {k: np.array(v) / np.linalg.norm(v) for k, v in FACE_DIRECTIONS.items()}
_MOUTH = np.array([0.0, -0.55, 0.83])


def _head_material(q: np.ndarray, shade: np.ndarray) -> np.ndarray:
    """Texture of the unit head sphere: hair on top/back, skin face with eyes, nose, mouth, ears.

    Features are placed at the face keypoints' directions, so a detector can localise them.
    ``shade`` is darkened in place around the nose and in the ears' hollows.
    """
    ql, qu, qf = q[..., 0], q[..., 1], q[..., 2]
    mat = np.full(ql.shape, SKIN, np.uint8)
    hair = (qu > 0.45) | (qf < -0.25 + 0.4 * np.clip(qu, 0, 1)) | ((qu > 0.1) & (qf < 0.2))
    mat[hair] = HAIR

    def near(d: np.ndarray, rad: float) -> np.ndarray:
        return np.sum((q - d) ** 2, axis=-1) < rad * rad

    for side in ("left", "right"):
        mat[near(_FACE[f"{side}_ear"], 0.3)] = SKIN
        shade[near(_FACE[f"{side}_ear"], 0.12)] *= 0.6
        mat[near(_FACE[f"{side}_eye"], 0.13)] = EYE
    shade[near(_FACE["nose"], 0.16)] *= 0.75
    mat[near(_MOUTH, 0.13) & ~hair] = LIP
    return mat


class Head:
    """The head ellipsoid, ray-cast exactly under perspective and textured (hair, face)."""

    def __init__(self, cam: Camera, person: Person) -> None:
        body = person.body
        self.cam, self.c = cam, body.points["head"]
        self.axes, self.radii = body.head_axes, body.head_radii
        self.m = (self.axes / self.radii).T  # camera vector -> unit-sphere local coordinates
        pc = cam.project(self.c)
        self.centre, self.r_px = pc[:2], cam.f * float(self.radii.max()) / pc[2] * 1.2 + 1

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Image-space bounding box (lo, hi) of the projection."""
        return self.centre - self.r_px, self.centre + self.r_px

    def evaluate(self, xs: np.ndarray, ys: np.ndarray) -> Hit:
        """The primitive at image points (broadcastable ``xs``, ``ys``)."""
        cam = self.cam
        rays = np.stack(np.broadcast_arrays((xs - cam.cx) / cam.f, (ys - cam.cy) / cam.f, 1.0),
                        -1)
        md, mc = rays @ self.m.T, self.m @ self.c
        qa = np.sum(md * md, -1)
        qb = -2.0 * md @ mc
        disc = qb * qb - 4 * qa * (mc @ mc - 1.0)
        t = (-qb - np.sqrt(np.maximum(disc, 0.0))) / (2 * qa)  # ray parameter = depth Z
        q = t[..., None] * md - mc
        normal = (q / self.radii) @ self.axes.T
        view = -rays / np.linalg.norm(rays, axis=-1, keepdims=True)
        cos = np.sum(normal * view, -1) / np.linalg.norm(normal, axis=-1)
        shade = np.clip(cos, 0, 1).astype(np.float32)
        mat = _head_material(q, shade)
        return Hit(disc > 0, t, shade, mat)


Primitive = Capsule | Torso | Head


def body_primitives(cam: Camera, person: Person) -> list[Primitive]:
    """All primitives of one person."""
    pts, h, look = person.body.points, person.body.height_m, person.look
    prims: list[Primitive] = [
        Torso(cam, person),
        Capsule(cam, pts["shoulder_centre"], pts["neck"] + 0.3 * (pts["head"] - pts["neck"]),
                0.03 * h, 0.028 * h, SKIN),
        Head(cam, person)]
    prims += [Capsule(cam, pts[n], pts[n], rad * h, rad * h, mat) for n, rad, mat in _FACE_PARTS]
    for side in ("left", "right"):
        for a, b, ra, rb, kind in _LIMBS:
            mat = {"sleeve": SHIRT if look.long_sleeves else SKIN,
                   "leg": SKIN if look.shorts else TROUSERS}.get(kind, kind)
            prims.append(Capsule(cam, pts[a.format(s=side)], pts[b.format(s=side)], ra * h,
                                 rb * h, int(mat)))
    return prims


def scene_primitives(cam: Camera, persons: tuple[Person, ...]) -> list[list[Primitive]]:
    """Primitives of every person, indexed by person."""
    return [body_primitives(cam, p) for p in persons]


@dataclass
class Raster:
    """Per-pixel buffers of a rasterised scene (background: owner -1, depth inf).

    ``primitives`` keeps the geometry the buffers were drawn from, so that exact rays (keypoint
    visibility) are cast against the very same surfaces.
    """

    depth: np.ndarray  # float64 metres, surface Z
    owner: np.ndarray  # int16 person index
    material: np.ndarray  # uint8 material code
    shade: np.ndarray  # float32 in [0, 1]: cosine between surface normal and view ray
    primitives: list[list[Primitive]] = field(default_factory=list)

    @classmethod
    def empty(cls, height: int, width: int) -> Raster:
        """Buffers of an image without people."""
        return cls(np.full((height, width), np.inf), np.full((height, width), -1, np.int16),
                   np.zeros((height, width), np.uint8), np.zeros((height, width), np.float32))

    def commit(self, box: tuple[int, int, int, int], hit: Hit, owner: int) -> None:
        """Z-test a primitive evaluated on ``box`` = (y0, y1, x0, x1) and keep nearer pixels."""
        y0, y1, x0, x1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        win = hit.inside & (hit.z < self.depth[sl])
        self.depth[sl][win] = hit.z[win]
        self.owner[sl][win] = owner
        self.shade[sl][win] = hit.shade[win]
        mat = hit.material
        self.material[sl][win] = mat[win] if isinstance(mat, np.ndarray) else mat


def rasterize(cam: Camera, persons: tuple[Person, ...]) -> Raster:
    """Z-buffer all people of a scene on the pixel grid (pixel centres at +0.5)."""
    r = Raster.empty(cam.height, cam.width)
    r.primitives = scene_primitives(cam, persons)
    for pid, prims in enumerate(r.primitives):
        for prim in prims:
            lo, hi = prim.bounds()
            x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
            x1 = min(int(np.ceil(hi[0])) + 1, cam.width)
            y1 = min(int(np.ceil(hi[1])) + 1, cam.height)
            if x0 >= x1 or y0 >= y1:
                continue
            xs = (np.arange(x0, x1) + 0.5)[None, :]
            ys = (np.arange(y0, y1) + 0.5)[:, None]
            r.commit((y0, y1, x0, x1), prim.evaluate(xs, ys), pid)
    return r


def surface_along_rays(primitives: list[list[Primitive]],
                       uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest body surface on the rays through image points ``uv`` (N, 2).

    ``primitives`` as in :attr:`Raster.primitives`. Returns (depth Z in metres, inf where no
    body is hit; owner person index, -1 for none).
    """
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    depth = np.full(len(uv), np.inf)
    owner = np.full(len(uv), -1, np.int64)
    for pid, prims in enumerate(primitives):
        for prim in prims:
            hit = prim.evaluate(uv[:, 0], uv[:, 1])
            win = hit.inside & (hit.z < depth)
            depth[win], owner[win] = hit.z[win], pid
    return depth, owner
