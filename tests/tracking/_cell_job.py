"""What one benchmark cell job writes to MLflow, through mpbench's tracking API only.

Run in separate writer processes by ``test_concurrency.py``: the call sequence of ``train_cell``
(open the cell's run, params, per-epoch metrics, the config artifact) followed by that of
``evaluate_cell`` (statistics with bootstrap intervals, eval params, predictions/metrics
artifacts, ``finish_run``). Everything it logs is a pure function of the job spec, so the
parent can check the store against :func:`expected`. Kept free of pytest imports: the
writer processes import this module only.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

EPOCHS = 5
METRIC_KEYS = ("AP", "AP50", "AP75", "AR")


def cell_key(i: int) -> str:
    return f"synth{i // 5}/{('rgb', 'thermal', 'lowlight', 'depth', 'depth_lowres')[i % 5]}/m{i}"


def expected(key: str, digest: str) -> dict[str, Any]:
    """Params, per-epoch history and final metrics a job for (cell, digest) logs."""
    dataset, modality, model = key.split("/")
    seed = sum(map(ord, key + digest)) % 1000
    params = {"dataset": dataset, "modality": modality, "model": model,
              "config_digest": digest, "seed": str(seed), "epochs": str(EPOCHS),
              "optimizer": "AdamW", "lr": "0.0005", "eval_protocol": "coco",
              "eval_split": "val"}
    history = {"train/loss": [(e, 1.0 / (e + seed % 7 + 1)) for e in range(1, EPOCHS + 1)],
               "train/lr": [(e, 5e-4 * 0.9 ** e) for e in range(1, EPOCHS + 1)]}
    ap = 0.3 + (seed % 500) / 1000.0
    final = {"AP": ap, "AP50": ap + 0.2, "AP75": ap - 0.05, "AR": ap + 0.04}
    final |= {f"{k}_ci95_{side}": v + d for k, v in list(final.items())
              for side, d in (("low", -0.01), ("high", 0.01))}
    return {"params": params, "history": history, "final": final}


class _RetryCounter(logging.Handler):
    """Counts with_retry's "tracking store busy" messages."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "busy" in record.getMessage()


def run_job(spec: dict[str, Any], barrier=None) -> None:
    """One cell job. ``spec``: cwd, tracking_uri (None: the default store), experiment,
    key, digest, out (result JSON), and optionally ``fail_after`` epochs with
    ``fail_mode`` 'failed' (run marked FAILED, exit 1) or 'kill' (SIGKILL, nothing
    cleaned up); a job resumes after the epochs recorded in ``<work>/checkpoint``."""
    os.chdir(spec["cwd"])
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if spec.get("tracking_uri"):
        os.environ["MLFLOW_TRACKING_URI"] = spec["tracking_uri"]
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # Import before the barrier, so that all jobs start writing at the same moment.
    from mlflow.tracking import MlflowClient  # noqa: F401 - warm import

    from benchmark.tracking import runs

    retries = _RetryCounter()
    logging.getLogger(runs.__name__).addHandler(retries)
    logging.getLogger(runs.__name__).setLevel(logging.INFO)
    key, digest, exp = spec["key"], spec["digest"], spec["experiment"]
    want = expected(key, digest)
    work = Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    if barrier is not None:
        barrier.wait(timeout=300)
    t0 = time.time()

    # --- train_cell ---
    dataset, modality, model = key.split("/")
    run_id = runs.open_cell_run(key, digest, experiment=exp, tags={
        "mpbench.dataset": dataset, "mpbench.modality": modality, "mpbench.model": model})
    train_params = {k: v for k, v in want["params"].items() if not k.startswith("eval_")}
    runs.log_params(run_id, train_params)
    runs.set_tags(run_id, {runs.TAG_STATE: "training"})
    ckpt = work / "checkpoint"
    start = int(ckpt.read_text()) if ckpt.is_file() else 0
    for epoch in range(start + 1, EPOCHS + 1):
        runs.log_metrics(run_id, {k: dict(h)[epoch] for k, h in want["history"].items()},
                         step=epoch)
        ckpt.write_text(str(epoch))  # the epoch checkpoint, written after the epoch's metrics
        if spec.get("fail_after") == epoch:
            if spec.get("fail_mode") == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            from mlflow.tracking import MlflowClient

            MlflowClient(runs.tracking_uri()).set_terminated(run_id, "FAILED")
            raise SystemExit(1)
    config = work / "config.py"
    config.write_text(f"# composed config of {key}\nconfig_digest = {digest!r}\n")
    runs.log_artifact(run_id, str(config), "config")
    runs.set_tags(run_id, {runs.TAG_STATE: "trained"})

    # --- evaluate_cell ---
    runs.log_metrics(run_id, want["final"])
    runs.log_params(run_id, {k: v for k, v in want["params"].items() if k.startswith("eval_")})
    runs.set_tags(run_id, {"mpbench.eval_bootstrap": "200", "mpbench.eval_seed": "0"})
    pred = work / "predictions.keypoints.json"
    pred.write_text(json.dumps([{"image_id": 1, "score": want["final"]["AP"]}]))
    metrics = work / "metrics.json"
    metrics.write_text(json.dumps({"cell": key, "run_id": run_id, "stats": want["final"]}))
    runs.log_artifact(run_id, str(pred), "predictions")
    runs.log_artifact(run_id, str(metrics), "metrics")
    runs.set_tags(run_id, {"mpbench.headline": "AP", "mpbench.scale": "fraction"})
    runs.finish_run(run_id, "evaluated")
    Path(spec["out"]).write_text(json.dumps(
        {"key": key, "run_id": run_id, "start": t0, "seconds": time.time() - t0,
         "retries": retries.count}))


def open_only(cwd: str, out: str, barrier) -> None:
    """Only open a fixed cell's run (default store in ``cwd``), after the barrier."""
    os.chdir(cwd)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    from benchmark.tracking import runs

    runs.init_store("same-cell")  # store opened before the barrier: only the race is left
    barrier.wait(timeout=120)
    Path(out).write_text(runs.open_cell_run("demo/rgb/tiny_hrnet", "d1",
                                            experiment="same-cell"))
