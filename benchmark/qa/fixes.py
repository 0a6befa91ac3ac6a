"""Safe automatic fixes, each logged; everything else is only flagged.

A fix is *safe* when it cannot make a correct annotation worse under COCO semantics:

* ``zeroed_v0_coords``: v=0 joints get x=y=0 (pycocotools ignores them either way; the old
  coordinates stay in the log).
* ``unlabelled_at_origin``: v>0 at exactly (0, 0) becomes v=0 (a parked, unlabelled joint).
* ``zeroed_out_of_image``: labelled joints outside the image become (0, 0, 0).
* ``swapped_back``: a detected left/right swap is undone (only the strict-minority or
  face-confirmed ones; see :mod:`benchmark.qa.swaps`).
* ``num_keypoints``: recomputed, in the file's own convention, after the fixes above.
* ``dropped_exact_duplicate``: a byte-identical second copy of an annotation is removed.

Implausible limbs, joints outside the box, near duplicates and modality disagreements have
no safe automatic answer (which joint is wrong?), so they are only flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmark.qa.bounds import outside_image_mask
from benchmark.qa.config import QAConfig
from benchmark.qa.data import Skeletons
from benchmark.qa.orientation import oriented_pairs, pair_label
from benchmark.qa.swaps import SwapResult
from benchmark.qa.visibility import detect_convention, keypoint_count


@dataclass
class FixResult:
    corrected: dict
    log: list[dict] = field(default_factory=list)
    per_row: list[list[str]] = field(default_factory=list)


def _py(value: float) -> float | int:
    """JSON-friendly number: integral values as int (as annotation tools write them)."""
    value = float(value)
    return int(value) if value.is_integer() else value


def _record(fixes: FixResult, row: int, sk: Skeletons, name: str, detail: str,
            before: object, after: object) -> None:
    fixes.log.append({"ann_id": sk.ann_ids[row], "image_id": sk.image_ids[row], "fix": name,
                      "detail": detail, "before": before, "after": after})
    fixes.per_row[row].append(name)


def _joint_fix(kp: np.ndarray, mask: np.ndarray, new: tuple[float, float, float] | None,
               names: tuple[str, ...]) -> tuple[str, list, list]:
    """Apply a per-joint fix in place; returns (joint names, before, after)."""
    before = [[_py(x) for x in kp[j]] for j in np.flatnonzero(mask)]
    if new is None:
        kp[mask, 0:2] = 0.0
    else:
        kp[mask] = new
    after = [[_py(x) for x in kp[j]] for j in np.flatnonzero(mask)]
    return ",".join(names[j] for j in np.flatnonzero(mask)), before, after


def _fix_row(i: int, sk: Skeletons, flags: list[str], swaps: SwapResult, config: QAConfig,
             out_img: np.ndarray, fixes: FixResult) -> np.ndarray:
    names = sk.layout.keypoints
    kp = sk.kpts[i].copy()
    v, xy = kp[:, 2], kp[:, :2]
    if config.fix_visibility and not sk.iscrowd[i]:
        origin = (v > 0) & (xy[:, 0] == 0) & (xy[:, 1] == 0)
        if origin.any():
            _record(fixes, i, sk, "unlabelled_at_origin", *_joint_fix(kp, origin, (0, 0, 0),
                                                                       names))
        v0 = (kp[:, 2] == 0) & ((kp[:, 0] != 0) | (kp[:, 1] != 0)) & np.isfinite(kp[:, :2]).all(1)
        if v0.any():
            _record(fixes, i, sk, "zeroed_v0_coords", *_joint_fix(kp, v0, None, names))
    if config.fix_out_of_image and "outside_image" in flags and out_img[i].any():
        _record(fixes, i, sk, "zeroed_out_of_image", *_joint_fix(kp, out_img[i], (0, 0, 0),
                                                                   names))
    pairs = oriented_pairs(sk.layout)
    if config.fix_swaps and swaps.fix_pairs[i]:
        before = kp.copy()
        for p in swaps.fix_pairs[i]:
            a, b = pairs[p]
            kp[[a, b]] = kp[[b, a]]
        label = ",".join(pair_label(sk.layout, pairs[p]) for p in swaps.fix_pairs[i])
        changed = np.flatnonzero((before != kp).any(1))
        _record(fixes, i, sk, "swapped_back", label,
                [[_py(x) for x in before[j]] for j in changed],
                [[_py(x) for x in kp[j]] for j in changed])
    return kp


def apply_fixes(coco: dict, sk: Skeletons, flags: list[list[str]], swaps: SwapResult,
                exact_duplicate: np.ndarray, config: QAConfig) -> FixResult:
    """The corrected copy of ``coco`` and the log of every change made to it."""
    # Only annotations change: copy those, share the rest (MVOR carries megabytes of 3D data).
    corrected = dict(coco)
    corrected["annotations"] = [{**a, "keypoints": list(a["keypoints"])}
                                for a in coco["annotations"]]
    fixes = FixResult(corrected, [], [[] for _ in range(len(sk))])
    out_img = outside_image_mask(sk, config.image_margin_px)
    convention = detect_convention(sk)
    keep = []
    for i, ann in enumerate(corrected["annotations"]):
        kp = _fix_row(i, sk, flags[i], swaps, config, out_img, fixes)
        changed = np.flatnonzero((kp != sk.kpts[i]).any(1))
        for j in changed:
            ann["keypoints"][3 * j:3 * j + 3] = [_py(x) for x in kp[j]]
        has_count = "num_keypoints" in ann and np.isfinite(sk.num_keypoints[i])
        if config.fix_num_keypoints and has_count:
            count = int(keypoint_count(sk, kp[None], convention)[0])
            if count != ann["num_keypoints"]:
                _record(fixes, i, sk, "num_keypoints", convention, ann["num_keypoints"], count)
                ann["num_keypoints"] = count
        if config.drop_exact_duplicates and exact_duplicate[i] and "duplicate" in flags[i]:
            _record(fixes, i, sk, "dropped_exact_duplicate", "", None, None)
            continue
        keep.append(ann)
    corrected["annotations"] = keep
    return fixes
