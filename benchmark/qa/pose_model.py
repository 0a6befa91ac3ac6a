"""Pose-outlier check: a joint far from where the rest of its skeleton predicts it.

Limb lengths alone cannot see a wrist moved *along* a plausible circle around its elbow. A
joint's position given all the other joints can: the check fits a shape model to the file's
complete skeletons (centred, divided by the person scale, rotated onto the mean shape:
generalised Procrustes without reflection, since a reflection is a left/right swap). The
model is a few Gaussians, one per pose mode found by k-means (people stand, sit, lie), each
refitted three times without its 10 % least typical shapes so that errors do not shape it.
For every labelled joint the check computes the Mahalanobis distance of the joint from its
conditional Gaussian given the other labelled joints, under the mode that explains the
skeleton best; translation is marginalised (a large variance along rigid shifts), so which
joints are missing does not matter.

The model needs many skeletons (``pose_min_samples`` complete ones); on smaller files the check
is inactive and its severity is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.qa.config import QAConfig, ramp
from benchmark.qa.data import Skeletons
from benchmark.qa.result import CheckOutput

#: Variance added along rigid translations (normalised units): effectively unknown offset.
_TRANSLATION_VAR = 100.0
#: Ridge on the shape covariance (normalised units squared).
_RIDGE = 1e-3
#: A joint counts as part of the layout's *annotated* joints when this share of skeletons has it.
_MIN_JOINT_SHARE = 0.5


@dataclass
class Gaussian:
    mean: np.ndarray  # (2J,) mean of aligned shapes
    cov: np.ndarray  # (2J, 2J) covariance, translation-marginalised


@dataclass
class PoseModel:
    joints: np.ndarray  # (J,) layout indices the model covers
    mean_shape: np.ndarray  # (J, 2) Procrustes mean
    modes: list[Gaussian]  # one Gaussian per pose mode (standing, sitting, ...)


def _align(xy: np.ndarray, lab: np.ndarray, scale: np.ndarray,
           mean_shape: np.ndarray | None) -> np.ndarray:
    """(N, J, 2) centred, scaled and (if a mean is given) rotated shapes; NaN if unlabelled."""
    w = lab[..., None].astype(float)
    cnt = np.maximum(w.sum(1), 1.0)
    centre = (np.nan_to_num(xy) * w).sum(1) / cnt
    shape = (xy - centre[:, None]) / scale[:, None, None]
    shape = np.where(lab[..., None], shape, 0.0)
    if mean_shape is not None:
        ref = mean_shape[None] - (mean_shape[None] * w).sum(1, keepdims=True) / cnt[:, None]
        ref = np.where(lab[..., None], ref, 0.0)
        h = np.einsum("nja,njb->nab", shape, ref)
        u, _, vt = np.linalg.svd(h)
        det = np.linalg.det(u @ vt)
        u[:, :, -1] *= np.where(det < 0, -1.0, 1.0)[:, None]
        shape = np.einsum("nja,nab->njb", shape, u @ vt)
    return np.where(lab[..., None], shape, np.nan)


def _kmeans(flat: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Cluster labels of a deterministic k-means (k-means++ start, 25 Lloyd steps)."""
    rng = np.random.default_rng(seed)
    centres = [flat[rng.integers(len(flat))]]
    for _ in range(1, k):
        d2 = ((flat[:, None] - np.array(centres)[None]) ** 2).sum(-1).min(1)
        centres.append(flat[rng.choice(len(flat), p=d2 / d2.sum())])
    c = np.array(centres)
    for _ in range(25):
        labels = ((flat[:, None] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.array([flat[labels == j].mean(0) if (labels == j).any() else c[j]
                      for j in range(k)])
    return labels


def _trimmed_gaussian(flat: np.ndarray, n_joints: int) -> Gaussian:
    """Mean and covariance refitted three times without the 10 % least typical shapes."""
    keep = np.ones(len(flat), bool)
    for _ in range(3):
        mean = flat[keep].mean(0)
        cov = np.cov(flat[keep].T) + _RIDGE * np.eye(flat.shape[1])
        dev = flat - mean
        d2 = np.einsum("ni,ij,nj->n", dev, np.linalg.inv(cov), dev)
        keep = d2 <= np.quantile(d2, 0.9)
    shift = np.tile(np.eye(2), (n_joints, 1))
    return Gaussian(mean, cov + _TRANSLATION_VAR * shift @ shift.T)


def fit_pose_model(sk: Skeletons, scale: np.ndarray, config: QAConfig) -> PoseModel | None:
    """The shape model of the file's complete skeletons; None when there are too few.

    Poses are multimodal (people stand, sit, lie on an operating table); one Gaussian per
    ``pose_min_samples`` complete skeletons (at most ``pose_max_modes``), found by k-means on
    the aligned shapes, keeps a rare but ordinary pose from looking like an error.
    """
    ok = np.isfinite(scale) & ~sk.iscrowd
    lab = sk.labelled
    share = lab[ok].mean(0) if ok.any() else np.zeros(lab.shape[1])
    joints = np.flatnonzero(share >= _MIN_JOINT_SHARE)
    if joints.size < 4:
        return None
    full = ok & lab[:, joints].all(1)
    if full.sum() < config.pose_min_samples:
        return None
    xy, flab, s = sk.xy[full][:, joints], lab[full][:, joints], scale[full]
    mean_shape = np.nanmean(_align(xy, flab, s, None), 0)
    for _ in range(3):
        mean_shape = np.nanmean(_align(xy, flab, s, mean_shape), 0)
    flat = _align(xy, flab, s, mean_shape).reshape(len(xy), -1)
    k = int(np.clip(len(flat) // config.pose_min_samples, 1, config.pose_max_modes))
    labels = _kmeans(flat, k) if k > 1 else np.zeros(len(flat), int)
    modes = [_trimmed_gaussian(flat[labels == j], joints.size) for j in range(k)
             if (labels == j).sum() >= max(config.pose_min_samples // 2, 2 * flat.shape[1])]
    if not modes:
        modes = [_trimmed_gaussian(flat, joints.size)]
    return PoseModel(joints, mean_shape, modes)


def _conditional_d2(model: Gaussian, flat: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """(n, J) squared Mahalanobis distance of each labelled joint given the others."""
    n, nj = flat.shape[0], pattern.size
    out = np.full((n, nj), np.nan)
    for j in np.flatnonzero(pattern):
        t = np.array([2 * j, 2 * j + 1])
        rest = np.array([c for k in np.flatnonzero(pattern) if k != j for c in (2 * k, 2 * k + 1)])
        s_rr = model.cov[np.ix_(rest, rest)]
        s_tr = model.cov[np.ix_(t, rest)]
        gain = np.linalg.solve(s_rr, s_tr.T).T
        cond = model.cov[np.ix_(t, t)] - gain @ s_tr.T
        pred = model.mean[t] + (flat[:, rest] - model.mean[rest]) @ gain.T
        dev = flat[:, t] - pred
        out[:, j] = np.einsum("ni,ij,nj->n", dev, np.linalg.inv(cond), dev)
    return out


def pose_distances(sk: Skeletons, scale: np.ndarray, model: PoseModel) -> np.ndarray:
    """(N, K) conditional Mahalanobis distance per labelled joint; NaN where not scored.

    Under the pose mode that explains the skeleton best (smallest worst-joint distance): a
    skeleton must be ordinary under one mode as a whole.
    """
    lab = sk.labelled[:, model.joints]
    ok = np.isfinite(scale) & ~sk.iscrowd & (lab.sum(1) >= 4)
    out = np.full(sk.labelled.shape, np.nan)
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return out
    shapes = _align(sk.xy[rows][:, model.joints], lab[rows], scale[rows], model.mean_shape)
    flat = np.nan_to_num(shapes.reshape(len(rows), -1))
    keys = np.packbits(lab[rows], axis=1)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        pattern = lab[rows[members[0]]]
        per_mode = np.stack([np.sqrt(np.maximum(_conditional_d2(mode, flat[members], pattern),
                                                0.0)) for mode in model.modes])  # (C, n, J)
        best = np.nanmax(np.where(np.isfinite(per_mode), per_mode, -1.0), axis=2).argmin(0)
        out[np.ix_(rows[members], model.joints)] = per_mode[best, np.arange(len(members))]
    return out


def check_pose(sk: Skeletons, scale: np.ndarray, config: QAConfig) -> CheckOutput:
    n = len(sk)
    model = fit_pose_model(sk, scale, config)
    if model is None:
        return CheckOutput(severity={"pose_outlier": np.zeros(n)},
                           columns={"pose_worst": [""] * n, "pose_distance": np.full(n, np.nan)})
    dist = pose_distances(sk, scale, model)
    has = np.isfinite(dist).any(1)
    worst = np.nanargmax(np.where(np.isfinite(dist), dist, -1.0), axis=1)
    top = np.where(has, dist[np.arange(n), worst], np.nan)
    names = sk.layout.keypoints
    return CheckOutput(
        severity={"pose_outlier": ramp(np.nan_to_num(top, nan=0.0), config.pose_distance)},
        columns={"pose_worst": [names[w] if h else "" for w, h in zip(worst, has, strict=True)],
                 "pose_distance": top},
    )
