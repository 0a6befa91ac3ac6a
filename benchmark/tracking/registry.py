"""A cell's trained model in the MLflow model registry (``mpbench register``).

A registered model per cell, a model version per run: the version's source is the run's
``checkpoint/`` artifact (logged at the end of training, :mod:`benchmark.tracking.artifacts`).
Registering a run again returns its existing version rather than adding a duplicate, so the
command is safe to repeat (and to put in a workflow).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.errors import MpbenchError
from benchmark.tracking.artifacts import CHECKPOINT_DIR
from benchmark.tracking.runs import (
    TAG_CELL,
    TAG_SUPERSEDED,
    _client,
    cell_runs,
    metric_key,
    with_retry,
)
from benchmark.tracking.store import DEFAULT_EXPERIMENT, store_lock
from benchmark.tracking.ui import experiment_id


class RegistryError(MpbenchError):
    """A cell that cannot be registered: no run, or a run without a logged checkpoint."""


@dataclass(frozen=True)
class RegisteredVersion:
    name: str
    version: str
    run_id: str
    source: str
    created: bool  # False: the run was registered before, this is that version


def model_name(cell_key: str) -> str:
    """The registered model name of a cell: its key with ``/`` written ``.`` (MLflow refuses
    ``/`` and ``:`` in names) and ``@`` (a seed, ``@s1``) written ``.`` too, since
    ``models:/<name>@<alias>`` URIs read ``@`` as an alias."""
    return cell_key.replace("/", ".").replace("@", ".").replace(":", "_")


def register_cell(cell_key: str, name: str | None = None,
                  experiment: str = DEFAULT_EXPERIMENT) -> RegisteredVersion:
    """Register the cell's current run's checkpoint as a version of ``name`` (default
    :func:`model_name`), creating the registered model if needed.

    The current run is the newest run of the cell not superseded by another (a changed config
    or data version). The version is tagged with the cell, its dataset and modality and, once
    the cell is evaluated, its headline metric. On a local SQLite store the find-or-create is
    serialised by the store's lock, so two concurrent calls make one version.
    """
    experiment_id(experiment)  # a clear error when the store or experiment is missing
    client = _client()
    live = [r for r in cell_runs(cell_key, experiment) if TAG_SUPERSEDED not in r.data.tags]
    if not live:
        raise RegistryError(f"cell {cell_key}: no MLflow run in experiment {experiment!r}; "
                            f"train it first (`mpbench train --cell {cell_key}`)")
    run = live[0]
    run_id = run.info.run_id
    if not with_retry(client.list_artifacts, run_id, CHECKPOINT_DIR):
        raise RegistryError(f"cell {cell_key}: run {run_id} has no logged checkpoint "
                            f"({CHECKPOINT_DIR}/ artifact): it is an evaluate-only cell, or "
                            "was trained before mpbench logged checkpoints (runs trained from "
                            "now on log theirs; for the demo: `make clean-demo demo`)")
    name = name or model_name(cell_key)
    source = f"runs:/{run_id}/{CHECKPOINT_DIR}"
    with store_lock():
        existing = with_retry(client.search_model_versions,
                              f"name = '{name}' and run_id = '{run_id}'")
        if existing:
            first = min(existing, key=lambda v: int(v.version))
            return RegisteredVersion(name, str(first.version), run_id, first.source, False)
        if not with_retry(client.search_registered_models, f"name = '{name}'"):
            with_retry(client.create_registered_model, name, tags=_model_tags(run.data.tags))
        version = with_retry(client.create_model_version, name, source=source, run_id=run_id,
                             tags=_version_tags(run))
    return RegisteredVersion(name, str(version.version), run_id, version.source, True)


def _model_tags(run_tags: dict[str, str]) -> dict[str, str]:
    keys = (TAG_CELL, "mpbench.dataset", "mpbench.modality")
    return {k: run_tags[k] for k in keys if k in run_tags}


def _version_tags(run) -> dict[str, str]:
    """The cell's identity and, when the run is evaluated, its headline metric
    (``mpbench.headline`` = its name, ``mpbench.headline_value``, ``mpbench.eval_primary``)."""
    tags = {**_model_tags(run.data.tags)}
    for key in ("mpbench.config_digest", "mpbench.data_version"):
        if key in run.data.tags:
            tags[key] = run.data.tags[key]
    head = run.data.tags.get("mpbench.headline")
    if head and metric_key(head) in run.data.metrics:
        tags["mpbench.headline"] = head
        tags["mpbench.headline_value"] = repr(run.data.metrics[metric_key(head)])
        if "mpbench.eval_primary" in run.data.tags:
            tags["mpbench.eval_primary"] = run.data.tags["mpbench.eval_primary"]
    return tags
