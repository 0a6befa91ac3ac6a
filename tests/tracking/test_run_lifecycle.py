"""A cell's run across config changes, in one process (the default SQLite store)."""

from __future__ import annotations

import logging

import pytest

pytest.importorskip("mlflow")

from benchmark.cells import Cell  # noqa: E402
from benchmark.reports.mlflow_runs import fetch_results  # noqa: E402
from benchmark.tracking import runs  # noqa: E402
from benchmark.tracking.store import init_store  # noqa: E402

EXP = "lifecycle"
CELL = Cell("demo", "rgb", "tiny_hrnet")



def _train_and_evaluate(digest: str, ap: float) -> str:
    run_id = runs.open_cell_run(CELL.key, digest, experiment=EXP)
    runs.set_tags(run_id, {runs.TAG_STATE: "training"})
    runs.log_metrics(run_id, {"AP": ap})
    runs.set_tags(run_id, {"mpbench.headline": "AP"})
    runs.finish_run(run_id, "evaluated")
    return run_id


def test_reverted_config_reuses_its_run_and_wins_the_leaderboard(mlflow_store) -> None:
    """d1 -> d2 -> back to d1: the d1 run is reopened, becomes current again (d2 is marked
    superseded by it), and the leaderboard shows its new result, not d2's."""
    r1 = _train_and_evaluate("d1", 0.10)
    r2 = _train_and_evaluate("d2", 0.20)
    assert r1 != r2
    assert fetch_results([CELL], EXP)[CELL].run_id == r2
    again = _train_and_evaluate("d1", 0.30)
    assert again == r1
    tags = {r.info.run_id: r.data.tags for r in runs.cell_runs(CELL.key, EXP)}
    assert runs.TAG_SUPERSEDED not in tags[r1]
    assert tags[r2][runs.TAG_SUPERSEDED] == r1
    result = fetch_results([CELL], EXP)[CELL]
    assert (result.run_id, result.value) == (r1, 0.30)


def test_new_data_version_under_the_same_config_is_a_new_run(mlflow_store) -> None:
    """The data version is part of the run's identity: the same config on new data opens a
    new run (logging its data_version is no "params differ"), the old one is superseded, and
    the old data again reopens the old run."""
    r1 = runs.open_cell_run(CELL.key, "d1", experiment=EXP, data_version="v1")
    runs.log_params(r1, {"config_digest": "d1", "data_version": "v1"})
    r2 = runs.open_cell_run(CELL.key, "d1", experiment=EXP, data_version="v2")
    assert r2 != r1
    runs.log_params(r2, {"config_digest": "d1", "data_version": "v2"})
    with pytest.raises(ValueError, match="params differ"):  # what the identity prevents
        runs.log_params(r1, {"data_version": "v2"})
    tags = {r.info.run_id: r.data.tags for r in runs.cell_runs(CELL.key, EXP)}
    assert tags[r1][runs.TAG_SUPERSEDED] == r2 and tags[r2][runs.TAG_DATA] == "v2"
    assert runs.open_cell_run(CELL.key, "d1", experiment=EXP, data_version="v1") == r1
    # MMPose's validation names (``AP (M)``) are made valid MLflow keys, not refused
    runs.log_metrics(r1, {"train_val/AP (M)": 0.5, "test/AP(E)": 0.25})
    logged = {r.info.run_id: r.data.metrics for r in runs.cell_runs(CELL.key, EXP)}[r1]
    assert logged == {"train_val/AP _M_": 0.5, "test/AP_E_": 0.25}


def test_checkpoints_of_another_identity_are_moved_aside(tmp_path) -> None:
    from benchmark.models.train import SUMMARY, newest_valid_checkpoint, retire_other_identity

    work = tmp_path / "work"
    work.mkdir()
    retire_other_identity(work, {"config_digest": "d1", "data_version": "v1"})
    for name in ("epoch_1.pth", "iter_7.pth", SUMMARY):
        (work / name).write_text("x")
    retire_other_identity(work, {"config_digest": "d1", "data_version": "v1"})  # same: kept
    assert (work / "epoch_1.pth").is_file()
    retire_other_identity(work, {"config_digest": "d1", "data_version": "v2"})
    assert sorted(p.name for p in (work / "previous" / "d1-v1").iterdir()) == \
        sorted(["epoch_1.pth", "iter_7.pth", SUMMARY])
    assert not (work / SUMMARY).exists() and newest_valid_checkpoint(work) is None


def test_reopened_run_that_is_not_evaluated_again_is_not_on_the_leaderboard(mlflow_store) -> None:
    r1 = _train_and_evaluate("d1", 0.10)
    assert runs.open_cell_run(CELL.key, "d1", experiment=EXP) == r1
    runs.set_tags(r1, {runs.TAG_STATE: "training"})
    assert fetch_results([CELL], EXP) == {}


def test_busy_store_is_retried_and_logged(caplog) -> None:
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    with caplog.at_level(logging.INFO, logger="benchmark.tracking.runs"):
        assert runs.with_retry(flaky, base_delay=0.001) == "ok"
    assert len(calls) == 3
    assert sum("retry" in r.getMessage() for r in caplog.records) == 2
    with pytest.raises(ValueError):
        runs.with_retry(lambda: (_ for _ in ()).throw(ValueError("no such run")))


def test_sql_read_of_the_store_matches_search_runs(mlflow_store, monkeypatch) -> None:
    """The leaderboard's SQL fast path returns what MlflowClient.search_runs returns: active
    runs tagged evaluated of this experiment only, latest metric values, NaN kept."""
    import math

    from mlflow.tracking import MlflowClient

    from benchmark.reports import mlflow_runs as lb

    cells = [Cell("demo", m, "net") for m in ("rgb", "thermal", "depth")]
    _train_and_evaluate("d1", 0.1)  # CELL, superseded below
    _train_and_evaluate("d2", 0.2)
    for i, c in enumerate(cells):
        rid = runs.open_cell_run(c.key, "x", experiment=EXP)
        runs.log_metrics(rid, {"AP": 0.1 * i, "AR": float("nan")})
        runs.log_metrics(rid, {"train/loss": 1.0}, step=1)
        runs.log_metrics(rid, {"train/loss": 0.5}, step=2)
        runs.set_tags(rid, {"mpbench.headline": "AP", "mpbench.scale": "fraction"})
        runs.finish_run(rid, "evaluated")
    pending = runs.open_cell_run(cells[0].key, "y", experiment=EXP)  # newer, not evaluated
    runs.log_metrics(pending, {"AP": 0.99})
    client = MlflowClient(runs.tracking_uri())
    deleted = _train_and_evaluate("d3", 0.5)
    client.delete_run(deleted)
    init_store("other")
    other = runs.open_cell_run(cells[1].key, "x", experiment="other")
    runs.log_metrics(other, {"AP": 0.7})
    runs.finish_run(other, "evaluated")

    uri = runs.tracking_uri()

    def norm(rs):
        return sorted((r.run_id, r.start_time, r.end_time,
                       {k: v for k, v in r.tags.items() if k in lb._LEADERBOARD_TAGS},
                       {k: ("nan" if math.isnan(v) else v) for k, v in r.metrics.items()})
                      for r in rs)

    fast = lb._evaluated_runs_sql(uri, EXP)
    slow = lb._evaluated_runs_client(uri, EXP)
    assert fast is not None and len(fast) == 5  # 2 of CELL (d1, d2) + 3 cells
    assert norm(fast) == norm(slow)
    assert deleted not in {r.run_id for r in fast} and pending not in {r.run_id for r in fast}
    assert lb._evaluated_runs_sql(uri, "no-such-experiment") == []
    assert lb._evaluated_runs_sql("http://127.0.0.1:1", EXP) is None

    want = fetch_results([CELL, *cells], EXP)
    monkeypatch.setattr(lb, "_evaluated_runs_sql", lambda *a: None)
    got = fetch_results([CELL, *cells], EXP)
    assert {c: (r.run_id, r.value) for c, r in got.items()} == {
        c: (r.run_id, r.value) for c, r in want.items()}
    assert math.isnan(want[cells[0]].metrics["AR"])
