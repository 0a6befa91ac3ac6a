"""Keypoint layouts of predictions: which a protocol accepts, which one a file holds, and
converting results lists and ground truth between layouts.

Every protocol declares once (an :class:`AcceptedLayouts` next to its code) the layouts it
scores: ``mvor-pck`` MVOR's own 10 joints or COCO-17 (the reference script's mapping), the
others the layout of their ground truth. A results list is one layout; which one is read from
the number of keypoint values (the layouts a protocol accepts differ in it), unless the caller
names it. A file that mixes lengths, or has a length no accepted layout has, is refused with
the first bad record and the accepted layouts, instead of being scored as something else.

Cross-dataset cells (e.g. a COCO-trained model on LLVIP-Pose) go through
:func:`convert_predictions` / :func:`convert_ground_truth`, which follow the correspondences
of :mod:`benchmark.datasets.layouts` (joints shared by name); no index list is written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from benchmark.datasets.layouts import (
    LAYOUTS,
    KeypointLayout,
    correspondence,
    describe_name_differences,
    get_layout,
    joint_name_differences,
    layout_of_names,
)
from benchmark.evaluation.errors import EvaluationInputError
from benchmark.evaluation.inputs import (
    GroundTruth,
    Predictions,
    bad_row,
    load_predictions,
    pack_rows,
    read_predictions,
)


class PredictionLayout(NamedTuple):
    """The layout a prediction file is scored in: a layout name (or a description of the
    ground truth's keypoints when no layout has its names) and its keypoint count."""

    name: str
    num_keypoints: int


@dataclass(frozen=True)
class AcceptedLayouts:
    """The prediction layouts one protocol scores.

    ``layouts`` lists them (their keypoint counts must differ, so that a file's layout can be
    read from its lengths); empty means "the ground truth's own layout", as for the OKS
    protocols, which compare joint i of a prediction with joint i of the ground truth whatever
    the layout.
    """

    protocol: str
    layouts: tuple[KeypointLayout, ...] = ()

    def __post_init__(self) -> None:
        counts = [lay.num_keypoints for lay in self.layouts]
        if len(set(counts)) != len(counts):
            raise ValueError(f"{self.protocol}: accepted layouts must differ in keypoint count")

    def candidates(self, gt: GroundTruth) -> tuple[PredictionLayout, ...]:
        if self.layouts:
            return tuple(PredictionLayout(lay.name, lay.num_keypoints) for lay in self.layouts)
        layout = layout_of_names(gt.keypoint_names)
        k = gt.num_keypoints()
        name = layout.name if layout is not None else f"the ground truth's {k} keypoints"
        return (PredictionLayout(name, k),)

    def load(self, preds: str | Path | list, gt: GroundTruth, pred_layout: str | None,
             category_ids: set[Any] | None = None, *, arrays: bool = False,
             boxes: bool = False) -> tuple[Predictions, PredictionLayout]:
        """Read ``preds`` (a path or a list), decide its layout and validate it
        (:func:`~benchmark.evaluation.inputs.load_predictions`, whose other arguments these are).

        The layout is ``pred_layout`` when given (it must be accepted), else the accepted
        layout with the keypoint count of the first record that has one. Only the first record
        is looked at on the way in: the validation checks every length anyway, and when it
        fails the lengths are read again so that a length problem is reported as one (mixed or
        unknown layouts, the first bad record, the accepted layouts).
        """
        data, source = read_predictions(preds)
        options = self.candidates(gt)
        if pred_layout is not None:
            chosen = self._named(pred_layout, options, source)
        else:
            first = next((n for n in map(_length, data) if n is not None), None)
            found = next((o for o in options if 3 * o.num_keypoints == first), None)
            if found is None and first is not None:  # no accepted layout has that length
                self._check_lengths(data, source, options, None, named=False)
            chosen = found or options[0]  # without keypoint lists the validation says why
        try:
            loaded = load_predictions(data, gt, chosen.num_keypoints, category_ids,
                                      arrays=arrays, boxes=boxes, source=source)
        except EvaluationInputError:
            self._check_lengths(data, source, options, chosen, named=pred_layout is not None)
            raise
        return loaded, chosen

    def _named(self, name: str, options: Sequence[PredictionLayout], source: str
               ) -> PredictionLayout:
        layout = get_layout_or_error(name)
        for option in options:
            if option.name == name or (not self.layouts and option.name not in LAYOUTS
                                       and option.num_keypoints == layout.num_keypoints):
                return PredictionLayout(name, layout.num_keypoints)
        hint = ("" if self.layouts else "; to score another layout on the joints it shares "
                "with the ground truth's, convert both with benchmark.evaluation.layout_map "
                "(convert_predictions, convert_ground_truth)")
        raise EvaluationInputError(
            f"{source}: {self.protocol} scores predictions in {_names(options)}, "
            f"not {name}{hint}")

    def _check_lengths(self, data: list, source: str, options: Sequence[PredictionLayout],
                       chosen: PredictionLayout | None, *, named: bool) -> None:
        """Raise the layout error for the first record whose keypoint count is not
        ``chosen``'s (any accepted one's, when ``chosen`` is None), if there is one."""
        lengths = [_length(r) for r in data]
        allowed = ({3 * o.num_keypoints for o in options} if chosen is None
                   else {3 * chosen.num_keypoints})
        bad = [i for i, n in enumerate(lengths) if n is not None and n not in allowed]
        if not bad:
            return
        i = bad[0]
        accepted = _accepted_text(options)
        if chosen is None:
            expected = f"expected {accepted}"
        else:
            why = "given as pred_layout" if named else "the layout of the file's first record"
            expected = (f"expected {3 * chosen.num_keypoints} ({chosen.name}, {why}); "
                        f"{self.protocol} accepts {accepted}, one layout per file")
        count = f" ({len(bad)} of {len(lengths)} predictions)" if len(bad) > 1 else ""
        raise EvaluationInputError(f"{source}: prediction at index {i} has {lengths[i]} "
                                   f"keypoint values, {expected}{count}")


def _accepted_text(options: Sequence[PredictionLayout]) -> str:
    """``30 values (mvor10) or 51 (coco17)``."""
    parts = [f"{3 * o.num_keypoints} ({o.name})" for o in options]
    parts[0] = parts[0].replace(" (", " values (", 1)
    return " or ".join(parts)


def _names(options: Sequence[PredictionLayout]) -> str:
    return " or ".join(o.name for o in options)


def get_layout_or_error(name: str) -> KeypointLayout:
    """:func:`~benchmark.datasets.layouts.get_layout`, as the ``ValueError`` the API raises for
    a bad argument."""
    try:
        return get_layout(name)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None


def _length(record: Any) -> int | None:
    """The number of keypoint values of one record, ``None`` when it has no keypoint list (a
    problem :func:`~inputs.load_predictions` describes)."""
    if isinstance(record, dict):
        kps = record.get("keypoints")
        if isinstance(kps, (list, tuple)):
            return len(kps)
    return None


# ------------------------------------------------------------------ conversion


def convert_keypoints(keypoints: np.ndarray, source: KeypointLayout, target: KeypointLayout
                      ) -> np.ndarray:
    """``(N, source K, 3)`` -> ``(N, target K, 3)`` by :func:`correspondence`; target joints
    that ``source`` lacks are ``(0, 0, 0)``."""
    index = np.asarray(correspondence(source, target), dtype=np.int64)
    out = np.zeros((len(keypoints), target.num_keypoints, 3))
    if len(keypoints):
        out[:, index >= 0] = keypoints[:, index[index >= 0]]
    return out


def _as_layout(layout: KeypointLayout | str) -> KeypointLayout:
    return layout if isinstance(layout, KeypointLayout) else get_layout_or_error(layout)


def convert_predictions(preds: list[dict], source: KeypointLayout | str,
                        target: KeypointLayout | str) -> list[dict]:
    """A COCO results list in layout ``source`` -> the same predictions in ``target``.

    Shared joints (:func:`~benchmark.datasets.layouts.correspondence`) are copied, the other
    target joints written ``(0, 0, 0)``: absent for the PCK protocols and ``posetrack-map``,
    while OKS (``coco``, ``crowdpose``) would score them against every labelled GT joint, so
    there the ground truth goes to the shared joints too (:func:`convert_ground_truth` to a
    :func:`~benchmark.datasets.layouts.shared_layout`). New dicts; the other keys are kept.
    """
    src, dst = _as_layout(source), _as_layout(target)
    k = src.num_keypoints
    rows = [p.get("keypoints") if isinstance(p, dict) else None for p in preds]
    try:
        flat = pack_rows(rows, 3 * k)
    except ValueError:
        raise EvaluationInputError(f"prediction at index {max(bad_row(rows, 3 * k), 0)} is not "
                                   f"{3 * k} keypoint values ({src.name})") from None
    out = convert_keypoints(flat.reshape(len(rows), k, 3), src, dst)
    flat_out = out.reshape(len(rows), 3 * dst.num_keypoints).tolist()
    return [{**p, "keypoints": kp} for p, kp in zip(preds, flat_out)]


def convert_ground_truth(gt: dict, source: KeypointLayout | str, target: KeypointLayout | str
                         ) -> dict:
    """A COCO-style ground truth in layout ``source`` -> ``target`` (same correspondence as
    :func:`convert_predictions`; joints ``source`` lacks are unlabelled ``(0, 0, 0)``).

    ``num_keypoints`` is recounted (COCO ignores persons with none) and the categories list
    ``target``'s joints; everything else is kept. Converting a PoseTrack17 file to
    ``shared_layout(COCO17, POSETRACK17)`` gives the 13-joint ground truth on which a
    COCO-trained model is scored, with that layout's sigmas.
    """
    src, dst = _as_layout(source), _as_layout(target)
    k = src.num_keypoints
    names = next((c["keypoints"] for c in gt.get("categories", [])
                  if isinstance(c, dict) and c.get("keypoints")), None)
    differ = [] if names is None else joint_name_differences(names, src)
    if differ:
        raise EvaluationInputError(f"ground truth: its joints are not {src.name}'s: "
                                   + describe_name_differences(differ))
    anns = []
    for ann in gt["annotations"]:
        kps = ann.get("keypoints")
        if not kps:
            anns.append(dict(ann))
            continue
        if len(kps) != 3 * k:
            raise EvaluationInputError(f"ground truth annotation id {ann.get('id')!r} has "
                                       f"{len(kps)} keypoint values, not {3 * k} ({src.name})")
        kp = convert_keypoints(np.asarray(kps, dtype=np.float64).reshape(1, k, 3), src, dst)[0]
        new = {**ann, "keypoints": kp.ravel().tolist()}
        if "num_keypoints" in ann:
            new["num_keypoints"] = int(np.count_nonzero(kp[:, 2] > 0))
        anns.append(new)
    category = dst.coco_category()
    cats = [{**c, "keypoints": category["keypoints"], "skeleton": category["skeleton"]}
            if isinstance(c, dict) and "keypoints" in c else c for c in gt.get("categories", [])]
    return {**gt, "annotations": anns, "categories": cats}
