"""Seeded corruption of real annotations, to measure what the QA metric catches.

Each corruption models an annotation error that the checks claim to find, and picks only
skeletons on which that error is *visible* in 2D geometry (documented per kind below); the
measurement then asks which corrupted skeletons got the matching flags and which clean ones
got them anyway.

* ``swap``: ``pair`` swaps one flip pair, ``limb`` a pair and every pair distal to it (an
  elbow and wrist, a whole arm), ``body`` every pair. Pairs must be at least ``swap_min_sep``
  skeleton sizes apart (a swap of two nearly coincident joints changes nothing visible);
  ``body`` is only used where a face (nose and both eyes visible) gives the facing away, since
  a consistently mirrored body without a face *is* a person seen from behind.
* ``shift``: one labelled joint moved by U(shift_range) skeleton sizes in a random direction.
* ``drop``: one labelled joint either set to v=0 with its coordinates kept (``v0``), or removed
  (x=y=v=0) without updating ``num_keypoints`` (``removed``).
* ``duplicate``: an annotation copied under a new id, either ``exact`` or ``near`` (each joint
  jittered by N(0, duplicate_jitter) skeleton sizes, as a second annotator would).

The *skeleton size* is the diagonal of the labelled keypoints' extent: it needs no box and
no QA statistics, so the corruption does not depend on the detector being measured.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.orientation import oriented_pairs

KINDS = ("swap", "shift", "drop", "duplicate")

#: Flags that count as catching each kind of corruption.
DETECTED_BY: dict[str, frozenset[str]] = {
    "swap": frozenset({"lr_swap", "lr_swap_body"}),
    "shift": frozenset({"limb_length", "outside_box", "outside_image", "pose_outlier"}),
    "drop": frozenset({"vis_v0_with_coords", "num_keypoints_mismatch"}),
    "duplicate": frozenset({"duplicate"}),
}


@dataclass(frozen=True)
class InjectionConfig:
    rate: float = 0.1
    min_joints: int = 4
    swap_min_sep: float = 0.3
    shift_range: tuple[float, float] = (0.5, 1.0)
    duplicate_jitter: float = 0.01


@dataclass(frozen=True)
class Injection:
    ann_id: object
    kind: str
    variant: str
    detail: str


def canonicalise(coco: dict, layout: KeypointLayout) -> dict:
    """A copy whose ``num_keypoints`` are the count of v > 0 joints (added where missing).

    Files disagree on the convention (CrowdPose leaves out head and neck, MVOR has none);
    the measurement needs one, so that a stale count is the injected error and nothing else.
    """
    out = {**coco, "annotations": [dict(a) for a in coco["annotations"]]}
    for ann in out["annotations"]:
        v = np.asarray(ann["keypoints"], float).reshape(layout.num_keypoints, 3)[:, 2]
        ann["num_keypoints"] = int((v > 0).sum())
    return out


def _kpts(ann: dict, k: int) -> np.ndarray:
    return np.asarray(ann["keypoints"], float).reshape(k, 3)


def _labelled(kp: np.ndarray) -> np.ndarray:
    return (kp[:, 2] > 0) & ~((kp[:, 0] == 0) & (kp[:, 1] == 0))


def _size(kp: np.ndarray) -> float:
    xy = kp[_labelled(kp), :2]
    return float(np.linalg.norm(xy.max(0) - xy.min(0)))


def _distal(layout: KeypointLayout, pairs: tuple[tuple[int, int], ...], p: int) -> list[int]:
    """Pair p and the pairs further from the torso along the skeleton (elbow -> wrist)."""
    left = {a: q for q, (a, _) in enumerate(pairs)}
    links = [(a, b) for a, b in layout.skeleton_indices if a in left and b in left]
    depth = _torso_depth(layout, pairs)
    chain, frontier = {p}, [pairs[p][0]]
    while frontier:
        j = frontier.pop()
        for a, b in links:
            for x, y in ((a, b), (b, a)):
                if x == j and depth[left[y]] > depth[left[x]] and left[y] not in chain:
                    chain.add(left[y])
                    frontier.append(y)
    return sorted(chain)


def _torso_depth(layout: KeypointLayout, pairs: tuple[tuple[int, int], ...]) -> list[int]:
    torso = ("shoulder", "hip")
    return [0 if any(t in layout.keypoints[a] for t in torso) else
            1 if any(t in layout.keypoints[a] for t in ("elbow", "knee", "eye")) else 2
            for a, _ in pairs]


def _face_visible(kp: np.ndarray, layout: KeypointLayout) -> bool:
    names = ("nose", "left_eye", "right_eye")
    if not all(n in layout.index for n in names):
        return False
    return bool((kp[[layout.index[n] for n in names], 2] == 2).all())


def _swap(ann: dict, kp: np.ndarray, layout: KeypointLayout, rng: np.random.Generator,
          cfg: InjectionConfig) -> Injection | None:
    pairs = oriented_pairs(layout)
    lab, size = _labelled(kp), _size(kp)
    far = [q for q, (a, b) in enumerate(pairs) if lab[a] and lab[b]
           and np.linalg.norm(kp[a, :2] - kp[b, :2]) >= cfg.swap_min_sep * size]
    if not far:
        return None
    variant = str(rng.choice(["pair", "limb", "body"], p=[0.5, 0.25, 0.25]))
    if variant == "body" and not _face_visible(kp, layout):
        variant = "pair"
    p = int(rng.choice(far))
    chosen = {"pair": [p], "limb": _distal(layout, pairs, p), "body": range(len(pairs))}[variant]
    if variant != "body" and not set(far) - set(chosen):
        return None  # nothing left to disagree with: a mirrored body, not a swap
    for q in chosen:
        a, b = pairs[q]
        kp[[a, b]] = kp[[b, a]]
    ann["keypoints"] = kp.reshape(-1).tolist()
    names = ",".join(layout.keypoints[pairs[q][0]].removeprefix("left_") for q in chosen)
    return Injection(ann["id"], "swap", variant, names)


def _shift(ann: dict, kp: np.ndarray, layout: KeypointLayout, rng: np.random.Generator,
           cfg: InjectionConfig) -> Injection:
    j = int(rng.choice(np.flatnonzero(_labelled(kp))))
    dist = rng.uniform(*cfg.shift_range) * _size(kp)
    theta = rng.uniform(0.0, 2.0 * np.pi)
    kp[j, :2] += dist * np.array([np.cos(theta), np.sin(theta)])
    ann["keypoints"] = kp.reshape(-1).tolist()
    return Injection(ann["id"], "shift", "joint", f"{layout.keypoints[j]} by {dist:.1f}px")


def _drop(ann: dict, kp: np.ndarray, layout: KeypointLayout, rng: np.random.Generator,
          cfg: InjectionConfig) -> Injection:
    j = int(rng.choice(np.flatnonzero(_labelled(kp))))
    variant = str(rng.choice(["v0", "removed"]))
    kp[j] = [kp[j, 0], kp[j, 1], 0.0] if variant == "v0" else [0.0, 0.0, 0.0]
    ann["keypoints"] = kp.reshape(-1).tolist()
    return Injection(ann["id"], "drop", variant, layout.keypoints[j])


def _duplicate(ann: dict, kp: np.ndarray, layout: KeypointLayout, rng: np.random.Generator,
               cfg: InjectionConfig, new_id: object) -> tuple[dict, Injection]:
    twin = copy.deepcopy(ann)
    twin["id"] = new_id
    variant = str(rng.choice(["exact", "near"]))
    if variant == "near":
        lab = _labelled(kp)
        kp = kp.copy()
        kp[lab, :2] += rng.normal(0.0, cfg.duplicate_jitter * _size(kp), (int(lab.sum()), 2))
        twin["keypoints"] = kp.reshape(-1).tolist()
    return twin, Injection(new_id, "duplicate", variant, f"copy of {ann['id']}")


def inject(coco: dict, layout: KeypointLayout, kind: str, *, seed: int = 0,
           config: InjectionConfig | None = None) -> tuple[dict, list[Injection]]:
    """Corrupt ``config.rate`` of the eligible skeletons of a copy of ``coco`` with ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown corruption {kind!r}; known: {KINDS}")
    config = config or InjectionConfig()
    rng = np.random.default_rng(seed)
    out = {**coco, "annotations": [{**a, "keypoints": list(a["keypoints"])}
                                   for a in coco["annotations"]]}
    anns = out["annotations"]
    k = layout.num_keypoints
    eligible = [i for i, a in enumerate(anns) if not a.get("iscrowd")
                and _labelled(_kpts(a, k)).sum() >= config.min_joints]
    n_target = max(1, round(config.rate * len(eligible))) if eligible else 0
    done: list[Injection] = []
    next_id = _next_id(anns)
    for i in rng.permutation(eligible):
        if len(done) >= n_target:
            break
        ann, kp = anns[i], _kpts(anns[i], k)
        if kind == "swap":
            inj = _swap(ann, kp, layout, rng, config)
        elif kind == "shift":
            inj = _shift(ann, kp, layout, rng, config)
        elif kind == "drop":
            inj = _drop(ann, kp, layout, rng, config)
        else:
            twin, inj = _duplicate(ann, kp, layout, rng, config, next_id)
            anns.append(twin)
            next_id += 1
        if inj is not None:
            done.append(inj)
    return out, done


def _next_id(anns: list[dict]) -> int:
    ints = [a["id"] for a in anns if isinstance(a["id"], int)]
    return (max(ints) + 1) if ints else 1
