"""Robustness curves: a model's headline against an ordered ladder of conditions.

Two ladders, wherever a benchmark has their rungs:

- **low light** (normal, hard, extreme). From per-level evaluation subsets of *one* cell:
  ExLPose's LL-N / LL-H / LL-E sets are scored as such (``test_ll_n`` ...); a derived
  low-light modality (the demo's) records each image's level in the preprocess stage's
  ``manifest.json``, and the cell's primary score is recomputed on each level's images (same
  predictions, same protocol, bootstrap interval over that level's images).
- **depth resolution** (full, then each low-resolution depth modality by its subsampling
  factor). One point per cell of the same model on the dataset's depth modalities (the
  demo's depth and depth_lowres; MVOR's depth, 80x60 and 64x48), each its primary score.

Each (dataset, ladder) becomes ``results/curves/<dataset>.<ladder>.csv`` (model, level,
statistic, value, interval, where the value comes from) and a chart in the HTML report.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.fileio import write_text_atomic
from benchmark.reports.cell_metrics import CellMetrics

LOWLIGHT_LEVELS = ("normal", "hard", "extreme")
#: ExLPose-style evaluation sets of each low-light level.
LEVEL_SETS = {"normal": "test_ll_n", "hard": "test_ll_h", "extreme": "test_ll_e"}
FIELDS = ["dataset", "ladder", "model", "level", "statistic", "value", "ci95_low",
          "ci95_high", "source"]


@dataclass(frozen=True)
class Point:
    model: str
    level: str
    value: float | None
    low: float | None
    high: float | None
    source: str


@dataclass(frozen=True)
class Curve:
    dataset: str
    ladder: str  # "lowlight" or "depth_resolution"
    statistic: str
    levels: tuple[str, ...]
    points: tuple[Point, ...]

    @property
    def models(self) -> list[str]:
        return sorted({p.model for p in self.points})


def _primary(cell: CellMetrics) -> dict[str, Any]:
    return cell.data["scores"][cell.data["primary"]]


def _scaled(cell: CellMetrics, stat: str, score: dict[str, Any]) -> tuple:
    f = cell.factor
    value = score["stats"].get(stat)
    lo, hi = score.get("intervals", {}).get(stat, (None, None))
    return tuple(None if v is None or v != v else v * f for v in (value, lo, hi))


def _level_of_images(cell: CellMetrics, data_root: Path) -> dict[int, str] | None:
    from benchmark.datasets import get_spec

    spec = get_spec(cell.dataset)
    mod = spec.modality(cell.data["modality"])
    manifest = spec.dataset_dir(data_root) / "processed" / mod.name / "manifest.json"
    if mod.kind != "lowlight" or not manifest.is_file():
        return None
    images = json.loads(manifest.read_text()).get("images", {})
    return {int(v["image_id"]): v["level"] for v in images.values() if "level" in v}


def _lowlight_points(cell: CellMetrics, data_root: Path, bootstrap: int, seed: int
                     ) -> list[Point]:
    sets = {s["set"]: s for s in cell.data["scores"].values()
            if s["boxes"] == "gt" and s["annotations"] == "official"}
    stat = cell.data["headline"]
    model = cell.data["model"]
    if all(LEVEL_SETS[level] in sets for level in LOWLIGHT_LEVELS):
        return [Point(model, level, *_scaled(cell, stat, sets[LEVEL_SETS[level]]),
                      source=f"set {LEVEL_SETS[level]}") for level in LOWLIGHT_LEVELS]
    levels = _level_of_images(cell, data_root)
    if not levels:
        return []
    from benchmark.datasets import get_spec
    from benchmark.evaluation import evaluate

    primary = _primary(cell)
    gt = json.loads(Path(primary["gt_file"]).read_text())
    preds = json.loads(Path(primary["predictions"]).read_text())
    sigmas = list(get_spec(cell.dataset).layout.sigmas)
    out = []
    for level in LOWLIGHT_LEVELS:
        keep = {i["id"] for i in gt["images"] if levels.get(i["id"]) == level}
        if not keep:
            continue
        sub = {**gt, "images": [i for i in gt["images"] if i["id"] in keep],
               "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]}
        result = evaluate(cell.data["protocol"], sub,
                          [p for p in preds if p["image_id"] in keep], sigmas=sigmas,
                          bootstrap=bootstrap, seed=seed)
        score = {"stats": result.stats, "intervals": result.intervals}
        out.append(Point(model, level, *_scaled(cell, stat, score),
                         source=f"{primary['set']} images of level {level} "
                                f"({len(keep)} images)"))
    return out


def _depth_levels(dataset: str) -> list[str]:
    """The dataset's depth modalities, full resolution first, then by subsampling factor."""
    from benchmark.datasets import get_spec

    mods = [m for m in get_spec(dataset).modalities.values() if m.kind == "depth"]
    return [m.name for m in sorted(mods, key=lambda m: (m.downsample, m.name))]


def build_curves(cells: list[CellMetrics], data_root: Path = Path("data"), *,
                 bootstrap: int = 200, seed: int = 0) -> list[Curve]:
    """Every ladder the cells have at least two rungs of."""
    mine = [c for c in cells if "trained_on" not in c.data]
    out: list[Curve] = []
    for dataset in sorted({c.dataset for c in mine}):
        ds_cells = [c for c in mine if c.dataset == dataset]
        stat = ds_cells[0].data["headline"]
        points = [p for c in ds_cells for p in _lowlight_points(c, data_root, bootstrap, seed)]
        if len({p.level for p in points}) >= 2:
            out.append(Curve(dataset, "lowlight", stat, LOWLIGHT_LEVELS, tuple(points)))
        levels = _depth_levels(dataset)
        depth = [Point(c.data["model"], c.data["modality"], *_scaled(c, stat, _primary(c)),
                       source=f"cell {c.data['cell']}")
                 for c in ds_cells if c.data["modality"] in levels]
        by_model: dict[str, int] = {}
        for p in depth:
            by_model[p.model] = by_model.get(p.model, 0) + 1
        depth = [p for p in depth if by_model[p.model] >= 2]
        if depth:
            used = [m for m in levels if any(p.level == m for p in depth)]
            out.append(Curve(dataset, "depth_resolution", stat, tuple(used), tuple(depth)))
    return out


def write_curves(curves: list[Curve], out_dir: Path) -> list[Path]:
    """``out_dir/<dataset>.<ladder>.csv`` per curve. ``out_dir`` is created even when no
    ladder applies (e.g. a matrix of RGB cells only): the workflow's report rule declares it
    as an output, and a missing folder would fail the job after the report was written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for curve in curves:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        order = {level: i for i, level in enumerate(curve.levels)}
        for p in sorted(curve.points, key=lambda p: (p.model, order.get(p.level, 99))):
            writer.writerow({"dataset": curve.dataset, "ladder": curve.ladder,
                             "model": p.model, "level": p.level,
                             "statistic": curve.statistic,
                             **{k: "" if v is None else f"{v:.6g}" for k, v in
                                (("value", p.value), ("ci95_low", p.low),
                                 ("ci95_high", p.high))},
                             "source": p.source})
        written.append(write_text_atomic(out_dir / f"{curve.dataset}.{curve.ladder}.csv",
                                         buf.getvalue()))
    return written
