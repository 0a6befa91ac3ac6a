"""Evaluate one trained cell: predict on the evaluation split, score with mpbench's protocols.

MMPose's ``CocoMetric`` in ``format_only`` mode writes the predictions in COCO results format
(after its standard rescoring and OKS-NMS); :mod:`benchmark.evaluation` then scores them
exactly as the reference evaluator of the dataset's protocol would, with a bootstrap interval
over images. Metrics go to ``metrics.json`` and to the cell's MLflow run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.errors import MpbenchError
from benchmark.workflow.matrix import Cell


def default_out_dir(cell: Cell) -> Path:
    return Path("results") / "cells" / cell.dataset / cell.modality / cell.model


def predict(work_dir: Path, checkpoint: str, out_prefix: Path,
            device: str | None = None) -> Path:
    """Run the cell's trained model on its evaluation split; return the predictions file."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from benchmark.models.checkpoints import allow_mmengine_checkpoints
    from benchmark.models.train import limit_threads

    cfg = Config.fromfile(str(work_dir / "config.py"))
    cfg.load_from = checkpoint
    cfg.resume = False
    cfg.custom_hooks = [h for h in cfg.get("custom_hooks", []) if h["type"] != "MlflowEpochHook"]
    cfg.test_evaluator = dict(type="CocoMetric", ann_file=cfg.test_dataloader.dataset.ann_file,
                              format_only=True, outfile_prefix=str(out_prefix))
    cfg.work_dir = str(work_dir / "test")
    if device:
        cfg.device = device
    allow_mmengine_checkpoints()
    limit_threads()
    runner = Runner.from_cfg(cfg)
    runner.test()
    pred = Path(f"{out_prefix}.keypoints.json")
    if not pred.is_file():
        raise MpbenchError(f"{pred}: MMPose wrote no predictions")
    return pred


def evaluate_cell(dataset: str, modality: str, model: str, *, work_dir: Path | None = None,
                  out_dir: Path | None = None, bootstrap: int = 200, seed: int = 0,
                  device: str | None = None) -> dict[str, Any]:
    from benchmark.datasets import get_spec
    from benchmark.evaluation import evaluate
    from benchmark.models.train import SUMMARY, default_work_dir
    from benchmark.tracking import runs

    cell = Cell(dataset, modality, model)
    work_dir = Path(work_dir or default_work_dir(cell))
    out_dir = Path(out_dir or default_out_dir(cell))
    summary_path = work_dir / SUMMARY
    if not summary_path.is_file():
        raise MpbenchError(f"{summary_path}: cell {cell.key} is not trained; "
                           f"run `mpbench train --dataset {dataset} --modality {modality} "
                           f"--model {model}` first")
    summary = json.loads(summary_path.read_text())
    spec = get_spec(dataset)
    out_dir.mkdir(parents=True, exist_ok=True)

    pred = predict(work_dir, summary["checkpoint"], out_dir / "predictions", device)
    gt = spec.modality_annotation_file(spec.eval_split, modality)
    result = evaluate(spec.protocol, gt, pred, sigmas=list(spec.layout.sigmas),
                      bootstrap=bootstrap, seed=seed)
    stats = {k: float(v) for k, v in result.stats.items()}
    for name, (lo, hi) in result.intervals.items():
        stats[f"{name}_ci95_low"], stats[f"{name}_ci95_high"] = float(lo), float(hi)
    metrics = {"cell": cell.key, "run_id": summary["run_id"], "protocol": spec.protocol,
               "split": spec.eval_split, "headline": result.headline,
               "bootstrap": bootstrap, "stats": stats}
    metrics_path = out_dir / "metrics.json"

    run_id = summary["run_id"]
    runs.log_metrics(run_id, stats)
    runs.log_params(run_id, {"eval_protocol": spec.protocol, "eval_split": spec.eval_split})
    runs.set_tags(run_id, {"mpbench.eval_bootstrap": str(bootstrap),
                           "mpbench.eval_seed": str(seed)})
    metrics_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    # Snakemake removes the outputs of a job that fails, so a crash below is simply re-run.
    runs.log_artifact(run_id, str(pred), "predictions")
    runs.log_artifact(run_id, str(metrics_path), "metrics")
    runs.set_tags(run_id, {"mpbench.headline": result.headline, "mpbench.scale": result.scale})
    runs.finish_run(run_id, "evaluated")
    return metrics
