"""The HTML report (``results/report/index.html``) and its parts: :mod:`.instances` (matching
predictions to people, per image and per joint), :mod:`.charts` (matplotlib SVG),
:mod:`.gallery` (images drawn on each cell's modality), :mod:`.page` (the page)."""

from __future__ import annotations

from pathlib import Path

from benchmark.fileio import write_text_atomic


def build_report(metrics: list[Path], out: Path, *, compare_dir: Path = Path("results/compare"),
                 paper_dir: Path = Path("results/paper"),
                 curves_dir: Path = Path("results/curves"), data_root: Path = Path("data"),
                 bootstrap: int = 200, seed: int = 0) -> tuple[Path, list[Path]]:
    """Write the report and the robustness curves' CSV files; returns their paths."""
    from benchmark.reports.cell_metrics import read_metrics
    from benchmark.reports.curves import build_curves, write_curves
    from benchmark.reports.html.page import render

    cells = read_metrics(metrics)
    curves = build_curves(cells, data_root, bootstrap=bootstrap, seed=seed)
    curve_files = write_curves(curves, curves_dir)
    html = render(cells, curves, compare_dir=compare_dir, paper_dir=paper_dir,
                  data_root=data_root)
    written = write_text_atomic(out, html)
    written.chmod(0o644)  # a page to share (the atomic writer's temporary file is 0600)
    return written, curve_files
