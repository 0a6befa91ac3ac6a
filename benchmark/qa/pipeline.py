"""``run_qa``: every check on one annotation file, combined into one score per skeleton.

The score of a skeleton is prod_f (1 - weight_f * severity_f) over all flags f: a clean
skeleton scores 1, each issue multiplies in its own penalty, and one severe issue cannot be
averaged away by many clean checks (an average would). Flags are listed where severity
reaches ``config.threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from benchmark.datasets.layouts import KeypointLayout
from benchmark.qa.bounds import check_bounds, outside_image_mask
from benchmark.qa.config import QAConfig
from benchmark.qa.data import Skeletons, parse_coco
from benchmark.qa.duplicates import check_duplicates
from benchmark.qa.fixes import apply_fixes
from benchmark.qa.limb_check import check_limbs
from benchmark.qa.limbs import LimbModel
from benchmark.qa.modality import check_modality
from benchmark.qa.pose_model import check_pose
from benchmark.qa.result import CheckOutput
from benchmark.qa.swaps import SwapResult, apply_swaps, fit_and_detect
from benchmark.qa.visibility import check_visibility

#: Every flag the metric can raise, in the order used by tables and reports.
FLAGS: tuple[str, ...] = (
    "lr_swap", "lr_swap_body", "limb_length", "pose_outlier", "outside_image", "outside_box",
    "duplicate", "vis_v0_with_coords", "vis_labelled_at_origin", "vis_invalid", "coords_invalid",
    "num_keypoints_mismatch", "modality_disagreement", "modality_unmatched",
)


@dataclass
class QAReport:
    """Result of :func:`run_qa`: the per-skeleton table, the corrected file and the fix log."""

    table: pd.DataFrame
    corrected: dict
    fixes: list[dict]
    source: str
    layout: KeypointLayout
    config: QAConfig
    limb_stats: pd.DataFrame
    summary: dict = field(default_factory=dict)
    skeletons: Skeletons | None = None


def geometry_view(sk: Skeletons, config: QAConfig) -> Skeletons:
    """``sk`` with out-of-image joints unlabelled, for the statistical checks.

    Such joints are errors already (flagged and zeroed by the bounds check); letting them
    into limb statistics or swap hypotheses would only make correct neighbours look wrong.
    """
    out = outside_image_mask(sk, config.image_margin_px)
    if not out.any():
        return sk
    kpts = sk.kpts.copy()
    kpts[out, 2] = 0.0
    return replace(sk, kpts=kpts)


def _swap_output(swaps: SwapResult) -> CheckOutput:
    return CheckOutput(
        severity={"lr_swap": swaps.severity, "lr_swap_body": swaps.severity_body},
        columns={"swap_pairs": swaps.detail, "swap_gain": swaps.gain},
    )


def _limb_table(model: LimbModel) -> pd.DataFrame:
    return pd.DataFrame({
        "link": model.names,
        "median_length": np.exp(model.mu),
        "sigma_below_log": model.sigma_lo,
        "sigma_above_rel": model.sigma_hi,
        "source": np.where(model.from_file, "file", "prior"),
    })


def _score(severity: dict[str, np.ndarray], config: QAConfig, n: int) -> np.ndarray:
    score = np.ones(n)
    for flag, sev in severity.items():
        score *= 1.0 - config.weights.get(flag, 0.5) * np.clip(sev, 0.0, 1.0)
    return score


def _summary(table: pd.DataFrame, sk: Skeletons, fixes: list[dict]) -> dict:
    flags = table["flags"].str.split(";").explode()
    fix_names = [f["fix"] for f in fixes]
    return {
        "annotations": len(sk),
        "skeletons": int(sk.labelled.any(1).sum()),
        "flagged": int((table["flags"] != "").sum()),
        "flag_counts": {f: int((flags == f).sum()) for f in FLAGS},
        "fix_counts": {f: fix_names.count(f) for f in sorted(set(fix_names))},
        "mean_score": float(table["score"].mean()) if len(table) else 1.0,
    }


def run_qa(coco: dict, layout: KeypointLayout, *, config: QAConfig = QAConfig(),  # noqa: B008
           paired: dict | None = None, source: str = "<memory>",
           paired_source: str = "<paired>") -> QAReport:
    """Check every annotation of ``coco`` against ``layout``; see ``docs/qa.md``.

    ``paired`` is the annotation file of an aligned modality of the same images; it adds the
    cross-modality checks. Raises :class:`benchmark.qa.data.QAInputError` on bad input.
    """
    sk = parse_coco(coco, layout, source)
    geo = geometry_view(sk, config)
    model, swaps = fit_and_detect(geo, config)
    # Limbs are judged with the fixable swaps undone (their diagonal limbs are the swap, not a
    # second anomaly; a swap after which a limb still fires is not fixed, so it stays); the
    # pose model with every likely swap undone, since it must not learn or flag mirrors.
    outputs = [check_visibility(sk), check_bounds(sk, config),
               check_limbs(geo, model, config),
               check_pose(apply_swaps(geo, swaps.map_pairs), model.scale, config),
               _swap_output(swaps), check_duplicates(sk, config)]
    if paired is not None:
        other = parse_coco(paired, layout, paired_source)
        outputs.append(check_modality(sk, other, config))
    severity: dict[str, np.ndarray] = {}
    columns: dict[str, list | np.ndarray] = {}
    for out in outputs:
        severity.update(out.severity)
        columns.update(out.columns)
    n = len(sk)
    flags = [[f for f in FLAGS if f in severity and severity[f][i] >= config.threshold]
             for i in range(n)]
    fixed = apply_fixes(coco, sk, flags, swaps, np.asarray(columns["exact_duplicate"]), config)
    table = pd.DataFrame({
        "ann_id": sk.ann_ids,
        "image_id": sk.image_ids,
        "score": _score(severity, config, n),
        "flags": [";".join(f) for f in flags],
        "fixed": [";".join(f) for f in fixed.per_row],
        **{f"sev_{f}": severity[f] for f in FLAGS if f in severity},
        **columns,
    })
    report = QAReport(table, fixed.corrected, fixed.log, source, layout, config,
                      _limb_table(model), skeletons=sk)
    report.summary = _summary(table, sk, fixed.log)
    return report
