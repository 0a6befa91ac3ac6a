"""Re-rendering a generated image's scene, to check files against the ground-truth geometry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from benchmark.datasets.demo.generate import ID_OFFSETS
from benchmark.datasets.demo.paint_thermal import fixed_pattern
from benchmark.datasets.demo.render import RenderedImage, render_image
from benchmark.datasets.layouts import COCO17

#: Fixture types: (root, generate() summary) and (root, COCO dict per split).
SmallDataset = tuple[Path, dict]
GeometryDataset = tuple[Path, dict[str, dict]]


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as bytes, keyed by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def split_index(image: dict) -> tuple[str, int]:
    split = image["file_name"].split("/")[0]
    return split, image["id"] - ID_OFFSETS[split]


def rerender(seed: int, image: dict) -> RenderedImage:
    """The in-memory scene, raster and labels behind a COCO ``images`` entry."""
    split, index = split_index(image)
    return render_image(seed, split, index, image["width"], image["height"],
                        fixed_pattern(seed, image["width"]))


def images_with_people(root: Path, cocos: dict[str, dict], seed: int
                       ) -> Iterator[tuple[dict, list[np.ndarray], RenderedImage, dict]]:
    """(image entry, keypoint arrays (17, 3) per annotation, re-render, loaded files)."""
    for coco in cocos.values():
        by_image: dict[int, list[dict]] = {}
        for a in coco["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        for im in coco["images"]:
            anns = sorted(by_image.get(im["id"], []), key=lambda a: a["id"])
            kps = [np.array(a["keypoints"], float).reshape(COCO17.num_keypoints, 3)
                   for a in anns]
            files = {m: cv2.imread(str(root / p), cv2.IMREAD_UNCHANGED)
                     for m, p in im["modalities"].items()}
            files["anns"] = anns
            yield im, kps, rerender(seed, im), files
