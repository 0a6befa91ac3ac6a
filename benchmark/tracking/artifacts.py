"""A trained cell's model in its run: the checkpoint and the config that builds it.

Logged at the end of training so that a run is a complete, self-contained model (the work dir
may be cleaned or live on another machine) and so that the model registry can point at it
(:mod:`benchmark.tracking.registry`: a version's source is ``runs:/<run>/checkpoint``).

The checkpoint logged is the one the training summary names, the last epoch's: it is the
checkpoint ``mpbench evaluate`` scores, so the registered model is the one whose numbers are on
the leaderboard. MMEngine's ``best_*.pth`` (written only with a ``save_best`` checkpoint hook,
which mpbench's configs do not set) is picked on the in-training validation split, and logging
it instead would register a model other than the one evaluated.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.tracking.runs import log_artifact

CHECKPOINT_DIR = "checkpoint"
CONFIG_DIR = "config"


def log_cell_model(run_id: str, checkpoint: str | Path, config: str | Path) -> None:
    """Log ``checkpoint`` under ``checkpoint/`` and ``config`` (the composed ``config.py``)
    under ``config/``; logging again (a resumed job) replaces the files with themselves."""
    for path in (checkpoint, config):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: not found; cannot log the cell's model")
    log_artifact(run_id, str(config), CONFIG_DIR)
    log_artifact(run_id, str(checkpoint), CHECKPOINT_DIR)
