"""One demo image in every modality, from its own seed.

Each image draws from generators derived from ``(dataset seed, split, index)`` only, never
from a shared stream, so files are byte-identical whatever the number of worker processes or
the order in which images are produced. Scene sampling, RGB, thermal and depth each get their
own child stream, so a change in one renderer does not reshuffle the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from benchmark.datasets.demo.annotate import PersonLabel, is_annotatable, label_person
from benchmark.datasets.demo.paint_depth import paint_depth
from benchmark.datasets.demo.paint_rgb import paint_rgb
from benchmark.datasets.demo.paint_thermal import paint_thermal
from benchmark.datasets.demo.raster import Raster, rasterize
from benchmark.datasets.demo.scene import Scene, sample_scene

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}


@dataclass(frozen=True)
class RenderedImage:
    """One image: its scene and z-buffer (ground truth), labels and the three raw modalities."""

    scene: Scene
    raster: Raster
    labels: tuple[PersonLabel, ...]
    rgb: np.ndarray  # (H, W, 3) uint8 BGR
    thermal: np.ndarray  # (H, W) uint8
    depth: np.ndarray  # (H, W) uint16 millimetres


def image_streams(seed: int, split: str, index: int) -> list[np.random.Generator]:
    """Independent generators (scene, rgb, thermal, depth) of one image."""
    ss = np.random.SeedSequence(seed, spawn_key=(SPLIT_CODES[split], index))
    return [np.random.default_rng(s) for s in ss.spawn(4)]


def compose_scene(rng: np.random.Generator, width: int, height: int,
                  max_tries: int = 50) -> tuple[Scene, Raster, tuple[PersonLabel, ...]]:
    """Sample a scene and drop people too hidden to annotate (fewer than 5 visible keypoints).

    Dropping a person can reveal people behind them, so rasterisation is repeated until every
    remaining person qualifies; a scene left without people is resampled.
    """
    for _ in range(max_tries):
        scene = sample_scene(rng, width, height)
        persons = scene.persons
        while persons:
            raster = rasterize(scene.camera, persons)
            trial = replace(scene, persons=persons)
            labels = tuple(label_person(trial, raster, i) for i in range(len(persons)))
            keep = tuple(p for p, lab in zip(persons, labels, strict=True)
                         if is_annotatable(lab))
            if len(keep) == len(persons):
                return trial, raster, labels
            persons = keep
    raise RuntimeError(f"no annotatable scene in {max_tries} tries at {width}x{height}")


def render_image(seed: int, split: str, index: int, width: int, height: int,
                 column_offsets: np.ndarray) -> RenderedImage:
    """Render image ``index`` of ``split``: scene, labels and the three raw modalities."""
    scene_rng, rgb_rng, thermal_rng, depth_rng = image_streams(seed, split, index)
    scene, raster, labels = compose_scene(scene_rng, width, height)
    return RenderedImage(scene=scene, raster=raster, labels=labels,
                         rgb=paint_rgb(scene, raster, rgb_rng),
                         thermal=paint_thermal(scene, raster, thermal_rng, column_offsets),
                         depth=paint_depth(scene, raster, depth_rng))
