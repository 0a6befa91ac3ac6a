"""Evaluate one trained cell: every evaluation set, every box source, official ground truth.

A cell is scored on each of its dataset's evaluation sets (:meth:`DatasetSpec.eval_sets_of`:
ExLPose's LL-N/H/E/A, WL and OC sets, LLVIP-Pose's 17- and 13-keypoint test files, ...), one
prediction pass per set and box source (:mod:`benchmark.models.predict`), and scored by
:mod:`benchmark.evaluation` exactly as the reference evaluator of the dataset's protocol
would, with a bootstrap interval over images.

Scores are computed against the dataset's **official** annotations (the released files,
converted to the canonical form, no QA edits), so that they compare with published numbers.
With ``annotations=("official", "qa")`` the same predictions are also scored against the
QA-corrected annotations: a separate score labelled ``qa``, never in place of the official
one. ``metrics.json`` records, per score, the ground-truth file, its sha256 and its variant.

Score labels: ``<set>`` (ground-truth boxes, official annotations), ``<set>/det:<name>``
(detector boxes), ``<set>/qa`` (QA annotations). MLflow metric names are
``<label>/<statistic>`` (characters MLflow refuses, such as the parentheses of ``AP(E)``,
written ``_``), plus the primary score's headline and its interval under their plain names.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.cells import Cell
from benchmark.datasets.spec import DatasetSpec, EvalSet
from benchmark.errors import MpbenchError
from benchmark.fileio import write_text_atomic
from benchmark.models.boxes import GT, BoxSource, box_sources
from benchmark.models.predict import file_sha256, predict
from benchmark.models.transfer import TransferScoring
from benchmark.tracking.runs import metric_key

#: Pose NMS of the prediction pass per protocol (MMPose's default is OKS-NMS, as COCO-style
#: top-down results are reported). The PCK protocols score one prediction per annotated person
#: and their reference evaluations (MVOR's script, HRNet's and MMPose's MPII evaluation) run no
#: NMS: an overlapping neighbour's pose removed by NMS would score 0 on every joint.
NMS_MODE = {"mvor-pck": "none", "mpii-pckh": "none"}


def default_out_dir(cell: Cell) -> Path:
    return cell.results_dir


@dataclass(frozen=True)
class ScoreKey:
    """Which score: evaluation set, box source (``gt`` / ``det:<name>``), annotations."""

    eval_set: str
    boxes: str = GT
    annotations: str = "official"

    @property
    def label(self) -> str:
        parts = [self.eval_set]
        if self.boxes != GT:
            parts.append(self.boxes)
        if self.annotations != "official":
            parts.append(self.annotations)
        return "/".join(parts)

    def metric(self, stat: str) -> str:
        """The MLflow metric name of one statistic of this score."""
        return f"{self.label}/{stat}"


@dataclass(frozen=True)
class Target:
    """What a cell is scored on: its own dataset and modality, or, for a cross-dataset score,
    another dataset's (``transfer`` says how the layouts meet)."""

    spec: DatasetSpec
    modality: str
    transfer: TransferScoring | None = None


def transfer_out_dir(cell: Cell, dataset: str, modality: str) -> Path:
    return cell.transfer_dir(dataset, modality)


def _images_override(spec: DatasetSpec, eval_set: EvalSet, modality: str,
                     data_root: Path, always: bool = False) -> dict[str, Any] | None:
    """For a cross-modality set (or any set of another dataset): the image root and loader of
    the images' modality."""
    if eval_set.images in (None, modality) and not always:
        return None
    images = eval_set.images or modality
    from benchmark.models.compose import load_transform

    return {"img_root": str(spec.image_root(images, data_root)) + "/",
            "loader": load_transform(spec.modality(images)), "modality": images}


def _score(target: Target, key: ScoreKey, gt_file: Path, pred: Path, eval_set: EvalSet,
           bootstrap: int, seed: int, units_note: dict[str, Any]) -> dict[str, Any]:
    from benchmark.evaluation import evaluate

    spec, pred_layout, sigmas = target.spec, None, list(target.spec.layout.sigmas)
    if target.transfer is not None:  # another dataset's joints: through the correspondences
        stem = pred.name.removesuffix(".keypoints.json") + f".{key.annotations}.scored"
        gt_file, pred, pred_layout, sigmas = target.transfer.prepare(gt_file, pred,
                                                                     pred.parent, stem)
        units_note = {**units_note, "joints": list(target.transfer.joints)}
    result = evaluate(spec.protocol, gt_file, pred, sigmas=sigmas, bootstrap=bootstrap,
                      seed=seed, pred_layout=pred_layout)
    return {
        "set": key.eval_set, "split": eval_set.split, "images": eval_set.images,
        "boxes": key.boxes, "annotations": key.annotations,
        "gt_file": str(gt_file), "gt_sha256": file_sha256(gt_file),
        "predictions": str(pred), "predictions_sha256": file_sha256(pred),
        "stats": {k: float(v) for k, v in result.stats.items()},
        "intervals": {k: [float(lo), float(hi)] for k, (lo, hi) in result.intervals.items()},
        "units": result.details.get("units"), **units_note,
    }


def evaluate_cell(cell: Cell, *, work_dir: Path | None = None,
                  out_dir: Path | None = None, bootstrap: int = 200, seed: int = 0,
                  device: str | None = None, annotations: tuple[str, ...] = ("official",),
                  detectors: tuple[str, ...] = (), released_detections: bool = True,
                  data_root: Path = Path("data"), log: bool = True,
                  target: tuple[str, str] | None = None,
                  published: dict[str, float] | None = None) -> dict[str, Any]:
    """Score a trained cell on every evaluation set and box source; write ``metrics.json``.

    ``target`` (dataset, modality) scores the cell on another dataset's evaluation sets (a
    cross-dataset score, :mod:`benchmark.models.transfer`), written under
    ``results/transfer/<cell>/<dataset>/<modality>/``. Every set is attempted even when one
    fails (its predictions are kept for the re-run); the failures are then raised together,
    naming each set and the problem.
    """
    from benchmark.datasets import get_spec

    dataset, modality = cell.dataset, cell.modality
    work_dir = Path(work_dir or cell.work_dir)
    if target is None:
        goal = Target(get_spec(dataset), modality)
        out_dir = Path(out_dir or default_out_dir(cell))
    else:
        try:
            tspec = get_spec(target[0])
            tspec.modality(target[1])
        except KeyError as exc:  # names the datasets / modalities there are
            raise MpbenchError(f"--on {'/'.join(target)}: {exc.args[0]}") from None
        goal = Target(tspec, target[1],
                      TransferScoring(get_spec(dataset).layout, tspec.layout, tspec.protocol))
        out_dir = Path(out_dir or transfer_out_dir(cell, *target))
    summary_path = next((p for p in (work_dir / cell.summary_path.name,
                                     work_dir / "checkpoint_summary.json") if p.is_file()),
                        work_dir / cell.summary_path.name)
    if not summary_path.is_file():
        raise MpbenchError(f"{summary_path}: cell {cell.key} is not trained; "
                           f"run `mpbench train {' '.join(cell.cli_args())}` first")
    if "official" not in annotations:
        raise MpbenchError("evaluation annotations must include 'official' (a QA score is "
                           "reported beside the official one, never instead of it)")
    summary = json.loads(summary_path.read_text())
    if not _top_down(summary):
        # Bottom-up and one-stage models find the people themselves: no box sources, and the
        # config's own detection scoring and NMS.
        detectors, released_detections = (), False
    spec = goal.spec
    scores: dict[str, dict[str, Any]] = {}
    failures: list[str] = []
    for eval_set in spec.eval_sets_of(goal.modality):
        try:
            scores |= _score_set(goal, cell, eval_set, work_dir, out_dir, summary,
                                 annotations, detectors, released_detections, bootstrap, seed,
                                 device, data_root)
            if goal.transfer is None and eval_set.images in (None, modality):
                scores |= _score_propagation(goal, eval_set, work_dir, out_dir, summary,
                                             bootstrap, seed, data_root)
        except (MpbenchError, FileNotFoundError, ValueError) as exc:
            failures.append(f"{eval_set.name}: {exc}")
    if failures:
        raise MpbenchError(f"cell {cell.key}: {len(failures)} evaluation set(s) failed (the "
                           "others' predictions are kept for the re-run):\n  "
                           + "\n  ".join(failures))
    primary = ScoreKey(spec.eval_sets_of(goal.modality)[0].name)
    from benchmark.evaluation import get_protocol

    protocol = get_protocol(spec.protocol)
    # Rows of the tables: the recipe without the seed, so that replicates share one row.
    row = cell.replicate_of.split("/", 2)[2]
    metrics = {"cell": cell.key, "dataset": spec.name, "modality": goal.modality,
               "model": row, "replicate_seed": cell.seed, "replicate_of": cell.replicate_of,
               "run_id": summary["run_id"], "protocol": spec.protocol,
               "headline": protocol.headline, "scale": protocol.scale,
               "bootstrap": bootstrap, "seed": seed, "primary": primary.label,
               "scores": scores}
    if published and goal.transfer is None:
        # the value the cell's paper or model zoo gives for its primary score (same unit)
        metrics["published"] = {k: float(v) for k, v in published.items()}
    if goal.transfer is not None:
        # a row of the target dataset's tables, named by the model and what it was trained on
        metrics |= {"model": f"{row} (from {dataset}/{modality})", "trained_on": cell.key,
                    "joints": list(goal.transfer.joints)}
    metrics_path = write_text_atomic(out_dir / "metrics.json",
                                     json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    if log and goal.transfer is None:
        _log_to_mlflow(metrics, metrics_path)
    elif log:
        _log_transfer_to_mlflow(metrics, metrics_path)
    return metrics


def _top_down(summary: dict[str, Any]) -> bool:
    from benchmark.models.families import ADAPTERS

    return ADAPTERS[summary.get("family") or "topdown_heatmap"].top_down


def _score_set(target: Target, cell: Cell, eval_set: EvalSet, work_dir: Path,
               out_dir: Path, summary: dict[str, Any], annotations: tuple[str, ...],
               detectors: tuple[str, ...], released: bool, bootstrap: int, seed: int,
               device: str | None, data_root: Path) -> dict[str, dict[str, Any]]:
    spec, modality = target.spec, target.modality
    gt = {v: spec.modality_annotation_file(eval_set.split, eval_set.image_modality(modality),
                                           data_root, variant=v) for v in annotations}
    for path in gt.values():
        if not path.is_file():
            raise MpbenchError(f"{path}: ground truth of split {eval_set.split!r} missing; "
                               f"run `mpbench data repro --dataset {spec.name}`")
    images = _images_override(spec, eval_set, modality, data_root,
                              always=target.transfer is not None)
    sources: list[tuple[str, BoxSource | None]] = [(GT, None)]
    sources += [(s.label, s) for s in box_sources(spec, modality, eval_set, detectors,
                                                   released)]
    out: dict[str, dict[str, Any]] = {}
    for boxes, source in sources:
        bbox_file = source.path if source else None
        if bbox_file is not None and not bbox_file.is_file():
            raise MpbenchError(f"{bbox_file}: detection file for {boxes} missing; run "
                               f"`snakemake {bbox_file}`")
        name = eval_set.name + "." + boxes.replace("det:", "det-")
        nms = NMS_MODE.get(spec.protocol, "oks_nms") if _top_down(summary) else None
        pred = predict(work_dir, summary["checkpoint"], gt["official"],
                       out_dir / "predictions" / f"{name}.keypoints.json",
                       bbox_file=bbox_file, images=images, nms_mode=nms, device=device)
        for variant, gt_file in gt.items():
            if boxes != GT and variant != "official":
                continue  # QA scores are a diagnostic of the annotations, with GT boxes
            key = ScoreKey(eval_set.name, boxes, variant)
            note = {"box_file": str(bbox_file), "box_sha256": file_sha256(bbox_file)} \
                if bbox_file else {}
            out[key.label] = _score(target, key, gt_file, pred, eval_set, bootstrap, seed,
                                    note)
            print(f"{cell.key} {key.label}: {spec.protocol} "
                  f"{out[key.label]['stats'].get(_headline(spec))}", file=sys.stderr)
    return out


#: Box source label of a video cell's propagated poses (benchmark.models.propagate).
PROPAGATION = "prop"


def _score_propagation(target: Target, eval_set: EvalSet, work_dir: Path, out_dir: Path,
                       summary: dict[str, Any], bootstrap: int, seed: int,
                       data_root: Path) -> dict[str, dict[str, Any]]:
    """A PoseWarper cell (its config's ``mpbench_propagation``) also propagates the split's
    sparse labels to their neighbouring frames; scored on those frames' own labels as
    ``<set>/prop``. Nothing when the config has no propagation or the split no target."""
    from mmengine.config import Config

    options = Config.fromfile(str(work_dir / "config.py")).get("mpbench_propagation")
    if not options:
        return {}
    from benchmark.models.propagate import propagate_split

    spec = target.spec
    gt_file = spec.modality_annotation_file(eval_set.split, target.modality, data_root,
                                            variant="official")
    stem = out_dir / "predictions" / f"{eval_set.name}.{PROPAGATION}"
    done = propagate_split(work_dir, summary["checkpoint"], gt_file,
                           Path(f"{stem}.keypoints.json"), Path(f"{stem}.gt.json"), **options)
    if done is None:
        print(f"{eval_set.name}: no frame within reach of a sparse label: no propagation "
              "score", file=sys.stderr)
        return {}
    pred, targets_gt = done
    key = ScoreKey(eval_set.name, PROPAGATION)
    note = {"propagation": dict(options), "propagated_from": str(gt_file)}
    return {key.label: _score(target, key, targets_gt, pred, eval_set, bootstrap, seed, note)}


def _headline(spec: DatasetSpec) -> str:
    from benchmark.evaluation import get_protocol

    return get_protocol(spec.protocol).headline


def mlflow_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The MLflow metrics of a cell's scores (see the module docstring for the names)."""
    out: dict[str, float] = {}
    for score in metrics["scores"].values():
        key = ScoreKey(score["set"], score["boxes"], score["annotations"])
        for stat, value in score["stats"].items():
            out[key.metric(stat)] = value
        for stat, (lo, hi) in score["intervals"].items():
            out[key.metric(f"{stat}_ci95_low")], out[key.metric(f"{stat}_ci95_high")] = lo, hi
    primary = metrics["scores"][metrics["primary"]]
    head = metrics["headline"]
    out[head] = primary["stats"][head]
    if head in primary["intervals"]:
        out[f"{head}_ci95_low"], out[f"{head}_ci95_high"] = primary["intervals"][head]
    return {metric_key(k): v for k, v in out.items()}


def _log_transfer_to_mlflow(metrics: dict[str, Any], metrics_path: Path) -> None:
    """A cross-dataset score goes into the cell's run under ``transfer/<dataset>/<modality>/``
    (the run's own evaluation state and params are left as they are)."""
    from benchmark.tracking import runs

    prefix = f"transfer/{metrics['dataset']}/{metrics['modality']}/"
    run_id = metrics["run_id"]
    runs.log_metrics(run_id, {prefix + k: v for k, v in mlflow_metrics(metrics).items()
                              if "/" in k})
    runs.log_artifact(run_id, str(metrics_path), prefix.rstrip("/"))


def _log_to_mlflow(metrics: dict[str, Any], metrics_path: Path) -> None:
    from benchmark.tracking import runs

    run_id = metrics["run_id"]
    runs.log_metrics(run_id, mlflow_metrics(metrics))
    primary = metrics["scores"][metrics["primary"]]
    runs.log_params(run_id, {"eval_protocol": metrics["protocol"],
                             "eval_sets": ",".join(sorted({s["set"] for s in
                                                           metrics["scores"].values()}))})
    runs.set_tags(run_id, {
        "mpbench.eval_bootstrap": str(metrics["bootstrap"]),
        "mpbench.eval_seed": str(metrics["seed"]),
        "mpbench.eval_primary": metrics["primary"],
        **{f"mpbench.gt.{metric_key(label)}": f"{s['annotations']} {s['gt_file']} "
                                                f"sha256:{s['gt_sha256']}"
           for label, s in metrics["scores"].items()},
    })
    for score in metrics["scores"].values():
        runs.log_artifact(run_id, score["predictions"], "predictions")
    runs.log_artifact(run_id, str(metrics_path), "metrics")
    runs.set_tags(run_id, {"mpbench.headline": metrics["headline"],
                           "mpbench.scale": metrics["scale"],
                           "mpbench.primary_gt_sha256": primary["gt_sha256"]})
    runs.finish_run(run_id, "evaluated")
