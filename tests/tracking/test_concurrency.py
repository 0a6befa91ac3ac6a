"""Many benchmark cell jobs writing to one MLflow store at once, through mpbench's API.

N >= 16 (``MPBENCH_TEST_WRITERS``) writer processes, released together by a barrier, each do
what a cell's training and evaluation jobs log (``_cell_job.run_job``), against (1) the
default SQLite store created by ``init_store`` (as the ``tracking_init`` rule does) and (2) a
real ``mlflow server`` on loopback with a SQLite backend and proxied artifacts in tmp.
Afterwards, through the MLflow client: every run, param, metric (the full per-step history)
and artifact is there, exactly once. Retried jobs (killed, or ended FAILED, then re-run)
resume their run and a changed config supersedes it, so the leaderboard has exactly one row
per cell."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from benchmark.cells import Cell  # noqa: E402
from benchmark.reports.mlflow_runs import RunsTable, fetch_results  # noqa: E402
from benchmark.tracking import runs  # noqa: E402
from benchmark.tracking.store import init_store  # noqa: E402
from tests.tracking import _cell_job  # noqa: E402

N_WRITERS = int(os.environ.get("MPBENCH_TEST_WRITERS", "16"))
JOB_TIMEOUT = 240
BACKENDS = ["sqlite", "server"]


# --------------------------------------------------------------------------- stores

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mlflow_cli() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "mlflow"]


@pytest.fixture(scope="module")
def mlflow_server(module_tmp: Path):
    """``mlflow server`` on 127.0.0.1:<free port>, SQLite backend and artifacts in tmp."""
    root = module_tmp
    port = _free_port()
    log = open(root / "server.log", "w")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # No job runner: by default the server also starts 7 huey consumer processes (GenAI
    # jobs, ~2 s of CPU each) with a store in /dev/shm; tracking does not need them.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    proc = subprocess.Popen(
        [*_mlflow_cli(), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'backend.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "2"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited ({proc.returncode}):\n"
                            + (root / "server.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("mlflow server did not answer /health within 90 s:\n"
                            + (root / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        # The server and its uvicorn workers run in their own process group, led by
        # proc.pid: SIGTERM for a graceful stop, then SIGKILL for anything left in it.
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    """A store initialised as the ``tracking_init`` rule does; returns (uri or None, cwd)."""
    cwd = tmp_path / "repo"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = None
    if request.param == "server":
        uri = request.getfixturevalue("mlflow_server")
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri, cwd


# --------------------------------------------------------------------------- helpers

def _context():
    """Separate writer processes forked from a forkserver that has imported MLflow once
    (each still opens its own store and connections after the barrier): starting 16 fresh
    interpreters that each import MLflow costs ~20 s of CPU on a 2-core machine."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.tracking._cell_job", "benchmark.tracking.runs",
                                "mlflow.tracking", "mlflow.store.tracking.sqlalchemy_store",
                                "mlflow.store.tracking.rest_store"])
    return ctx


def _check_all(client, items: list[tuple], tmp: Path) -> int:
    """_check_run over many runs, a few at a time (each check is ~20 REST calls)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as pool:
        return sum(pool.map(lambda it: _check_run(client, *it, tmp), items))


def _run_jobs(specs: list[dict], *, expect_ok: bool = True) -> list[int]:
    """Start one spawned process per spec, all released at once by a barrier."""
    ctx = _context()
    barrier = ctx.Barrier(len(specs))
    procs = [ctx.Process(target=_cell_job.run_job, args=(s, barrier)) for s in specs]
    for p in procs:
        p.start()
    deadline = time.monotonic() + JOB_TIMEOUT
    for p in procs:
        p.join(max(1.0, deadline - time.monotonic()))
    codes = []
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
        codes.append(p.exitcode)
    if expect_ok:
        assert codes == [0] * len(specs), f"job exit codes: {codes}"
    return codes


def _spec(uri, cwd: Path, exp: str, key: str, digest: str, attempt: str, **extra) -> dict:
    work = cwd / "work_dirs" / key / digest
    return {"cwd": str(cwd), "tracking_uri": uri, "experiment": exp, "key": key,
            "digest": digest, "work": str(work), "out": str(work / f"result-{attempt}.json"),
            **extra}


def _client():
    from mlflow.tracking import MlflowClient

    return MlflowClient(runs.tracking_uri())


def _all_runs(client, exp: str) -> list:
    from mlflow.entities import ViewType

    exp_id = client.get_experiment_by_name(exp).experiment_id
    out, token = [], None
    while True:
        page = client.search_runs([exp_id], run_view_type=ViewType.ALL, max_results=1000,
                                  page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def _check_run(client, run, key: str, digest: str, tmp: Path) -> int:
    """Every param, metric (full history) and artifact of one finished cell run, exactly
    once; returns the number of values checked."""
    want = _cell_job.expected(key, digest)
    rid = run.info.run_id
    assert run.info.status == "FINISHED", (key, run.info.status)
    assert run.info.lifecycle_stage == "active"
    tags = run.data.tags
    assert tags[runs.TAG_CELL] == key and tags[runs.TAG_DIGEST] == digest
    assert tags[runs.TAG_STATE] == "evaluated" and tags["mpbench.headline"] == "AP"
    assert run.data.params == want["params"]
    checked = len(want["params"])

    last = {k: h[-1][1] for k, h in want["history"].items()}
    assert run.data.metrics == want["final"] | last
    for name, hist in want["history"].items():
        got = sorted((m.step, m.value) for m in client.get_metric_history(rid, name))
        assert got == hist, (key, name, got)  # every epoch, none twice
        checked += len(got)
    for name, value in want["final"].items():
        got = [(m.step, m.value) for m in client.get_metric_history(rid, name)]
        assert got == [(0, value)], (key, name, got)
        checked += 1

    dst = tmp / rid
    dst.mkdir(parents=True)
    root = Path(client.download_artifacts(rid, "", str(dst)))
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["config/config.py", "metrics/metrics.json",
                     "predictions/predictions.keypoints.json"], (key, files)
    assert f"config_digest = {digest!r}" in (root / "config/config.py").read_text()
    assert json.loads((root / "metrics/metrics.json").read_text()) == {
        "cell": key, "run_id": rid, "stats": want["final"]}
    pred = json.loads((root / "predictions/predictions.keypoints.json").read_text())
    assert pred[0]["score"] == want["final"]["AP"]
    checked += len(files)
    return checked


def _leaderboard(exp: str, keys: list[str]) -> tuple[dict, list[dict], str]:
    cells = sorted(Cell(*k.split("/")) for k in keys)
    results = fetch_results(cells, exp)
    board = RunsTable.build(cells, results)
    rows = [r for r in csv.DictReader(io.StringIO(board.csv())) if r["run_id"]]
    return results, rows, board.markdown()


# --------------------------------------------------------------------------- tests

def test_many_concurrent_writers_lose_nothing(store, tmp_path) -> None:
    uri, cwd = store
    exp = "concurrency"
    init_store(exp)  # the tracking_init rule, once before the parallel jobs
    keys = [_cell_job.cell_key(i) for i in range(N_WRITERS)]
    specs = [_spec(uri, cwd, exp, k, "d1", "1") for k in keys]
    t0 = time.monotonic()
    _run_jobs(specs)
    elapsed = time.monotonic() - t0
    results = {json.loads(Path(s["out"]).read_text())["key"]:
               json.loads(Path(s["out"]).read_text()) for s in specs}
    assert sorted(results) == sorted(keys)
    starts = [r["start"] for r in results.values()]
    assert max(starts) - min(starts) < 5, "the writers did not start together"

    client = _client()
    stored = _all_runs(client, exp)
    by_cell = {}
    for r in stored:
        by_cell.setdefault(r.data.tags.get(runs.TAG_CELL), []).append(r)
    assert sorted(by_cell) == sorted(keys)  # zero lost runs
    assert all(len(v) == 1 for v in by_cell.values()), "duplicate runs"
    for key, (run,) in by_cell.items():
        assert run.info.run_id == results[key]["run_id"]
    checked = _check_all(client, [(run, key, "d1") for key, (run,) in by_cell.items()],
                         tmp_path / "dl")

    got, rows, md = _leaderboard(exp, keys)
    assert {c.key: r.run_id for c, r in got.items()} == {k: results[k]["run_id"] for k in keys}
    assert len(rows) == N_WRITERS
    for row in rows:
        key = f"{row['dataset']}/{row['modality']}/{row['model']}"
        assert float(row["AP"]) == _cell_job.expected(key, "d1")["final"]["AP"]
    print(f"\n[{'server' if uri else 'sqlite'}] {N_WRITERS} writers: {len(stored)} runs, "
          f"{checked} params/metric points/artifacts checked; jobs {elapsed:.1f} s wall, "
          f"slowest job {max(r['seconds'] for r in results.values()):.1f} s after the barrier, "
          f"{sum(r['retries'] for r in results.values())} busy-store retries")


def test_retried_and_reconfigured_jobs_give_one_row_per_cell(store, tmp_path) -> None:
    """killed -> re-run resumes; FAILED -> re-run resumes; config changed -> superseded."""
    uri, cwd = store
    exp = "retry"
    init_store(exp)
    killed, failed, changed = (_cell_job.cell_key(i) for i in (0, 1, 2))
    first = [_spec(uri, cwd, exp, killed, "d1", "1", fail_after=2, fail_mode="kill"),
             _spec(uri, cwd, exp, failed, "d1", "1", fail_after=3, fail_mode="failed"),
             _spec(uri, cwd, exp, changed, "d1", "1")]
    codes = _run_jobs(first, expect_ok=False)
    assert codes == [-signal.SIGKILL, 1, 0], codes
    client = _client()
    before = {r.data.tags[runs.TAG_CELL]: r for r in _all_runs(client, exp)}
    assert before[killed].info.status == "RUNNING"  # killed: nobody closed it
    assert before[failed].info.status == "FAILED"
    old_changed = before[changed].info.run_id
    _, rows, _ = _leaderboard(exp, [killed, failed, changed])
    assert [r["run_id"] for r in rows] == [old_changed]  # only the evaluated one so far

    second = [_spec(uri, cwd, exp, killed, "d1", "2"), _spec(uri, cwd, exp, failed, "d1", "2"),
              _spec(uri, cwd, exp, changed, "d2", "2")]
    _run_jobs(second)

    stored = _all_runs(client, exp)
    by_cell = {}
    for r in stored:
        by_cell.setdefault(r.data.tags[runs.TAG_CELL], []).append(r)
    for key in (killed, failed):  # resumed: the same single run, every epoch exactly once
        (run,) = by_cell[key]
        assert run.info.run_id == before[key].info.run_id
        _check_run(client, run, key, "d1", tmp_path / "dl")
    new_changed = json.loads(Path(second[2]["out"]).read_text())["run_id"]
    assert new_changed != old_changed
    assert sorted(r.info.run_id for r in by_cell[changed]) == sorted([old_changed, new_changed])
    old = client.get_run(old_changed)
    assert old.data.tags[runs.TAG_SUPERSEDED] == new_changed
    _check_run(client, client.get_run(new_changed), changed, "d2", tmp_path / "dl")

    got, rows, md = _leaderboard(exp, [killed, failed, changed])
    assert len(rows) == 3 and len({(r["dataset"], r["modality"], r["model"]) for r in rows}) == 3
    assert got[Cell(*changed.split("/"))].run_id == new_changed
    assert {r["run_id"] for r in rows} == {by_cell[killed][0].info.run_id,
                                           by_cell[failed][0].info.run_id, new_changed}
    model_rows = [ln for ln in md.splitlines() if ln.startswith("| m") and "model" not in ln]
    assert len(model_rows) == 3  # one row per model, one filled column each


def test_concurrent_opens_of_one_cell_share_one_run(tmp_path, monkeypatch) -> None:
    """Two launches of the same cell at the same moment (e.g. a manual `mpbench train` while
    the workflow runs it) must not create two runs for one config (local store)."""
    cwd = tmp_path / "repo"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    init_store("same-cell")
    ctx = _context()
    n = 8
    barrier = ctx.Barrier(n)
    out = [tmp_path / f"open-{i}.txt" for i in range(n)]
    procs = [ctx.Process(target=_cell_job.open_only, args=(str(cwd), str(o), barrier)) for o in out]
    for p in procs:
        p.start()
    for p in procs:
        p.join(JOB_TIMEOUT)
    assert [p.exitcode for p in procs] == [0] * n
    ids = {o.read_text() for o in out}
    assert len(ids) == 1, ids
    assert len(_all_runs(_client(), "same-cell")) == 1

