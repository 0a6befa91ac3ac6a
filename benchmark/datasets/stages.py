"""The per-dataset data stages that ``dvc.yaml`` runs: download, qa, preprocess.

Layout of ``data/<dataset>/`` (each folder is one DVC stage output):

- ``raw/``: what the download stage produced: images per sensor modality and canonical
  COCO-keypoint annotations ``raw/annotations/<split>.json`` (for ``demo`` the download stage
  generates the data).
- ``qa/``: ``qa/annotations/<split>.json`` (corrected annotations the models train on) and
  ``qa/report/<split>/`` (per-skeleton table, fixes, HTML overlays).
- ``processed/``: derived modalities (``derived_from`` in the spec) and ``stats.json``, the
  per-modality normalisation statistics of the training split.

Every stage writes into a temporary sibling folder and renames it into place when complete, so
a killed stage never leaves a half-written output that looks finished.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmark.datasets.params import section
from benchmark.datasets.spec import DatasetSpec


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``final`` only if the block succeeds."""
    tmp = final.with_name(final.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    yield tmp
    if final.exists():
        shutil.rmtree(final)
    tmp.replace(final)


def download(spec: DatasetSpec, data_root: Path = Path("data")) -> Path:
    out = spec.dataset_dir(data_root) / "raw"
    if spec.name == "demo":
        from benchmark.datasets.demo.generate import generate

        p = section("demo")
        with atomic_dir(out) as tmp:
            summary = generate(tmp, seed=int(p.get("seed", 0)), n_train=int(p["n_train"]),
                               n_val=int(p["n_val"]), n_test=int(p["n_test"]),
                               width=int(p["width"]), height=int(p["height"]),
                               workers=int(p.get("workers", 2)))
        print(json.dumps(summary, sort_keys=True), file=sys.stderr)
        return out
    raise NotImplementedError(f"dataset {spec.name!r}: no download stage yet")


def qa(spec: DatasetSpec, data_root: Path = Path("data")) -> Path:
    """Annotation QA of every split: corrected annotations + per-split reports."""
    from benchmark.qa import QAConfig, run_qa, write_report

    base = spec.dataset_dir(data_root)
    threshold = section("qa").get("threshold")
    config = QAConfig() if threshold is None else QAConfig(threshold=float(threshold))
    out = base / "qa"
    with atomic_dir(out) as tmp:
        (tmp / "annotations").mkdir()
        for split in spec.splits:
            src = base / "raw" / "annotations" / f"{split}.json"
            if not src.is_file():
                raise FileNotFoundError(
                    f"{src}: missing; run `dvc repro download@{spec.name}` first")
            coco = json.loads(src.read_text())
            report = run_qa(coco, spec.layout, config=config, source=str(src))
            write_report(report, tmp / "report" / split,
                         images_root=base / spec.modality(_first_modality(spec)).root)
            (tmp / "annotations" / f"{split}.json").write_text(
                json.dumps(report.corrected, sort_keys=True))
            flagged = int((report.table["flags"] != "").sum()) if len(report.table) else 0
            print(f"qa {spec.name}/{split}: {len(report.table)} skeletons, {flagged} flagged, "
                  f"{len(report.fixes)} fixes", file=sys.stderr)
    return out


def _first_modality(spec: DatasetSpec) -> str:
    return next(n for n, m in spec.modalities.items() if m.derived_from is None)


def preprocess(spec: DatasetSpec, data_root: Path = Path("data")) -> Path:
    """Derive every ``derived_from`` modality and compute normalisation statistics."""
    from benchmark.modalities.stage import derive_dataset_modalities, modality_stats

    base = spec.dataset_dir(data_root)
    params = section("preprocess")
    out = base / "processed"
    with atomic_dir(out) as tmp:
        derive_dataset_modalities(spec, base, tmp, seed=int(params.get("seed", 0)),
                                  workers=int(params.get("workers", 2)))
        stats = modality_stats(spec, base, processed_dir=tmp,
                               max_images=int(params.get("stats_images", 200)))
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
    return out


STAGES = {"download": download, "qa": qa, "preprocess": preprocess}
