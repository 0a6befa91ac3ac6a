"""Replicate cells (seeds) on the leaderboard: mean, across-seed sd, pooled interval."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from benchmark.evaluation import evaluate
from benchmark.reports.leaderboard import Leaderboard
from tests.conftest import REPO, missing_fixture

GT = REPO.parent / "shared" / "fixtures" / "real" / "mmpose" / "tests" / "data" / "coco" / \
    "test_coco.json"


def _predictions(gt: dict, jitter: float, seed: int) -> list[dict]:
    """The ground truth poses moved by up to ``jitter`` pixels (a model of some accuracy)."""
    rng = random.Random(seed)
    out = []
    for a in gt["annotations"]:
        if a["num_keypoints"] == 0:
            continue
        kp = [v + rng.uniform(-jitter, jitter) if i % 3 != 2 else 1.0
              for i, v in enumerate(a["keypoints"])]
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": kp,
                    "score": 0.5 + 0.5 * rng.random()})
    return out


def _cell_metrics(tmp: Path, seed: int, preds: list[dict], bootstrap: int) -> Path:
    pred = tmp / f"s{seed}.keypoints.json"
    pred.write_text(json.dumps(preds))
    res = evaluate("coco", GT, pred, bootstrap=bootstrap, seed=0)
    metrics = {
        "cell": f"demo/rgb/net@s{seed}", "dataset": "demo", "modality": "rgb", "model": "net",
        "replicate_seed": seed, "replicate_of": "demo/rgb/net", "run_id": f"r{seed}",
        "protocol": "coco", "headline": "AP", "scale": "fraction", "bootstrap": bootstrap,
        "seed": 0, "primary": "val",
        "scores": {"val": {"set": "val", "split": "val", "images": None, "boxes": "gt",
                           "annotations": "official", "gt_file": str(GT), "gt_sha256": "x",
                           "predictions": str(pred), "predictions_sha256": "y",
                           "stats": res.stats, "intervals": {k: list(v) for k, v in
                                                             res.intervals.items()}}}}
    path = tmp / f"s{seed}.metrics.json"
    path.write_text(json.dumps(metrics))
    return path


@pytest.fixture()
def gt() -> dict:
    if not GT.is_file():
        missing_fixture(str(GT))
    return json.loads(GT.read_text())


def test_replicates_merge_into_one_row(tmp_path, gt) -> None:
    files = [_cell_metrics(tmp_path, s, _predictions(gt, 8.0, s), 50) for s in (0, 1, 2)]
    singles = [json.loads(f.read_text())["scores"]["val"]["stats"]["AP"] for f in files]
    assert len(set(singles)) == 3  # the seeds really differ
    board = Leaderboard.from_files(files).boards[0]
    assert len(board.cells) == 1
    merged = board.cells[0].data
    assert merged["replicates"]["seeds"] == [0, 1, 2]
    score = merged["scores"]["val"]
    assert score["stats"]["AP"] == pytest.approx(np.mean(singles), abs=1e-12)
    assert score["seed_std"]["AP"] == pytest.approx(np.std(singles, ddof=1), abs=1e-12)
    lo, hi = score["intervals"]["AP"]
    assert lo < score["stats"]["AP"] < hi
    md = Leaderboard.from_files(files).markdown()
    assert "| net (seeds 0,1,2) | rgb |" in md
    assert f"(sd {np.std(singles, ddof=1) * 100:.1f})" in md
    csv_rows = Leaderboard.from_files(files).csv().splitlines()
    assert any(",0 1 2," in r for r in csv_rows)


def test_identical_replicates_keep_the_single_cells_interval(tmp_path, gt) -> None:
    """Pooling copies of one prediction set changes nothing: the same mean, sd 0 and exactly
    the single cell's bootstrap interval (same resamples)."""
    preds = _predictions(gt, 8.0, 0)
    files = [_cell_metrics(tmp_path, s, preds, 50) for s in (0, 1)]
    single = json.loads(files[0].read_text())["scores"]["val"]
    merged = Leaderboard.from_files(files).boards[0].cells[0].data["scores"]["val"]
    assert merged["stats"]["AP"] == pytest.approx(single["stats"]["AP"], abs=1e-12)
    assert merged["seed_std"]["AP"] == 0
    assert merged["intervals"]["AP"] == pytest.approx(single["intervals"]["AP"], abs=1e-12)


def test_cells_without_seeds_and_transfers_stay_single_rows(tmp_path, gt) -> None:
    """Two cross-dataset scores of one cell (same ``cell`` key, other targets) and a plain
    cell are three rows, never merged."""
    preds = _predictions(gt, 8.0, 0)
    files = []
    for i, target in enumerate(("llvip_pose", "mpii", None)):
        (tmp_path / str(i)).mkdir()
        path = _cell_metrics(tmp_path / str(i), 0, preds, 0)
        data = json.loads(path.read_text())
        data |= {"replicate_seed": None, "replicate_of": "demo/rgb/net", "cell": "demo/rgb/net"}
        if target:
            data |= {"trained_on": "demo/rgb/net", "dataset": target,
                     "model": "net (from demo/rgb)"}
        path.write_text(json.dumps(data))
        files.append(path)
    board = Leaderboard.from_files(files)
    assert sorted(len(b.cells) for b in board.boards) == [1, 1, 1]
    assert not any(c.data.get("replicates") for b in board.boards for c in b.cells)
