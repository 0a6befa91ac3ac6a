"""The per-dataset data stages that ``dvc.yaml`` runs: download, convert, qa, preprocess.

Layout of ``data/<dataset>/``:

- ``downloads/`` (not a stage output: a persistent, verified cache that survives re-runs),
  ``manual/`` (where the user places files that cannot be fetched automatically);
- ``raw/`` (download): every source verified by sha256 (published or pinned in
  ``datasets.lock``) and unpacked, in the dataset's native layout (``demo``: generated);
- ``converted/`` (convert): ``converted/annotations/<split>.json`` in the canonical form of
  :mod:`benchmark.datasets.canonical`, validated, and ``converted/summary.json`` (counts);
- ``qa/``: ``qa/annotations/<split>.json`` (corrected annotations the models train on) and
  ``qa/report/<split>/`` (per-skeleton table, fixes, HTML overlays);
- ``processed/``: derived modalities (``derived_from`` in the spec), the per-modality views
  ``processed/annotations/<modality>/<split>.json`` and ``stats.json`` (normalisation).

Every stage writes into a temporary sibling folder and renames it into place when complete, so
a killed stage never leaves a half-written output that looks finished. The download stage of a
real dataset is the exception: its archives are unpacked one at a time, each complete unpack
marked, so that a re-run (DVC keeps ``raw/`` with ``persist: true``) redoes only what is
missing instead of re-extracting a hundred gigabytes.
"""

from __future__ import annotations

import json
import os
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

        p = section("download").get("demo") or {}
        with atomic_dir(out) as tmp:
            summary = generate(tmp, seed=int(p.get("seed", 0)), n_train=int(p["n_train"]),
                               n_val=int(p["n_val"]), n_test=int(p["n_test"]),
                               width=int(p["width"]), height=int(p["height"]),
                               workers=int(p.get("workers", 2)))
        print(json.dumps(summary, sort_keys=True), file=sys.stderr)
        return out
    return fetch_and_unpack(spec, data_root)


#: Pins of sources without a published checksum (repo root; commit it like ``dvc.lock``).
PINS_FILE = Path("datasets.lock")


def fetch_and_unpack(spec: DatasetSpec, data_root: Path = Path("data"), *,
                     pins_file: Path = PINS_FILE, mirror: str | None = None) -> Path:
    """Fetch/locate and verify every source, then place it in ``raw/`` (unpacking archives)."""
    from benchmark.datasets.archive import safe_extract
    from benchmark.datasets.download import PinStore, fetch_all

    base = spec.dataset_dir(data_root)
    raw = base / "raw"
    files = fetch_all(spec.name, spec.sources, base / "downloads", base / "manual",
                      mirror=mirror, pins=PinStore(pins_file))
    raw.mkdir(parents=True, exist_ok=True)
    for source in spec.sources:
        path = Path(files[source.filename])
        if source.extract:
            safe_extract(path, raw / source.extract_to if source.extract_to else raw)
        else:
            _place(path, raw / source.filename)
    print(f"download {spec.name}: {len(spec.sources)} sources verified and in place",
          file=sys.stderr)
    return raw


def _place(src: Path, dst: Path) -> None:
    """Put a verified file into ``raw/`` without a second copy when the filesystem allows."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size \
            and dst.stat().st_ino == src.stat().st_ino:
        return
    tmp = dst.with_name(dst.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    tmp.replace(dst)


def convert(spec: DatasetSpec, data_root: Path = Path("data")) -> Path:
    """Native layout -> canonical, validated annotation files per split."""
    from benchmark.datasets.canonical import counts, validate
    from benchmark.datasets.native import check_image_paths

    base = spec.dataset_dir(data_root)
    raw = base / "raw"
    if not raw.is_dir():
        raise FileNotFoundError(f"{raw}: missing; run `dvc repro download@{spec.name}` first")
    if spec.converter is None:
        raise NotImplementedError(f"dataset {spec.name!r} has no converter")
    converted = spec.converter(raw)
    if set(converted) != set(spec.splits):
        raise RuntimeError(f"dataset {spec.name!r}: converter produced splits "
                           f"{sorted(converted)}, the spec declares {sorted(spec.splits)}")
    summary: dict[str, dict] = {}
    for split, coco in converted.items():
        source = f"{raw} ({split}: {coco.get('info', {}).get('source', 'native files')})"
        check_image_paths(coco, source)  # before any path is joined to the data root
        validate(coco, spec.layout, source=source, modalities=spec.sensor_modalities)
        _check_images_exist(spec, data_root, coco, source)
        summary[split] = counts(coco)
        images, persons = spec.expected_counts.get(split, (None, None))
        for what, want in (("images", images), ("persons", persons)):
            if want is not None and summary[split][what] != want:
                print(f"warning: {spec.name}/{split}: {summary[split][what]} {what}, the "
                      f"published split has {want} (a partial or different release?)",
                      file=sys.stderr)
    out = base / "converted"
    with atomic_dir(out) as tmp:
        (tmp / "annotations").mkdir()
        for split, coco in converted.items():
            (tmp / "annotations" / f"{split}.json").write_text(json.dumps(coco))
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    for split, c in summary.items():
        print(f"convert {spec.name}/{split}: {c['images']} images, {c['persons']} persons, "
              f"{c['keypoints']} labelled keypoints", file=sys.stderr)
    return out


def _check_images_exist(spec: DatasetSpec, data_root: Path, coco: dict, source: str) -> None:
    """Every image of every sensor modality is on disk: an archive unpacked in an unexpected
    layout fails here, naming the images, rather than in a later stage or a training job."""
    roots = {m: spec.image_root(m, data_root) for m in spec.sensor_modalities}
    missing = []
    for img in coco["images"]:
        for modality, rel in img.get("modality_paths", {}).items():
            path = roots[modality] / rel
            if not path.is_file():
                missing.append(f"image {img['id']} ({modality}): {path}")
    if missing:
        shown = "\n  ".join(missing[:5])
        more = f"\n  ... and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise FileNotFoundError(
            f"{source}: {len(missing)} image file(s) named by the annotations are missing "
            f"(an archive unpacked in an unexpected layout, or an incomplete download?):\n  "
            f"{shown}{more}")


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
            src = base / "converted" / "annotations" / f"{split}.json"
            if not src.is_file():
                raise FileNotFoundError(
                    f"{src}: missing; run `dvc repro convert@{spec.name}` first")
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
    """Derive every ``derived_from`` modality, write per-modality views, compute statistics."""
    from benchmark.stages.preprocess import derive_dataset_modalities, modality_stats, write_views

    base = spec.dataset_dir(data_root)
    params = section("preprocess")
    out = base / "processed"
    with atomic_dir(out) as tmp:
        derive_dataset_modalities(spec, base, tmp, seed=int(params.get("seed", 0)),
                                  workers=int(params.get("workers", 2)))
        write_views(spec, base, tmp)
        stats = modality_stats(spec, base, processed_dir=tmp,
                               max_images=int(params.get("stats_images", 200)))
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2, sort_keys=True))
    return out


STAGES = {"download": download, "convert": convert, "qa": qa, "preprocess": preprocess}
