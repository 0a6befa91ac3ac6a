"""The ``mpbench leaderboard`` command writes its three files into a folder it creates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.reports.leaderboard import Leaderboard


def _metrics(root: Path) -> Path:
    """One evaluated MVOR cell's metrics.json (PCK, percent scale, GT boxes)."""
    stats = {"Mean": 61.25, "Head": 80.0, "Shoulder": 70.0, "Hip": 40.0, "Elbow": 60.0,
             "Wrist": 56.25}
    score = {"set": "test", "split": "test", "images": None, "boxes": "gt",
             "annotations": "official", "gt_file": "gt/test.json", "gt_sha256": "ab" * 32,
             "predictions": "p/test.json", "predictions_sha256": "cd" * 32, "stats": stats,
             "intervals": {"Mean": [59.0, 63.5]}, "units": 10}
    data = {"cell": "mvor/depth/hrnet", "dataset": "mvor", "modality": "depth",
            "model": "hrnet", "run_id": "run-1", "protocol": "mvor-pck", "headline": "Mean",
            "scale": "percent", "bootstrap": 200, "seed": 0, "primary": "test",
            "scores": {"test": score}}
    path = root / "mvor" / "depth" / "hrnet" / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return path


def test_leaderboard_command_creates_a_nested_output_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh clone has no ``results/`` yet: ``--out-dir results/tables/v1`` (two missing
    levels) is created, the md/csv/tex files land in it with the cell's scores, and their
    paths are printed."""
    metrics = _metrics(tmp_path / "cells")
    out = tmp_path / "results" / "tables" / "v1"
    assert main(["leaderboard", "--metrics", str(metrics), "--out-dir", str(out)]) == 0
    paths = [out / f"leaderboard.{ext}" for ext in ("md", "csv", "tex")]
    assert capsys.readouterr().out.splitlines() == [str(p) for p in paths]
    board = Leaderboard.from_files([metrics])
    md, table, tex = (p.read_text() for p in paths)
    assert md == board.markdown() and table == board.csv() and tex == board.latex()
    assert "| hrnet | depth | 61.2 | 80.0 | 70.0 | 40.0 | 60.0 | 56.2 |" in md
    rows = list(csv.DictReader(io.StringIO(table)))
    mean = next(r for r in rows if r["statistic"] == "Mean")
    assert (mean["cell"], float(mean["value"]), float(mean["ci95_low"]),
            float(mean["ci95_high"])) == ("mvor/depth/hrnet", 61.25, 59.0, 63.5)
    assert len(rows) == 6 and tex.count(r"\begin{tabular}") == 1
