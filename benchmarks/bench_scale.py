"""Scale benchmark: planning a large matrix and aggregating many MLflow runs.

1. Planning: a matrix of >= ``--cells`` cells (synthetic model configs, copies of
   ``configs/models/tiny_hrnet.py``, x every (dataset, modality) of the dataset specs) in a
   temporary copy of the workflow; times ``snakemake -n --configfile <matrix>`` with no
   outputs yet (full plan: 2 jobs per cell) and with every output present (nothing to do).
2. Aggregation: ``--runs`` evaluated cell runs (COCO statistics with 95 % intervals, per-epoch
   loss history, params, tags) plus superseded older runs and unevaluated runs in a temporary
   SQLite store, written in bulk through ``MlflowClient`` (``log_batch``); times the
   MLflow runs table (``mpbench runs --experiment ...
   --cell ...``, a fresh process) and in-process (``fetch_results`` + tables), and checks
   that every cell has exactly one row, from its newest evaluated run.

    python benchmarks/bench_scale.py [--cells 500] [--runs 1000] [--repeat 3]

Limits checked: planning <= 5 s, leaderboard <= 5 s (``--limit``); exit status 1 if exceeded.
Nothing is written inside the repository.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "workflow", "configs", "dvc.yaml", "params.yaml", "dvc.lock"]
COCO_STATS = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def _columns() -> list[tuple[str, str]]:
    from benchmark.datasets.registry import dataset_names, get_spec

    return [(d, m) for d in dataset_names() for m in sorted(get_spec(d).modalities)]


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int) -> tuple[float, str]:
    best, out = math.inf, ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n"
                     f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        best, out = min(best, elapsed), proc.stdout + proc.stderr
    return best, out


# --------------------------------------------------------------------------- planning

def bench_plan(n_cells: int, repeat: int, tmp: Path) -> dict[str, float]:
    import yaml

    from benchmark.workflow.matrix import cells_from_config

    root = tmp / "plan"
    root.mkdir()
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name)
        elif src.is_file():
            shutil.copy2(src, root / name)
    cols = _columns()
    n_models = math.ceil(n_cells / len(cols))
    models = [f"synth_{i:03d}" for i in range(n_models)]
    base = (root / "configs" / "models" / "tiny_hrnet.py").read_text()
    for m in models:
        (root / "configs" / "models" / f"{m}.py").write_text(base)
    datasets = sorted({d for d, _ in cols})
    config = yaml.safe_load((REPO / "configs" / "matrix.yaml").read_text())
    config["experiment"] = "scale"
    config["matrix"] = [{"dataset": d, "modalities": [m for dd, m in cols if dd == d],
                         "models": models} for d in datasets]
    matrix = root / "scale.yaml"
    matrix.write_text(yaml.safe_dump(config, sort_keys=False))
    cwd = Path.cwd()
    os.chdir(root)
    try:
        cells = cells_from_config(config)
    finally:
        os.chdir(cwd)
    n = len(cells)
    print(f"planning: {n} cells = {n_models} models x {len(cols)} (dataset, modality) "
          f"columns over {len(datasets)} datasets")

    cmd = [str(BIN / "snakemake"), "-n", "--configfile", str(matrix)]
    env = _env()
    cold, out = _timed(cmd, root, env, repeat)
    m = re.search(r"^total\s+(\d+)", out, re.M)
    jobs = int(m.group(1)) if m else -1
    from benchmark.datasets import get_spec
    from benchmark.models.boxes import cell_box_sources

    detection_files = sorted({str(s.path) for c in cells for group in cell_box_sources(
        get_spec(c.dataset), c.modality).values() for s in group})
    compared = {c.dataset for c in cells if sum(d.dataset == c.dataset and d.model == c.model
                                                for d in cells) > 1}
    # train+evaluate per cell, data and comparison per dataset, the released detection
    # files, tracking init, leaderboard, all
    expect = 2 * n + len(datasets) + len(compared) + len(detection_files) + 3
    if jobs != expect:
        sys.exit(f"snakemake -n planned {jobs} jobs, expected {expect}:\n{out[-3000:]}")
    print(f"  snakemake -n, nothing done yet ({jobs} jobs):  {cold:.2f} s (best of {repeat})")

    # every output present, in DAG order (each newer than its inputs): nothing to do
    t = max((root / f).stat().st_mtime for f in ("dvc.yaml", "params.yaml")) + 1
    stamps = [f"results/data/{d}.json" for d in datasets] + ["results/mlflow/scale.ready.json"]
    stamps += detection_files
    stamps += [f"work_dirs/{c.key}/train_summary.json" for c in cells]
    stamps += [f"results/cells/{c.key}/metrics.json" for c in cells]
    stamps += [f"results/leaderboard.{e}" for e in ("md", "csv", "tex")]
    stamps += [f"results/compare/{d}.{e}" for d in sorted(compared) for e in ("md", "csv")]
    for k, rel in enumerate(stamps):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")
        os.utime(path, (t + 0.01 * k, t + 0.01 * k))
    warm, out = _timed(cmd, root, env, repeat)
    if "Nothing to be done" not in out:
        sys.exit(f"snakemake -n with every output present still plans jobs:\n{out[-3000:]}")
    print(f"  snakemake -n, every output present (nothing to be done): {warm:.2f} s")
    return {"cells": n, "plan_cold_s": cold, "plan_done_s": warm}


# --------------------------------------------------------------------------- aggregation

def _populate(n_runs: int, superseded_frac: float, pending_frac: float,
              seed: int = 0) -> tuple[list[str], dict[str, str], int]:
    """Evaluated runs for n_runs cells, plus older superseded evaluated runs and runs still
    training for some of them; returns (cell keys, the expected run id per cell, run count)."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from benchmark.tracking import runs
    from benchmark.tracking.store import init_store, tracking_uri

    rng = random.Random(seed)
    exp_id = init_store("scale")
    client = MlflowClient(tracking_uri())
    cols = _columns()
    keys = []
    for i in range(n_runs):  # column-major: every (dataset, modality) for one model, ...
        dataset, modality = cols[i % len(cols)]
        keys.append(f"{dataset}/{modality}/synth_{i // len(cols):03d}")
    now = int(time.time() * 1000) - 10_000_000
    expected: dict[str, str] = {}
    total = 0

    def make(key: str, digest: str, t0: int, state: str, ap: float | None) -> str:
        nonlocal total
        dataset, modality, model = key.split("/")
        run = client.create_run(exp_id, start_time=t0, run_name=key, tags={
            runs.TAG_CELL: key, runs.TAG_DIGEST: digest, runs.TAG_STATE: "created",
            "mpbench.dataset": dataset, "mpbench.modality": modality, "mpbench.model": model})
        rid = run.info.run_id
        params = {"dataset": dataset, "modality": modality, "model": model,
                  "config_digest": digest, "data_version": "abc123", "git_commit": "0" * 40,
                  "epochs": "16", "seed": "0", "batch_size": "32", "optimizer": "Adam",
                  "lr": "0.003", "eval_protocol": "coco", "eval_split": "val"}
        metrics = [Metric(k, rng.random(), t0 + e, e) for e in range(1, 17)
                   for k in ("train/loss", "train/lr")]
        if ap is not None:
            stats = {s: min(1.0, ap + rng.uniform(-0.1, 0.2)) for s in COCO_STATS}
            stats["AP"] = ap
            for s, v in list(stats.items()):
                stats[f"{s}_ci95_low"], stats[f"{s}_ci95_high"] = v - 0.02, v + 0.02
            metrics += [Metric(k, v, t0 + 100, 0) for k, v in stats.items()]
        tags = [RunTag(runs.TAG_STATE, state), RunTag("mpbench.headline", "AP"),
                RunTag("mpbench.scale", "fraction"), RunTag("mpbench.eval_bootstrap", "200")]
        client.log_batch(rid, metrics=metrics, params=[Param(k, v) for k, v in params.items()],
                         tags=tags)
        if state == "evaluated":
            client.set_terminated(rid, "FINISHED", end_time=t0 + 200)
        total += 1
        return rid

    for i, key in enumerate(keys):
        t0 = now + 1000 * i
        if rng.random() < superseded_frac:  # an older config of the cell, evaluated, replaced
            old = make(key, "old", t0 - 5_000_000, "evaluated", -1.0)
        else:
            old = None
        expected[key] = make(key, "cur", t0, "evaluated", rng.uniform(0.2, 0.9))
        if old:
            client.set_tag(old, runs.TAG_SUPERSEDED, expected[key])
        if rng.random() < pending_frac:  # a newer config still training: not on the board
            make(key, "next", t0 + 500, "training", None)
    return keys, expected, total


def bench_aggregate(n_runs: int, repeat: int, tmp: Path, superseded: float,
                    pending: float) -> dict[str, float]:
    import csv
    import io

    store = tmp / "agg"
    (store / "results").mkdir(parents=True)
    uri = f"sqlite:///{store / 'results' / 'mlflow' / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri
    cwd = Path.cwd()
    os.chdir(store)
    try:
        t0 = time.perf_counter()
        keys, expected, total = _populate(n_runs, superseded, pending)
        t_pop = time.perf_counter() - t0
        print(f"aggregation: {total} runs ({len(keys)} evaluated cells, "
              f"{total - len(keys)} superseded or unevaluated) written in {t_pop:.1f} s")

        from benchmark.cells import Cell
        from benchmark.reports.mlflow_runs import RunsTable, fetch_results

        cells = sorted(Cell(*k.split("/")) for k in keys)
        best_fetch = best_build = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            results = fetch_results(cells, "scale")
            t1 = time.perf_counter()
            board = RunsTable.build(cells, results)
            board.write(store / "results" / "inproc")
            t2 = time.perf_counter()
            best_fetch, best_build = min(best_fetch, t1 - t0), min(best_build, t2 - t1)
        got = {c.key: r.run_id for c, r in results.items()}
        if got != expected:
            bad = [k for k in keys if got.get(k) != expected[k]][:5]
            sys.exit(f"leaderboard picked the wrong run for {len(bad)}+ cells, e.g. {bad}")
        rows = [r for r in csv.DictReader(io.StringIO(board.csv())) if r["run_id"]]
        if len(rows) != len(keys) or any(float(r["AP"]) < 0 for r in rows):
            sys.exit(f"leaderboard has {len(rows)} filled rows for {len(keys)} cells "
                     "(or a superseded run's value)")
        print(f"  in process: fetch_results {best_fetch:.2f} s, tables (md/csv/tex) "
              f"{best_build:.2f} s; {len(rows)} rows, one per cell, newest evaluated run")
        from benchmark.reports import mlflow_runs as lb

        t0 = time.perf_counter()
        n_search = len(lb._evaluated_runs_client(uri, "scale"))
        t_search = time.perf_counter() - t0
        print(f"  for comparison, MlflowClient.search_runs over the same {n_search} evaluated "
              f"runs (the path used for an mlflow server): {t_search:.2f} s")

        cmd = [str(BIN / "mpbench"), "runs", "--experiment", "scale",
               *[a for k in keys for a in ("--cell", k)], "--out-dir", "results/cli"]
        cli, _ = _timed(cmd, store, _env(MLFLOW_TRACKING_URI=uri), repeat)
        with open(store / "results" / "cli" / "runs.csv") as fh:
            n_rows = sum(1 for r in csv.DictReader(fh) if r["run_id"])
        if n_rows != len(keys):
            sys.exit(f"mpbench runs wrote {n_rows} filled rows for {len(keys)} cells")
        print(f"  mpbench runs ({len(keys)} --cell, fresh process): {cli:.2f} s "
              f"(best of {repeat})")
    finally:
        os.chdir(cwd)
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    return {"runs": total, "populate_s": t_pop, "fetch_s": best_fetch, "tables_s": best_build,
            "search_runs_s": t_search, "leaderboard_cli_s": cli}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=500, help="planning: at least this many cells")
    ap.add_argument("--runs", type=int, default=1000,
                    help="aggregation: evaluated cells (each one current run)")
    ap.add_argument("--superseded", type=float, default=0.15,
                    help="fraction of cells that also have an older, superseded evaluated run")
    ap.add_argument("--pending", type=float, default=0.05,
                    help="fraction of cells that also have a newer run still training")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--limit", type=float, default=5.0, help="seconds allowed per step")
    ap.add_argument("--skip-plan", action="store_true")
    ap.add_argument("--skip-aggregate", action="store_true")
    args = ap.parse_args()
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if not (BIN / "snakemake").exists() or not (BIN / "mpbench").exists():
        sys.exit(f"needs snakemake and mpbench beside {sys.executable} (run `make install`)")

    tmp = Path(tempfile.mkdtemp(prefix="mpbench-scale-"))
    failed = []
    try:
        if not args.skip_plan:
            p = bench_plan(args.cells, args.repeat, tmp)
            failed += [f"planning {p['plan_cold_s']:.2f} s"] * (p["plan_cold_s"] > args.limit)
        if not args.skip_aggregate:
            a = bench_aggregate(args.runs, args.repeat, tmp, args.superseded, args.pending)
            failed += [f"leaderboard {a['leaderboard_cli_s']:.2f} s"] * (
                a["leaderboard_cli_s"] > args.limit)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print(f"over the {args.limit:.0f} s limit: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
