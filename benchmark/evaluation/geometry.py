"""Point-in-polygon with shapely's ``Polygon.contains`` semantics, vectorised over a dataset.

poseval removes joints inside PoseTrack's ignore regions with ``shapely`` (GEOS): a point
*strictly* inside counts, a point on the boundary does not, and a self-intersecting ring is
read with the even-odd rule. The same predicate is computed here in numpy so that mpbench does
not depend on shapely and can test every joint of every frame against its frame's polygons in
one pass (points and rings carry a group id, the frame; only same-group pairs are tested).

The rule is GEOS's ray-crossing counter: an edge counts when it straddles the point's
horizontal line (half-open in y) and the point is left of the upward-oriented edge; the point
is on the boundary when it lies on an edge. Orientation signs are exact: the double-precision
determinant is trusted only beyond Shewchuk's error bound, and the few cases within it (points
on or within rounding distance of an edge's line) are decided in exact rational arithmetic,
as GEOS decides them with its robust predicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

#: Shewchuk's ``ccwerrboundA``: |det| above this times (|left| + |right|) has the exact sign.
_ORIENT_BOUND = (3.0 + 16.0 * 2.0 ** -53) * 2.0 ** -53
#: (point, edge) rows handled per chunk (bounds the temporary arrays).
_CHUNK_ROWS = 1 << 21


def _two_sum_exact(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a + b`` rounded, and whether that was exact (Knuth's error-free TwoSum)."""
    s = a + b
    bb = s - a
    return s, ((a - (s - bb)) + (b - bb)) == 0


def _split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = 134217729.0 * a  # Veltkamp: 2**27 + 1
    hi = c - (c - a)
    return hi, a - hi


def _two_product_exact(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a * b`` rounded, and whether that was exact (Dekker's error-free TwoProduct)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, (((ah * bh - p) + ah * bl + al * bh) + al * bl) == 0


def orientation(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray,
                px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Exact sign of ``(b - a) x (p - a)``: 1 when p is left of a -> b, -1 right, 0 on the line.

    Three tiers: the double determinant beyond Shewchuk's error bound; else, when the four
    differences and both products were exact (typical for points on an edge), the exact
    comparison of the two products; else rational arithmetic (rare).
    """
    left = (bx - ax) * (py - ay)
    right = (by - ay) * (px - ax)
    det = left - right
    sign = np.sign(det).astype(np.int8)
    unsure = np.flatnonzero(~(np.abs(det) > _ORIENT_BOUND * (np.abs(left) + np.abs(right))))
    if not len(unsure):
        return sign
    u = [v[unsure] for v in (ax, ay, bx, by, px, py)]
    d1, e1 = _two_sum_exact(u[2], -u[0])
    d2, e2 = _two_sum_exact(u[5], -u[1])
    d3, e3 = _two_sum_exact(u[3], -u[1])
    d4, e4 = _two_sum_exact(u[4], -u[0])
    lp, e5 = _two_product_exact(d1, d2)
    rp, e6 = _two_product_exact(d3, d4)
    exact = e1 & e2 & e3 & e4 & e5 & e6 & np.isfinite(lp) & np.isfinite(rp)
    sign[unsure[exact]] = (lp[exact] > rp[exact]).astype(np.int8) - (lp[exact] < rp[exact])
    for i in unsure[~exact].tolist():  # rational arithmetic for what is left
        f = [Fraction(float(v[i])) for v in (ax, ay, bx, by, px, py)]
        value = (f[2] - f[0]) * (f[5] - f[1]) - (f[3] - f[1]) * (f[4] - f[0])
        sign[i] = (value > 0) - (value < 0)
    return sign


def group_boxes(vx: np.ndarray, vy: np.ndarray, ring_len: np.ndarray, ring_group: np.ndarray,
                n_groups: int) -> np.ndarray:
    """(4, n_groups) ``x1, y1, x2, y2`` around all rings (of >= 3 vertices) of each group
    ``0 .. n_groups - 1``; a group without rings gets an empty box (inf, inf, -inf, -inf)."""
    out = np.array([np.inf, np.inf, -np.inf, -np.inf])[:, None].repeat(n_groups, axis=1)
    ring_len = np.asarray(ring_len, dtype=np.int64)
    vertex_group = np.repeat(np.where(ring_len >= 3, ring_group, -1), ring_len)
    ok = np.flatnonzero(vertex_group >= 0)
    ok = ok[np.argsort(vertex_group[ok], kind="stable")]
    if not len(ok):
        return out
    g, x, y = vertex_group[ok], np.asarray(vx, dtype=np.float64)[ok], np.asarray(vy)[ok]
    start = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    out[:, g[start]] = [np.minimum.reduceat(x, start), np.minimum.reduceat(y, start),
                        np.maximum.reduceat(x, start), np.maximum.reduceat(y, start)]
    return out


def inside_rings(px: np.ndarray, py: np.ndarray, point_group: np.ndarray, vx: np.ndarray,
                 vy: np.ndarray, ring_len: np.ndarray, ring_group: np.ndarray) -> np.ndarray:
    """(M,) whether each point is strictly inside at least one ring of its own group.

    Points ``px, py`` (M,) with ``point_group`` (M,); the rings' vertices concatenated in
    ``vx``, ``vy`` (closed or not), ``ring_len`` (R,) vertices each, with ``ring_group`` (R,).
    A ring of fewer than 3 vertices has no interior (shapely would refuse to build it).
    """
    px = np.asarray(px, dtype=np.float64).ravel()
    py = np.asarray(py, dtype=np.float64).ravel()
    point_group = np.asarray(point_group, dtype=np.int64).ravel()
    ring_len = np.asarray(ring_len, dtype=np.int64)
    out = np.zeros(len(px), dtype=bool)
    if not len(px) or not (ring_len >= 3).any():
        return out
    # edges i -> i + 1 of every ring (the last vertex back to the first), rings by group
    vertex_start = np.cumsum(ring_len) - ring_len
    keep = np.flatnonzero(ring_len >= 3)
    keep = keep[np.argsort(np.asarray(ring_group, dtype=np.int64)[keep], kind="stable")]
    ring_group = np.asarray(ring_group, dtype=np.int64)[keep]
    n_edges = ring_len[keep]
    edge_start = np.cumsum(n_edges) - n_edges
    a = np.arange(int(n_edges.sum())) + np.repeat(vertex_start[keep] - edge_start, n_edges)
    b = a + 1
    b[edge_start + n_edges - 1] = vertex_start[keep]
    vx, vy = np.asarray(vx, dtype=np.float64), np.asarray(vy, dtype=np.float64)
    ax, ay, bx, by = vx[a], vy[a], vx[b], vy[b]
    box = [np.minimum.reduceat(ax, edge_start), np.minimum.reduceat(ay, edge_start),
           np.maximum.reduceat(ax, edge_start), np.maximum.reduceat(ay, edge_start)]

    # (point, ring) pairs of the same group whose bounding box holds the point (point-major)
    first = np.searchsorted(ring_group, point_group, side="left")
    count = np.searchsorted(ring_group, point_group, side="right") - first
    pair_point = np.repeat(np.arange(len(px)), count)
    seg = np.cumsum(count) - count
    pair_ring = np.arange(len(pair_point)) - np.repeat(seg - first, count)
    qx, qy = px[pair_point], py[pair_point]
    near = ((qx >= box[0][pair_ring]) & (qy >= box[1][pair_ring])
            & (qx <= box[2][pair_ring]) & (qy <= box[3][pair_ring]))
    pair_point, pair_ring = pair_point[near], pair_ring[near]
    if not len(pair_point):
        return out

    # every pair against every edge of its ring, in chunks of pairs
    rows_per_pair = n_edges[pair_ring]
    ends = np.cumsum(rows_per_pair)
    edges = (ax, ay, bx, by)
    start = 0
    while start < len(pair_point):
        base = int(ends[start] - rows_per_pair[start])
        stop = max(start + 1, int(np.searchsorted(ends, base + _CHUNK_ROWS, side="right")))
        chunk = pair_point[start:stop]
        inside = _pairs_inside(px[chunk], py[chunk], edge_start[pair_ring[start:stop]],
                               rows_per_pair[start:stop], edges)
        out[chunk[inside]] = True
        start = stop
    return out


def _pairs_inside(qx: np.ndarray, qy: np.ndarray, first_edge: np.ndarray, n_rows: np.ndarray,
                  edges: tuple[np.ndarray, ...]) -> np.ndarray:
    """For (point, ring) pairs: strictly inside (odd crossings, on no edge)."""
    total = int(n_rows.sum())
    seg = np.cumsum(n_rows) - n_rows
    pair = np.repeat(np.arange(len(qx)), n_rows)
    edge = np.arange(total) + np.repeat(first_edge - seg, n_rows)
    py = qy[pair]
    yi, yj = edges[1][edge], edges[3][edge]
    straddles = (yi > py) != (yj > py)
    # the rows whose orientation matters: an edge crossing the point's horizontal line
    # (half-open), or one with an end at the point's height (the only way to touch the point
    # without straddling: at its upper end, or along a horizontal edge)
    rows = np.flatnonzero(straddles | (yi == py) | (yj == py))
    r_edge, r_pair = edge[rows], pair[rows]
    xi, xj, yi, yj = edges[0][r_edge], edges[2][r_edge], yi[rows], yj[rows]
    px, py = qx[r_pair], py[rows]
    sign = orientation(xi, yi, xj, yj, px, py)
    in_box = ((px >= np.minimum(xi, xj)) & (px <= np.maximum(xi, xj))
              & (py >= np.minimum(yi, yj)) & (py <= np.maximum(yi, yj)))
    on_edge = (sign == 0) & in_box
    crosses = straddles[rows] & (np.where(yj > yi, sign, -sign) > 0)
    n_cross = np.bincount(r_pair, weights=crosses, minlength=len(qx))
    touching = np.bincount(r_pair, weights=on_edge, minlength=len(qx)) > 0
    return (n_cross % 2 == 1) & ~touching


def _flat_rings(polygons: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rings = [np.asarray(poly, dtype=np.float64).reshape(-1, 2) for poly in polygons]
    if not rings:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
    xy = np.concatenate(rings)
    return xy[:, 0], xy[:, 1], np.array([len(r) for r in rings], dtype=np.int64)


def strictly_inside(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(M, 2) points, (V, 2) ring (closed or not) -> (M,) strictly inside."""
    return inside_any(points, [polygon])


def inside_any(points: np.ndarray, polygons: Sequence[np.ndarray]) -> np.ndarray:
    """(M,) whether each point is strictly inside at least one polygon."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    vx, vy, ring_len = _flat_rings(polygons)
    return inside_rings(points[:, 0], points[:, 1], np.zeros(len(points), dtype=np.int64),
                        vx, vy, ring_len, np.zeros(len(ring_len), dtype=np.int64))
