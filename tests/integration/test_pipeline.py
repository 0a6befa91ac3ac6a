"""End to end: the real Snakemake DAG with DVC data stages, MMPose training and MLflow.

Runs a micro matrix (demo dataset, 2 modalities x 1 model, a few images, 1 epoch) in a
temporary copy of the repository (a git repo, so DVC works as on a clone) and checks the
leaderboard, the MLflow runs, that nothing is left to do afterwards, and that re-running after
an interrupted training resumes it without a second MLflow run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.repo_copy import committed_copy, micro_demo_params

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
MICRO = {
    "experiment": "micro",
    "matrix": [{"dataset": "demo", "modalities": ["rgb", "lowlight"], "models": ["tiny_hrnet"]}],
    "train": {"epochs": 1, "seed": 0, "batch_size": 8},
    "evaluate": {"bootstrap": 20, "seed": 0, "annotations": "qa"},
    "resources": {"train": {"threads": 1}, "evaluate": {"threads": 1}},
}
CELLS = ["demo/lowlight/tiny_hrnet", "demo/rgb/tiny_hrnet"]


def _stack_available() -> bool:
    """The OpenMMLab stack (mmcv with ops, MMPose, MMDetection) and snakemake: what the
    integration tests run (the shared check of this folder's modules)."""
    try:
        import mmcv._ext  # noqa: F401
        import mmdet.apis  # noqa: F401
        import mmpose.models  # noqa: F401
    except ImportError:
        return False
    return shutil.which("snakemake", path=str(BIN)) is not None


if not _stack_available():
    pytestmark = [pytestmark, pytest.mark.skip(
        reason="needs the full stack (mmcv with ops, mmpose, snakemake): run `make test`")]


def _env(repo: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["HOME"] = str(repo.parent / "home")  # no user profile/config leaks into the test
    return env


def _run(cmd: list[str], repo: Path, timeout: int = 1500, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the copy, bounded; on failure, fail with its output and every rule log."""
    proc = subprocess.run(["timeout", "-k", "20", str(timeout), *cmd], cwd=repo,
                          env=env or _env(repo), capture_output=True, text=True)
    if proc.returncode != 0:
        logs = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}"
                         for p in sorted((repo / "logs").rglob("*.log")))
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}"
                    f"\nstderr:\n{proc.stderr[-6000:]}\nlogs:\n{logs}")
    return proc


@pytest.fixture(scope="module")
def repo(module_tmp: Path) -> Path:
    """A clean copy of the working tree (tracked + untracked, not ignored), committed."""
    dst = module_tmp / "repo"
    (dst.parent / "home").mkdir()
    return committed_copy(dst, params=micro_demo_params, files={"configs/micro.yaml": MICRO})


SNAKE = ["snakemake", "--profile", "workflow/profiles/local", "--configfile",
         "configs/micro.yaml", "--cores", "2"]


@pytest.fixture(scope="module")
def first_run(repo: Path) -> subprocess.CompletedProcess:
    return _run(SNAKE, repo)


def _mlflow_runs(repo: Path) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("micro")
    assert exp is not None, "experiment 'micro' missing from the default store"
    return client.search_runs([exp.experiment_id]), client


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_leaderboard_uses_the_protocol_and_equals_the_metrics_files(repo: Path,
                                                                   first_run) -> None:
    md = (repo / "results" / "leaderboard.md").read_text()
    assert "## demo (coco: AP)" in md
    assert ("| model | modality | test · GT boxes | test · GT boxes · QA annotations |") in md
    assert "OKS keypoint AP and AR (COCO protocol, pycocotools)" in md
    assert "| model | modality | AP | AP50 | AP75 | AR |" in md
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    assert sorted({r["cell"] for r in rows}) == CELLS
    for cell in CELLS:
        metrics = json.loads((repo / "results" / "cells" / cell / "metrics.json").read_text())
        assert metrics["primary"] == "test" and sorted(metrics["scores"]) == ["test", "test/qa"]
        for label, score in metrics["scores"].items():
            for stat, value in score["stats"].items():
                (row,) = [r for r in rows if r["cell"] == cell and r["statistic"] == stat
                          and r["set"] == "test" and r["annotations"] == score["annotations"]]
                assert float(row["value"]) == value, (cell, label, stat)
        # the leaderboard row the overview shows: AP of the official test view, in percent
        ap = metrics["scores"]["test"]["stats"]["AP"]
        line = next(x for x in md.splitlines() if x.startswith(f"| tiny_hrnet | "
                                                              f"{cell.split('/')[1]} |"))
        assert line.split("|")[3].strip().split(" ")[0].strip("*") == f"{ap * 100:.1f}"
    assert "\\multicolumn{4}{c}{test / GT boxes}" in (
        repo / "results" / "leaderboard.tex").read_text()


def test_scores_name_the_official_ground_truth_and_qa_is_separate(repo: Path,
                                                                 first_run) -> None:
    for cell in CELLS:
        modality = cell.split("/")[1]
        metrics = json.loads((repo / "results" / "cells" / cell / "metrics.json").read_text())
        official, qa = metrics["scores"]["test"], metrics["scores"]["test/qa"]
        assert official["annotations"] == "official" and qa["annotations"] == "qa"
        assert official["gt_file"] == \
            f"data/demo/processed/annotations_official/{modality}/test.json"
        assert qa["gt_file"] == f"data/demo/processed/annotations/{modality}/test.json"
        for score in (official, qa):
            assert score["gt_sha256"] == _sha256(repo / score["gt_file"])
        # the official view holds the generated (released) annotations, not QA's edits
        converted = json.loads((repo / "data/demo/converted/annotations/test.json").read_text())
        view = json.loads((repo / official["gt_file"]).read_text())
        assert [a["keypoints"] for a in view["annotations"]] == \
            [a["keypoints"] for a in converted["annotations"]]
        # the same predictions, scored against each ground truth with the reference
        from tests.evaluation.conftest import pycocotools_stats

        preds = json.loads((repo / official["predictions"]).read_text())
        for score in (official, qa):
            gt = json.loads((repo / score["gt_file"]).read_text())
            assert score["stats"]["AP"] == pycocotools_stats(gt, preds)[0]


def test_paired_modality_comparison_is_written(repo: Path, first_run) -> None:
    rows = list(csv.DictReader((repo / "results" / "compare" / "demo.csv").open()))
    assert [(r["a"], r["b"], r["set"], r["model"]) for r in rows] == [
        ("lowlight", "rgb", "test", "tiny_hrnet")]
    rgb = json.loads((repo / "results/cells/demo/rgb/tiny_hrnet/metrics.json").read_text())
    lowlight = json.loads((repo / "results/cells/demo/lowlight/tiny_hrnet/metrics.json")
                          .read_text())
    a, b = (m["scores"]["test"]["stats"]["AP"] * 100 for m in (lowlight, rgb))
    assert float(rows[0]["value_a"]) == pytest.approx(a, abs=1e-9)
    assert float(rows[0]["difference"]) == pytest.approx(b - a, abs=1e-9)
    assert int(rows[0]["images"]) == 8 and rows[0]["p_value"]
    assert "| tiny_hrnet | test | lowlight | rgb |" in (
        repo / "results" / "compare" / "demo.md").read_text()


def test_one_mlflow_run_per_cell_with_params_metrics_artifacts(repo: Path, first_run) -> None:
    found, client = _mlflow_runs(repo)
    assert sorted(r.data.tags["mpbench.cell"] for r in found) == CELLS
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert "preprocess@demo" in lock["stages"]
    for run in found:
        p = run.data.params
        assert {p["dataset"], p["modality"], p["model"]} <= {"demo", "rgb", "lowlight",
                                                             "tiny_hrnet"}
        assert len(p["config_digest"]) == 16 and p["data_version"] != "unversioned"
        # the commit is MLflow's source tag (set again by a resumed job at a later commit),
        # not a param (a param may never change)
        assert len(run.data.tags["mlflow.source.git.commit"]) == 40
        assert run.data.tags["mlflow.source.name"] == "mpbench train"
        for key in ("AP", "AP_ci95_low", "AP_ci95_high", "test/AP", "test/AP50",
                    "test/AR", "test/AP_ci95_low", "test/qa/AP"):
            assert key in run.data.metrics, key
        assert "AP50" not in run.data.metrics  # only the headline under its plain name
        loss = client.get_metric_history(run.info.run_id, "train/loss")
        assert [m.step for m in loss] == [1] and loss[0].value > 0
        assert run.info.status == "FINISHED"
        arts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config", "predictions", "metrics"} <= arts
        metrics = json.loads((repo / "results" / "cells" / run.data.tags["mpbench.cell"]
                              / "metrics.json").read_text())
        assert metrics["scores"]["test"]["stats"]["AP"] == pytest.approx(run.data.metrics["AP"])
        assert run.data.tags["mpbench.gt.test"].startswith("official data/demo/processed/"
                                                          "annotations_official/")


def test_nothing_left_to_do(repo: Path, first_run) -> None:
    dry = _run([*SNAKE, "-n"], repo, timeout=300)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    dvc = _run([str(BIN / "dvc"), "repro"], repo, timeout=300)
    out = dvc.stdout + dvc.stderr
    assert "didn't change, skipping" in out and "Running stage" not in out


def test_interrupted_training_resumes_in_the_same_run(repo: Path, first_run) -> None:
    before, _ = _mlflow_runs(repo)
    ids = {r.data.tags["mpbench.cell"]: r.info.run_id for r in before}
    work = repo / "work_dirs" / "demo" / "lowlight" / "tiny_hrnet"
    # A workflow killed while this cell trained, after its last checkpoint was written: no
    # training summary and nothing downstream of it (no metrics, no leaderboard yet).
    (work / "train_summary.json").unlink()
    shutil.rmtree(repo / "results" / "cells" / "demo" / "lowlight" / "tiny_hrnet")
    for out in (repo / "results").glob("leaderboard.*"):
        out.unlink()
    _run(SNAKE, repo)
    summary = json.loads((work / "train_summary.json").read_text())
    assert summary["resumed_from"].endswith("epoch_1.pth")
    after, _ = _mlflow_runs(repo)
    assert {r.data.tags["mpbench.cell"]: r.info.run_id for r in after} == ids
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    assert sorted({r["cell"] for r in rows}) == CELLS


def test_malformed_matrix_fails_before_any_job(repo: Path, first_run) -> None:
    bad = dict(MICRO, train={"epochs": "ten"})
    (repo / "configs" / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = subprocess.run(["timeout", "-k", "10", "300", "snakemake", "-n", "--configfile",
                           "configs/bad.yaml"], cwd=repo, env=_env(repo), capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "epochs" in proc.stdout + proc.stderr
    bad = dict(MICRO, matrix=[{"dataset": "demo", "modalities": ["sonar"],
                               "models": ["tiny_hrnet"]}])
    (repo / "configs" / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = subprocess.run(["timeout", "-k", "10", "300", "snakemake", "-n", "--configfile",
                           "configs/bad.yaml"], cwd=repo, env=_env(repo), capture_output=True,
                          text=True)
    assert proc.returncode != 0
    assert "matrix[0].modalities[0]: dataset 'demo' has no modality 'sonar'" in (
        proc.stdout + proc.stderr)


def _train(repo: Path, work_dir: str, experiment: str, *extra: str) -> list[str]:
    return [str(BIN / "mpbench"), "train", "--dataset", "demo", "--modality", "rgb", "--model",
            "tiny_hrnet", "--epochs", "2", "--seed", "0", "--batch-size", "4",
            "--work-dir", work_dir, "--experiment", experiment, *extra]


def test_interrupted_training_ends_with_identical_weights_and_metrics(repo: Path,
                                                                     first_run) -> None:
    """SIGTERM mid-epoch (as SLURM sends on preemption/scancel), then a re-run: the final
    weights and the evaluation equal those of an uninterrupted run, bit for bit (CPU)."""
    import signal
    import time

    import torch

    _run(_train(repo, "work_dirs/resume_a", "resume_a"), repo)
    proc = subprocess.Popen(_train(repo, "work_dirs/resume_b", "resume_b",
                                   "--checkpoint-iters", "3"),
                            cwd=repo, env=_env(repo), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    wd = repo / "work_dirs" / "resume_b"
    deadline = time.monotonic() + 600
    while not (wd / "iter_3.pth").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no iteration checkpoint within 10 minutes"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 143, out[-3000:]
    saved = sorted(wd.glob("iter_*.pth"))
    assert len(saved) == 1 and int(saved[0].stem.split("_")[1]) > 3, saved  # older ones pruned
    assert not (wd / "epoch_2.pth").exists()
    resumed = _run(_train(repo, "work_dirs/resume_b", "resume_b"), repo)
    assert f"resumed_from\": \"work_dirs/resume_b/{saved[0].name}" in resumed.stdout

    a = torch.load(repo / "work_dirs/resume_a/epoch_2.pth", map_location="cpu",
                   weights_only=False)["state_dict"]
    b = torch.load(wd / "epoch_2.pth", map_location="cpu", weights_only=False)["state_dict"]
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, f"weights differ after resume: {differing[:5]}"
    metrics = []
    for name in ("resume_a", "resume_b"):
        _run([str(BIN / "mpbench"), "evaluate", "--dataset", "demo", "--modality", "rgb",
              "--model", "tiny_hrnet", "--work-dir", f"work_dirs/{name}",
              "--out-dir", f"results/{name}", "--bootstrap", "0"], repo)
        metrics.append(json.loads((repo / "results" / name / "metrics.json").read_text()))
    same = [{label: (s["stats"], s["intervals"], s["predictions_sha256"])
             for label, s in m["scores"].items()} for m in metrics]
    assert same[0] == same[1]
    # the logged training curve too: the resumed epoch's mean loss includes the batches
    # trained before the interruption (their running sums travel in the checkpoint)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")
    curves = []
    for name in ("resume_a", "resume_b"):
        (run,) = client.search_runs([client.get_experiment_by_name(name).experiment_id])
        curves.append(sorted((m.step, m.value)
                             for m in client.get_metric_history(run.info.run_id, "train/loss")))
    assert [step for step, _ in curves[0]] == [1, 2]
    assert curves[0] == curves[1]


def test_new_data_under_an_unchanged_config_is_a_new_run(repo: Path, first_run) -> None:
    """The data version is part of a run's identity: regenerating the demo data with two more
    test images (the training images, hence the normalisation statistics and the composed
    config, stay the same) retrains every cell into a new MLflow run, logs its params (no
    "params differ"), supersedes the old run, and never resumes the old checkpoints.
    Runs last: it changes the module's repository."""
    before, client = _mlflow_runs(repo)
    old = {r.data.tags["mpbench.cell"]: r for r in before
           if "mpbench.superseded_by" not in r.data.tags}
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["download"]["demo"]["n_test"] += 2
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(SNAKE, repo)
    after, _ = _mlflow_runs(repo)
    live = {r.data.tags["mpbench.cell"]: r for r in after
            if "mpbench.superseded_by" not in r.data.tags}
    assert sorted(live) == CELLS
    for cell in CELLS:
        new, prev = live[cell], old[cell]
        assert new.info.run_id != prev.info.run_id
        assert new.data.params["config_digest"] == prev.data.params["config_digest"]
        assert new.data.params["data_version"] != prev.data.params["data_version"]
        superseded = client.get_run(prev.info.run_id).data.tags["mpbench.superseded_by"]
        assert superseded == new.info.run_id
        summary = json.loads((repo / "work_dirs" / cell / "train_summary.json").read_text())
        assert summary["run_id"] == new.info.run_id and summary["resumed_from"] is None
        assert summary["data_version"] == new.data.params["data_version"]
        kept = repo / "work_dirs" / cell / "previous"
        assert [p.name for p in kept.glob("*/epoch_1.pth")] == ["epoch_1.pth"]
        metrics = json.loads((repo / "results" / "cells" / cell / "metrics.json").read_text())
        assert metrics["run_id"] == new.info.run_id
        assert metrics["scores"]["test"]["units"] == params["download"]["demo"]["n_test"]


# --------------------------------------------------------------------------- the HTML report

#: Chromium as the report's readers open it: headless, no sandbox (root in CI), and none of
#: the background connections a closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"]
SECTIONS = ("leaderboard", "bars", "joints", "compare", "curves", "qa", "qualitative", "paper")


def _browser(tmp_path: Path):
    """A fresh headless Debian Chromium under Playwright, or a skip naming what is missing
    (a failure under CI=true)."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not Path(chromium).is_file():
        from tests.conftest import missing_fixture

        missing_fixture("the report's browser test needs Debian's chromium and the playwright "
                        "package (make install installs both)")
    return sync_playwright, chromium


def test_report_renders_every_section_offline_and_sorts(repo: Path, first_run,
                                                        tmp_path: Path) -> None:
    """results/report/index.html in headless Chromium: no console error, no request beyond
    the file itself, every section with the micro demo's cells (charts, the lowlight ladder,
    both cells' best/worst images loaded), the leaderboard sorted by a click on its AP
    header; screenshots saved beside the report."""
    from benchmark.reports.paper_tables import TABLES

    sync_playwright, chromium = _browser(tmp_path)
    report = repo / "results" / "report" / "index.html"
    assert report.stat().st_size < 3_000_000
    ap = {c.split("/")[1]: json.loads((repo / "results/cells" / c / "metrics.json").read_text())
          ["scores"]["test"]["stats"]["AP"] * 100 for c in CELLS}
    shots = repo / "results" / "report" / "screenshots"
    shots.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        page = browser.new_page()
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        for section in SECTIONS:
            assert page.locator(f"section#{section} h2").is_visible(), section
        for section in ("bars", "joints", "compare", "curves"):
            assert page.locator(f"section#{section} svg").count() >= 1, section
        board = page.locator("section#leaderboard table")
        rows = board.locator("tbody tr")
        assert rows.count() == len(CELLS)  # the official test set with GT boxes
        assert sorted(set(rows.locator("td:nth-child(2)").all_inner_texts())) == sorted(ap)
        board.locator("th", has_text="AP").first.click()
        values = [float(v) for v in rows.locator("td:nth-child(5)").all_inner_texts()]
        assert values == sorted(values)
        board.locator("th", has_text="AP").first.click()
        values = [float(v) for v in rows.locator("td:nth-child(5)").all_inner_texts()]
        assert values == sorted(values, reverse=True)
        assert {round(v, 1) for v in values} == {round(v, 1) for v in ap.values()}
        images = page.locator("section#qualitative img")
        assert images.count() >= 2 * len(CELLS)
        assert page.evaluate("Array.from(document.querySelectorAll('section#qualitative img'))"
                             ".every(i => i.complete && i.naturalWidth > 0)")
        for table in TABLES:
            assert page.locator(f"section#paper h3#paper-{table.name}").count() == 1
        page.screenshot(path=str(shots / "top.png"))
        for section in ("compare", "curves", "qualitative"):
            page.locator(f"section#{section}").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{section}.png"))
        browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith("file:")] == []
    assert all((shots / f"{n}.png").stat().st_size > 10_000 for n in
               ("top", "compare", "curves", "qualitative"))


def test_lowlight_curve_levels_equal_pycocotools_on_each_levels_images(repo: Path,
                                                                      first_run) -> None:
    """results/curves/demo.lowlight.csv: one point per level of the lowlight cell, each the
    AP of its level's images (the preprocess manifest's levels) as pycocotools computes it."""
    from tests.evaluation.conftest import pycocotools_stats

    rows = list(csv.DictReader((repo / "results/curves/demo.lowlight.csv").open()))
    assert [r["level"] for r in rows] == ["normal", "hard", "extreme"]
    manifest = json.loads((repo / "data/demo/processed/lowlight/manifest.json").read_text())
    level = {v["image_id"]: v["level"] for v in manifest["images"].values()}
    score = json.loads((repo / "results/cells/demo/lowlight/tiny_hrnet/metrics.json")
                       .read_text())["scores"]["test"]
    gt = json.loads((repo / score["gt_file"]).read_text())
    preds = json.loads((repo / score["predictions"]).read_text())
    for row in rows:
        keep = {i["id"] for i in gt["images"] if level[i["id"]] == row["level"]}
        sub = {**gt, "images": [i for i in gt["images"] if i["id"] in keep],
               "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]}
        ref = pycocotools_stats(sub, [p for p in preds if p["image_id"] in keep])[0]
        assert float(row["value"]) == pytest.approx(ref * 100, abs=1e-4), row["level"]
        assert row["ci95_low"] and row["ci95_high"] and row["source"].startswith("test images")



def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mlflow_ui_opens_on_the_runs_table(repo: Path, first_run, tmp_path: Path) -> None:
    """`mlflow ui` on the micro demo's store, opened in headless Chromium at the URL
    `mpbench mlflow-url` prints: the model-training runs table with both cells' runs (not the
    GenAI overview); the screenshot is saved beside the report's."""
    import time
    import urllib.request

    from benchmark.tracking.ui import runs_url

    sync_playwright, chromium = _browser(tmp_path)
    _, client = _mlflow_runs(repo)
    exp = client.get_experiment_by_name("micro")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    printed = _run([str(BIN / "mpbench"), "mlflow-url", "--experiment", "micro", "--host", host],
                   repo).stdout.strip()
    assert printed == runs_url(exp.experiment_id, host)
    server = subprocess.Popen(
        [str(BIN / "mlflow"), "ui", "--backend-store-uri",
         f"sqlite:///{repo / 'results/mlflow/mlflow.db'}", "--host", "127.0.0.1", "--port",
         str(port)], cwd=repo, env=_env(repo), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(host + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        shot = repo / "results" / "report" / "screenshots" / "mlflow-runs.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=chromium, args=CHROMIUM_ARGS,
                viewport={"width": 1400, "height": 900})
            page = browser.new_page()
            page.goto(printed)
            for cell in CELLS:
                page.get_by_text(cell, exact=True).first.wait_for(timeout=60_000)
            page.screenshot(path=str(shot))
            browser.close()
        assert shot.stat().st_size > 20_000
    finally:
        server.terminate()
        server.wait(timeout=30)
