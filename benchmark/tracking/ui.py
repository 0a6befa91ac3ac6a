"""Links into the MLflow UI that open where a benchmark's user wants to be.

MLflow 3's UI has two views of an experiment: GenAI (traces, prompts, evaluations) and model
training (runs, models, the registry). A browser that has never chosen one lands on the GenAI
view, where mpbench's runs are not shown; the ``workflowType=machine_learning`` query parameter
of the runs page picks the model training view (and the browser remembers it).
"""

from __future__ import annotations

from benchmark.errors import MpbenchError
from benchmark.tracking.store import sqlite_path, tracking_uri

#: Where ``mlflow ui`` / ``mlflow server`` listen by default.
DEFAULT_HOST = "http://127.0.0.1:5000"


def runs_url(experiment_id: str, host: str = DEFAULT_HOST) -> str:
    """The runs table of an experiment in the model training view of MLflow 3's UI."""
    return f"{host.rstrip('/')}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def experiment_id(name: str) -> str:
    """The id of an existing, live experiment; a clear error (never a new, empty store) when
    the store or the experiment is missing."""
    from mlflow.tracking import MlflowClient

    from benchmark.tracking.runs import with_retry

    uri = tracking_uri()
    db = sqlite_path(uri)
    if db is not None and not db.is_file():  # opening it would create an empty store
        raise MpbenchError(f"{db}: no MLflow store here; run the benchmark first (`make demo` "
                           "or `snakemake`) or set MLFLOW_TRACKING_URI")
    exp = with_retry(MlflowClient(uri).get_experiment_by_name, name)
    if exp is None or exp.lifecycle_stage != "active":
        raise MpbenchError(f"MLflow experiment {name!r} does not exist in {uri}; the "
                           "experiment is the matrix file's `experiment:` (or --experiment of "
                           "`mpbench train`)")
    return exp.experiment_id
