"""Train one benchmark cell with MMEngine, tracked in the cell's MLflow run.

Re-running a cell is safe: a finished cell (its ``train_summary.json`` exists with the same
identity) returns at once; an interrupted one resumes from the newest valid checkpoint in its
work dir and logs into the same MLflow run.

A run's identity is its composed config's digest *and* the dataset's data version: new data
under an unchanged config is a new run (its params differ: ``data_version``), and checkpoints
of another identity are moved aside (``work_dir/previous/<identity>/``), never resumed from.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from benchmark.cells import Cell
from benchmark.fileio import write_text_atomic

SUMMARY = "train_summary.json"


def default_work_dir(cell: Cell) -> Path:
    return cell.work_dir


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def cell_params(cell: Cell, cfg, digest: str, data_version: str) -> dict[str, Any]:
    from benchmark.models.families import input_size

    init = cfg.mpbench.get("init") or {}
    return {
        "dataset": cell.dataset, "modality": cell.modality, "model": cell.model,
        "family": cfg.mpbench.get("family"), "recipe": cell.recipe,
        "config_digest": digest, "data_version": data_version,
        "train_annotations": _train_variant(cfg),
        "max_epochs": cfg.train_cfg.max_epochs,
        "batch_size": cfg.train_dataloader.batch_size, "seed": cfg.randomness.seed,
        "input_size": "x".join(map(str, input_size(cfg))),
        "optimizer": cfg.optim_wrapper.optimizer.type, "lr": cfg.optim_wrapper.optimizer.lr,
        "optim_wrapper": cfg.optim_wrapper.get("type", "OptimWrapper"),
        "init": init.get("source", "config"), "init_sha256": init.get("sha256", ""),
    }


def _train_variant(cfg) -> str:
    return "official" if "annotations_official" in cfg.train_dataloader.dataset.ann_file else "qa"


IDENTITY = "identity.json"


def retire_other_identity(work_dir: Path, identity: dict[str, str]) -> None:
    """Move the checkpoints of a run of another identity (config or data changed) to
    ``previous/<its digest>-<its data version>/``: kept, but never resumed from."""
    path = work_dir / IDENTITY
    old = json.loads(path.read_text()) if path.is_file() else None
    if old == identity:
        return
    stale = [*work_dir.glob("epoch_*.pth"), *work_dir.glob("iter_*.pth"),
             work_dir / "last_checkpoint", work_dir / SUMMARY]
    stale = [p for p in stale if p.exists()]
    if stale:
        tag = (f"{old['config_digest']}-{old['data_version']}" if old else "unknown")
        dest = work_dir / "previous" / tag
        dest.mkdir(parents=True, exist_ok=True)
        for p in stale:
            p.replace(dest / p.name)
    work_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(identity, indent=2) + "\n")


def newest_valid_checkpoint(work_dir: Path) -> Path | None:
    """The checkpoint (``epoch_*.pth`` or ``iter_*.pth``) with the most training iterations
    that loads completely; a truncated or corrupt file is skipped."""
    from benchmark.models.checkpoints import checkpoint_progress

    best: tuple[int, Path] | None = None
    for path in [*work_dir.glob("epoch_*.pth"), *work_dir.glob("iter_*.pth")]:
        done = checkpoint_progress(str(path))
        if done is not None and (best is None or done > best[0]):
            best = (done, path)
    return best[1] if best else None


def _compose_with_init(cell: Cell, work_dir: Path, overrides: dict[str, Any] | None):
    """The cell's composed config, with its init's source and sha256 in ``mpbench.init``
    (part of the digest: a finetune whose upstream checkpoint changed is a new run)."""
    from benchmark.models.compose import compose
    from benchmark.models.init_weights import resolve

    cfg = compose(cell, work_dir=work_dir, overrides=overrides)
    source = resolve(cell.init) if cell.init is not None else None
    if source is not None:
        cfg.mpbench = {**cfg.mpbench, "init": source.identity()}
    return cfg, source


def _check_amp(cfg, device: str | None) -> None:
    if cfg.optim_wrapper.get("type") != "AmpOptimWrapper":
        return
    import torch

    if (device or "cuda") == "cpu" or not torch.cuda.is_available():
        from benchmark.errors import MpbenchError

        raise MpbenchError("train.amp: mixed precision needs a CUDA GPU and this node has "
                           "none; set `train: {amp: false}` in the matrix file for CPU runs")


def train_cell(cell: Cell, *, overrides: dict[str, Any] | None = None,
               experiment: str = "mpbench", work_dir: Path | None = None,
               device: str | None = None) -> dict[str, Any]:
    """Train a cell; ``overrides`` may set ``epochs``, ``seed``, ``batch_size``,
    ``annotations``, ``amp``, ``pretrained_backbone`` and ``input_size``."""
    from benchmark.models.checkpoints import allow_mmengine_checkpoints
    from benchmark.models.compose import config_digest
    from benchmark.stages.dvc import data_version
    from benchmark.tracking import artifacts, lineage, runs

    if not cell.train:
        return prepare_evaluate_only(cell, overrides=overrides, experiment=experiment,
                                     work_dir=work_dir)
    work_dir = Path(work_dir or default_work_dir(cell))
    cfg, source = _compose_with_init(cell, work_dir, overrides)
    _check_amp(cfg, device)
    digest = config_digest(cfg)
    identity = {"config_digest": digest, "data_version": data_version(cell.dataset)}

    summary_path = work_dir / SUMMARY
    done = _finished(summary_path, identity)
    if done is not None:
        return done  # finished before: nothing to do

    _check_inputs(cfg)
    retire_other_identity(work_dir, identity)
    run_id = runs.open_cell_run(cell.key, digest, experiment=experiment,
                                data_version=identity["data_version"], tags=cell.tags())
    (work_dir / "mlflow_run_id").write_text(run_id + "\n")
    runs.log_params(run_id, cell_params(cell, cfg, digest, identity["data_version"]))
    runs.set_tags(run_id, {runs.TAG_STATE: "training"})
    lineage.log_cell_inputs(run_id, cell, annotations=cfg.train_dataloader.dataset.ann_file,
                            data_version=identity["data_version"], commit=git_commit())

    resume_from = newest_valid_checkpoint(work_dir)
    cfg.load_from = str(resume_from) if resume_from else None
    cfg.resume = resume_from is not None
    if source is not None and resume_from is None:
        from benchmark.models.init_weights import fit

        fit(cfg.model, source, work_dir / "init.pth")
        cfg.load_from = str(work_dir / "init.pth")
    cfg.custom_hooks = [*cfg.get("custom_hooks", []), dict(type="MlflowEpochHook", run_id=run_id),
                        dict(type="PreemptionCheckpointHook",
                             interval=checkpoint_interval(overrides))]
    if device:
        cfg.device = device
    limit_workers(cfg)
    cfg.dump(str(work_dir / "config.py"))

    allow_mmengine_checkpoints()
    limit_threads()
    from mmengine.runner import Runner

    import benchmark.models.ext  # noqa: F401 - registers LoadModalityImage, hooks

    own_visualizer(cfg, work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()

    final = work_dir / f"epoch_{cfg.train_cfg.max_epochs}.pth"
    summary = {"cell": cell.key, "run_id": run_id, **identity,
               "checkpoint": str(final), "epochs": cfg.train_cfg.max_epochs,
               "resumed_from": str(resume_from) if resume_from else None,
               "init": cfg.mpbench.get("init"), "family": cfg.mpbench.get("family")}
    # MMPose's in-training validation (MMEngine logs it as ``val/coco/<stat>``), on the
    # training annotations' validation split: logged as ``train_val/<stat>``, apart from the
    # test scores (whose names start with the evaluation set, which may be called ``val``).
    val = {k: v for k, v in runner.message_hub.log_scalars.items()
           if k.startswith("val/coco/")}
    if val:
        runs.log_metrics(run_id, {f"train_val/{k.rsplit('/', 1)[1]}": float(v.current())
                                  for k, v in val.items()})
    artifacts.log_cell_model(run_id, final, work_dir / "config.py")  # checkpoint/, config/
    runs.set_tags(run_id, {runs.TAG_STATE: "trained"})
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    return summary


def prepare_evaluate_only(cell: Cell, *, overrides: dict[str, Any] | None = None,
                          experiment: str = "mpbench",
                          work_dir: Path | None = None) -> dict[str, Any]:
    """An evaluate-only cell: fetch its published checkpoint, check that the whole model fits,
    write the composed config and open the cell's run; no training.

    The summary (``checkpoint_summary.json``) is what the evaluation reads, as it reads a
    training summary."""
    from benchmark.models.compose import config_digest
    from benchmark.models.init_weights import fit
    from benchmark.stages.dvc import data_version
    from benchmark.tracking import runs

    work_dir = Path(work_dir or default_work_dir(cell))
    cfg, source = _compose_with_init(cell, work_dir, overrides)
    assert source is not None  # Cell refuses an evaluate-only cell without init url
    digest = config_digest(cfg)
    identity = {"config_digest": digest, "data_version": data_version(cell.dataset)}
    summary_path = work_dir / cell.summary_path.name
    done = _finished(summary_path, identity)
    if done is not None:
        return done
    _check_inputs(cfg, splits=("test_dataloader",))
    checkpoint = work_dir / "checkpoint.pth"
    fit(cfg.model, source, checkpoint, need_head=True)
    run_id = runs.open_cell_run(cell.key, digest, experiment=experiment,
                                data_version=identity["data_version"], tags=cell.tags())
    (work_dir / "mlflow_run_id").write_text(run_id + "\n")
    cfg.dump(str(work_dir / "config.py"))
    runs.log_params(run_id, {**cell_params(cell, cfg, digest, identity["data_version"]),
                             "max_epochs": 0})
    runs.log_artifact(run_id, str(work_dir / "config.py"), "config")
    runs.set_tags(run_id, {runs.TAG_STATE: "trained"})
    summary = {"cell": cell.key, "run_id": run_id, **identity, "checkpoint": str(checkpoint),
               "epochs": 0, "evaluate_only": True, "init": cfg.mpbench.get("init"),
               "family": cfg.mpbench.get("family")}
    write_text_atomic(summary_path, json.dumps(summary, indent=2) + "\n")
    return summary


def _finished(summary_path: Path, identity: dict[str, str]) -> dict[str, Any] | None:
    """The summary of a cell finished before with this identity (and its checkpoint still
    there), else None."""
    if not summary_path.is_file():
        return None
    done = json.loads(summary_path.read_text())
    if {k: done.get(k) for k in identity} == identity and Path(done["checkpoint"]).is_file():
        return done
    return None


def checkpoint_interval(overrides: dict[str, Any] | None) -> int:
    """Iterations between preemption checkpoints: the override, else ``MPBENCH_CKPT_ITERS``,
    else 0 (epoch checkpoints and signal checkpoints only)."""
    value = (overrides or {}).get("checkpoint_iters") or os.environ.get("MPBENCH_CKPT_ITERS")
    return int(value or 0)


def _check_inputs(cfg, splits: tuple[str, ...] = ("train_dataloader", "test_dataloader")) -> None:
    """Fail early, naming the file, when a dataset has not been prepared."""
    from benchmark.errors import MpbenchError

    ds = cfg.mpbench["dataset"]
    for key in splits:
        ann = Path(cfg[key].dataset.ann_file)
        if not ann.is_file():
            raise MpbenchError(
                f"{ann}: annotation file missing for dataset {ds!r}; prepare the dataset with "
                f"`dvc repro preprocess@{ds}` (or `mpbench data list` for what is missing)")
        img_root = Path(cfg[key].dataset.data_prefix["img"])
        if not img_root.is_dir():
            raise MpbenchError(f"{img_root}: image folder missing for dataset {ds!r}; run "
                               f"`dvc repro preprocess@{ds}`")


def limit_workers(cfg) -> None:
    """Data-loading workers within the job's cores (``MPBENCH_THREADS``): at most one per
    core beyond the main process. MMPose's recipes ask for 2 to 8 persistent workers per
    loader, which on a small node oversubscribe it (and leave worker queues behind at exit).
    Not part of the run's identity: it is applied after the config digest."""
    n = os.environ.get("MPBENCH_THREADS")
    if not n:
        return
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        if not loader:
            continue
        loader.num_workers = min(int(loader.get("num_workers", 0)), max(0, int(n) - 1))
        if loader.num_workers == 0:
            loader.persistent_workers = False


def own_visualizer(cfg, work_dir: Path) -> None:
    """Give this runner its own visualizer, writing into its own work dir.

    MMEngine keeps visualizers in a process-wide registry by name, and MMPose's configs all
    name theirs ``visualizer``: the second runner of a process (a test session, a notebook,
    a sweep) got the first one's, and wrote its config and scalars into the first cell's
    work dir, or failed once that folder was gone. Applied after the config is dumped, so
    the saved config and the run's identity are unchanged."""
    vis = cfg.get("visualizer")
    if vis is not None:
        vis["name"] = f"mpbench:{work_dir}:{next(_RUNNERS)}"


_RUNNERS = itertools.count()


def limit_threads() -> None:
    """Use the cores Snakemake gave the job (``MPBENCH_THREADS``), not all of the machine."""
    n = os.environ.get("MPBENCH_THREADS")
    if n:
        import torch

        torch.set_num_threads(max(1, int(n)))
