"""The preprocess stage: derive a dataset's modalities and their normalisation statistics.

Which modalities to derive, and from what, is read from the dataset spec (``derived_from``);
the per-image work is :func:`benchmark.modalities.derive.derive_modality`, run over a process
pool with a progress line. Each derived modality gets a ``manifest.json`` (e.g. the low-light
level of every image) so that results can later be broken down by level.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from benchmark.datasets.spec import DatasetSpec, ModalitySpec
from benchmark.modalities.derive import derive_modality
from benchmark.modalities.inputs import to_network_input


def derive_kind(mod: ModalitySpec) -> tuple[str, dict]:
    """The derivation (``derive_modality`` kind and parameters) that produces ``mod``."""
    if mod.kind == "depth" and mod.downsample > 1:
        return "depth_lowres", {"factor": mod.downsample}
    return mod.kind, {}


def _image_files(spec: DatasetSpec, base: Path) -> list[str]:
    files: list[str] = []
    for split in spec.splits:
        ann = base / "qa" / "annotations" / f"{split}.json"
        if not ann.is_file():
            raise FileNotFoundError(f"{ann}: missing; run `dvc repro qa@{spec.name}` first")
        files += [img["file_name"] for img in json.loads(ann.read_text())["images"]]
    return sorted(set(files))


def _derive_one(job: tuple) -> tuple[str, dict]:
    kind, src, dst, seed, params = job
    meta = derive_modality(kind, src, dst, rng_seed=seed, **params)
    return str(dst), {k: v for k, v in meta.items() if k not in ("src", "dst")}


def derive_dataset_modalities(spec: DatasetSpec, base: Path, processed: Path, *, seed: int = 0,
                              workers: int = 1) -> dict[str, int]:
    """Derive every ``derived_from`` modality of ``spec`` into ``processed``.

    ``base`` is ``data/<dataset>``; sources are the sensor modalities' roots under it and the
    outputs keep the file names of the annotation files (one annotation file per split serves
    all modalities). Returns the number of images derived per modality.
    """
    files = _image_files(spec, base)
    counts: dict[str, int] = {}
    for mod in spec.modalities.values():
        if mod.derived_from is None:
            continue
        src_root = base / spec.modality(mod.derived_from).root
        dst_root = processed / Path(mod.root).relative_to("processed")
        kind, params = derive_kind(mod)
        jobs = [(kind, src_root / f, dst_root / f, seed, params) for f in files]
        manifest: dict[str, dict] = {}
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            for i, (_dst, meta) in enumerate(pool.map(_derive_one, jobs, chunksize=16), 1):
                manifest[files[i - 1]] = meta
                if i % 25 == 0 or i == len(jobs):
                    print(f"\r[{spec.name}] {mod.name}: {i}/{len(jobs)} images", end="",
                          file=sys.stderr, flush=True)
        print(file=sys.stderr)
        (dst_root / "manifest.json").write_text(json.dumps(
            {"derived_from": mod.derived_from, "kind": kind, "params": params, "seed": seed,
             "images": manifest}, indent=1, sort_keys=True))
        counts[mod.name] = len(jobs)
    return counts


def modality_stats(spec: DatasetSpec, base: Path, *, processed_dir: Path,
                   max_images: int = 200) -> dict[str, dict]:
    """Per-channel mean/std (RGB order, 0-255) of each modality's network input.

    Computed on the first ``max_images`` training images (sorted names: deterministic) exactly
    as :class:`LoadModalityImage` feeds them to the network.
    """
    ann = base / "qa" / "annotations" / f"{spec.train_split}.json"
    files = sorted(img["file_name"] for img in json.loads(ann.read_text())["images"])
    files = files[:max_images]
    stats: dict[str, dict] = {}
    for mod in spec.modalities.values():
        root = (processed_dir / Path(mod.root).relative_to("processed")
                if mod.root.startswith("processed/") else base / mod.root)
        total = np.zeros(3)
        total_sq = np.zeros(3)
        n = 0
        for f in files:
            raw = cv2.imread(str(root / f), cv2.IMREAD_UNCHANGED)
            if raw is None:
                raise FileNotFoundError(f"{root / f}: image missing or unreadable")
            img = to_network_input(raw, mod.kind, value_range=mod.value_range,
                                   upsample=mod.downsample)[..., ::-1].astype(np.float64)
            total += img.sum(axis=(0, 1))
            total_sq += (img ** 2).sum(axis=(0, 1))
            n += img.shape[0] * img.shape[1]
        mean = total / max(n, 1)
        std = np.sqrt(np.maximum(total_sq / max(n, 1) - mean ** 2, 1e-6))
        stats[mod.name] = {"mean": mean.round(4).tolist(), "std": std.round(4).tolist(),
                           "images": len(files)}
    return stats
