"""Which way a person's left/right pairs point, and how often one points against the rest.

Every flip pair gives a vector from its left to its right joint. On one person these vectors
point the same way in the image whether the person faces the camera or turns away (seen from
behind, *all* of them flip together); a pair pointing against the others is the signature of
a swap, or of a limb crossing the body (crossed wrists, a stride seen from the side). Each pair
is compared with its kinematic parent (the torso pairs, shoulders and hips, with each other),
and how often it points against it in ordinary poses is measured on the file itself, so the
swap check learns that crossed wrists are common in an operating room, crossing legs common
among walkers, and crossed shoulders rare everywhere.

A pair's evidence is weighted by its width relative to its typical width (``swap_width``
ramp) and in pixels (``swap_width_px``): hands that nearly touch or a small person in profile
say little about which is which, while eyes, narrow but never crossed, count fully.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import cross2
from benchmark.qa.priors import limb_prior

#: Beta prior on the odd-one-out frequency of a pair: mean and strength (pseudo-skeletons).
_P0, _P_STRENGTH = 0.01, 20.0


@dataclass
class OrientationModel:
    ref_width: np.ndarray  # (M,) typical pair width, person-scale units
    odd_cost: np.ndarray  # (M,) log((1 - p) / p) of the pair pointing against the rest


def oriented_pairs(layout: KeypointLayout) -> tuple[tuple[int, int], ...]:
    """Flip pairs as (left index, right index), whatever order the layout lists them in."""
    out = []
    for a, b in layout.flip_pairs:
        if a.startswith("right") and b.startswith("left"):
            a, b = b, a
        out.append((layout.index[a], layout.index[b]))
    return tuple(out)


def pair_label(layout: KeypointLayout, pair: tuple[int, int]) -> str:
    """'wrist' for (left_wrist, right_wrist)."""
    name = layout.keypoints[pair[0]]
    return name.removeprefix("left_")


def pair_vectors(sk: Skeletons, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(N, M, 2) left-to-right vector of every pair; NaN unless both joints are labelled."""
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    both = sk.labelled[:, a] & sk.labelled[:, b]
    return np.where(both[..., None], sk.xy[:, b] - sk.xy[:, a], np.nan)


def reference_widths(sk: Skeletons, scale: np.ndarray, config: QAConfig) -> np.ndarray:
    """(M,) median pair width / person scale: the file's where it has enough, else the prior."""
    pairs = oriented_pairs(sk.layout)
    width = np.linalg.norm(pair_vectors(sk, pairs), axis=-1) / scale[:, None]
    out = np.empty(len(pairs))
    for p, (a, b) in enumerate(pairs):
        w = width[:, p][np.isfinite(width[:, p])]
        prior = float(np.exp(limb_prior(sk.layout.keypoints[a], sk.layout.keypoints[b])[0]))
        out[p] = float(np.median(w)) if w.size >= config.limb_min_samples else prior
    return np.maximum(out, 1e-6)


def pair_present(sk: Skeletons) -> np.ndarray:
    """(N, M) pairs with both joints labelled."""
    pairs = oriented_pairs(sk.layout)
    return (sk.labelled[:, [a for a, _ in pairs]] & sk.labelled[:, [b for _, b in pairs]])


def cos_and_weight(sk: Skeletons, scale: np.ndarray, ref_width: np.ndarray,
                   config: QAConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cos between every two pair vectors (N, M, M), their evidence weight (N, M, M) and the
    per-pair weight (N, M): width relative to the typical one, and in pixels, both ramped."""
    vec = pair_vectors(sk, oriented_pairs(sk.layout))
    norm = np.linalg.norm(vec, axis=-1)
    unit = vec / np.where(norm > 0, norm, np.nan)[..., None]
    cos = np.einsum("nid,njd->nij", unit, unit)
    width = np.nan_to_num(ramp(norm / scale[:, None] / ref_width, config.swap_width)
                          * ramp(norm, config.swap_width_px))
    weight = np.nan_to_num(width[:, :, None] * width[:, None, :] * np.abs(cos))
    return np.nan_to_num(cos), weight, width


def pair_graph(layout: KeypointLayout) -> tuple[np.ndarray, np.ndarray]:
    """(M,) root pairs and (M, M) adjacency of pairs joined by a skeleton link.

    Anchor pairs are linked to an unpaired joint or to their own partner (shoulders, hips,
    eyes). The *root* is the largest group of anchors joined by links (the torso: shoulders
    and hips; all tied groups when none is larger, as in MPII where only the pelvis and the
    neck join them). A head is not part of the root: it turns on the neck.
    """
    pairs = oriented_pairs(layout)
    m = len(pairs)
    owner = {j: p for p, ab in enumerate(pairs) for j in ab}
    anchor = np.zeros(m, bool)
    adj = np.zeros((m, m), bool)
    for a, b in layout.skeleton_indices:
        pa, pb = owner.get(a), owner.get(b)
        if pa is not None and pb is not None and pa != pb:
            adj[pa, pb] = adj[pb, pa] = True
        elif pa is not None and pb is not None:
            anchor[pa] = True
        elif (pa is None) != (pb is None):
            anchor[pa if pa is not None else pb] = True
    groups: list[set[int]] = []
    for k in np.flatnonzero(anchor):
        if any(k in g for g in groups):
            continue
        group, stack = {int(k)}, [int(k)]
        while stack:
            for q in np.flatnonzero(adj[stack.pop()] & anchor):
                if int(q) not in group:
                    group.add(int(q))
                    stack.append(int(q))
        groups.append(group)
    root = np.zeros(m, bool)
    if groups:
        biggest = max(len(g) for g in groups)
        for g in groups:
            if len(g) == biggest:
                root[list(g)] = True
    return root, adj


def pair_references(layout: KeypointLayout) -> np.ndarray:
    """(D, M, M) bool: the pairs each pair's orientation is compared with, nearest first.

    Root pairs are compared with each other; every other pair with its kinematic parents (the
    adjacent pairs one step nearer the root: elbow -> shoulder, ankle -> knee, eye -> ear),
    then, where those are not labelled, with its grandparents, and so on (a root pair without
    another labelled root pair falls back to its own limbs). A leg crossing in a
    walking stride then counts as one event (knees against hips, ankles following the knees),
    and a head turned on the neck as one (ears against shoulders, eyes following the ears).
    Pairs the skeleton does not connect to the root are compared with every other pair.
    """
    root, adj = pair_graph(layout)
    m = len(root)
    depth = np.where(root, 0, -1)
    for d in range(1, m + 1):
        frontier = (depth < 0) & adj[:, depth == d - 1].any(1)
        depth[frontier] = d
    every = ~np.eye(m, dtype=bool)
    levels = [np.zeros((m, m), bool) for _ in range(max(int(depth.max()), 2))]
    for k in range(m):
        if root[k]:
            levels[0][k] = root
            levels[1][k] = adj[k] & ~root  # no other torso pair: its own limbs
        elif depth[k] < 0:
            levels[0][k] = True
        else:
            ancestors = {k}
            for lvl in range(depth[k]):
                ancestors = {int(q) for a in ancestors
                             for q in np.flatnonzero(adj[a] & (depth == depth[k] - lvl - 1))}
                levels[lvl][k, list(ancestors)] = True
    return np.stack(levels) & every


def odd_one_out(cos: np.ndarray, weight: np.ndarray, present: np.ndarray, sign: np.ndarray,
                ref: np.ndarray) -> np.ndarray:
    """(n, H, M) evidence that pair k points against its reference pairs, per hypothesis.

    The weighted fraction of k's nearest reference level with a labelled pair
    (:func:`pair_references`) that k is anti-parallel to, the weights summing to at most 1.
    A labelled but narrow parent (hips of a walker seen from the side) ends the search: it
    says the reference is unreliable, not that the swinging arms should stand in for it.
    ``present`` (n, M) marks pairs with both joints labelled; ``sign`` (H, M) is -1 where a
    hypothesis swaps a pair.
    """
    w = np.zeros_like(weight)
    found = np.zeros(weight.shape[:2], bool)  # (n, M)
    for level in ref:
        use = ~found & (present[:, None, :] & level[None]).any(-1)
        w = np.where(use[..., None], weight * level[None], w)
        found |= use
    flip = sign[:, :, None] * sign[:, None, :]  # (H, M, M)
    anti = (cos[:, None] * flip[None]) < 0  # (n, H, M, M)
    return (anti * w[:, None]).sum(-1) / np.maximum(w.sum(-1), 1.0)[:, None]


def fit_orientation(sk: Skeletons, scale: np.ndarray, config: QAConfig) -> OrientationModel:
    """Typical widths and odd-one-out costs, measured on (swap-corrected) skeletons.

    Fit on skeletons with the suspected swaps undone (:func:`benchmark.qa.swaps.
    fit_and_detect`): swapped annotations are exactly the odd-one-out cases, and counting them
    would teach the check that swaps are normal. The Beta prior keeps small files near 1 %.
    """
    ref = reference_widths(sk, scale, config)
    cos, weight, _ = cos_and_weight(sk, scale, ref, config)
    m = cos.shape[1]
    present = pair_present(sk)
    odd = odd_one_out(cos, weight, present, np.ones((1, m)), pair_references(sk.layout))[:, 0]
    seen = np.minimum(weight.sum(-1), 1.0)
    p = (odd.sum(0) + _P_STRENGTH * _P0) / (seen.sum(0) + _P_STRENGTH)
    return OrientationModel(ref, np.log((1 - p) / p))


def face_cue(sk: Skeletons) -> tuple[np.ndarray, np.ndarray]:
    """(N,) whether a face is visible (nose and both eyes v=2) and (N, 2) its up vector.

    A visible face means the person faces the camera; "up" runs from the nose to the middle
    of the eyes, so it turns with the head and needs no torso.
    """
    lay = sk.layout
    names = ("nose", "left_eye", "right_eye")
    n = len(sk)
    if not all(x in lay.index for x in names):
        return np.zeros(n, bool), np.zeros((n, 2))
    nose, le, re = (lay.index[x] for x in names)
    idx = [nose, le, re]
    visible = (sk.kpts[:, idx, 2] == 2).all(1) & sk.labelled[:, idx].all(1)
    up = 0.5 * (sk.xy[:, le] + sk.xy[:, re]) - sk.xy[:, nose]
    return visible, np.where(visible[:, None], up, 0.0)


def facing_contradiction(sk: Skeletons, width: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """(N,) how strongly a visible face says the (partially fixed) body is mirrored.

    The body's left-to-right direction is the width-weighted consensus of its pair vectors
    (``sign`` (N, M) undoes a detected partial swap first). For a person facing the camera,
    right is on the image left, i.e. cross(left-to-right, up) > 0; a consensus turning the
    other way about the face's up vector is a whole-body mirror. The value is the sine of
    that turn, scaled by how much width backs the consensus (capped at 1) and by the eyes' own
    width weight (a face in near profile shows no side).
    """
    visible, up = face_cue(sk)
    vec = pair_vectors(sk, oriented_pairs(sk.layout))
    norm = np.linalg.norm(vec, axis=-1)
    unit = np.nan_to_num(vec / np.where(norm > 0, norm, np.nan)[..., None])
    consensus = (unit * (width * sign)[..., None]).sum(1)
    denom = np.linalg.norm(consensus, axis=-1) * np.linalg.norm(up, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sin = cross2(consensus, up) / denom
    strength = np.minimum(np.linalg.norm(consensus, axis=-1), 1.0)
    # a face in near profile (eyes a few pixels apart) shows no side clearly
    eyes = [p for p, (a, _) in enumerate(oriented_pairs(sk.layout))
            if sk.layout.keypoints[a] == "left_eye"]
    if eyes:
        strength = strength * width[:, eyes[0]]
    return np.where(visible & np.isfinite(sin), np.clip(-sin, 0.0, None) * strength, 0.0)
