"""Paired modality comparisons: is one sensor better than another for the same model?

For every (dataset, model) evaluated on two or more modalities of the same scenes (LLVIP-Pose
rgb vs thermal, ExLPose low light vs well lit, MVOR colour vs depth, the demo's five), each
pair of modalities is compared on every evaluation set both were scored on (ground-truth
boxes, official annotations): the two cells' predictions are scored on the images the two
views share, on the *same* bootstrap resamples of those images
(:func:`benchmark.evaluation.compare`), giving the difference B - A of the protocol's
headline, its 95 % interval and a two-sided p-value. Aligned modalities of one instant share
the image id, which is what pairs the images.

Writes ``results/compare/<dataset>.md`` and ``.csv``.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path
from typing import Any

from benchmark.fileio import write_text_atomic
from benchmark.reports.leaderboard import CellMetrics, read_metrics


def _restrict(gt: dict, keep: set) -> dict:
    return {**gt, "images": [i for i in gt["images"] if i["id"] in keep],
            "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]}


def _gt_scores(cell: CellMetrics) -> dict[str, dict[str, Any]]:
    return {s["set"]: s for s in cell.data["scores"].values()
            if s["boxes"] == "gt" and s["annotations"] == "official"}


def compare_pair(a: CellMetrics, b: CellMetrics, eval_set: str, bootstrap: int,
                 seed: int) -> dict[str, Any]:
    """Paired comparison of two cells' predictions on one evaluation set's shared images."""
    from benchmark.datasets import get_spec
    from benchmark.evaluation import compare

    sa, sb = _gt_scores(a)[eval_set], _gt_scores(b)[eval_set]
    gt_a = json.loads(Path(sa["gt_file"]).read_text())
    gt_b = json.loads(Path(sb["gt_file"]).read_text())
    shared = {i["id"] for i in gt_a["images"]} & {i["id"] for i in gt_b["images"]}
    gt = _restrict(gt_a, shared)
    preds = [[p for p in json.loads(Path(s["predictions"]).read_text())
              if p["image_id"] in shared] for s in (sa, sb)]
    spec = get_spec(a.dataset)
    out = compare(a.data["protocol"], gt, preds[0], preds[1], bootstrap=bootstrap, seed=seed,
                  sigmas=list(spec.layout.sigmas))
    factor = a.factor
    return {"dataset": a.dataset, "model": a.data["model"], "set": eval_set,
            "a": a.data["modality"], "b": b.data["modality"], "statistic": out["headline"],
            "value_a": _scaled(out["a"], factor), "value_b": _scaled(out["b"], factor),
            "difference": _scaled(out["difference"], factor),
            "ci95_low": _scaled(out["interval"][0], factor) if out["interval"] else None,
            "ci95_high": _scaled(out["interval"][1], factor) if out["interval"] else None,
            "p_value": out["p_value"], "images": len(shared), "resamples": bootstrap,
            "seed": seed}


def _scaled(v: float | None, factor: float) -> float | None:
    return None if v is None else v * factor


def dataset_comparisons(paths: list[Path], bootstrap: int = 1000, seed: int = 0
                        ) -> dict[str, list[dict[str, Any]]]:
    """``{dataset: rows}`` over every model with two or more modalities."""
    cells = read_metrics(paths)
    groups: dict[tuple[str, str], list[CellMetrics]] = {}
    for cell in cells:
        groups.setdefault((cell.dataset, cell.data["model"]), []).append(cell)
    out: dict[str, list[dict[str, Any]]] = {}
    for (dataset, _model), members in sorted(groups.items()):
        members.sort(key=lambda c: c.data["modality"])
        for a, b in itertools.combinations(members, 2):
            common = [s for s in _gt_scores(a) if s in _gt_scores(b)]
            for eval_set in common:
                out.setdefault(dataset, []).append(compare_pair(a, b, eval_set, bootstrap,
                                                                seed))
    return out


FIELDS = ["dataset", "model", "set", "a", "b", "statistic", "value_a", "value_b", "difference",
          "ci95_low", "ci95_high", "p_value", "images", "resamples", "seed"]


def _fmt(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _p_text(p: float | None, resamples: int) -> str:
    """The p-value, or ``≤ floor`` when no resample crossed zero: with N resamples the
    smallest p the bootstrap can give is 2 / (N + 1)."""
    if p is None:
        return "–"
    floor = 2 / (resamples + 1)
    return f"≤ {floor:.3g}" if p <= floor * (1 + 1e-9) else f"{p:.3f}"


def markdown(dataset: str, rows: list[dict[str, Any]]) -> str:
    stat = rows[0]["statistic"] if rows else ""
    lines = [f"# {dataset}: paired modality comparisons", "",
             "| model | set | A | B | A value | B value | B - A | 95 % CI | p | images |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ci = (f"[{_fmt(r['ci95_low'])}, {_fmt(r['ci95_high'])}]"
              if r["ci95_low"] is not None else "–")
        p = _p_text(r["p_value"], r["resamples"])
        lines.append(f"| {r['model']} | {r['set']} | {r['a']} | {r['b']} | "
                     f"{_fmt(r['value_a'])} | {_fmt(r['value_b'])} | {_fmt(r['difference'])} | "
                     f"{ci} | {p} | {r['images']} |")
    resamples = rows[0]["resamples"] if rows else 0
    lines += ["", f"{stat} in percent with ground-truth boxes on the official annotations, "
              "on the images both modalities have (the same instants). B - A with a 95 % "
              f"interval and a two-sided p-value from {resamples} paired bootstrap resamples "
              "of those images (both cells scored on the same resamples).", ""]
    return "\n".join(lines)


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r[k] is None else r[k]) for k in FIELDS})
    return buf.getvalue()


def write_comparisons(paths: list[Path], out_dir: Path, datasets: list[str] | None = None,
                      bootstrap: int = 1000, seed: int = 0) -> list[Path]:
    """Write ``<dataset>.md`` and ``.csv`` for each dataset (an empty table when a dataset
    has no model with two modalities, so a rule's declared outputs always exist)."""
    found = dataset_comparisons(paths, bootstrap, seed)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    for dataset in datasets or sorted(found):
        rows = found.get(dataset, [])
        for ext, text in (("md", markdown(dataset, rows)), ("csv", to_csv(rows))):
            written.append(write_text_atomic(out_dir / f"{dataset}.{ext}", text))
    return written
