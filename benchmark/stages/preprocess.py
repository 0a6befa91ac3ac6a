"""The preprocess stage: derived modalities, per-modality annotation views, statistics.

Which modalities to derive, from what and with which parameters is read from the dataset spec
(``derived_from``, ``params``); the per-image work is
:func:`benchmark.modalities.derive.derive_modality`, run over a process pool with a progress
line. A derived image is written under the derived modality's root at its source's path (with
a ``.png`` suffix: derived pixels are stored losslessly), its noise seeded by the image id.
Each derived modality gets a ``manifest.json`` (e.g. the low-light level of every image) so
that results can be broken down by level.

The views ``processed/annotations/<modality>/<split>.json`` are the QA'd annotations with each
image's ``file_name`` set to its path under that modality's root, images lacking the modality
left out (e.g. ExLPose-OC has no well-lit partner); ``processed/annotations_official/...`` are
the same views of the released annotations (converted, without QA edits). Cells train on a QA
view by default and are scored on the official views.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from benchmark.datasets.spec import VIEW_DIRS, DatasetSpec, ModalitySpec
from benchmark.modalities.derive import derive_modality
from benchmark.modalities.inputs import to_network_input


def derive_kind(mod: ModalitySpec) -> tuple[str, dict]:
    """The derivation (``derive_modality`` kind and parameters) that produces ``mod``."""
    if mod.kind == "depth" and mod.downsample > 1:
        return "depth_lowres", {"factor": mod.downsample, **mod.params}
    return mod.kind, dict(mod.params)


#: Where each annotation variant's canonical files are (under ``data/<dataset>``), and the
#: stage that writes them.
VARIANT_SOURCES = {"qa": ("qa", "qa"), "official": ("converted", "convert")}


def _variant_splits(spec: DatasetSpec, base: Path, variant: str = "qa") -> dict[str, dict]:
    folder, stage = VARIANT_SOURCES[variant]
    out = {}
    for split in spec.splits:
        ann = base / folder / "annotations" / f"{split}.json"
        if not ann.is_file():
            raise FileNotFoundError(f"{ann}: missing; run `dvc repro {stage}@{spec.name}` first")
        out[split] = json.loads(ann.read_text())
    return out


def derived_path(source_path: str) -> str:
    return str(Path(source_path).with_suffix(".png").as_posix())


def modality_paths(spec: DatasetSpec, image: dict) -> dict[str, str]:
    """Every modality's path of one canonical image, derived modalities included."""
    paths = dict(image["modality_paths"])
    for name, mod in spec.modalities.items():
        if mod.derived_from is not None and mod.derived_from in paths:
            paths[name] = derived_path(paths[mod.derived_from])
    return paths


def _derive_one(job: tuple) -> tuple[str, dict]:
    kind, src, dst, seed, params = job
    meta = derive_modality(kind, src, dst, rng_seed=seed, **params)
    return str(dst), {k: v for k, v in meta.items() if k not in ("src", "dst")}


def derive_dataset_modalities(spec: DatasetSpec, base: Path, processed: Path, *, seed: int = 0,
                              workers: int = 1) -> dict[str, int]:
    """Derive every ``derived_from`` modality of ``spec`` into ``processed``.

    ``base`` is ``data/<dataset>``. Returns the number of images derived per modality.
    """
    splits = _variant_splits(spec, base)
    counts: dict[str, int] = {}
    for name, mod in spec.modalities.items():
        if mod.derived_from is None:
            continue
        sources: dict[str, int] = {}  # source path -> image id (its noise seed)
        for coco in splits.values():
            for img in coco["images"]:
                src = img["modality_paths"].get(mod.derived_from)
                if src is not None:
                    sources.setdefault(src, int(img["id"]))
        files = sorted(sources)
        src_root = base / spec.modality(mod.derived_from).root
        dst_root = processed / Path(mod.root).relative_to("processed")
        kind, params = derive_kind(mod)
        jobs = [(kind, src_root / f, dst_root / derived_path(f), seed,
                 {**params, "image_id": sources[f]}) for f in files]
        manifest: dict[str, dict] = {}
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            for i, (_dst, meta) in enumerate(pool.map(_derive_one, jobs, chunksize=16), 1):
                manifest[derived_path(files[i - 1])] = meta
                if i % 25 == 0 or i == len(jobs):
                    print(f"\r[{spec.name}] {name}: {i}/{len(jobs)} images", end="",
                          file=sys.stderr, flush=True)
        print(file=sys.stderr)
        dst_root.mkdir(parents=True, exist_ok=True)
        (dst_root / "manifest.json").write_text(json.dumps(
            {"derived_from": mod.derived_from, "kind": kind, "params": params, "seed": seed,
             "images": manifest}, indent=1, sort_keys=True))
        counts[name] = len(jobs)
    return counts


def write_views(spec: DatasetSpec, base: Path, processed: Path) -> dict[str, dict[str, int]]:
    """The per-modality views of every split, of both annotation variants
    (:data:`~benchmark.datasets.spec.VIEW_DIRS`); returns the image count per view."""
    counts: dict[str, dict[str, int]] = {}
    for variant, folder in VIEW_DIRS.items():
        for split, coco in _variant_splits(spec, base, variant).items():
            for name, n in _write_split_views(spec, coco, split, processed / folder).items():
                counts.setdefault(f"{variant}/{name}", {})[split] = n
    return counts


def _write_split_views(spec: DatasetSpec, coco: dict, split: str, out_dir: Path
                       ) -> dict[str, int]:
    counts = {}
    for name in spec.modalities:
        images = []
        for img in coco["images"]:
            path = modality_paths(spec, img).get(name)
            if path is not None:
                images.append({**img, "file_name": path})
        keep = {img["id"] for img in images}
        view = {**coco, "images": images,
                "annotations": [a for a in coco["annotations"] if a["image_id"] in keep],
                "info": {**coco.get("info", {}), "modality": name, "split": split}}
        out = out_dir / name / f"{split}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(view))
        counts[name] = len(images)
    return counts


def modality_stats(spec: DatasetSpec, base: Path, *, processed_dir: Path,
                   max_images: int = 200) -> dict[str, dict]:
    """Per-channel mean/std (RGB order, 0-255) of each modality's network input.

    Computed on the first ``max_images`` training images of each modality's view (sorted
    paths: deterministic) exactly as :class:`LoadModalityImage` feeds them to the network.
    """
    stats: dict[str, dict] = {}
    for name, mod in spec.modalities.items():
        view = processed_dir / "annotations" / name / f"{spec.train_split}.json"
        files = sorted(img["file_name"] for img in json.loads(view.read_text())["images"])
        files = files[:max_images]
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
        stats[name] = {"mean": mean.round(4).tolist(), "std": std.round(4).tolist(),
                       "images": len(files)}
    return stats
