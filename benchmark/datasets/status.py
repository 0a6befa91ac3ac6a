"""``mpbench data list``: every dataset with its facts and how far it is prepared locally."""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.registry import dataset_names, get_spec
from benchmark.datasets.spec import DatasetSpec

#: Stage -> output folder, in pipeline order; the status is the last stage whose output exists.
STAGE_DIRS = (("downloaded", "raw"), ("converted", "converted"), ("QA'd", "qa"),
              ("preprocessed", "processed"))


def missing_manual_files(spec: DatasetSpec, data_root: Path) -> list[str]:
    """Manual sources not (yet) placed in ``data/<dataset>/manual/``."""
    manual = spec.dataset_dir(data_root) / "manual"
    return [s.filename for s in spec.sources
            if s.url is None and not (manual / s.filename).is_file()]


def local_status(spec: DatasetSpec, data_root: Path) -> str:
    """The last stage whose output exists; before any, whether manual files are needed."""
    base = spec.dataset_dir(data_root)
    status = "missing"
    for name, folder in STAGE_DIRS:
        if not (base / folder).is_dir():
            break
        status = name
    if status == "missing" and missing_manual_files(spec, data_root):
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
            "manual_files_missing": missing_manual_files(spec, data_root),
            "sources": [{"file": s.filename, "url": s.url, "sha256": s.sha256,
                         "manual": s.url is None} for s in spec.sources],
            "homepage": spec.homepage,
        })
    return rows
