"""Point-in-polygon with shapely's ``Polygon.contains`` semantics, vectorised.

poseval removes joints inside PoseTrack's ignore regions with ``shapely`` (GEOS): a point
*strictly* inside counts, a point on the boundary does not, and a self-intersecting ring is
read with the even-odd rule. The same predicate is computed here in numpy so that mpbench does
not depend on shapely and can test thousands of joints against hundreds of vertices at once.
Orientation is evaluated in double precision (GEOS uses exact predicates), which can only differ
for points within rounding distance of an edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def strictly_inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(M, 2) points, (V, 2) ring (closed or not) -> (M,) strictly inside.

    A ring of fewer than 3 vertices has no interior (shapely would refuse to build it).
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(len(points), dtype=bool)
    if len(polygon) < 3 or not len(points):
        return out
    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    near = np.flatnonzero(((points >= lo) & (points <= hi)).all(axis=1))  # bbox pre-filter
    if near.size:
        out[near] = _even_odd_interior(points[near], polygon)
    return out


def _even_odd_interior(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    xi, yi = polygon[:, 0], polygon[:, 1]
    xj, yj = np.concatenate([xi[1:], xi[:1]]), np.concatenate([yi[1:], yi[:1]])
    px, py = points[:, :1], points[:, 1:]
    cross = (xj - xi) * (py - yi) - (yj - yi) * (px - xi)  # > 0: p left of edge i -> j
    on_edge = ((cross == 0) & (px >= np.minimum(xi, xj)) & (px <= np.maximum(xi, xj))
               & (py >= np.minimum(yi, yj)) & (py <= np.maximum(yi, yj)))
    straddles = (yi > py) != (yj > py)
    crosses = straddles & np.where(yj > yi, cross > 0, cross < 0)
    return (np.count_nonzero(crosses, axis=1) % 2 == 1) & ~on_edge.any(axis=1)


def inside_any(points: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """(M,) whether each point is strictly inside at least one polygon."""
    out = np.zeros(len(points), dtype=bool)
    for poly in polygons:
        out |= strictly_inside(points, poly)
    return out
