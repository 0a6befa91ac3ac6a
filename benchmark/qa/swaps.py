"""Left/right swap detection: inconsistency *between* parts, never the person's facing alone.

A person seen from behind has every left joint on the image left; that is a consistent mirror
of the frontal view, not an error. A swap is a subset of flip pairs whose labels disagree with
the rest of the body. For every subset S of flip pairs (up to half of them: swapping the
complement is the same body mirrored) the check computes the cost of the annotation with S
swapped back:

* limb cost: sum over skeleton links of rho(z) - rho(z0), z the robust limb-length z of
  :mod:`benchmark.qa.limbs`. Swapping one pair turns its limbs into diagonals across the body
  (left shoulder -> right elbow), which are too long; rho is a Student-t penalty so one
  genuinely odd limb cannot dominate.
* orientation cost: pair vectors (left joint -> right joint) of one person point the same way
  in the image unless a limb crosses; for every two pairs that are both wide (at least
  ``swap_min_width`` person scales) and anti-parallel the cost is log((1 - p) / p), p the
  frequency of that configuration in the file (Beta prior), weighted by |cos| and width.
* a prior ``swap_prior`` per swapped pair: swaps are rare.

The gain of the best S over the annotation as is sets the ``lr_swap`` severity. A whole-body
mirror leaves every cost unchanged, so it is only visible against an orientation cue that is
not a flip pair: a face with nose and both eyes marked visible (v=2) faces the camera, so the
eyes' left-to-right vector must turn the right way about the nose-to-eyes "up" vector. When it
does not, the face (and with it the body) is mirrored: ``lr_swap_body``.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.geometry import cross2
from benchmark.qa.limbs import (
    LimbModel,
    fit_limb_model,
    link_log_lengths,
    log_box_size,
    scale_votes,
)

#: Student-t degrees of freedom of the limb penalty, and the z at which a limb is neutral.
_NU, _Z0 = 4.0, 2.5
#: Beta prior of the anti-parallel frequency of two pair vectors: mean and strength.
_P0, _P_STRENGTH = 0.05, 20.0
#: Fit/detect passes: each refits the statistics on the previous pass's swaps undone.
_PASSES = 4
#: Skeletons are scored in chunks to bound memory on large files.
_CHUNK = 1024


@dataclass
class SwapResult:
    severity: np.ndarray  # (N,) lr_swap: parts inconsistent with each other
    severity_body: np.ndarray  # (N,) lr_swap_body: the whole body mirrored against the face
    gain: np.ndarray  # (N,) cost gain (nats) of the best partial swap
    map_pairs: list[tuple[int, ...]]  # the most likely swapped pairs, flagged or not
    partial: list[tuple[int, ...]]  # flagged pairs inconsistent with the rest (may be a half)
    fix_pairs: list[tuple[int, ...]]  # indices into oriented_pairs(layout) to swap back
    detail: list[str]  # names of the pairs found inconsistent with the rest of the body


def oriented_pairs(layout: KeypointLayout) -> tuple[tuple[int, int], ...]:
    """Flip pairs as (left index, right index), whatever order the layout lists them in."""
    out = []
    for a, b in layout.flip_pairs:
        if a.startswith("right") and b.startswith("left"):
            a, b = b, a
        out.append((layout.index[a], layout.index[b]))
    return tuple(out)


def pair_label(layout: KeypointLayout, pair: tuple[int, int]) -> str:
    name = layout.keypoints[pair[0]]
    return name[len("left_"):] if name.startswith("left_") else name


def _rho(z: np.ndarray) -> np.ndarray:
    return 0.5 * (_NU + 1) * np.log1p(z * z / _NU)


def _hypotheses(m: int) -> list[tuple[int, ...]]:
    """Subsets of at most half the pairs (the rest are the same bodies mirrored)."""
    return [s for r in range(m // 2 + 1) for s in combinations(range(m), r)]


def _permutations(k: int, pairs: tuple[tuple[int, int], ...],
                  hyps: list[tuple[int, ...]]) -> np.ndarray:
    perm = np.tile(np.arange(k), (len(hyps), 1))
    for h, subset in enumerate(hyps):
        for p in subset:
            a, b = pairs[p]
            perm[h, a], perm[h, b] = b, a
    return perm


def _pair_vectors(sk: Skeletons, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    both = sk.labelled[:, a] & sk.labelled[:, b]
    return np.where(both[..., None], sk.xy[:, b] - sk.xy[:, a], np.nan)


def _orientation_weights(vec: np.ndarray, scale: np.ndarray, width_ramp: tuple[float, float]
                         ) -> tuple[np.ndarray, np.ndarray]:
    """cos between every two pair vectors (N, M, M) and the evidence weight of each."""
    norm = np.linalg.norm(vec, axis=-1)
    unit = vec / np.where(norm > 0, norm, np.nan)[..., None]
    cos = np.einsum("nid,njd->nij", unit, unit)
    width = np.nan_to_num(ramp(norm / scale[:, None], width_ramp))
    weight = np.nan_to_num(width[:, :, None] * width[:, None, :] * np.abs(cos))
    return np.nan_to_num(cos), weight


def _odd_one_out(cos: np.ndarray, weight: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """(n, H, M) evidence that pair k points against the other pairs under each hypothesis.

    The fraction (by weight) of the other pairs that k is anti-parallel to, times the total
    weight capped at 1: crossed wrists disagree with shoulders, hips and elbows at once, and
    that is one event, not three.
    """
    flip = sign[:, :, None] * sign[:, None, :]  # (H, M, M)
    anti = (cos[:, None] * flip[None]) < 0  # (n, H, M, M)
    total = weight.sum(-1)  # (n, M)
    frac = (anti * weight[:, None]).sum(-1) / np.maximum(total, 1.0)[:, None]
    return frac


def orientation_prior(sk: Skeletons, model: LimbModel, config: QAConfig) -> np.ndarray:
    """(M,) cost log((1-p)/p) of a pair pointing against the rest, p its file frequency.

    Fit this on swap-corrected skeletons (see :func:`benchmark.qa.pipeline`): swapped
    annotations are exactly the odd-one-out cases, and counting them would teach the check
    that swaps are normal. A Beta prior keeps small files near ``_P0``.
    """
    pairs = oriented_pairs(sk.layout)
    cos, weight = _orientation_weights(_pair_vectors(sk, pairs), model.scale,
                                       config.swap_width)
    odd = _odd_one_out(cos, weight, np.ones((1, len(pairs))))[:, 0]  # (N, M)
    seen = np.minimum(weight.sum(-1), 1.0)
    p = (odd.sum(0) + _P_STRENGTH * _P0) / (seen.sum(0) + _P_STRENGTH)
    return np.log((1 - p) / p)


def _affected_links(perm: np.ndarray, links: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(H, L) links whose length a hypothesis changes (a swapped pair's own link does not)."""
    moved = perm != np.arange(perm.shape[1])
    a = np.array([i for i, _ in links], dtype=int)
    b = np.array([j for _, j in links], dtype=int)
    own = perm[:, a] == b
    return (moved[:, a] | moved[:, b]) & ~own


def _limb_gains(sk: Skeletons, model: LimbModel, perm: np.ndarray, rows: np.ndarray,
                min_votes: int) -> np.ndarray:
    """(n, H) limb cost of the annotation as is minus that of each hypothesis.

    Both are measured at the person scale voted by the links the hypothesis leaves alone:
    the scale of the annotation as is would be inflated by the very diagonals a swap
    creates, and a scale per hypothesis would let a hypothesis win by rescaling everything.
    """
    affected = _affected_links(perm, model.links)  # (H, L)
    xy = sk.xy[rows][:, perm]  # (n, H, K, 2)
    lab = sk.labelled[rows][:, perm]
    log_len = link_log_lengths(xy, lab, model.links)  # (n, H, L)
    log_box = log_box_size(sk)[rows][:, None]
    kept = np.where(affected[None], np.nan, log_len)
    log_scale = scale_votes(kept, log_box, model.mu, model.box[0], min_votes)
    log_scale = np.where(np.isfinite(log_scale), log_scale, model.log_scale[rows][:, None])
    cost_h = _link_cost(model.z(log_len, log_scale), affected)
    as_is = np.broadcast_to(log_len[:, :1], log_len.shape)
    return _link_cost(model.z(as_is, log_scale), affected) - cost_h


def _link_cost(z: np.ndarray, affected: np.ndarray) -> np.ndarray:
    """Sum of rho(z+) - rho(z0) over the affected links.

    Only the long side counts: a swap turns limbs into diagonals across the body, which are
    too *long*; short limbs are foreshortening, and rewarding a hypothesis for lengthening
    them would "fix" every person seen from above.
    """
    cost = _rho(np.clip(z, 0.0, None)) - _rho(np.float64(_Z0))
    return np.nansum(np.where(affected, cost, 0.0), axis=-1)


def facing_contradiction(sk: Skeletons, flips: np.ndarray) -> np.ndarray:
    """(N,) how strongly a visible face says the eyes are mirrored (0 when no cue)."""
    lay = sk.layout
    if "nose" not in lay.index or "left_eye" not in lay.index or "right_eye" not in lay.index:
        return np.zeros(len(sk))
    nose, le, re = lay.index["nose"], lay.index["left_eye"], lay.index["right_eye"]
    vis = (sk.kpts[:, [nose, le, re], 2] == 2).all(axis=1) & sk.labelled[:, [nose, le, re]].all(1)
    d = sk.xy[:, re] - sk.xy[:, le]
    up = 0.5 * (sk.xy[:, re] + sk.xy[:, le]) - sk.xy[:, nose]
    denom = np.linalg.norm(d, axis=-1) * np.linalg.norm(up, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sin = cross2(d, up) / denom
    sin = np.where(flips, -sin, sin)  # eyes already swapped back by the partial fix
    return np.where(vis & np.isfinite(sin), np.clip(-sin, 0.0, None), 0.0)


def detect_swaps(sk: Skeletons, model: LimbModel, anti: np.ndarray, config: QAConfig
                 ) -> SwapResult:
    """Best partial-swap hypothesis per skeleton, and the face-based whole-body check."""
    lay = sk.layout
    pairs = oriented_pairs(lay)
    n, m = len(sk), len(pairs)
    hyps = _hypotheses(m)
    perm = _permutations(lay.num_keypoints, pairs, hyps)
    member = np.zeros((len(hyps), m), bool)
    for h, subset in enumerate(hyps):
        member[h, list(subset)] = True
    sign = np.where(member, -1.0, 1.0)  # (H, M)
    scale = model.scale
    cos, weight = _orientation_weights(_pair_vectors(sk, pairs), scale, config.swap_width)
    active = sk.labelled[:, [p[0] for p in pairs]] | sk.labelled[:, [p[1] for p in pairs]]
    ok = np.isfinite(scale) & (sk.labelled.sum(1) >= 3)
    gain = np.zeros(n)
    best = np.zeros(n, int)
    rows_all = np.where(ok)[0]
    for start in range(0, len(rows_all), _CHUNK):
        rows = rows_all[start:start + _CHUNK]
        limb = _limb_gains(sk, model, perm, rows, config.scale_min_votes)  # (n, H)
        orient = (_odd_one_out(cos[rows], weight[rows], sign) * anti).sum(-1)
        n_swapped = (member[None] & active[rows][:, None, :]).sum(-1)
        useless = (member[None] & ~active[rows][:, None, :]).any(-1)
        score = (limb + orient[:, :1] - orient - config.swap_prior * n_swapped
                 - np.where(useless, np.inf, 0.0))
        best[rows] = np.argmax(score, axis=1)
        gain[rows] = score[np.arange(len(rows)), best[rows]]
    severity = np.where(best > 0, ramp(gain, config.swap_gain), 0.0)
    partial = [hyps[b] if sev >= config.threshold else ()
               for b, sev in zip(best, severity, strict=True)]
    eyes = [p for p, (a, _) in enumerate(pairs) if lay.keypoints[a] == "left_eye"]
    eyes_flipped = np.array([bool(eyes) and eyes[0] in s for s in partial], bool)
    body = ramp(facing_contradiction(sk, eyes_flipped), config.facing)
    fixes = [_fix_set(s, set(np.flatnonzero(act)), bool(b >= config.threshold))
             for s, act, b in zip(partial, active, body, strict=True)]
    fixes = _keep_explaining(sk, model, fixes, config)
    detail = [";".join(pair_label(lay, pairs[p]) for p in s) for s in partial]
    map_pairs = [hyps[b] if g > 0 else () for b, g in zip(best, gain, strict=True)]
    return SwapResult(severity, body, gain, map_pairs, partial, fixes, detail)


def _fix_set(partial: tuple[int, ...], active: set[int], body: bool) -> tuple[int, ...]:
    """Pairs to swap back: the minority that disagrees, or everything a face says is mirrored.

    A partial swap is only fixed when it is a strict minority of the labelled pairs: with two
    equal halves the check knows the halves disagree but not which half is wrong.
    """
    if body:
        return tuple(sorted(active - set(partial)))
    if partial and 2 * len(partial) < len(active):
        return partial
    return ()


def _keep_explaining(sk: Skeletons, model: LimbModel, fixes: list[tuple[int, ...]],
                     config: QAConfig) -> list[tuple[int, ...]]:
    """Drop fixes after which a limb still fires: the swap does not explain the anomaly.

    A joint clicked far off (a shift) can also make its pair look swapped; swapping it back
    would then move a correct joint into the wrong slot. A real swap, undone, leaves limbs of
    ordinary length.
    """
    rows = [i for i, f in enumerate(fixes) if f]
    if not rows:
        return fixes
    fixed = apply_swaps(sk, fixes)
    z = model.z(link_log_lengths(fixed.xy[rows], fixed.labelled[rows], model.links),
                model.log_scale[rows])
    still = np.nan_to_num(ramp(np.nan_to_num(z), config.limb_z_long)).max(1) >= config.threshold
    out = list(fixes)
    for i, bad in zip(rows, still, strict=True):
        if bad:
            out[i] = ()
    return out


def apply_swaps(sk: Skeletons, fix_pairs: list[tuple[int, ...]]) -> Skeletons:
    """A copy of ``sk`` with the given pairs of each skeleton swapped back."""
    from dataclasses import replace

    pairs = oriented_pairs(sk.layout)
    kpts = sk.kpts.copy()
    for i, subset in enumerate(fix_pairs):
        for p in subset:
            a, b = pairs[p]
            kpts[i, [a, b]] = kpts[i, [b, a]]
    return replace(sk, kpts=kpts)


def fit_and_detect(sk: Skeletons, config: QAConfig) -> tuple[LimbModel, SwapResult]:
    """Two passes: statistics fitted on swap-corrected skeletons, then the final detection.

    Swapped annotations distort exactly the statistics that reveal them (diagonal limbs widen
    the limb spreads, anti-parallel pairs raise the odd-one-out frequency); refitting on the
    file with the first pass's swaps undone keeps the second pass sharp even when many
    skeletons are swapped.
    """
    fixed = sk
    for _ in range(_PASSES):
        model = fit_limb_model(fixed, config)
        result = detect_swaps(sk, model, orientation_prior(fixed, model, config), config)
        fixed = apply_swaps(sk, result.map_pairs)
    return model, result
