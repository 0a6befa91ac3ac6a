"""One MLflow run per benchmark cell, resumed rather than duplicated.

A cell's run is found by its tags (``mpbench.cell``, ``mpbench.config_digest`` and
``mpbench.data_version``): a training job that was killed and re-run, or an evaluation job,
reopens the same run. When the composed config or the data changes, a new run is created and
the older runs of that cell are tagged ``mpbench.superseded_by``; the runs table only reads the
newest complete run per cell.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from benchmark.tracking.store import DEFAULT_EXPERIMENT, init_store, store_lock, tracking_uri

T = TypeVar("T")
_log = logging.getLogger(__name__)

TAG_CELL = "mpbench.cell"
TAG_DIGEST = "mpbench.config_digest"
TAG_DATA = "mpbench.data_version"
TAG_STATE = "mpbench.state"
TAG_SUPERSEDED = "mpbench.superseded_by"


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri())


#: SQLite's "busy"/"locked" errors as MLflow passes them on (SqlAlchemyStore wraps the
#: sqlite3.OperationalError; an ``mlflow server`` returns its text).
_TRANSIENT = ("database is locked", "database table is locked", "database is busy",
              "sqlite_busy", "sqlite_locked")


def _is_transient(exc: BaseException) -> bool:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        msg = str(e).lower()
        if any(t in msg for t in _TRANSIENT):
            return True
        e = e.__cause__ or e.__context__
    return False


def with_retry(fn: Callable[..., T], *args: Any, attempts: int = 12, base_delay: float = 0.2,
               **kwargs: Any) -> T:
    """Call an MLflow client function, retrying while SQLite reports a busy/locked database.

    Several local jobs share one SQLite file; a writer can find it locked (SQLite's 20 s busy
    timeout, set by MLflow, covers most waits; a lock upgrade that would deadlock fails at
    once). Retrying is safe: a failed SQLite transaction is rolled back, and metrics are
    logged with a fixed timestamp, so a retried batch is deduplicated by MLflow.
    Any other error is raised at once.
    """
    delay = base_delay
    for i in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classify, re-raise the rest
            if i == attempts - 1 or not _is_transient(exc):
                raise
            wait = delay * (1 + random.random())
            _log.info("tracking store busy (%s); retry %d/%d in %.1f s",
                      getattr(fn, "__name__", fn), i + 1, attempts - 1, wait)
            time.sleep(wait)
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable")


def cell_runs(cell_key: str, experiment: str = DEFAULT_EXPERIMENT) -> list:
    """All live runs of a cell, newest first."""
    client = _client()
    exp = with_retry(client.get_experiment_by_name, experiment)
    if exp is None:
        return []
    return with_retry(
        client.search_runs, [exp.experiment_id],
        filter_string=f"tags.`{TAG_CELL}` = '{cell_key}'",
        order_by=["attributes.start_time DESC"], max_results=1000)


def open_cell_run(cell_key: str, digest: str, *, experiment: str = DEFAULT_EXPERIMENT,
                  data_version: str = "unversioned", tags: dict[str, str] | None = None) -> str:
    """Return the run id for (cell, config digest, data version), creating the run only if
    none exists.

    The run of the current identity is the cell's live run: every other run of the cell is
    tagged ``mpbench.superseded_by`` it, also when an older run is reopened because a config
    change was reverted (its own superseded tag is then removed). On the local SQLite store
    the find-or-create is serialised by the store's file lock, so two jobs launched for one
    cell at the same moment share one run.
    """
    client = _client()
    exp_id = init_store(experiment)
    with store_lock(tracking_uri()):
        runs = cell_runs(cell_key, experiment)
        for run in runs:
            if (run.data.tags.get(TAG_DIGEST) == digest
                    and run.data.tags.get(TAG_DATA, "unversioned") == data_version):
                run_id = run.info.run_id
                with_retry(client.update_run, run_id, status="RUNNING")
                if TAG_SUPERSEDED in run.data.tags:  # a reverted config: current again
                    with_retry(client.delete_tag, run_id, TAG_SUPERSEDED)
                break
        else:
            run_id = with_retry(
                client.create_run, exp_id, run_name=cell_key,
                tags={TAG_CELL: cell_key, TAG_DIGEST: digest, TAG_DATA: data_version,
                      TAG_STATE: "created",
                      **(tags or {})}).info.run_id
    for old in runs:
        if old.info.run_id != run_id and old.data.tags.get(TAG_SUPERSEDED) != run_id:
            with_retry(client.set_tag, old.info.run_id, TAG_SUPERSEDED, run_id)
    return run_id


def log_params(run_id: str, params: dict[str, Any]) -> None:
    """Log params once; re-logging an unchanged value (a resumed job) is a no-op."""
    from mlflow.entities import Param

    client = _client()
    existing = with_retry(client.get_run, run_id).data.params
    new = [Param(k, str(v)) for k, v in params.items() if k not in existing]
    changed = {k: (existing[k], str(v)) for k, v in params.items()
               if k in existing and existing[k] != str(v)}
    if changed:
        raise ValueError(f"run {run_id}: params differ from the logged ones: {changed}")
    if new:
        with_retry(client.log_batch, run_id, params=new)


def metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / :`` and space; anything else (the
    parentheses of ``AP(E)`` or MMPose's ``AP (M)``) is written ``_``."""
    return "".join(c if c.isalnum() or c in "_-./: " else "_" for c in name)


def log_metrics(run_id: str, metrics: dict[str, float], step: int | None = None) -> None:
    """Log metrics at one step; names are made valid MLflow keys (:func:`metric_key`)."""
    from mlflow.entities import Metric

    ts = int(time.time() * 1000)
    batch = [Metric(metric_key(k), float(v), ts, step or 0) for k, v in metrics.items()]
    if batch:
        with_retry(_client().log_batch, run_id, metrics=batch)


def set_tags(run_id: str, tags: dict[str, str]) -> None:
    from mlflow.entities import RunTag

    with_retry(_client().log_batch, run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_artifact(run_id: str, path: str, artifact_path: str | None = None) -> None:
    with_retry(_client().log_artifact, run_id, path, artifact_path)


def finish_run(run_id: str, state: str) -> None:
    client = _client()
    with_retry(client.set_tag, run_id, TAG_STATE, state)
    with_retry(client.set_terminated, run_id, "FINISHED")
