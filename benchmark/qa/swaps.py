"""Left/right swap detection: inconsistency *between* parts, never the person's facing alone.

A person seen from behind has every left joint on the image left; that is a consistent mirror
of the frontal view, not an error. A swap is a subset S of flip pairs whose labels disagree
with the rest of the body. Every S of at most half the pairs (swapping the complement is the
same body mirrored) is scored by the evidence for undoing it:

    gain(S) = limb(S) + orient(S) - swap_prior * slips(S)

* ``limb``: the drop in sum_links rho(z+) - rho(z0) over the links S changes, z the robust
  limb-length z of :mod:`benchmark.qa.limbs` at the person scale of the swap-corrected
  skeleton (see :func:`fit_and_detect`). A swapped pair turns its limbs into diagonals across
  the body, too long; only the long side counts (foreshortening shortens limbs in every
  honest annotation).
  rho(z) = (nu + 1) / 2 * log(1 + z^2 / nu) (Student t, nu = 4), z0 = 2.5.
* ``orient``: the drop in sum_k c_k * e_k, e_k the evidence that pair k points against its
  reference pairs (its kinematic parent; the torso pairs each other) and
  c_k = log((1 - p_k) / p_k) its cost (:mod:`benchmark.qa.orientation`).
* ``swap_prior``: swaps are rare; each slip (a group of pairs of S connected along a limb
  chain, such as a whole arm) must pay for itself.

The best S sets ``lr_swap`` (ramp ``swap_gain`` on its gain). A whole-body mirror changes
none of these costs; it is only visible against a cue that is not a flip pair, a visible face
(:func:`benchmark.qa.orientation.facing_contradiction`): ``lr_swap_body``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.limbs import LimbModel, fit_limb_model, link_log_lengths
from benchmark.qa.orientation import (
    OrientationModel,
    cos_and_weight,
    facing_contradiction,
    fit_orientation,
    odd_one_out,
    oriented_pairs,
    pair_graph,
    pair_label,
    pair_present,
    pair_references,
)

#: Student-t degrees of freedom of the limb penalty, and the z at which a limb is neutral.
_NU, _Z0 = 4.0, 2.5
#: Fit/detect passes: each refits the statistics with the previous pass's swaps undone.
_PASSES = 4
#: Skeletons are scored in chunks to bound memory on large files.
_CHUNK = 1024


@dataclass
class SwapResult:
    severity: np.ndarray  # (N,) lr_swap: parts inconsistent with each other
    severity_body: np.ndarray  # (N,) lr_swap_body: the whole body mirrored against the face
    gain: np.ndarray  # (N,) evidence (nats) for the best partial swap
    map_pairs: list[tuple[int, ...]]  # the most likely swapped pairs, flagged or not
    partial: list[tuple[int, ...]]  # flagged pairs inconsistent with the rest (may be a half)
    fix_pairs: list[tuple[int, ...]]  # pairs (indices into oriented_pairs) to swap back
    detail: list[str]  # names of the pairs found inconsistent with the rest of the body


def _rho(z: np.ndarray) -> np.ndarray:
    return 0.5 * (_NU + 1) * np.log1p(z * z / _NU)


def _hypotheses(m: int) -> list[tuple[int, ...]]:
    return [s for r in range(m // 2 + 1) for s in combinations(range(m), r)]


def _chain_links(layout: KeypointLayout) -> np.ndarray:
    """(M, M) parent-child links between pairs (elbow-shoulder), not core-core ones."""
    root, _ = pair_graph(layout)
    parents = pair_references(layout)[0] & ~root[:, None]
    return parents | parents.T


def _mistakes(hyps: list[tuple[int, ...]], adj: np.ndarray) -> np.ndarray:
    """(H,) annotation slips a hypothesis implies: its groups of pairs connected by chains.

    Labelling one arm as the other swaps shoulder, elbow and wrist in one slip, so the prior
    is paid per slip, not per pair; shoulders and hips are separate clicks, separate slips.
    """
    out = np.zeros(len(hyps))
    for h, subset in enumerate(hyps):
        left = set(subset)
        while left:
            out[h] += 1
            stack = [left.pop()]
            while stack:
                p = stack.pop()
                for q in np.flatnonzero(adj[p]):
                    if q in left:
                        left.remove(q)
                        stack.append(q)
    return out


def _permutations(k: int, pairs: tuple[tuple[int, int], ...],
                  hyps: list[tuple[int, ...]]) -> np.ndarray:
    perm = np.tile(np.arange(k), (len(hyps), 1))
    for h, subset in enumerate(hyps):
        for p in subset:
            a, b = pairs[p]
            perm[h, a], perm[h, b] = b, a
    return perm


def _affected_links(perm: np.ndarray, links: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(H, L) links whose length a hypothesis changes (a swapped pair's own link does not)."""
    moved = perm != np.arange(perm.shape[1])
    a = np.array([i for i, _ in links], dtype=int)
    b = np.array([j for _, j in links], dtype=int)
    own = perm[:, a] == b
    return (moved[:, a] | moved[:, b]) & ~own


def _link_cost(z: np.ndarray, affected: np.ndarray) -> np.ndarray:
    """Sum over the affected links of rho(z+) - rho(z0): long limbs cost, others earn."""
    cost = _rho(np.clip(z, 0.0, None)) - _rho(np.float64(_Z0))
    return np.nansum(np.where(affected, cost, 0.0), axis=-1)


def _limb_gains(sk: Skeletons, model: LimbModel, perm: np.ndarray, rows: np.ndarray
                ) -> np.ndarray:
    """(n, H) limb cost of the annotation as is minus that of each hypothesis (-inf when the
    hypothesis leaves fewer labelled links).

    Both at the one person scale the model fitted on the swap-corrected skeleton: the scale
    of the annotation as is would be inflated by the very diagonals a swap creates, and a
    scale per hypothesis would let a hypothesis win by rescaling everything.
    """
    affected = _affected_links(perm, model.links)  # (H, L)
    xy = sk.xy[rows][:, perm]  # (n, H, K, 2)
    lab = sk.labelled[rows][:, perm]
    log_len = link_log_lengths(xy, lab, model.links)  # (n, H, L)
    log_scale = np.broadcast_to(model.log_scale[rows][:, None], log_len.shape[:2])
    as_is = np.broadcast_to(log_len[:, :1], log_len.shape)
    gain = (_link_cost(model.z(as_is, log_scale), affected)
            - _link_cost(model.z(log_len, log_scale), affected))
    # A hypothesis that only unlinks joints (a lone right shoulder moved to an empty left
    # side) removes limbs instead of explaining them: that is no evidence of a swap.
    n_links = np.isfinite(log_len).sum(-1)
    return np.where(n_links >= n_links[:, :1], gain, -np.inf)


def _fix_set(partial: tuple[int, ...], active: set[int], body: bool) -> tuple[int, ...]:
    """Pairs to swap back: the minority that disagrees, or everything a face says is mirrored.

    A partial swap is fixed only when it is a strict minority of the labelled pairs: with two
    equal halves the check knows that they disagree, not which half is wrong.
    """
    if body:
        return tuple(sorted(active - set(partial)))
    if partial and 2 * len(partial) < len(active):
        return partial
    return ()


def _keep_explaining(sk: Skeletons, model: LimbModel, fixes: list[tuple[int, ...]],
                     config: QAConfig) -> list[tuple[int, ...]]:
    """Drop fixes after which a limb still fires: the swap does not explain the anomaly.

    A joint clicked far off (a shift) can make its pair look swapped too; swapping it back
    would move a correct joint into the wrong slot. A real swap, undone, leaves ordinary limbs.
    """
    rows = [i for i, f in enumerate(fixes) if f]
    if not rows:
        return fixes
    fixed = apply_swaps(sk, fixes)
    z = model.z(link_log_lengths(fixed.xy[rows], fixed.labelled[rows], model.links),
                model.log_scale[rows])
    still = ramp(np.nan_to_num(z), config.limb_z_long).max(1) >= config.threshold
    out = list(fixes)
    for i, bad in zip(rows, still, strict=True):
        if bad:
            out[i] = ()
    return out


def detect_swaps(sk: Skeletons, model: LimbModel, orient: OrientationModel, config: QAConfig
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
    slips = _mistakes(hyps, _chain_links(lay))
    cos, weight, width = cos_and_weight(sk, model.scale, orient.ref_width, config)
    ref = pair_references(lay)
    present = pair_present(sk)
    active = sk.labelled[:, [p[0] for p in pairs]] | sk.labelled[:, [p[1] for p in pairs]]
    gain, best = np.zeros(n), np.zeros(n, int)
    rows_all = np.flatnonzero(np.isfinite(model.scale) & (sk.labelled.sum(1) >= 3))
    for start in range(0, len(rows_all), _CHUNK):
        rows = rows_all[start:start + _CHUNK]
        limb = _limb_gains(sk, model, perm, rows)  # (n, H)
        odd = (odd_one_out(cos[rows], weight[rows], present[rows], sign, ref)
               * orient.odd_cost).sum(-1)
        useless = (member[None] & ~active[rows][:, None, :]).any(-1)
        score = (limb + odd[:, :1] - odd - config.swap_prior * slips
                 - np.where(useless, np.inf, 0.0))
        best[rows] = np.argmax(score, axis=1)
        gain[rows] = score[np.arange(len(rows)), best[rows]]
    severity = np.where(best > 0, ramp(gain, config.swap_gain), 0.0)
    partial = [hyps[b] if sev >= config.threshold else ()
               for b, sev in zip(best, severity, strict=True)]
    undo = np.ones((n, m))
    for i, s in enumerate(partial):
        undo[i, list(s)] = -1.0
    body = ramp(facing_contradiction(sk, width, undo), config.facing)
    fixes = [_fix_set(s, set(np.flatnonzero(act)), bool(b >= config.threshold))
             for s, act, b in zip(partial, active, body, strict=True)]
    fixes = _keep_explaining(sk, model, fixes, config)
    detail = [";".join(pair_label(lay, pairs[p]) for p in s) for s in partial]
    map_pairs = [hyps[b] if g > 0 else () for b, g in zip(best, gain, strict=True)]
    return SwapResult(severity, body, gain, map_pairs, partial, fixes, detail)


def apply_swaps(sk: Skeletons, fix_pairs: list[tuple[int, ...]]) -> Skeletons:
    """A copy of ``sk`` with the given pairs of each skeleton swapped back."""
    pairs = oriented_pairs(sk.layout)
    kpts = sk.kpts.copy()
    for i, subset in enumerate(fix_pairs):
        for p in subset:
            a, b = pairs[p]
            kpts[i, [a, b]] = kpts[i, [b, a]]
    return replace(sk, kpts=kpts)


def fit_and_detect(sk: Skeletons, config: QAConfig) -> tuple[LimbModel, SwapResult]:
    """Statistics refitted on swap-corrected skeletons, then the final detection.

    Swapped annotations distort exactly the statistics that reveal them (diagonal limbs widen
    the limb spreads, odd pairs raise the odd-one-out frequency); refitting on the file with
    the previous pass's most likely swaps undone keeps the check sharp even when many
    skeletons are swapped.
    """
    fixed = sk
    for _ in range(_PASSES):
        model = fit_limb_model(fixed, config)
        orient = fit_orientation(fixed, model.scale, config)
        result = detect_swaps(sk, model, orient, config)
        fixed = apply_swaps(sk, result.map_pairs)
    return model, result
