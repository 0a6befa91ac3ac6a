"""Which way a person's left/right pairs point, and how often one points against the rest.

Every flip pair gives a vector from its left to its right joint. On one person these vectors
point the same way in the image whether the person faces the camera or turns away (seen from
behind, *all* of them flip together); a pair pointing against the others is the signature of
a swap, or of a limb crossing the body (crossed wrists, crossed ankles). How often each pair
is the odd one out in ordinary poses is measured on the file itself, so the swap check learns
that crossed wrists are common in an operating room and crossed shoulders never are.

A pair's evidence is weighted by its width relative to its typical width (``swap_width``
ramp): hands that nearly touch say little about which is which, while eyes, narrow in pixels
but never crossed, count fully.
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
_P0, _P_STRENGTH = 0.05, 20.0


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


def cos_and_weight(sk: Skeletons, scale: np.ndarray, ref_width: np.ndarray,
                   config: QAConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cos between every two pair vectors (N, M, M), their evidence weight (N, M, M) and the
    per-pair weight (N, M)."""
    vec = pair_vectors(sk, oriented_pairs(sk.layout))
    norm = np.linalg.norm(vec, axis=-1)
    unit = vec / np.where(norm > 0, norm, np.nan)[..., None]
    cos = np.einsum("nid,njd->nij", unit, unit)
    width = np.nan_to_num(ramp(norm / scale[:, None] / ref_width, config.swap_width))
    weight = np.nan_to_num(width[:, :, None] * width[:, None, :] * np.abs(cos))
    return np.nan_to_num(cos), weight, width


def odd_one_out(cos: np.ndarray, weight: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """(n, H, M) evidence that pair k points against the other pairs under each hypothesis.

    The weighted fraction of the other pairs that k is anti-parallel to, with the weights
    summing to at most 1: crossed wrists disagree with shoulders, hips and elbows at once,
    and that is one event, not three. ``sign`` (H, M) is -1 where a hypothesis swaps a pair.
    """
    flip = sign[:, :, None] * sign[:, None, :]  # (H, M, M)
    anti = (cos[:, None] * flip[None]) < 0  # (n, H, M, M)
    total = weight.sum(-1)  # (n, M)
    return (anti * weight[:, None]).sum(-1) / np.maximum(total, 1.0)[:, None]


def fit_orientation(sk: Skeletons, scale: np.ndarray, config: QAConfig) -> OrientationModel:
    """Typical widths and odd-one-out costs, measured on (swap-corrected) skeletons.

    Fit on skeletons with the suspected swaps undone (:func:`benchmark.qa.swaps.
    fit_and_detect`): swapped annotations are exactly the odd-one-out cases, and counting them
    would teach the check that swaps are normal. The Beta prior keeps small files near 5 %.
    """
    ref = reference_widths(sk, scale, config)
    cos, weight, _ = cos_and_weight(sk, scale, ref, config)
    m = cos.shape[1]
    odd = odd_one_out(cos, weight, np.ones((1, m)))[:, 0]  # (N, M)
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
    that turn, scaled by how much width backs the consensus (capped at 1).
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
    return np.where(visible & np.isfinite(sin), np.clip(-sin, 0.0, None) * strength, 0.0)
