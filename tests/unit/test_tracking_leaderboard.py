"""Cell runs in a real MLflow (SQLite) store, and the runs table built from them."""

from __future__ import annotations

import csv
import io

import pytest

pytest.importorskip("mlflow")

from benchmark.cells import Cell  # noqa: E402
from benchmark.reports.mlflow_runs import RunsTable, fetch_results  # noqa: E402
from benchmark.tracking import runs  # noqa: E402
from benchmark.tracking.store import init_store  # noqa: E402

EXP = "unit-exp"



def _evaluated(cell: Cell, digest: str, ap: float, half: float | None = None) -> str:
    run_id = runs.open_cell_run(cell.key, digest, experiment=EXP)
    metrics = {"AP": ap, "AP50": ap + 0.1, "AP75": ap - 0.1, "AR": ap + 0.05}
    if half is not None:
        metrics |= {"AP_ci95_low": ap - half, "AP_ci95_high": ap + half}
    runs.log_metrics(run_id, metrics)
    runs.set_tags(run_id, {"mpbench.headline": "AP"})
    runs.finish_run(run_id, "evaluated")
    return run_id


def test_store_lives_under_results(mlflow_store) -> None:
    assert (mlflow_store / "results" / "mlflow" / "mlflow.db").is_file()
    assert init_store(EXP) == init_store(EXP)  # idempotent


def test_same_cell_and_digest_reuses_the_run(mlflow_store) -> None:
    a = runs.open_cell_run("demo/rgb/m", "d1", experiment=EXP)
    b = runs.open_cell_run("demo/rgb/m", "d1", experiment=EXP)
    assert a == b
    assert len(runs.cell_runs("demo/rgb/m", EXP)) == 1


def test_new_digest_supersedes_the_old_run(mlflow_store) -> None:
    old = runs.open_cell_run("demo/rgb/m", "d1", experiment=EXP)
    new = runs.open_cell_run("demo/rgb/m", "d2", experiment=EXP)
    assert old != new
    tags = {r.info.run_id: r.data.tags for r in runs.cell_runs("demo/rgb/m", EXP)}
    assert tags[old][runs.TAG_SUPERSEDED] == new
    assert runs.TAG_SUPERSEDED not in tags[new]


def test_params_are_immutable_but_relogging_is_a_noop(mlflow_store) -> None:
    run_id = runs.open_cell_run("demo/rgb/m", "d1", experiment=EXP)
    runs.log_params(run_id, {"dataset": "demo", "seed": 0})
    runs.log_params(run_id, {"dataset": "demo", "seed": 0})
    with pytest.raises(ValueError, match="params differ"):
        runs.log_params(run_id, {"seed": 1})


def test_leaderboard_tables(mlflow_store) -> None:
    cells = [Cell("demo", "rgb", "a_net"), Cell("demo", "thermal", "a_net"),
             Cell("demo", "rgb", "b_net"), Cell("demo", "thermal", "b_net")]
    _evaluated(cells[0], "x", 0.70, 0.02)
    _evaluated(cells[1], "x", 0.40)
    _evaluated(cells[2], "x", 0.55, 0.03)
    # b_net/thermal evaluated twice (config changed): only the newest run counts.
    _evaluated(cells[3], "old", 0.10)
    newest = _evaluated(cells[3], "new", 0.45)

    results = fetch_results(cells, EXP)
    assert results[cells[3]].run_id == newest
    board = RunsTable.build(cells, results)
    md = board.markdown()
    assert "| model | demo / rgb | demo / thermal |" in md
    assert "| a_net | **70.0 ± 2.0** | 40.0 |" in md
    assert "| b_net | 55.0 ± 3.0 | **45.0** |" in md

    rows = list(csv.DictReader(io.StringIO(board.csv())))
    assert [(r["model"], r["modality"]) for r in rows] == [
        ("a_net", "rgb"), ("a_net", "thermal"), ("b_net", "rgb"), ("b_net", "thermal")]
    assert float(rows[3]["AP"]) == pytest.approx(0.45)
    assert rows[3]["run_id"] == newest
    assert rows[0]["best_in_column"] == "True" and rows[2]["best_in_column"] == "False"
    assert float(rows[0]["headline_ci95_low"]) == pytest.approx(0.68)

    tex = board.latex()
    assert r"a\_net & \textbf{70.0 $\pm$ 2.0} & 40.0 \\" in tex

    out = mlflow_store / "results"
    board.write(out)
    first = (out / "runs.md").read_text()
    RunsTable.build(cells, fetch_results(cells, EXP)).write(out)
    assert (out / "runs.md").read_text() == first  # deterministic, no duplicate rows


def test_missing_cell_shows_a_dash(mlflow_store) -> None:
    cells = [Cell("demo", "rgb", "a_net"), Cell("demo", "depth", "a_net")]
    _evaluated(cells[0], "x", 0.5)
    md = RunsTable.build(cells, fetch_results(cells, EXP)).markdown()
    assert "| a_net | – | 50.0 |" in md
