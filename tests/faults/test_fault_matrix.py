"""Fault matrix: the real workflow on one micro cell, disturbed, then re-run as a user would.

Each scenario starts from a copy of an undisturbed baseline (its pre-run state, its state once
the data and the tracking store are ready, or its finished state, whichever the scenario
needs: copying is much cheaper than re-running the data stages), injects one fault (``kill
-9`` of a rule's process, a full disk, a truncated checkpoint, the MLflow server going away,
a damaged DVC cache, two concurrent ``snakemake``), and checks

- what the user sees: a clear message naming the problem (and the command to run, where one
  is needed), and no Python traceback in the workflow's final output;
- that re-running what the user is told to run (a plain re-run of the same ``snakemake``
  command, after ``--unlock`` where Snakemake asks for it) ends with the same leaderboard
  values and the same predictions (bit-identical: CPU training is deterministic and resumes
  exactly) as the undisturbed run, one live MLflow run per cell with its whole training curve,
  nothing left to do, and no lock left behind.

Every scenario's message, outcome and time to recover are collected into a Markdown table
(``docs/_reliability_faults.md`` is generated from it): written beside the module's temporary
files, and to ``$MPBENCH_FAULTS_TABLE`` when that is set.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.test_pipeline import BIN, _env, _stack_available
from tests.repo_copy import committed_copy, micro_demo_params

pytestmark = pytest.mark.integration
if not _stack_available():
    pytestmark = [pytestmark, pytest.mark.skip(
        reason="needs the full stack (mmcv with ops, mmpose, snakemake): run `make test`")]

CELL = "demo/rgb/tiny_hrnet"
#: One cell, two epochs of 4 iterations, a checkpoint after every iteration (so that a kill
#: "mid-epoch" has iteration checkpoints to resume from), a small bootstrap.
FAULTS = {
    "experiment": "micro",
    "matrix": [{"dataset": "demo", "modalities": ["rgb"], "models": ["tiny_hrnet"]}],
    "train": {"epochs": 2, "seed": 0, "batch_size": 8, "checkpoint_iters": 1},
    "evaluate": {"bootstrap": 10, "seed": 0, "annotations": "qa"},
    "resources": {"train": {"threads": 1}, "evaluate": {"threads": 1}},
}
SNAKE = [str(BIN / "snakemake"), "--profile", "workflow/profiles/local", "--configfile",
         "configs/faults.yaml", "--cores", "2"]
#: The data and the tracking store, without any cell job: the "prepared" state.
PREPARE_TARGETS = ["results/data/demo.json", "results/mlflow/micro.ready.json"]
SEED = 16  # issue 16: the random kill points are drawn from this seed
TIMEOUT = 600


# ----------------------------------------------------------------------------- measurements

@dataclass
class Outcome:
    """One row of the reliability table."""

    scenario: str
    user_sees: str = ""
    outcome: str = ""
    recover_s: float = 0.0
    commands: list[str] = field(default_factory=list)


RESULTS: list[Outcome] = []


def _write_table(path: Path) -> None:
    lines = ["| scenario | what the user sees | outcome after the re-run | time to recover |",
             "|---|---|---|---|"]
    for r in RESULTS:
        cmds = " then ".join(f"`{c}`" for c in r.commands)
        lines.append(f"| {r.scenario} | {r.user_sees} | {r.outcome} ({cmds}) "
                     f"| {r.recover_s:.0f} s |")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module", autouse=True)
def _table(tmp_path_factory) -> Iterator[None]:
    yield
    if RESULTS:
        out = tmp_path_factory.getbasetemp() / "reliability_faults.md"
        _write_table(out)
        if os.environ.get("MPBENCH_FAULTS_TABLE"):
            _write_table(Path(os.environ["MPBENCH_FAULTS_TABLE"]))
        print(f"\nfault table: {out}")


# ---------------------------------------------------------------------------- the baseline

@dataclass
class Baseline:
    pristine: Path  # committed copy, nothing run
    prepared: Path  # data stages and tracking store done, no cell job
    finished: Path  # the undisturbed run, finished
    leaderboard: list[dict[str, str]]
    predictions: dict[str, str]  # evaluation label -> predictions sha256
    loss: dict[int, float]  # train/loss per epoch
    seconds: float
    run_id: str  # the cell's MLflow run in the finished snapshot's store


def _snake(repo: Path, *extra: str, env: dict[str, str] | None = None,
           timeout: int = TIMEOUT) -> subprocess.CompletedProcess:
    """``snakemake`` in ``repo``, bounded; returns whatever it did (the caller judges)."""
    return subprocess.run(["timeout", "-k", "20", str(timeout), *SNAKE, *extra], cwd=repo,
                          env=env or _env(repo), capture_output=True, text=True)


def _ok(proc: subprocess.CompletedProcess, what: str, repo: Path) -> None:
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}"
                         for p in sorted((repo / "logs").rglob("*.log")))
        pytest.fail(f"{what} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-5000:]}\nlogs:\n{logs}")


def _leaderboard(repo: Path) -> list[dict[str, str]]:
    """The leaderboard's rows without the run id (a scenario with a new store has a new id)."""
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]


def _predictions(repo: Path) -> dict[str, str]:
    metrics = json.loads((repo / "results" / "cells" / CELL / "metrics.json").read_text())
    return {label: s["predictions_sha256"] for label, s in metrics["scores"].items()}


def _client(repo: Path, uri: str | None = None):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri or f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")


def _live_runs(client) -> list:
    """The runs the project counts: not tagged superseded (benchmark.tracking.runs)."""
    from benchmark.tracking.runs import TAG_SUPERSEDED

    exp = client.get_experiment_by_name("micro")
    assert exp is not None, "experiment 'micro' missing from the store"
    return [r for r in client.search_runs([exp.experiment_id])
            if TAG_SUPERSEDED not in r.data.tags]


def _loss(client, run_id: str) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for m in client.get_metric_history(run_id, "train/loss"):
        out.setdefault(m.step, []).append(m.value)
    return out


def _rewrite_paths(repo: Path, old: Path) -> None:
    """Point a copied repository's absolute paths at the copy: the MLflow store's artifact
    locations (else the copy would write into the original's artifacts), MMEngine's
    ``last_checkpoint`` and the tracking stamp."""
    db = repo / "results" / "mlflow" / "mlflow.db"
    if db.is_file():
        with sqlite3.connect(db) as con:
            con.execute("UPDATE experiments SET artifact_location = "
                        "replace(artifact_location, ?, ?)", (str(old), str(repo)))
            con.execute("UPDATE runs SET artifact_uri = replace(artifact_uri, ?, ?)",
                        (str(old), str(repo)))
    for path in [*(repo / "work_dirs").rglob("last_checkpoint"),
                 *(repo / "results" / "mlflow").glob("*.ready.json")]:
        path.write_text(path.read_text().replace(str(old), str(repo)))


def _clone(src: Path, dst: Path) -> Path:
    """A copy of ``src`` (a repository of this module) at ``dst``, consistent: symlinks kept,
    mtimes kept (Snakemake), ``.dvc``/``.snakemake``/``.git`` copied with it, absolute paths
    rewritten."""
    shutil.copytree(src, dst, symlinks=True)
    (dst.parent / "home").mkdir(exist_ok=True)
    _rewrite_paths(dst, src)
    return dst


@pytest.fixture(scope="module")
def baseline(module_tmp: Path) -> Baseline:
    """The undisturbed run, in three snapshots: pristine, prepared, finished.

    ``MPBENCH_FAULTS_BASELINE=<dir>`` keeps it in ``<dir>`` and reuses it on the next session
    (debugging one scenario without re-running the baseline)."""
    keep = os.environ.get("MPBENCH_FAULTS_BASELINE")
    root = Path(keep) if keep else module_tmp
    if not (root / "finished" / "repo" / "results" / "leaderboard.csv").is_file():
        make_baseline(root)
    return read_baseline(root)


def make_baseline(root: Path) -> float:
    """Run the baseline into ``root``'s snapshots; returns its duration in seconds."""
    pristine = root / "pristine" / "repo"
    (root / "pristine" / "home").mkdir(parents=True)
    committed_copy(pristine, params=micro_demo_params, files={"configs/faults.yaml": FAULTS})
    prepared = _clone(pristine, root / "prepared" / "repo")
    start = time.monotonic()
    _ok(_snake(prepared, *PREPARE_TARGETS), "snakemake (data, tracking store)", prepared)
    finished = _clone(prepared, root / "finished" / "repo")
    _ok(_snake(finished), "snakemake (baseline)", finished)
    seconds = time.monotonic() - start
    (root / "seconds").write_text(f"{seconds:.1f}\n")
    return seconds


def read_baseline(root: Path) -> Baseline:
    finished = root / "finished" / "repo"
    client = _client(finished)
    (run,) = _live_runs(client)
    loss = {step: values[-1] for step, values in _loss(client, run.info.run_id).items()}
    assert sorted(loss) == [1, 2]
    return Baseline(root / "pristine" / "repo", root / "prepared" / "repo", finished,
                    _leaderboard(finished), _predictions(finished), loss,
                    float((root / "seconds").read_text()), run.info.run_id)


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """tmpfs mounts a scenario made: unmounted afterwards whatever happened."""
    made: list[Path] = []
    yield made
    for path in reversed(made):
        for cmd in (["umount", str(path)], ["umount", "-l", str(path)]):
            if not os.path.ismount(path):
                break
            subprocess.run(cmd, capture_output=True)
        assert not os.path.ismount(path), f"{path}: tmpfs still mounted"


def _mount_tmpfs(path: Path, size: str, mounts: list[Path]) -> None:
    """A tmpfs of ``size`` at ``path``, holding what ``path`` held (copied in)."""
    keep = path.with_name(path.name + ".before-mount")
    if path.exists():
        path.rename(keep)
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                   check=True, capture_output=True)
    mounts.append(path)
    if keep.exists():
        shutil.copytree(keep, path, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(keep)


# --------------------------------------------------------------------------- process control

def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _tree(root: int) -> list[tuple[int, list[str]]]:
    """``root``'s descendants (pid, argv): only processes this test started."""
    seen, todo, out = set(), [root], []
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        out.append((pid, [a.decode(errors="replace") for a in argv if a]))
        todo += _children(pid)
    return out


def _rule_python(root: int, subcommand: str) -> int | None:
    """The Python process running ``mpbench <subcommand>`` under ``root`` (not its shell)."""
    words = subcommand.split()
    for pid, argv in _tree(root):
        if argv and "python" in Path(argv[0]).name:
            for i, a in enumerate(argv):
                if a.endswith("/mpbench") and argv[i + 1:i + 1 + len(words)] == words:
                    return pid
    return None


@dataclass
class Started:
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _start(repo: Path, *extra: str, env: dict[str, str] | None = None) -> Started:
    """``snakemake`` in the background, in its own session (so that it can be cleaned up)."""
    log = repo.parent / f"snakemake-{time.monotonic_ns()}.out"
    with log.open("w") as fh:
        proc = subprocess.Popen([*SNAKE, *extra], cwd=repo, env=env or _env(repo), stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Started(proc, log)


def _finish(started: Started, timeout: int = TIMEOUT) -> int:
    try:
        return started.proc.wait(timeout=timeout)
    finally:
        try:  # anything left of the session this test started (orphaned workers)
            os.killpg(started.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _wait_for(what: str, cond: Callable[[], object], started: Started,
              timeout: float = 300) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if started.proc.poll() is not None:
            pytest.fail(f"snakemake ended (exit {started.proc.returncode}) before {what}:\n"
                        f"{started.output()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.02)


def _kill_rule(started: Started, subcommand: str, delay: tuple[float, float],
               rng: random.Random, *, also_snakemake: bool = False,
               ready: Callable[[], bool] | None = None) -> str:
    """``kill -9`` the rule's Python process a random time (``delay``) after it started (and
    after ``ready()`` holds), and Snakemake too when ``also_snakemake`` (a node crash or the
    OOM killer); returns where it hit."""
    pid = _wait_for(f"`mpbench {subcommand}` process",
                    lambda: _rule_python(started.proc.pid, subcommand), started)
    if ready is not None:
        _wait_for(f"`mpbench {subcommand}` progress", ready, started)
    t0 = time.monotonic()
    time.sleep(rng.uniform(*delay))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pytest.fail(f"`mpbench {subcommand}` ended before the kill point; lower its delay")
    if also_snakemake:
        os.kill(started.proc.pid, signal.SIGKILL)
    return f"{time.monotonic() - t0:.2f} s in"


# ----------------------------------------------------------------------------- the checks

def _no_traceback(text: str) -> None:
    assert "Traceback (most recent call last)" not in text, text[-6000:]


def _locks_free(repo: Path) -> None:
    """No Snakemake lock left, and every project file lock can be taken at once."""
    locks = repo / ".snakemake" / "locks"
    assert not locks.exists() or not any(locks.iterdir()), list(locks.iterdir())
    for path in [*(repo / ".dvc" / "tmp").glob("*lock"),
                 *(repo / "results" / "mlflow").glob("*.lock")]:
        with path.open("a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pytest.fail(f"{path} is still locked")
            fcntl.flock(fh, fcntl.LOCK_UN)


def _recover(repo: Path, first: str, outcome: Outcome, *,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run what the user is told, timed: the same command again, after ``--unlock`` when
    Snakemake says the directory is locked, with ``--rerun-incomplete`` when it asks for it."""
    start = time.monotonic()
    extra: list[str] = []
    proc = None
    text = first
    for _ in range(3):
        if "--unlock" in text and "cannot be locked" in text:
            unlock = _snake(repo, "--unlock", env=env)
            _ok(unlock, "snakemake --unlock", repo)
            outcome.commands.append("snakemake ... --unlock")
        if "--rerun-incomplete" in text and "incomplete" in text.lower() \
                and "--rerun-incomplete" not in extra:
            extra.append("--rerun-incomplete")
        proc = _snake(repo, *extra, env=env)
        outcome.commands.append(" ".join(["snakemake ...", *extra]))
        text = proc.stdout + proc.stderr
        if proc.returncode == 0:
            break
    outcome.recover_s = time.monotonic() - start
    _ok(proc, "the re-run", repo)
    return proc


def _assert_same_as_baseline(repo: Path, baseline: Baseline, outcome: Outcome, *,
                             uri: str | None = None, env: dict[str, str] | None = None,
                             same_run: bool = False) -> None:
    """Same leaderboard values and predictions, one live run with the whole loss curve
    (``same_run``: the baseline's run, for a copy of the finished store), nothing left to
    do, no lock."""
    assert _leaderboard(repo) == baseline.leaderboard
    assert _predictions(repo) == baseline.predictions
    client = _client(repo, uri)
    runs = _live_runs(client)
    assert [r.data.tags["mpbench.cell"] for r in runs] == [CELL]
    (run,) = runs
    assert run.info.status == "FINISHED"
    if same_run:
        assert run.info.run_id == baseline.run_id
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    assert {r["run_id"] for r in rows} == {run.info.run_id}
    loss = _loss(client, run.info.run_id)
    assert sorted(loss) == [1, 2], loss  # every epoch, none dropped
    for step, values in loss.items():  # a re-logged epoch (resume) has the same value
        assert set(values) == {baseline.loss[step]}, (step, values, baseline.loss)
    dry = _snake(repo, "-n", env=env)
    _ok(dry, "snakemake -n", repo)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    _locks_free(repo)
    outcome.outcome = outcome.outcome or "same leaderboard and predictions, one MLflow run"
    RESULTS.append(outcome)


def _first_lines(text: str, *needles: str) -> str:
    """The lines of ``text`` holding any of ``needles`` (what the table quotes)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and any(n in line for n in needles) and line not in found:
            found.append(line)
    return "; ".join(f"`{x[:160]}`".replace("|", "\\|") for x in found[:3])


def _without(repo: Path, *rels: str) -> None:
    for rel in rels:
        for path in repo.glob(rel):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


#: Removed from a finished copy so that the data rule runs again (its stamp) and finds the
#: preprocess output missing.
RERUN_PREPROCESS = ("data/demo/processed", "results/data/demo.json")


def _touch_preprocess_code(repo: Path) -> None:
    """A change to the preprocess stage's code (a dependency in ``dvc.yaml``) that leaves its
    outputs the same: ``dvc repro`` must run the stage (with the code unchanged it would check
    the outputs out of its cache instead); the data version, hence the trained cell, stays."""
    init = repo / "benchmark" / "modalities" / "__init__.py"
    init.write_text(init.read_text() + "# fault matrix: the stage's code changed\n")
DOWNSTREAM = ("results/cells", "results/leaderboard.*", "results/paper", "results/report",
              "results/curves")


# ---------------------------------------------------------------------- 1. kill -9 of a rule

def test_kill_preprocess_stage(baseline: Baseline, tmp_path: Path) -> None:
    """``kill -9`` of the preprocess stage (under ``dvc repro``) while it derives images.

    The copy is the finished run without the stage's output and the data stamp: the stage
    reruns, the unchanged data version keeps the trained cell (same run)."""
    rng = random.Random(SEED)
    repo = _clone(baseline.finished, tmp_path / "repo")
    _without(repo, *RERUN_PREPROCESS)
    _touch_preprocess_code(repo)
    partial = repo / "data" / "demo" / "processed.partial"
    started = _start(repo)
    where = _kill_rule(started, "data preprocess", (0.0, 0.5), rng,
                       ready=lambda: partial.is_dir())
    rc = _finish(started)
    out = started.output()
    assert rc != 0
    assert "Error in rule data" in out
    _no_traceback(out)
    outcome = Outcome(f"kill -9 of the preprocess stage ({where})",
                      _first_lines(out, "failed to reproduce", "error:", "Error in rule"))
    _recover(repo, out, outcome)
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)


def test_kill_training_and_snakemake(baseline: Baseline, tmp_path: Path) -> None:
    """``kill -9`` of the training process and of Snakemake (a node crash) after a random
    iteration checkpoint: the re-run is told to ``--unlock``, then resumes the same run."""
    rng = random.Random(SEED + 1)
    repo = _clone(baseline.prepared, tmp_path / "repo")
    work = repo / "work_dirs" / CELL
    after = rng.randint(1, 6)  # of 8 iterations: both epochs
    started = _start(repo)
    where = _kill_rule(started, "train", (0.0, 0.3), rng, also_snakemake=True,
                       ready=lambda: any(work.glob("iter_*.pth"))
                       and max(int(p.stem.split("_")[1]) for p in work.glob("iter_*.pth"))
                       >= after)
    _finish(started)
    again = _snake(repo)
    out = again.stdout + again.stderr
    assert again.returncode != 0 and "--unlock" in out
    _no_traceback(out)
    outcome = Outcome(f"kill -9 of training and snakemake (after iteration checkpoint "
                      f"{after}, {where})", _first_lines(out, "cannot be locked", "--unlock"))
    _recover(repo, out, outcome)
    summary = json.loads((work / "train_summary.json").read_text())
    assert summary["resumed_from"] and "iter_" in summary["resumed_from"], summary
    outcome.outcome = f"resumed from {Path(summary['resumed_from']).name} in the same run; " \
                      "same leaderboard and predictions"
    _assert_same_as_baseline(repo, baseline, outcome)


def test_kill_evaluation(baseline: Baseline, tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    repo = _clone(baseline.finished, tmp_path / "repo")
    _without(repo, *DOWNSTREAM)
    started = _start(repo)
    where = _kill_rule(started, "evaluate", (1.0, 4.0), rng)
    rc = _finish(started)
    out = started.output()
    assert rc != 0 and "Error in rule evaluate" in out
    _no_traceback(out)
    outcome = Outcome(f"kill -9 of the evaluation ({where})",
                      _first_lines(out, "Error in rule", "Removing output files"))
    _recover(repo, out, outcome)
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)


def test_kill_leaderboard(baseline: Baseline, tmp_path: Path) -> None:
    rng = random.Random(SEED + 3)
    repo = _clone(baseline.finished, tmp_path / "repo")
    _without(repo, "results/leaderboard.*")
    started = _start(repo)
    where = _kill_rule(started, "leaderboard", (0.0, 0.3), rng)
    rc = _finish(started)
    out = started.output()
    assert rc != 0 and "Error in rule leaderboard" in out
    _no_traceback(out)
    outcome = Outcome(f"kill -9 of the leaderboard ({where})",
                      _first_lines(out, "Error in rule", "Removing output files"))
    _recover(repo, out, outcome)
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)


# ------------------------------------------------------------- 3. truncated/corrupt checkpoint

@pytest.mark.parametrize("damaged", [("epoch_2.pth",), ("epoch_2.pth", "iter_8.pth")],
                         ids=["newest", "two-newest"])
def test_truncated_newest_checkpoint(baseline: Baseline, tmp_path: Path,
                                     damaged: tuple[str, ...]) -> None:
    """The job was killed while writing ``last_checkpoint``'s target (truncated), or a disk
    error corrupted the two newest checkpoints: the re-run resumes from the newest valid one."""
    repo = _clone(baseline.finished, tmp_path / "repo")
    work = repo / "work_dirs" / CELL
    target = Path((work / "last_checkpoint").read_text().strip()).name
    assert target == damaged[0]
    for name in damaged:  # the first truncated mid-write, the others overwritten with junk
        path = work / name
        if name == target:
            os.truncate(path, path.stat().st_size // 2)
        else:
            path.write_bytes(b"\0" * 4096)
    _without(repo, f"work_dirs/{CELL}/train_summary.json", *DOWNSTREAM)
    outcome = Outcome(f"truncated {' and corrupt '.join(damaged)} (newest checkpoints)",
                      "nothing: the re-run logs `resumed_from` in its summary")
    _recover(repo, "", outcome)
    summary = json.loads((work / "train_summary.json").read_text())
    expected = "epoch_1.pth" if "iter_8.pth" in damaged else "iter_8.pth"
    assert Path(summary["resumed_from"]).name == expected, summary
    outcome.outcome = f"resumed from {expected} (newest valid); same leaderboard and " \
                      "predictions, one MLflow run"
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)


# ------------------------------------------------------------------ 6. two snakemake at once

def test_two_snakemake_at_once(baseline: Baseline, tmp_path: Path) -> None:
    """A second ``snakemake`` on the same directory while the first trains is refused with
    Snakemake's lock message; the first finishes undisturbed."""
    repo = _clone(baseline.prepared, tmp_path / "repo")
    first = _start(repo)
    _wait_for("the training job", lambda: _rule_python(first.proc.pid, "train"), first)
    second = _snake(repo, timeout=300)
    out = second.stdout + second.stderr
    assert second.returncode != 0 and "cannot be locked" in out
    _no_traceback(out)
    assert _finish(first) == 0, first.output()[-4000:]
    outcome = Outcome("two `snakemake` at once on one directory",
                      "the second: " + _first_lines(out, "cannot be locked"))
    _recover(repo, "", outcome)
    outcome.outcome = "the first finished; the re-run has nothing to do; same leaderboard"
    _assert_same_as_baseline(repo, baseline, outcome)


# ---------------------------------------------------------------------------- 2. a full disk

def test_disk_full_while_checkpointing(baseline: Baseline, tmp_path: Path,
                                       mounts: list[Path]) -> None:
    """``work_dirs/`` on a 14 MiB tmpfs: the first iteration checkpoint (8.9 MB) fits, the
    second does not. Then the disk is grown (what was there kept) and the workflow re-run."""
    repo = _clone(baseline.prepared, tmp_path / "repo")
    _mount_tmpfs(repo / "work_dirs", "14m", mounts)
    failed = _snake(repo)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Error in rule train" in out
    assert "No space left on device" in out or "no space left" in out.lower(), out[-4000:]
    _no_traceback(out)
    outcome = Outcome("disk full while writing a checkpoint (tmpfs over work_dirs/)",
                      _first_lines(out, "error:", "Error in rule"))
    subprocess.run(["mount", "-o", "remount,size=256m", str(repo / "work_dirs")], check=True)
    _recover(repo, out, outcome)
    summary = json.loads((repo / "work_dirs" / CELL / "train_summary.json").read_text())
    outcome.outcome = f"resumed from {Path(summary['resumed_from'] or 'none').name}; same " \
                      "leaderboard and predictions, one MLflow run"
    _assert_same_as_baseline(repo, baseline, outcome)


def test_disk_full_while_preprocessing(baseline: Baseline, tmp_path: Path,
                                       mounts: list[Path]) -> None:
    """``data/demo`` on a 10 MiB tmpfs: download, convert and QA (8.8 MB) fit, the
    preprocessed modalities (3.8 MB more) do not (the finished run without the stage's
    output, as in the kill scenario)."""
    repo = _clone(baseline.finished, tmp_path / "repo")
    _without(repo, *RERUN_PREPROCESS)
    _touch_preprocess_code(repo)
    _mount_tmpfs(repo / "data" / "demo", "10m", mounts)
    failed = _snake(repo)
    out = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "Error in rule data" in out
    assert "no space left" in out.lower(), out[-4000:]
    _no_traceback(out)
    outcome = Outcome("disk full while preprocessing (tmpfs over data/demo)",
                      _first_lines(out, "error:", "ERROR:"))
    subprocess.run(["mount", "-o", "remount,size=64m", str(repo / "data" / "demo")],
                   check=True)
    _recover(repo, out, outcome)
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)


# ------------------------------------------------------- 4. the MLflow server stops and returns

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mlflow_server(store: Path, port: int, repo: Path) -> subprocess.Popen:
    """``mlflow server`` on ``store`` (SQLite + artifacts folder), up and answering."""
    import urllib.request

    log = (store / f"server-{time.monotonic_ns()}.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{store / 'db'}",
         "--artifacts-destination", (store / "artifacts").as_uri(), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"], cwd=store, env=_env(repo), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except OSError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("mlflow server did not answer within 120 s")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def test_mlflow_server_stops_during_training(baseline: Baseline, tmp_path: Path) -> None:
    """The tracking server (``MLFLOW_TRACKING_URI=http://...``) is killed after the first
    iteration checkpoint and restarted a few seconds later: the training's metric calls are
    retried, none is dropped, and the run ends with the whole loss curve."""
    repo = _clone(baseline.prepared, tmp_path / "repo")
    store = tmp_path / "server"
    store.mkdir()
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {**_env(repo), "MLFLOW_TRACKING_URI": uri}
    server = _mlflow_server(store, port, repo)
    work = repo / "work_dirs" / CELL
    try:
        started = _start(repo, env=env)
        _wait_for("the first iteration checkpoint", lambda: (work / "iter_1.pth").is_file(),
                  started)
        _stop(server)
        down = time.monotonic()
        time.sleep(3)
        server = _mlflow_server(store, port, repo)
        outage = time.monotonic() - down
        rc = _finish(started)
        out = started.output()
        outcome = Outcome(f"MLflow server down {outage:.0f} s during training",
                          "nothing: MLflow's HTTP client retries with backoff until the "
                          "server answers")
        if rc != 0:  # what the user is told, then the plain re-run
            _no_traceback(out)
            outcome.user_sees = _first_lines(out, "error:", "Error in rule")
            _recover(repo, out, outcome, env=env)
        else:
            outcome.commands.append("none (the run finished)")
        _assert_same_as_baseline(repo, baseline, outcome, uri=uri, env=env)
    finally:
        _stop(server)


# ------------------------------------------------------------- 5. a damaged DVC cache entry

def test_dvc_cache_entry_deleted_and_corrupted(baseline: Baseline, tmp_path: Path) -> None:
    """Two cache objects of the preprocessed data damaged (one deleted, one overwritten), the
    workspace copy gone, and the data stage asked again (its stamp removed): the stage
    re-derives the outputs instead of checking the damaged objects out."""
    import yaml

    repo = _clone(baseline.finished, tmp_path / "repo")
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    (out,) = lock["stages"]["preprocess@demo"]["outs"]
    cache = repo / ".dvc" / "cache" / "files" / "md5"
    listing = json.loads((cache / out["md5"][:2] / out["md5"][2:]).read_text())
    objects = {e["relpath"]: cache / e["md5"][:2] / e["md5"][2:] for e in listing}
    deleted, corrupted = objects["annotations/rgb/test.json"], objects["stats.json"]
    deleted.unlink()
    corrupted.chmod(0o644)
    corrupted.write_text("junk\n")
    expected = {rel: (repo / "data/demo/processed" / rel).read_bytes()
                for rel in ("annotations/rgb/test.json", "stats.json")}
    _without(repo, "data/demo/processed", "results/data/demo.json")
    outcome = Outcome("DVC cache: one object of `data/demo/processed` deleted, one corrupted; "
                      "the workspace copy removed", "")
    proc = _recover(repo, "", outcome)
    log = (repo / "logs" / "data" / "demo.log").read_text()
    assert "Running stage 'preprocess@demo'" in log
    outcome.user_sees = "nothing but the data stage's log: " + _first_lines(
        log, "Running stage 'preprocess")
    _no_traceback(proc.stdout + proc.stderr)
    for rel, data in expected.items():
        assert (repo / "data/demo/processed" / rel).read_bytes() == data, rel
    assert deleted.is_file()  # the re-derived object is cached again
    outcome.outcome = "re-derived by the stage (same bytes); same leaderboard, one MLflow run"
    _assert_same_as_baseline(repo, baseline, outcome, same_run=True)
