"""Generate the synthetic ``demo`` dataset: aligned RGB, thermal and depth images + COCO JSON.

Layout written under ``out_dir`` (file names identical across modalities, so one annotation
file serves all of them)::

    rgb/{split}/{image_id:06d}.png      8-bit BGR
    thermal/{split}/{image_id:06d}.png  8-bit, single channel
    depth/{split}/{image_id:06d}.png    16-bit millimetres, single channel, 0 = invalid
    annotations/{split}.json            COCO keypoints (COCO-17)

The output is a pure function of the arguments except ``workers`` and ``progress``: every
image is rendered from a seed derived from ``(seed, split, index)``, so re-running, or running
with any number of processes, gives byte-identical files (the DVC stage relies on this).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from benchmark.datasets.demo.annotate import coco_annotation
from benchmark.datasets.demo.paint_thermal import fixed_pattern
from benchmark.datasets.demo.render import SPLIT_CODES, render_image
from benchmark.datasets.layouts import COCO17

GENERATOR_VERSION = "1.0.0"
MODALITIES = ("rgb", "thermal", "depth")
#: First image id of each split: ids are unique across splits (at most 99999 per split).
ID_OFFSETS = {"train": 1, "val": 100001, "test": 200001}
MAX_PER_SPLIT = 99_999
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # noisy images: level 1 ~ level 9 size


@dataclass(frozen=True)
class _Task:
    out_dir: str
    seed: int
    split: str
    index: int
    width: int
    height: int

    @property
    def image_id(self) -> int:
        return ID_OFFSETS[self.split] + self.index


@lru_cache(maxsize=4)
def _column_offsets(seed: int, width: int) -> np.ndarray:
    return fixed_pattern(seed, width)


def _write_png(path: Path, img: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), img, _PNG_PARAMS):
        raise OSError(f"could not write {path}")


def _render_task(task: _Task) -> tuple[dict, list[dict]]:
    """Render, write the three PNGs and return the COCO image entry and annotations."""
    img = render_image(task.seed, task.split, task.index, task.width, task.height,
                       _column_offsets(task.seed, task.width))
    file_name = f"{task.split}/{task.image_id:06d}.png"
    out = Path(task.out_dir)
    for modality, pixels in zip(MODALITIES, (img.rgb, img.thermal, img.depth), strict=True):
        _write_png(out / modality / file_name, pixels)
    cam = img.scene.camera
    entry = {"id": task.image_id, "file_name": file_name, "width": task.width,
             "height": task.height, "modalities": {m: f"{m}/{file_name}" for m in MODALITIES},
             "camera": {"fx": cam.f, "fy": cam.f, "cx": cam.cx, "cy": round(cam.cy, 4)}}
    anns = [coco_annotation(lab, task.image_id * 10 + k, task.image_id)
            for k, lab in enumerate(img.labels)]
    return entry, anns


def _init_worker() -> None:
    cv2.setNumThreads(1)  # processes already parallelise; avoid oversubscription


def _run(tasks: list[_Task], workers: int) -> Iterator[tuple[dict, list[dict]]]:
    """Results in task order, from this process or a pool (order-preserving either way)."""
    if workers <= 1:
        yield from map(_render_task, tasks)
        return
    chunk = max(1, len(tasks) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_init_worker) as pool:
        yield from pool.map(_render_task, tasks, chunksize=chunk)


class _Progress:
    """A single self-overwriting stderr line (no dependency on tqdm)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done, self._last = total, enabled, 0, -1

    def step(self, split: str) -> None:
        self.done += 1
        pct = 100 * self.done // max(self.total, 1)
        if self.enabled and (pct != self._last or self.done == self.total):
            self._last = pct
            sys.stderr.write(f"\r[demo] {split:5s} {self.done}/{self.total} images ({pct}%)")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _coco(split: str, images: list[dict], anns: list[dict], seed: int, width: int,
          height: int) -> dict:
    info = {"description": f"mpbench synthetic demo dataset, split {split}",
            "version": GENERATOR_VERSION, "seed": seed, "width": width, "height": height,
            "generator": "benchmark.datasets.demo.generate", "modalities": list(MODALITIES),
            "depth_unit": "mm"}
    return {"info": info, "images": images, "annotations": anns,
            "categories": [COCO17.coco_category()]}


def generate(out_dir: Path, *, seed: int = 0, n_train: int = 300, n_val: int = 50,
             n_test: int = 50, width: int = 320, height: int = 240, workers: int = 1,
             progress: bool = True) -> dict:
    """Write the demo dataset to ``out_dir`` and return a per-split summary.

    The summary has, per split, the number of images, persons (annotations), labelled
    keypoints (v > 0) and visible keypoints (v = 2).
    """
    counts = {"train": n_train, "val": n_val, "test": n_test}
    for split, n in counts.items():
        if not 0 <= n <= MAX_PER_SPLIT:
            raise ValueError(f"n_{split} must be in [0, {MAX_PER_SPLIT}], got {n}")
    if width < 32 or height < 32:
        raise ValueError(f"image size {width}x{height} is too small (min 32x32)")
    out = Path(out_dir)
    tasks = [_Task(str(out), seed, split, i, width, height)
             for split in SPLIT_CODES for i in range(counts[split])]
    per_split: dict[str, tuple[list[dict], list[dict]]] = {s: ([], []) for s in SPLIT_CODES}
    bar = _Progress(len(tasks), progress)
    for task, (entry, anns) in zip(tasks, _run(tasks, workers), strict=True):
        per_split[task.split][0].append(entry)
        per_split[task.split][1].extend(anns)
        bar.step(task.split)
    summary: dict = {"out_dir": str(out), "seed": seed, "version": GENERATOR_VERSION,
                     "splits": {}}
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for split, (images, anns) in per_split.items():
        coco = _coco(split, images, anns, seed, width, height)
        (out / "annotations" / f"{split}.json").write_text(json.dumps(coco) + "\n")
        kps = [a["keypoints"][2::3] for a in anns]
        summary["splits"][split] = {
            "images": len(images), "persons": len(anns),
            "keypoints": sum(sum(v > 0 for v in k) for k in kps),
            "visible_keypoints": sum(sum(v == 2 for v in k) for k in kps)}
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.datasets.demo.generate OUT_DIR [--seed ...]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-train", type=int, default=300)
    ap.add_argument("--n-val", type=int, default=50)
    ap.add_argument("--n-test", type=int, default=50)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    summary = generate(a.out_dir, seed=a.seed, n_train=a.n_train, n_val=a.n_val,
                       n_test=a.n_test, width=a.width, height=a.height, workers=a.workers,
                       progress=not a.quiet)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
