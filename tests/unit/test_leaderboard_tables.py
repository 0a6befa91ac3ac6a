"""The per-protocol leaderboard built from the cells' metrics.json files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from benchmark.models.evaluate import ScoreKey, mlflow_metrics
from benchmark.reports.leaderboard import Leaderboard, LeaderboardError


def _score(eval_set: str, stats: dict, boxes: str = "gt", annotations: str = "official",
           half: float | None = None) -> dict:
    return {"set": eval_set, "split": eval_set, "images": None, "boxes": boxes,
            "annotations": annotations, "gt_file": f"gt/{eval_set}.json", "gt_sha256": "ab" * 32,
            "predictions": f"p/{eval_set}.json", "predictions_sha256": "cd" * 32,
            "stats": stats,
            "intervals": {k: [v - half, v + half] for k, v in stats.items()} if half else {},
            "units": 10}


def _metrics(tmp: Path, dataset: str, modality: str, model: str, protocol: str, headline: str,
             scale: str, scores: list[dict]) -> Path:
    labels = [ScoreKey(s["set"], s["boxes"], s["annotations"]).label for s in scores]
    data = {"cell": f"{dataset}/{modality}/{model}", "dataset": dataset, "modality": modality,
            "model": model, "run_id": f"run-{modality}-{model}", "protocol": protocol,
            "headline": headline, "scale": scale, "bootstrap": 200, "seed": 0,
            "primary": labels[0], "scores": dict(zip(labels, scores))}
    path = tmp / dataset / modality / model / "metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    coco = {"AP": 0.5, "AP50": 0.8, "AP75": 0.45, "AR": 0.6, "APm": 0.4}
    return [
        _metrics(tmp_path, "llvip_pose", "thermal", "hrnet", "coco", "AP", "fraction",
                 [_score("test", coco, half=0.02),
                  _score("test", {**coco, "AP": 0.45}, boxes="det:llvip_nms50"),
                  _score("test", {**coco, "AP": 0.52}, annotations="qa"),
                  _score("test_13kpts", {**coco, "AP": 0.55})]),
        _metrics(tmp_path, "llvip_pose", "rgb", "hrnet", "coco", "AP", "fraction",
                 [_score("test", {**coco, "AP": 0.3}, half=0.03),
                  _score("test", {**coco, "AP": 0.25}, boxes="det:llvip_nms50"),
                  _score("test_13kpts", {**coco, "AP": 0.35})]),
        _metrics(tmp_path, "mvor", "depth", "hrnet", "mvor-pck", "Mean", "percent",
                 [_score("test", {"Mean": 61.25, "Head": 80.0, "Shoulder": 70.0, "Hip": 40.0,
                                  "Elbow": 60.0, "Wrist": 56.25, "joint/head": 81.0})]),
    ]


def test_each_dataset_gets_its_protocols_statistics_and_caption(files) -> None:
    md = Leaderboard.from_files(files).markdown()
    assert "## llvip_pose (coco: AP)" in md and "## mvor (mvor-pck: Mean)" in md
    # overview: one column per evaluation set and box source, GT boxes first, then QA
    assert ("| model | modality | test · GT boxes | test · det:llvip_nms50 | "
            "test · GT boxes · QA annotations | test_13kpts · GT boxes |") in md
    assert "| hrnet | thermal | **50.0 ± 2.0** | **45.0** | 52.0 | **55.0** |" in md
    assert "| hrnet | thermal | **50.0** | **80.0** | **45.0** | **60.0** |" in md  # ties
    assert "| hrnet | rgb | 30.0 ± 3.0 | 25.0 | – | 35.0 |" in md
    assert "OKS keypoint AP and AR (COCO protocol, pycocotools)" in md
    assert "PCK@0.2 on MVOR's 10 upper-body joints" in md
    assert "AP (OKS, COCO protocol)" not in md.split("## mvor")[1]
    # detail tables: the protocol's own statistics, values of a percent protocol unscaled
    assert "| model | modality | Mean | Head | Shoulder | Hip | Elbow | Wrist |" in md
    assert "| hrnet | depth | 61.2 | 80.0 | 70.0 | 40.0 | 60.0 | 56.2 |" in md
    assert "| model | modality | AP | AP50 | AP75 | AR |" in md


def test_csv_is_long_format_for_pandas(files) -> None:
    rows = list(csv.DictReader(io.StringIO(Leaderboard.from_files(files).csv())))
    thermal_det = [r for r in rows if r["cell"] == "llvip_pose/thermal/hrnet"
                   and r["boxes"] == "det:llvip_nms50" and r["statistic"] == "AP"]
    assert len(thermal_det) == 1 and float(thermal_det[0]["value"]) == 0.45
    ap = next(r for r in rows if r["cell"] == "llvip_pose/thermal/hrnet" and r["set"] == "test"
              and r["boxes"] == "gt" and r["annotations"] == "official"
              and r["statistic"] == "AP")
    assert (float(ap["ci95_low"]), float(ap["ci95_high"])) == pytest.approx((0.48, 0.52))
    assert ap["gt_sha256"] == "ab" * 32 and ap["run_id"] == "run-thermal-hrnet"
    # every statistic of every score, one row each
    assert len(rows) == 5 * 4 + 5 * 3 + 7
    assert {r["annotations"] for r in rows} == {"official", "qa"}


def test_latex_has_a_column_group_per_set_and_box_source(files) -> None:
    tex = Leaderboard.from_files(files).latex()
    assert r"\multicolumn{4}{c}{test / det:llvip\_nms50}" in tex
    assert r"\multicolumn{6}{c}{test / GT boxes}" in tex  # mvor: Mean + five groups
    assert tex.count(r"\begin{tabular}") == 2


def test_a_file_that_is_not_a_metrics_file_is_named(tmp_path) -> None:
    bad = tmp_path / "metrics.json"
    bad.write_text(json.dumps({"cell": "x", "stats": {}}))
    with pytest.raises(LeaderboardError, match=r"metrics.json: not a cell metrics file"):
        Leaderboard.from_files([bad])
    with pytest.raises(LeaderboardError, match="not found"):
        Leaderboard.from_files([tmp_path / "nope.json"])


def test_mlflow_names_are_split_prefixed_plus_the_primary_headline(files) -> None:
    data = json.loads(files[0].read_text())
    names = mlflow_metrics(data)
    assert names["test/AP"] == 0.5 and names["test_13kpts/AP"] == 0.55
    assert names["test/det:llvip_nms50/AP"] == 0.45 and names["test/qa/AP"] == 0.52
    assert names["AP"] == 0.5 and names["AP_ci95_low"] == pytest.approx(0.48)
    assert "AP50" not in names  # only the headline is repeated under its plain name
    crowd = mlflow_metrics({**data, "headline": "AP", "scores": {
        "test": _score("test", {"AP": 0.1, "AP(E)": 0.2})}, "primary": "test"})
    assert crowd["test/AP_E_"] == 0.2
