"""``mpbench data list``: every dataset with its facts and how far it is prepared locally."""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.registry import dataset_names, get_spec
from benchmark.datasets.spec import DatasetSpec

#: Stage -> output folder, in pipeline order; the status is the last stage whose output exists.
STAGE_DIRS = (("downloaded", "raw"), ("QA'd", "qa"), ("preprocessed", "processed"))


def local_status(spec: DatasetSpec, data_root: Path) -> str:
    base = spec.dataset_dir(data_root)
    status = "missing"
    for name, folder in STAGE_DIRS:
        if not (base / folder).is_dir():
            break
        status = name
    if status == "missing" and spec.manual_instructions:
        return "manual files needed"
    return status


def dataset_table(data_root: Path = Path("data")) -> list[dict]:
    rows = []
    for name in dataset_names():
        spec = get_spec(name)
        rows.append({
            "name": spec.name,
            "description": spec.description,
            "modalities": list(spec.modalities),
            "splits": list(spec.splits),
            "protocol": spec.protocol,
            "layout": spec.layout.name,
            "num_keypoints": spec.layout.num_keypoints,
            "license": spec.license,
            "citation": spec.citation,
            "status": local_status(spec, data_root),
        })
    return rows
