"""Matrix recipes: replicate seeds, init chains, evaluate-only cells, per-model resources,
named benchmarks (configs/benchmarks/) and what `snakemake -n` plans for them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.workflow.matrix import (
    MatrixError,
    cell_resources,
    cells_from_config,
    entries_of,
    named_benchmark,
    named_benchmarks,
)
from tests.conftest import REPO

URL = "https://download.example.org/hrnet_w32_coco_256x192-c78dce93_20200708.pth"


def _entry(**kw) -> dict:
    return {"dataset": "demo", "modalities": ["rgb"], "models": ["tiny_hrnet"], **kw}


def test_seeds_expand_to_replicate_cells() -> None:
    cells = cells_from_config({"matrix": [_entry(seeds=[0, 1, 2])]}, REPO)
    assert [c.key for c in cells] == [f"demo/rgb/tiny_hrnet@s{s}" for s in (0, 1, 2)]
    assert {c.replicate_of for c in cells} == {"demo/rgb/tiny_hrnet"}
    assert [c.seed for c in cells] == [0, 1, 2]


def test_init_chain_needs_its_upstream_cell_in_the_matrix() -> None:
    chained = _entry(modalities=["thermal"], init={"cell": "demo/rgb/tiny_hrnet"})
    with pytest.raises(MatrixError, match=re.escape(
            "matrix[0].init.cell: demo/rgb/tiny_hrnet is not a cell of this matrix")):
        cells_from_config({"matrix": [chained]}, REPO)
    cells = cells_from_config({"matrix": [chained, _entry()]}, REPO)
    ft = next(c for c in cells if c.init is not None)
    assert ft.key == "demo/thermal/tiny_hrnet~ft-demo-rgb-tiny_hrnet"
    assert ft.init.source == "demo/rgb/tiny_hrnet"


def test_evaluate_only_cells_and_their_checks() -> None:
    zoo = _entry(train=False, init={"url": URL, "sha256": "c78dce93"},
                 published={"AP": 0.744})
    cell = cells_from_config({"matrix": [zoo]}, REPO)[0]
    assert (cell.train, cell.key) == (False, "demo/rgb/tiny_hrnet~ckpt-c78dce93")
    with pytest.raises(MatrixError, match=r"matrix\[0\]: .*needs init: \{url"):
        cells_from_config({"matrix": [_entry(train=False)]}, REPO)
    ft = _entry(modalities=["thermal"], init={"cell": cell.key})
    with pytest.raises(MatrixError, match="is evaluate-only; start from its init url"):
        cells_from_config({"matrix": [zoo, ft]}, REPO)


def test_one_key_with_two_recipes_is_refused() -> None:
    a = _entry(init={"url": URL, "sha256": "c78dce93", "name": "imagenet"})
    b = _entry(init={"url": URL.replace("c78dce93", "00000000"), "sha256": "00000000",
                     "name": "imagenet"})
    with pytest.raises(MatrixError, match="also described by matrix\\[0\\] with another recipe"):
        cells_from_config({"matrix": [a, b]}, REPO)


def test_resources_come_from_the_model_with_entry_overrides(monkeypatch) -> None:
    pytest.importorskip("mmengine")
    monkeypatch.chdir(REPO)
    from benchmark.models.families import _RES

    config = {"matrix": [_entry(models=["hrnet_w48"]), _entry(modalities=["thermal"]),
                         _entry(modalities=["depth"], models=["hrnet_w48"],
                                resources={"train": {"gpus": 4, "runtime": 30}})],
              "resources": {"train": {"threads": 3}, "evaluate": {"mem_mb": 9000}}}
    entries = entries_of(config, REPO)
    res = {c.key: cell_resources(config, entries, c) for c in entries}
    assert res["demo/rgb/hrnet_w48"]["train"] == {"threads": 3, **_RES["l"]}
    assert res["demo/thermal/tiny_hrnet"]["train"] == {"threads": 3, "gpus": 1,
                                                       "mem_mb": 4000, "runtime": 60}
    assert res["demo/depth/hrnet_w48"]["train"] == {"threads": 3, "gpus": 4,
                                                    "mem_mb": _RES["l"]["mem_mb"],
                                                    "runtime": 30}
    assert res["demo/rgb/hrnet_w48"]["evaluate"]["mem_mb"] == 9000
    # a value set in the matrix's resources section overrides every model's
    config["resources"]["train"]["mem_mb"] = 1500
    assert cell_resources(config, entries, next(c for c in entries if c.key ==
                                                "demo/rgb/hrnet_w48"))["train"]["mem_mb"] == 1500


#: The cells each named benchmark must list (issue: `mpbench matrix <name>`).
EXPECTED = {
    "demo": 5,
    "llvip-pose": 16,   # 8 models x {rgb, thermal}
    "coco-topdown": 7,
    "exlpose-baselines": 5,
    "mpii-topdown": 3,
    "mvor-topdown": 8,  # 2 models x {rgb, depth, 80x60, 64x48}
    "mvor-depth": 6,    # DepthPose x {depth, 80x60, 64x48, rgb} + DepthPose+SR x {80x60, 64x48}
    "posetrack": 2,     # frame-wise HRNet-W48 and PoseWarper
    "demo-replicates": 15,  # the demo's 5 cells x 3 seeds
    "llvip-pose-gray-pretrain": 40,  # 4 models x 5 COCO variants, each finetuned on thermal
    "exlpose": 5,  # baselines (LL, WL, WL->LL) + LSBN + LSBN+LUPI on ResNet-50
}


def test_named_benchmarks_list_their_cells() -> None:
    assert set(named_benchmarks(REPO)) == set(EXPECTED)
    for name, count in EXPECTED.items():
        cells = cells_from_config(named_benchmark(name, REPO), REPO)
        assert len(cells) == count, name
    llvip = cells_from_config(named_benchmark("llvip-pose", REPO), REPO)
    assert {c.model for c in llvip} == {"hrnet_w48_udp", "vitpose_h", "simcc_r50", "rle_r50",
                                        "dekr_hrnet_w32", "yoloxpose_s", "yoloxpose_l",
                                        "rtmo_l"}
    out = subprocess.run([sys.executable, "-m", "benchmark.cli", "matrix", "exlpose-baselines"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "~wl-then-ll" in out and out.strip().endswith("5 cells")


def _dry_run(*args: str) -> str:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.run([str(bin_dir / "snakemake"), "-n", "--nolock", "-p", *args],
                          cwd=REPO, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _jobs(text: str) -> dict[str, int]:
    stats = text.split("Job stats:")[1].split("Reasons")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_snakemake_plans_each_named_benchmark(name) -> None:
    """Every cell of a named benchmark is planned once for training and once for evaluation,
    from scratch (``--forceall``: cells a checkout has already run must not hide)."""
    pytest.importorskip("snakemake")
    jobs = _jobs(_dry_run("--config", f"benchmark={name}", "--forceall"))
    assert jobs["train"] == EXPECTED[name]
    assert jobs["evaluate"] == EXPECTED[name]


def test_finetune_depends_on_its_upstream_training() -> None:
    pytest.importorskip("snakemake")
    text = _dry_run("--config", "benchmark=exlpose-baselines")
    jobs = [j for j in text.split("\nrule ") if j.startswith("train:")]
    ft = next(j for j in jobs if "~wl-then-ll" in j)
    assert "work_dirs/exlpose/rgb/hrnet_w32/train_summary.json" in ft.split("output:")[0]
    assert "--init-cell exlpose/rgb/hrnet_w32" in ft


def test_evaluate_only_cells_plan_no_training(tmp_path) -> None:
    pytest.importorskip("snakemake")
    import yaml

    zoo = tmp_path / "zoo.yaml"
    zoo.write_text(yaml.safe_dump({"experiment": "zoo", "matrix": [
        {"dataset": "demo", "modalities": ["rgb", "thermal"], "models": ["tiny_hrnet"],
         "train": False, "init": {"url": URL, "sha256": "c78dce93"},
         "published": {"AP": 0.1}}]}))
    text = _dry_run("--configfile", str(zoo))
    jobs = _jobs(text)
    assert "train" not in jobs and jobs["fetch_weights"] == 2 and jobs["evaluate"] == 2
    assert "--published '{\"AP\": 0.1}'" in text and "--evaluate-only" in text
