"""The workflow on a real SLURM cluster: `snakemake --profile workflow/profiles/slurm`.

A single-node cluster (``tests/slurm/cluster.py``: slurmctld + slurmd + munged on loopback,
two fake GPUs) runs the micro matrix of the integration test (demo data, 2 cells, 1 epoch) in
a temporary git copy of the repository. The site values reach the profile the documented way,
through ``MPBENCH_SLURM_*`` variables; only the status-poll delay is shortened on the command
line. The data stages run as a SLURM job too (``resources: {data: {local: false}}``), in the
CPU partition named by ``MPBENCH_SLURM_DATA_PARTITION``. Checked: the demo data ran as one CPU
job (no GPU) in that partition, every cell ran as one sbatch job (train + evaluate grouped)
that slurmctld accepted and completed, the leaderboard has one row per cell, MLflow one run
per cell.

Then preemption: a fresh cell with more epochs is started in the background; once its job
runs and has written an epoch checkpoint, it is cancelled (SLURM sends SIGTERM: the training
writes an iteration checkpoint and exits). Snakemake retries it (attempt 2: twice the memory
and time); that job is cancelled too, so Snakemake gives up. A second `snakemake` then
resumes the training from the newest checkpoint, in the same MLflow run.

Needs root and the Debian packages slurm-wlm and munge (`make install` installs them as root);
skips with the reason otherwise.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.integration.test_pipeline import _env as _pipeline_env
from tests.integration.test_pipeline import _stack_available
from tests.repo_copy import committed_copy, micro_demo_params
from tests.slurm.cluster import ClusterUnavailable, SlurmCluster, unavailable_reason

pytestmark = pytest.mark.slurm

RESOURCES = {"threads": 1, "mem_mb": 1500, "runtime": 10}
DATA_RESOURCES = {"local": False, "threads": 1, "mem_mb": 1200, "runtime": 15}
MICRO = {
    "experiment": "micro-slurm",
    "matrix": [{"dataset": "demo", "modalities": ["rgb", "thermal"], "models": ["tiny_hrnet"]}],
    "train": {"epochs": 1, "seed": 0, "batch_size": 8},
    "evaluate": {"bootstrap": 20, "seed": 0},
    "resources": {"train": RESOURCES, "evaluate": RESOURCES, "data": DATA_RESOURCES},
}
CELLS = ["demo/rgb/tiny_hrnet", "demo/thermal/tiny_hrnet"]
# ~4 iterations per epoch on the micro data: 40 epochs leave time to catch the job running.
PREEMPT = {**MICRO, "experiment": "micro-slurm-preempt",
           "matrix": [{"dataset": "demo", "modalities": ["lowlight"], "models": ["tiny_hrnet"]}],
           "train": {"epochs": 40, "seed": 0, "batch_size": 8}}
PREEMPT_CELL = "demo/lowlight/tiny_hrnet"
#: Real preemption: a cell whose job a higher partition's job preempts, and the same cell
#: trained once without interruption for reference.
REQUEUE = {**MICRO, "experiment": "micro-slurm-requeue",
           "matrix": [{"dataset": "demo", "modalities": ["depth"], "models": ["tiny_hrnet"]}],
           "train": {"epochs": 24, "seed": 0, "batch_size": 8}}
REQUEUE_REF = {**REQUEUE, "experiment": "micro-slurm-requeue-ref"}
REQUEUE_CELL = "demo/depth/tiny_hrnet"
#: SLURM's own requeue (``scontrol requeue``: what an admin, a node failure or a preemption
#: that outlives its grace time does): the same job id runs again.
SREQUEUE = {**REQUEUE, "experiment": "micro-slurm-scontrol-requeue",
            "matrix": [{"dataset": "demo", "modalities": ["depth_lowres"],
                        "models": ["tiny_hrnet"]}]}
SREQUEUE_REF = {**SREQUEUE, "experiment": "micro-slurm-scontrol-requeue-ref"}
SREQUEUE_CELL = "demo/depth_lowres/tiny_hrnet"

SNAKE = ["snakemake", "--profile", "workflow/profiles/slurm",
         # the test cluster answers at once; the profile keeps the plugin's 40 s
         "--slurm-init-seconds-before-status-checks", "5",
         # keep every job's SLURM log: the test reads which rules and cells each job ran
         "--slurm-keep-successful-logs"]
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: ([^)]+)\)")
TIMEOUT = 900


def _unavailable(reason: str, slurm: SlurmCluster | None = None) -> None:
    """Skip without a cluster; under ``CI=true`` (which installs slurm-wlm and munge as root)
    a cluster that cannot start is a failure that prints the daemons' logs."""
    if in_ci():
        logs = slurm.logs() if slurm is not None else ""
        pytest.fail(f"CI=true but the test SLURM cluster is unavailable: {reason}\n{logs}",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(module_tmp: Path):
    if not _stack_available():
        _unavailable("needs the full stack (mmcv with ops, mmpose, snakemake): run `make test`")
    reason = unavailable_reason()
    if reason:
        _unavailable(reason)
    slurm = SlurmCluster(module_tmp / "slurm")
    try:
        slurm.start()
    except ClusterUnavailable as exc:
        slurm.stop()
        _unavailable(str(exc), slurm)
    yield slurm
    slurm.stop()


@pytest.fixture(scope="module")
def repo(module_tmp: Path) -> Path:
    """A clean copy of the working tree (tracked + untracked, not ignored), committed, with
    the micro data parameters and the two matrix files of this test."""
    dst = module_tmp / "slurm-pipeline" / "repo"
    (dst.parent / "home").mkdir(parents=True)
    return committed_copy(dst, params=micro_demo_params,
                          files={"configs/micro_slurm.yaml": MICRO,
                                 "configs/preempt.yaml": PREEMPT,
                                 "configs/requeue.yaml": REQUEUE,
                                 "configs/requeue_ref.yaml": REQUEUE_REF,
                                 "configs/scontrol_requeue.yaml": SREQUEUE,
                                 "configs/scontrol_requeue_ref.yaml": SREQUEUE_REF})


def _env(repo: Path, cluster: SlurmCluster) -> dict[str, str]:
    """The integration test's environment plus the site values, the way a user sets them."""
    env = {k: v for k, v in _pipeline_env(repo).items()
           if not k.startswith(("SLURM_", "SBATCH_", "SRUN_", "MPBENCH_SLURM_"))}
    env["MPBENCH_SLURM_PARTITION"] = cluster.partition
    env["MPBENCH_SLURM_ACCOUNT"] = cluster.account
    env["MPBENCH_SLURM_QOS"] = ""  # empty like unset: no --qos in the sbatch call
    env["MPBENCH_SLURM_DATA_PARTITION"] = cluster.cpu_partition
    return env


def _diagnostics(repo: Path, cluster: SlurmCluster) -> str:
    logs = [*sorted((repo / "logs").rglob("*.log")),
            *sorted((repo / ".snakemake" / "slurm_logs").rglob("*.log"))]
    return ("\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
            + f"\nsqueue:\n{cluster.jobs()}\n{cluster.logs()}")


def _run(cmd: list[str], repo: Path, cluster: SlurmCluster, timeout: int = TIMEOUT,
         check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["timeout", "-k", "20", str(timeout), *cmd], cwd=repo,
                          env=_env(repo, cluster), capture_output=True, text=True)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}"
                    f"\nstderr:\n{proc.stderr[-8000:]}\n{_diagnostics(repo, cluster)}")
    return proc


def _submitted(output: str) -> dict[str, Path]:
    """SLURM job id -> its SLURM log, as the executor plugin reports each sbatch."""
    return {m.group(1): Path(m.group(2)) for m in SUBMITTED.finditer(output)}


def _cells_in(slurm_log: Path) -> dict[str, set[str]]:
    """Rules run inside one SLURM job, per cell, from the job's log (the inner Snakemake)."""
    text = slurm_log.read_text(errors="replace")
    found: dict[str, set[str]] = {}
    for rule, wc in re.findall(r"rule (\w+):\n(?:\s+\w+: .*\n)*?\s+wildcards: (.*)\n", text):
        w = dict(kv.split("=", 1) for kv in wc.split(", "))
        found.setdefault(w["cell"], set()).add(rule)  # one wildcard: the cell's key
    return found


def _mlflow_runs(repo: Path, experiment: str) -> tuple[list, object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"experiment {experiment!r} missing from the default store"
    return client.search_runs([exp.experiment_id]), client


@pytest.fixture(scope="module")
def first_run(repo: Path, cluster: SlurmCluster) -> subprocess.CompletedProcess:
    return _run([*SNAKE, "--configfile", "configs/micro_slurm.yaml"], repo, cluster)


def test_data_stages_ran_as_one_cpu_job(repo: Path, cluster: SlurmCluster, first_run) -> None:
    jobs = _submitted(first_run.stdout + first_run.stderr)
    data_jobs = [j for j in jobs if cluster.job(j).get("Comment", "").startswith("rule_data")]
    assert len(data_jobs) == 1, {j: cluster.job(j).get("Comment") for j in jobs}
    info = cluster.job(data_jobs[0])
    assert cluster.completed_jobs()[data_jobs[0]]["JobState"] == "COMPLETED"
    assert info["Partition"] == cluster.cpu_partition and info["Account"] == cluster.account
    assert info.get("TresPerJob", "") in ("", "(null)"), info  # no GPU for the data stages
    assert info["MinMemoryNode"] == f"{DATA_RESOURCES['mem_mb']}M"
    assert info["TimeLimit"] == "00:15:00"
    assert "dataset=demo" in jobs[data_jobs[0]].read_text(errors="replace")
    stamp = json.loads((repo / "results" / "data" / "demo.json").read_text())
    assert stamp["dataset"] == "demo", stamp
    assert (repo / "data" / "demo" / "processed" / "stats.json").is_file()


def test_each_cell_ran_as_one_sbatch_job(repo: Path, cluster: SlurmCluster, first_run) -> None:
    jobs = _submitted(first_run.stdout + first_run.stderr)
    jobs = {j: log for j, log in jobs.items()
            if not cluster.job(j).get("Comment", "").startswith("rule_data")}
    assert len(jobs) == len(CELLS), jobs  # bookkeeping (tracking_init, leaderboard) stayed local
    ctld_log = cluster.ctld_log.read_text()
    completed = cluster.completed_jobs()
    cells: dict[str, set[str]] = {}
    for job_id, slurm_log in jobs.items():
        assert f"_slurm_rpc_submit_batch_job: JobId={job_id} " in ctld_log
        assert completed[job_id]["JobState"] == "COMPLETED", completed[job_id]
        info = cluster.job(job_id)  # still known to slurmctld (MinJobAge)
        assert info["JobState"] == "COMPLETED"
        assert info["Partition"] == cluster.partition and info["Account"] == cluster.account
        assert info["QOS"] == "(null)"  # MPBENCH_SLURM_QOS empty: none requested
        # one job per cell: the group of its training and evaluation, on one (fake) GPU
        assert info["Comment"] == "rule_cell_evaluate_train", info
        assert info["TresPerJob"] == "gres:gpu:1" and info["Requeue"] == "1", info
        assert info["MinMemoryNode"] == f"{RESOURCES['mem_mb']}M"
        assert info["TimeLimit"] == "00:20:00"  # train + evaluate runtime, attempt 1
        for cell, rules in _cells_in(slurm_log).items():
            cells.setdefault(cell, set()).update(rules)
    assert cells == {c: {"train", "evaluate"} for c in CELLS}


def test_leaderboard_and_one_mlflow_run_per_cell(repo: Path, first_run) -> None:
    rows = [r for r in csv.DictReader((repo / "results" / "leaderboard.csv").open())
            if r["statistic"] == "AP" and r["set"] == "test" and r["boxes"] == "gt"]
    assert [r["cell"] for r in rows] == CELLS
    for r in rows:
        metrics = json.loads((repo / "results/cells" / r["cell"] / "metrics.json").read_text())
        assert float(r["value"]) == metrics["scores"]["test"]["stats"]["AP"] and r["run_id"]
    md = (repo / "results" / "leaderboard.md").read_text()
    assert "| model | modality | test · GT boxes |" in md
    runs, _ = _mlflow_runs(repo, MICRO["experiment"])
    assert sorted(r.data.tags["mpbench.cell"] for r in runs) == CELLS
    assert {r.info.run_id for r in runs} == {r["run_id"] for r in rows}
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {"AP", "AP_ci95_low", "AP_ci95_high"} <= set(run.data.metrics)


def test_nothing_left_to_do(repo: Path, cluster: SlurmCluster, first_run) -> None:
    dry = _run([*SNAKE, "--configfile", "configs/micro_slurm.yaml", "-n"], repo, cluster,
               timeout=300)
    assert "Nothing to be done" in dry.stdout + dry.stderr


@contextlib.contextmanager
def _snakemake_in_background(repo: Path, cluster: SlurmCluster, log: Path,
                             *args: str) -> Iterator[subprocess.Popen]:
    """``snakemake --profile workflow/profiles/slurm ARGS`` running in the background (output
    to ``log``) while the test acts on its jobs; terminated on the way out if still running
    (an assertion failed mid-test), so no workflow outlives its test."""
    with log.open("w") as fh:
        proc = subprocess.Popen(["timeout", "-k", "20", str(TIMEOUT), *SNAKE, *args], cwd=repo,
                                env=_env(repo, cluster), stdout=fh, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=60)


def _wait_for_checkpointing_job(cluster: SlurmCluster, work: Path, proc: subprocess.Popen,
                                exclude: set[str], timeout: float = 300) -> str:
    """The id of a RUNNING job (not in ``exclude``) once it has written an epoch checkpoint."""
    deadline = time.monotonic() + timeout
    job_id, started = None, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "snakemake ended before the training job could be cancelled"
        if job_id is None:
            running = [j["id"] for j in cluster.jobs("RUNNING") if j["id"] not in exclude]
            if running:
                job_id, started = running[0], time.time() - 1
        if job_id is not None and any(p.stat().st_mtime >= started
                                      for p in work.glob("epoch_*.pth")):
            return job_id
        time.sleep(0.2)
    raise AssertionError(f"no running job with a checkpoint in {work} within {timeout} s")


def _wait_gone(cluster: SlurmCluster, job_id: str, timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = cluster.job(job_id)
        if info.get("JobState") not in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING"):
            return info
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still active {timeout} s after scancel")


def test_preempted_training_resumes_in_the_same_run(repo: Path, cluster: SlurmCluster,
                                                    first_run) -> None:
    from benchmark.models.train import newest_valid_checkpoint

    work = repo / "work_dirs" / "demo" / "lowlight" / "tiny_hrnet"
    out = repo.parent / "preempt-snakemake.log"
    with _snakemake_in_background(repo, cluster, out, "--configfile", "configs/preempt.yaml",
                                  "--retries", "1") as proc:
        cancelled = []
        for _attempt in (1, 2):  # the first job, then Snakemake's retry of it
            job_id = _wait_for_checkpointing_job(cluster, work, proc, set(cancelled))
            subprocess.run(["scancel", job_id], check=True, timeout=30)
            cancelled.append(job_id)
            info = _wait_gone(cluster, job_id)
            assert info["JobState"] == "CANCELLED", info
        rc = proc.wait(timeout=600)
    log = out.read_text()
    assert rc != 0, f"snakemake should give up after its retry was cancelled too:\n{log[-4000:]}"
    assert list(_submitted(log)) == cancelled, log[-4000:]
    # the retry asked for twice the memory and time (profile `retries`, res_per_attempt)
    first, retry = (cluster.job(j) for j in cancelled)
    assert (first["MinMemoryNode"], retry["MinMemoryNode"]) == ("1500M", "3000M")
    assert (first["TimeLimit"], retry["TimeLimit"]) == ("00:20:00", "00:40:00")
    # SIGTERM from scancel: the training wrote an iteration checkpoint before it exited
    assert list(work.glob("iter_*.pth")), sorted(p.name for p in work.iterdir())
    resume_from = newest_valid_checkpoint(work)
    assert resume_from is not None
    assert not (work / "train_summary.json").exists()

    rerun = _run([*SNAKE, "--configfile", "configs/preempt.yaml"], repo, cluster)
    (job_id,) = _submitted(rerun.stdout + rerun.stderr)
    assert cluster.completed_jobs()[job_id]["JobState"] == "COMPLETED"
    assert cluster.job(job_id)["MinMemoryNode"] == "1500M"  # a new workflow: attempt 1
    summary = json.loads((work / "train_summary.json").read_text())
    assert Path(summary["resumed_from"]).name == resume_from.name, summary
    train_log = (repo / "logs" / "train" / "demo" / "lowlight" / "tiny_hrnet.log").read_text()
    assert f"Load checkpoint from work_dirs/demo/lowlight/tiny_hrnet/{resume_from.name}" in (
        train_log)
    assert "resumed epoch:" in train_log
    assert (work / "epoch_40.pth").is_file()

    runs, client = _mlflow_runs(repo, PREEMPT["experiment"])
    assert [r.data.tags["mpbench.cell"] for r in runs] == [PREEMPT_CELL]
    (run,) = runs
    assert run.info.status == "FINISHED" and "AP" in run.data.metrics
    assert run.info.run_id == summary["run_id"]
    loss = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in loss) == list(range(1, 41))  # each epoch once, across 3 jobs
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    assert {(r["modality"], r["run_id"]) for r in rows} == {("lowlight", run.info.run_id)}


def test_preempted_by_a_higher_partition_training_resumes_and_equals_an_uninterrupted_run(
        repo: Path, cluster: SlurmCluster, first_run) -> None:
    """Real preemption on the single-node cluster (preempt/partition_prio, PreemptMode=REQUEUE,
    GraceTime=20): the cell's training job is preempted by a job of the higher-priority
    partition that needs every CPU of the node. SLURM sends SIGTERM at the start of the grace
    time; the training writes an iteration checkpoint and exits, so the job step and the job
    end (FAILED, measured: a job that ends within its grace time is not requeued) and the
    urgent job runs. Snakemake's retry submits the cell again (attempt 2), which resumes from
    the newest checkpoint. The workflow ends with one MLflow run for the cell, a loss for every
    epoch once, and final weights and scores equal to those of the same cell trained without
    interruption."""

    from benchmark.models.train import newest_valid_checkpoint

    work = repo / "work_dirs" / "demo" / "depth" / "tiny_hrnet"
    out = repo.parent / "requeue-snakemake.log"
    with _snakemake_in_background(repo, cluster, out, "--configfile",
                                  "configs/requeue.yaml") as proc:
        job_id = _wait_for_checkpointing_job(cluster, work, proc, set())
        # every CPU of the node (not --exclusive, which slurm 22.05 does not preempt for)
        cpus = re.search(r"CPUTot=(\d+)", subprocess.run(
            ["scontrol", "show", "node", "-o", cluster.node], check=True, capture_output=True,
            text=True, timeout=30).stdout).group(1)
        urgent = subprocess.run(
            ["sbatch", "--parsable", "-p", cluster.urgent_partition, "-A", cluster.account,
             "-c", cpus, "--mem=200", "-o", str(repo.parent / "urgent.out"),
             "--wrap", "sleep 2"],
            check=True, capture_output=True, text=True, timeout=30).stdout.strip()
        _wait_gone(cluster, job_id)
        resume_from = newest_valid_checkpoint(work)
        rc = proc.wait(timeout=TIMEOUT)
    log = out.read_text()
    assert rc == 0, log[-4000:] + _diagnostics(repo, cluster)
    assert "DUE TO PREEMPTION" in log or "CANCELLED" in log, log[-4000:]
    jobs = list(_submitted(log))
    assert jobs[0] == job_id and len(jobs) == 2, log[-4000:]  # the preempted job and its retry
    done = cluster.completed_jobs()
    assert done[urgent]["JobState"] == "COMPLETED"
    assert done[jobs[1]]["JobState"] == "COMPLETED"
    assert cluster.job(jobs[1])["MinMemoryNode"] == "3000M"  # attempt 2
    _assert_resumed_once_and_equal_to_an_uninterrupted_run(
        repo, cluster, REQUEUE, REQUEUE_CELL, "configs/requeue_ref.yaml", resume_from)


def _assert_resumed_once_and_equal_to_an_uninterrupted_run(
        repo: Path, cluster: SlurmCluster, matrix: dict, cell: str, reference_config: str,
        resume_from: Path | None) -> None:
    """The interrupted cell resumed from the SIGTERM checkpoint, in one MLflow run with each
    epoch's loss once; then the same cell trained without interruption (a fresh work dir,
    locally, same threads and seed) has bit-identical weights and the same scores."""
    import torch

    work = repo / "work_dirs" / cell
    epochs = matrix["train"]["epochs"]
    assert resume_from is not None and resume_from.name.startswith("iter_")  # on SIGTERM
    summary = json.loads((work / "train_summary.json").read_text())
    assert Path(summary["resumed_from"]).name == resume_from.name, summary
    runs, client = _mlflow_runs(repo, matrix["experiment"])
    assert [r.data.tags["mpbench.cell"] for r in runs] == [cell]
    (run,) = runs
    assert run.info.status == "FINISHED" and run.info.run_id == summary["run_id"]
    loss = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in loss) == list(range(1, epochs + 1))  # continuous
    last = f"epoch_{epochs}.pth"
    interrupted = torch.load(work / last, map_location="cpu", weights_only=False)["state_dict"]
    metrics = json.loads((repo / "results/cells" / cell / "metrics.json").read_text())

    shutil.rmtree(work)
    shutil.rmtree(repo / "results" / "cells" / cell)
    _run(["snakemake", "--profile", "workflow/profiles/local", "--configfile",
          reference_config, "--cores", "2"], repo, cluster)
    reference = torch.load(work / last, map_location="cpu", weights_only=False)["state_dict"]
    assert interrupted.keys() == reference.keys()
    assert all(torch.equal(interrupted[k], reference[k]) for k in reference)
    ref_metrics = json.loads((repo / "results/cells" / cell / "metrics.json").read_text())
    assert ref_metrics["scores"]["test"]["stats"] == metrics["scores"]["test"]["stats"]


def _state(cluster: SlurmCluster, job_id: str) -> tuple[str, int]:
    info = cluster.job(job_id)
    return info.get("JobState", "?"), int(info.get("Restarts", "0"))


def test_requeued_by_slurm_the_same_job_resumes_and_equals_an_uninterrupted_run(
        repo: Path, cluster: SlurmCluster, first_run) -> None:
    """``scontrol requeue`` of a cell's running training job (``--requeue``, from the executor
    plugin's ``slurm-requeue: true``): SLURM sends SIGTERM, the training writes an iteration
    checkpoint and exits, and SLURM puts the *same job id* back in the queue (measured: held
    ``PENDING (BeginTime)`` for 120 s; the test releases it at once with ``StartTime=now``).
    The plugin sees a pending job, not a failure, so Snakemake submits nothing more; the job
    runs again (``Restarts=1``) and resumes from the checkpoint. One MLflow run, each epoch's
    loss once, and weights and scores equal to an uninterrupted training of the cell."""

    from benchmark.models.train import newest_valid_checkpoint

    work = repo / "work_dirs" / "demo" / "depth_lowres" / "tiny_hrnet"
    out = repo.parent / "scontrol-requeue-snakemake.log"
    with _snakemake_in_background(repo, cluster, out, "--configfile",
                                  "configs/scontrol_requeue.yaml") as proc:
        job_id = _wait_for_checkpointing_job(cluster, work, proc, set())
        subprocess.run(["scontrol", "requeue", job_id], check=True, timeout=30)
        deadline = time.monotonic() + 120
        while _state(cluster, job_id) != ("PENDING", 1):
            assert time.monotonic() < deadline, cluster.job(job_id)
            time.sleep(0.5)
        resume_from = newest_valid_checkpoint(work)
        subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"],
                       check=True, timeout=30)
        rc = proc.wait(timeout=TIMEOUT)
    log = out.read_text()
    assert rc == 0, log[-4000:] + _diagnostics(repo, cluster)
    assert list(_submitted(log)) == [job_id], log[-4000:]  # SLURM brought it back, not a retry
    assert cluster.completed_jobs()[job_id]["JobState"] == "COMPLETED"
    assert _state(cluster, job_id) == ("COMPLETED", 1)
    _assert_resumed_once_and_equal_to_an_uninterrupted_run(
        repo, cluster, SREQUEUE, SREQUEUE_CELL, "configs/scontrol_requeue_ref.yaml",
        resume_from)
