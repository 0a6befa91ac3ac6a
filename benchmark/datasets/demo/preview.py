"""Contact sheet of a generated demo dataset: every modality of a few images side by side.

Synthetic data is only useful if the people are visible and plausible in every modality; a
contact sheet is the quickest way for a person (or a CI artifact) to check that after changing
the generator or a modality model. Columns: RGB with annotations (green box, keypoints: red
visible, blue occluded), RGB, thermal, depth (colour-mapped, black = invalid), low light (raw
and brightened x8 to show the noise), low-resolution depth upsampled back.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from benchmark.modalities.depth import downsample_depth, upsample_nearest
from benchmark.modalities.derive import lowlight_level_for
from benchmark.modalities.lowlight import simulate_lowlight

COLUMNS = ("annotated", "rgb", "thermal", "depth", "lowlight", "lowlight x8", "depth 8x low-res")


def _depth_colour(depth_mm: np.ndarray) -> np.ndarray:
    scaled = np.clip((depth_mm.astype(np.float32) - 500) / 7500, 0, 1)
    out = cv2.applyColorMap((255 * (1 - scaled)).astype(np.uint8), cv2.COLORMAP_JET)
    out[depth_mm == 0] = 0
    return out


def _annotated(rgb: np.ndarray, anns: list[dict], skeleton: list[list[int]]) -> np.ndarray:
    out = rgb.copy()
    for a in anns:
        k = np.array(a["keypoints"], float).reshape(-1, 3)
        x, y, w, h = a["bbox"]
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 1)
        for i, j in skeleton:
            if k[i - 1, 2] > 0 and k[j - 1, 2] > 0:
                cv2.line(out, (int(k[i - 1, 0]), int(k[i - 1, 1])),
                         (int(k[j - 1, 0]), int(k[j - 1, 1])), (255, 255, 0), 1, cv2.LINE_AA)
        for px, py, v in k[k[:, 2] > 0]:
            cv2.circle(out, (int(px), int(py)), 2, (0, 0, 255) if v == 2 else (255, 0, 0), -1)
    return out


def contact_sheet(root: Path, split: str = "train", n: int = 6, seed: int = 0) -> np.ndarray:
    """A (n * H + header, 7 * W, 3) BGR image for the first ``n`` images of ``split``."""
    coco = json.loads((Path(root) / "annotations" / f"{split}.json").read_text())
    skeleton = coco["categories"][0]["skeleton"]
    rows = []
    for im in coco["images"][:n]:
        files = {m: cv2.imread(str(Path(root) / p), cv2.IMREAD_UNCHANGED)
                 for m, p in im["modalities"].items()}
        rgb, depth = files["rgb"], files["depth"]
        anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(im["id"],)))
        dark = simulate_lowlight(rgb, lowlight_level_for(im["id"]), rng)
        low = upsample_nearest(downsample_depth(depth, 8), depth.shape)
        rows.append(np.hstack([
            _annotated(rgb, anns, skeleton), rgb, cv2.cvtColor(files["thermal"],
                                                               cv2.COLOR_GRAY2BGR),
            _depth_colour(depth), dark, np.clip(dark.astype(np.int32) * 8, 0, 255).astype(
                np.uint8), _depth_colour(low)]))
    sheet = np.vstack(rows)
    header = np.zeros((18, sheet.shape[1], 3), np.uint8)
    for c, name in enumerate(COLUMNS):
        cv2.putText(header, name, (c * rgb.shape[1] + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([header, sheet])


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmark.datasets.demo.preview ROOT OUT.png [--split train] [--n 6]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--split", default="train")
    ap.add_argument("--n", type=int, default=6)
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), contact_sheet(a.root, a.split, a.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
