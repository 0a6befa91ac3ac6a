"""Leaderboard: MLflow runs of the benchmark -> Markdown, CSV and LaTeX tables.

The tables are built from the tracking store, not from files on disk, so that they show exactly
what ``mlflow ui`` shows. Per cell only the newest evaluated run counts (a retried or
re-configured cell never yields two rows), and the output order is fixed (models sorted,
columns in matrix order) so that re-running produces identical files.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.tracking.runs import TAG_CELL, TAG_STATE, with_retry
from benchmark.tracking.store import DEFAULT_EXPERIMENT, tracking_uri
from benchmark.workflow.matrix import Cell

CSV_METRICS = ("AP", "AP50", "AP75", "AR")


@dataclass
class CellResult:
    cell: Cell
    run_id: str
    headline: str
    metrics: dict[str, float] = field(default_factory=dict)
    #: "fraction" (OKS AP in [0, 1], shown in percent) or "percent" (PCK, mAP)
    scale: str = "fraction"
    start_time: int = 0

    @property
    def value(self) -> float:
        return self.metrics.get(self.headline, math.nan)

    @property
    def half_width(self) -> float | None:
        lo = self.metrics.get(f"{self.headline}_ci95_low")
        hi = self.metrics.get(f"{self.headline}_ci95_high")
        return None if lo is None or hi is None else (hi - lo) / 2


def fetch_results(cells: list[Cell],
                  experiment: str = DEFAULT_EXPERIMENT) -> dict[Cell, CellResult]:
    """Newest evaluated run per requested cell (one query for the whole experiment)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri())
    exp = with_retry(client.get_experiment_by_name, experiment)
    if exp is None:
        return {}
    wanted = {c.key: c for c in cells}
    out: dict[Cell, CellResult] = {}
    token = None
    while True:
        page = with_retry(client.search_runs, [exp.experiment_id],
                          filter_string=f"tags.`{TAG_STATE}` = 'evaluated'",
                          max_results=5000, page_token=token)
        for run in page:
            cell = wanted.get(run.data.tags.get(TAG_CELL, ""))
            if cell is None:
                continue
            tags = run.data.tags
            res = CellResult(cell, run.info.run_id, tags.get("mpbench.headline", "AP"),
                             dict(run.data.metrics), tags.get("mpbench.scale", "fraction"),
                             run.info.start_time or 0)
            prev = out.get(cell)
            if prev is None or (res.start_time, res.run_id) > (prev.start_time, prev.run_id):
                out[cell] = res
        token = page.token
        if not token:
            return out


@dataclass
class Leaderboard:
    models: list[str]
    columns: list[tuple[str, str]]  # (dataset, modality)
    results: dict[Cell, CellResult]

    @classmethod
    def build(cls, cells: list[Cell], results: dict[Cell, CellResult]) -> Leaderboard:
        models = sorted({c.model for c in cells})
        columns = sorted({(c.dataset, c.modality) for c in cells})
        return cls(models, columns, results)

    def get(self, model: str, col: tuple[str, str]) -> CellResult | None:
        return self.results.get(Cell(col[0], col[1], model))

    def best(self, col: tuple[str, str]) -> float | None:
        vals = [r.value for m in self.models if (r := self.get(m, col)) and not math.isnan(r.value)]
        return max(vals) if vals else None

    def _cell_text(self, model: str, col: tuple[str, str], bold: tuple[str, str],
                   pm: str) -> str:
        r = self.get(model, col)
        if r is None or math.isnan(r.value):
            return "–"
        scale = 100.0 if r.scale == "fraction" else 1.0  # everything shown in percent
        text = f"{r.value * scale:.1f}"
        if r.half_width is not None:
            text += f"{pm}{r.half_width * scale:.1f}"
        best = self.best(col)
        if best is not None and r.value == best and len(self.models) > 1:
            text = f"{bold[0]}{text}{bold[1]}"
        return text

    def markdown(self) -> str:
        head = ["model", *(f"{d} / {m}" for d, m in self.columns)]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for model in self.models:
            row = [model, *(self._cell_text(model, c, ("**", "**"), " ± ") for c in self.columns)]
            lines.append("| " + " | ".join(row) + " |")
        note = ("AP (OKS, COCO protocol) in percent on each dataset's evaluation split; "
                "± is the half-width of the 95 % bootstrap interval over images; "
                "**bold** = best in its column.")
        return "\n".join(["# mpbench leaderboard", "", *lines, "", note, ""])

    def latex(self) -> str:
        cols = "l" + "c" * len(self.columns)
        head = " & ".join(["Model", *(f"{_tex(d)} / {_tex(m)}" for d, m in self.columns)])
        body = [" & ".join([_tex(m), *(self._cell_text(m, c, (r"\textbf{", "}"), r" $\pm$ ")
                                       for c in self.columns)]) + r" \\" for m in self.models]
        return "\n".join([r"\begin{tabular}{" + cols + "}", r"\toprule", head + r" \\",
                          r"\midrule", *body, r"\bottomrule", r"\end{tabular}", ""])

    def csv(self) -> str:
        buf = io.StringIO()
        fields = ["model", "dataset", "modality", "headline", *CSV_METRICS,
                  "headline_ci95_low", "headline_ci95_high", "best_in_column", "run_id"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for model in self.models:
            for col in self.columns:
                r = self.get(model, col)
                row = {"model": model, "dataset": col[0], "modality": col[1]}
                if r is not None:
                    row |= {"headline": r.headline, "run_id": r.run_id,
                            "best_in_column": r.value == self.best(col)}
                    row |= {k: _num(r.metrics.get(k)) for k in CSV_METRICS}
                    row["headline_ci95_low"] = _num(r.metrics.get(f"{r.headline}_ci95_low"))
                    row["headline_ci95_high"] = _num(r.metrics.get(f"{r.headline}_ci95_high"))
                writer.writerow(row)
        return buf.getvalue()

    def write(self, out_dir: Path, stem: str = "leaderboard") -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for ext, text in (("md", self.markdown()), ("csv", self.csv()), ("tex", self.latex())):
            path = out_dir / f"{stem}.{ext}"
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
            paths.append(path)
        return paths


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _tex(s: str) -> str:
    return s.replace("_", r"\_")
