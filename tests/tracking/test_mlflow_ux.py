"""MLflow as its users expect: what the UI and the registry read, read back from a real store.

The demo's tiny cell (``demo/rgb/tiny_hrnet``) is trained for one epoch on a 10-image demo
dataset (the real data stages, run here at a small size) by
:func:`benchmark.models.train.train_cell` and evaluated by
:func:`benchmark.models.evaluate.evaluate_cell`, in a git checkout with an ``origin`` remote
whose URL carries a token, and a ``dvc.lock`` that gives the data a version. The default
SQLite store under ``results/mlflow`` is then read through ``MlflowClient``: the experiment's
kind tag, the run's dataset input and source tags, the checkpoint and config artifacts (bytes
compared), the model registry after ``mpbench register`` (twice), and the runs URL.

What can fail: an experiment a fresh browser opens on the GenAI view, a run whose "Datasets
used" and "Source" columns are empty or carry a token, a checkpoint artifact other than the
evaluated checkpoint, a registry version that does not resolve to it, a duplicate version on
re-registering, a traceback instead of a message.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("mlflow")
pytest.importorskip("mmpose")

from benchmark.cells import Cell  # noqa: E402
from tests.conftest import REPO  # noqa: E402

EXP = "ux"
CELL = Cell("demo", "rgb", "tiny_hrnet")
REMOTE = "https://bench-bot:s3cr3t-token@git.example.org/lab/mpbench.git"
PARAMS = """\
datasets: [demo]
download:
  demo: {seed: 0, n_train: 6, n_val: 2, n_test: 2, width: 320, height: 240, workers: 1}
qa: {threshold: null}
preprocess: {seed: 0, workers: 1, stats_images: 6}
"""
DVC_LOCK = """\
schema: '2.0'
stages:
  preprocess@demo:
    outs:
    - path: data/demo/processed
      hash: md5
      md5: 5d41402abc4b2a76b9719d911017c592.dir
"""


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(module_tmp: Path):
    """A checkout-like folder (git repo with a remote, configs, params.yaml, dvc.lock, a
    small demo dataset) where the tiny cell has been trained and evaluated; the tests run in
    it, on its default store."""
    from benchmark.datasets import get_spec
    from benchmark.models.evaluate import evaluate_cell
    from benchmark.models.train import train_cell
    from benchmark.stages.data import STAGES

    root = module_tmp
    (root / "configs").symlink_to(REPO / "configs")
    (root / "params.yaml").write_text(PARAMS)
    (root / "dvc.lock").write_text(DVC_LOCK)
    _git(root, "init", "-q")
    _git(root, "add", "params.yaml", "dvc.lock")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x")
    _git(root, "remote", "add", "origin", REMOTE)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        mp.setenv("MPBENCH_THREADS", "1")
        spec = get_spec("demo")
        for stage in ("download", "convert", "qa", "preprocess"):
            STAGES[stage](spec, Path("data"))
        summary = train_cell(CELL, experiment=EXP, overrides={
            "epochs": 1, "batch_size": 4, "seed": 0})
        metrics = evaluate_cell(CELL, bootstrap=0, released_detections=False)
        yield {"root": root, "summary": summary, "metrics": metrics}


@pytest.fixture()
def client(trained):
    from mlflow.tracking import MlflowClient

    from benchmark.tracking.store import tracking_uri

    return MlflowClient(tracking_uri())


def test_experiment_opens_on_its_runs_table(trained, client, capsys) -> None:
    from benchmark.cli import main
    from benchmark.tracking.store import init_store
    from benchmark.tracking.ui import runs_url

    exp = client.get_experiment_by_name(EXP)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    assert runs_url(exp.experiment_id) == \
        f"http://127.0.0.1:5000/#/experiments/{exp.experiment_id}/runs?workflowType=machine_learning"
    assert runs_url("7", host="http://gpu-node:8080/") == \
        "http://gpu-node:8080/#/experiments/7/runs?workflowType=machine_learning"

    assert main(["mlflow-url", "--experiment", EXP]) == 0
    assert capsys.readouterr().out.strip() == runs_url(exp.experiment_id)
    assert main(["mlflow-url", "--experiment", EXP, "--host", "http://h:1"]) == 0
    assert capsys.readouterr().out.strip() == runs_url(exp.experiment_id, "http://h:1")
    assert main(["mlflow-url", "--experiment", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: MLflow experiment 'nope' does not exist")
    assert "Traceback" not in err

    # an experiment created before the tag existed gets it when the store is next opened
    legacy = client.create_experiment("legacy")
    assert "mlflow.experimentKind" not in client.get_experiment(legacy).tags
    assert init_store("legacy") == legacy
    assert client.get_experiment(legacy).tags["mlflow.experimentKind"] == \
        "custom_model_development"


def test_run_has_its_dataset_input_and_source_tags(trained, client) -> None:
    from mmengine.config import Config

    from benchmark.stages.dvc import data_version
    from benchmark.tracking import lineage

    summary, root = trained["summary"], trained["root"]
    assert summary["data_version"] == data_version("demo") != "unversioned"
    run = client.get_run(summary["run_id"])
    (inp,) = run.inputs.dataset_inputs
    ann = Config.fromfile(str(CELL.work_dir / "config.py")).train_dataloader.dataset.ann_file
    assert (inp.dataset.name, inp.dataset.digest, inp.dataset.source_type) == \
        ("demo/rgb", summary["data_version"], "local")
    assert json.loads(inp.dataset.source) == {"uri": str((root / ann).resolve())}
    assert Path(json.loads(inp.dataset.source)["uri"]).is_file()
    assert {t.key: t.value for t in inp.tags} == {
        "mlflow.data.context": "training", "split": "train", "modality": "rgb"}

    tags = run.data.tags
    assert tags["mlflow.source.name"] == "mpbench train"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.git.commit"] == _git(root, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.dirty"] == "false"
    assert tags["mlflow.source.git.repoURL"] == "https://git.example.org/lab/mpbench.git"
    assert "s3cr3t" not in json.dumps(tags)

    # a resumed job logs the input again: still one input
    lineage.log_cell_inputs(summary["run_id"], CELL, annotations=ann,
                            data_version=summary["data_version"], commit="unknown")
    assert len(client.get_run(summary["run_id"]).inputs.dataset_inputs) == 1


def test_source_tags_without_commit_or_remote(tmp_path) -> None:
    from benchmark.tracking.lineage import git_remote_url, source_tags, strip_credentials

    assert source_tags("unknown") == {"mlflow.source.name": "mpbench train",
                                      "mlflow.source.type": "LOCAL"}
    _git(tmp_path, "init", "-q")
    assert git_remote_url(tmp_path) is None
    assert git_remote_url(tmp_path.parent / "no-such-dir") is None
    assert strip_credentials("git@github.com:lab/mpbench.git") == \
        "git@github.com:lab/mpbench.git"


def test_checkpoint_and_config_are_run_artifacts(trained, client, tmp_path) -> None:
    summary = trained["summary"]
    run_id = summary["run_id"]
    ckpt = Path(summary["checkpoint"])
    assert [a.path for a in client.list_artifacts(run_id, "checkpoint")] == \
        [f"checkpoint/{ckpt.name}"]
    got = Path(client.download_artifacts(run_id, f"checkpoint/{ckpt.name}", str(tmp_path)))
    assert _sha256(got) == _sha256(ckpt)
    got = Path(client.download_artifacts(run_id, "config/config.py", str(tmp_path)))
    assert _sha256(got) == _sha256(CELL.work_dir / "config.py")


def test_register_creates_one_version_per_run(trained, client, capsys, tmp_path) -> None:
    import mlflow

    from benchmark.cli import main
    from benchmark.tracking import runs
    from benchmark.tracking.registry import model_name

    summary, metrics = trained["summary"], trained["metrics"]
    run_id, name = summary["run_id"], "demo.rgb.tiny_hrnet"
    assert model_name(CELL.key) == name
    assert model_name("demo/rgb/tiny_hrnet~coco@s1") == "demo.rgb.tiny_hrnet~coco.s1"

    assert main(["register", "--cell", CELL.key, "--experiment", EXP]) == 0
    assert capsys.readouterr().out.startswith(f"registered {name} version 1 (run {run_id}")
    assert main(["register", "--cell", CELL.key, "--experiment", EXP]) == 0
    assert "already registers run" in capsys.readouterr().out

    (version,) = client.search_model_versions(f"name = '{name}'")
    assert (str(version.version), version.run_id) == ("1", run_id)
    assert version.source == f"runs:/{run_id}/checkpoint"
    head = metrics["headline"]
    assert version.tags == {
        "mpbench.cell": CELL.key, "mpbench.dataset": "demo", "mpbench.modality": "rgb",
        "mpbench.config_digest": summary["config_digest"],
        "mpbench.data_version": summary["data_version"],
        "mpbench.headline": head, "mpbench.eval_primary": metrics["primary"],
        "mpbench.headline_value": repr(metrics["scores"][metrics["primary"]]["stats"][head])}
    model = client.get_registered_model(name)
    assert model.tags["mpbench.cell"] == CELL.key
    # the version resolves to the evaluated checkpoint
    mlflow.set_tracking_uri(client.tracking_uri)
    got = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/1", dst_path=str(tmp_path)))
    assert _sha256(got / Path(summary["checkpoint"]).name) == _sha256(Path(summary["checkpoint"]))

    # another name registers the same run as its own model
    assert main(["register", "--cell", CELL.key, "--experiment", EXP, "--name", "tiny"]) == 0
    assert [v.run_id for v in client.search_model_versions("name = 'tiny'")] == [run_id]
    capsys.readouterr()

    # a cell without a run, and a run without a checkpoint: one line, exit 1
    assert main(["register", "--cell", "demo/thermal/tiny_hrnet", "--experiment", EXP]) == 1
    err = capsys.readouterr().err
    assert "no MLflow run" in err and "Traceback" not in err
    runs.open_cell_run("demo/depth/tiny_hrnet", "d0", experiment=EXP)
    assert main(["register", "--cell", "demo/depth/tiny_hrnet", "--experiment", EXP]) == 1
    err = capsys.readouterr().err
    assert "no logged checkpoint" in err and "Traceback" not in err
    assert not client.search_registered_models("name = 'demo.depth.tiny_hrnet'")
    assert main(["register", "--cell", "not-a-key", "--experiment", EXP]) == 1
    assert capsys.readouterr().err.startswith("error: ")
