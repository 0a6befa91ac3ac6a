"""Where runs are stored, and creating the store once before parallel jobs.

The default store is SQLite under ``results/mlflow/`` (MLflow 3.13+ refuses a ``./mlruns`` file
store). A brand-new SQLite store opened by many processes at once races on its schema
migration, so the store and the experiment are created once, under a file lock, by
:func:`init_store` (the workflow's ``mlflow_init`` rule) before any training job starts.
``MLFLOW_TRACKING_URI`` overrides the default, e.g. an ``mlflow server`` on a cluster, where
SQLite on NFS/Lustre is unsafe.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_EXPERIMENT = "mpbench"
STORE_DIR = Path("results") / "mlflow"

#: MLflow 3's UI opens an experiment on the view its ``mlflow.experimentKind`` tag names; with no
#: tag a fresh browser lands on the GenAI view (traces, prompts), where a benchmark's runs,
#: models and registry are not shown. mpbench's experiments are model training.
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def default_tracking_uri(root: Path | None = None) -> str:
    db = ((root or Path.cwd()) / STORE_DIR / "mlflow.db").resolve()
    return f"sqlite:///{db}"


def default_artifact_root(root: Path | None = None) -> str:
    return ((root or Path.cwd()) / STORE_DIR / "artifacts").resolve().as_uri()


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the default SQLite store under ``results/``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def is_local_sqlite(uri: str) -> bool:
    return uri.startswith("sqlite:///")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a local ``sqlite:///`` URI (relative to the working directory
    unless absolute), else None."""
    if not is_local_sqlite(uri):
        return None
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def store_lock(uri: str | None = None) -> Iterator[None]:
    """An exclusive lock (``flock``) on ``<db>.lock`` beside a local SQLite store, shared by
    every process on this machine that uses the store; a no-op for other stores (a server
    serialises its own writes). Not re-entrant: do not nest."""
    db = sqlite_path(uri or tracking_uri())
    if db is None:
        yield
        return
    path = db.with_name(db.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def init_store(experiment: str = DEFAULT_EXPERIMENT) -> str:
    """Create (or upgrade) the tracking store and the experiment; return the experiment id.

    Safe to call from several processes: creation is serialised by a file lock and the second
    caller finds the experiment already there. A local SQLite store keeps its artifacts in
    ``artifacts/`` beside the database file. The experiment is tagged as model training
    (:data:`TAG_EXPERIMENT_KIND`), also when it was created without the tag.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = tracking_uri()
    db = sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)  # opening a SqlAlchemyStore creates/migrates the schema
        exp = client.get_experiment_by_name(experiment)
        if exp is not None:
            if TAG_EXPERIMENT_KIND not in exp.tags:  # a store made before the tag was set
                client.set_experiment_tag(exp.experiment_id, TAG_EXPERIMENT_KIND,
                                          EXPERIMENT_KIND)
            return exp.experiment_id
        artifact_location = (db.parent / "artifacts").resolve().as_uri() if db else None
        return client.create_experiment(experiment, artifact_location=artifact_location,
                                        tags={TAG_EXPERIMENT_KIND: EXPERIMENT_KIND})
