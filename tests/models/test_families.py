"""Every top-down family trains, predicts and is scored through mpbench's own code.

Each model config of the top-down families (heatmap, UDP, SimCC/SimDR, RTMPose, RLE on ResNet
and HRNet, PSA, ViTPose) is composed for the ``coco`` dataset at a reduced input size, trained
for two iterations (one epoch of the real COCO sample's 12 posed persons at batch 6) by
:func:`benchmark.models.train.train_cell`, then scored by
:func:`benchmark.models.evaluate.evaluate_cell` on the sample as the ``val`` split, against
pycocotools. The dataset tree is the preprocess stage's output layout, written here from the
sample (read in place from ``../shared/fixtures/real``); the data stages themselves are
tested elsewhere, and the bottom-up and one-stage families run through the whole workflow on
a fixture-built LLVIP-Pose thermal cell (tests/integration/test_real_datasets.py).

What can fail: a family adapter that misses a copy of the input size or the keypoint count (the
build or the first step fails), an image loader left unreplaced, a head or codec the predict
pass cannot decode, predictions in another layout, a score that pycocotools does not give.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("mmpose")

from benchmark.cells import Cell  # noqa: E402
from benchmark.datasets import get_spec  # noqa: E402
from tests.conftest import REPO, missing_fixture  # noqa: E402

COCO = REPO.parent / "shared" / "fixtures" / "real" / "mmpose" / "tests" / "data" / "coco"
#: (model, reduced input size w x h); multiples of 32 for the stride-32 backbones.
TOP_DOWN = [
    ("simplebaseline_r50", (64, 96)),
    ("hrnet_w32", (64, 96)),
    ("hrnet_w48_udp", (64, 96)),
    ("psa_hrnet_w48", (64, 96)),
    ("simcc_r50", (64, 96)),
    ("simdr_hrnet_w32", (64, 96)),
    ("rtmpose_m", (64, 96)),
    ("rle_r50", (64, 96)),
    ("rle_hrnet_w48_384x288", (64, 96)),
    ("vitpose_s", (64, 96)),
]


@pytest.fixture(scope="module")
def coco_tree(module_tmp: Path):
    """A checkout-like folder: ``configs`` (the repository's), and ``data/coco`` in the
    preprocess stage's layout holding the real COCO sample as train and val."""
    if not (COCO / "test_coco.json").is_file():
        missing_fixture(f"{COCO}/test_coco.json (real COCO sample)")
    root = module_tmp
    (root / "configs").symlink_to(REPO / "configs")
    spec = get_spec("coco")
    data = root / "data"
    images = spec.image_root("rgb", data)
    images.mkdir(parents=True)
    gt = json.loads((COCO / "test_coco.json").read_text())
    for image in gt["images"]:
        shutil.copy(COCO / image["file_name"], images / image["file_name"])
    for split in ("train", "val"):
        for variant in ("qa", "official"):
            path = spec.modality_annotation_file(split, "rgb", data, variant=variant)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(gt))
    return root


@pytest.fixture()
def in_tree(coco_tree, monkeypatch):
    monkeypatch.chdir(coco_tree)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{coco_tree}/mlflow.db")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MPBENCH_THREADS", "1")
    yield coco_tree
    # each test's checkpoints (and their MLflow copies) are done with: HRNet-W48 and ViTPose
    # weigh hundreds of MB each, and the module trains eleven families in one folder
    for pth in [*coco_tree.glob("work_dirs/**/*.pth"), *coco_tree.glob("artifacts/**/*.pth")]:
        pth.unlink()


@pytest.mark.parametrize(("model", "size"), TOP_DOWN, ids=[m for m, _ in TOP_DOWN])
def test_top_down_family_trains_predicts_and_scores(in_tree, model, size) -> None:
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    from benchmark.models.evaluate import evaluate_cell
    from benchmark.models.train import train_cell

    cell = Cell("coco", "rgb", model)
    summary = train_cell(cell, experiment="families", overrides={
        "epochs": 1, "batch_size": 6, "seed": 0, "pretrained_backbone": False,
        "input_size": size})
    assert Path(summary["checkpoint"]).is_file()
    from mmengine.config import Config

    cfg = Config.fromfile(str(cell.work_dir / "config.py"))
    assert tuple(cfg.codec["input_size"] if isinstance(cfg.codec, dict)
                 else cfg.codec[0]["input_size"]) == size
    assert os.environ["MPBENCH_THREADS"] == "1"
    # each runner logs into its own cell (MMEngine shares visualizers by name per process)
    assert list(cell.work_dir.glob("*/vis_data/config.py"))

    metrics = evaluate_cell(cell, bootstrap=0, released_detections=False, log=False)
    score = metrics["scores"]["val"]
    preds = json.loads(Path(score["predictions"]).read_text())
    gt_file = score["gt_file"]
    posed = [a for a in json.loads(Path(gt_file).read_text())["annotations"]
             if a["num_keypoints"] > 0]
    assert preds and all(len(p["keypoints"]) == 17 * 3 for p in preds)
    # one prediction per ground-truth box of an image with posed people, at most
    assert len(preds) <= len(json.loads(Path(gt_file).read_text())["annotations"])
    assert len({p["image_id"] for p in preds}) == len({a["image_id"] for a in posed})
    # the score is pycocotools' on the same files
    coco = CocoApi(gt_file)
    ev = COCOeval(coco, coco.loadRes(score["predictions"]), "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert score["stats"]["AP"] == pytest.approx(ev.stats[0], abs=1e-12)
    assert metrics["model"] == model and metrics["cell"] == cell.key


def test_zoo_cell_evaluates_a_served_checkpoint_without_training(in_tree, http_server,
                                                                  monkeypatch) -> None:
    """An evaluate-only cell of a config MMPose ships: its checkpoint (random weights, saved
    here under a zoo-style name with its sha256 prefix) is fetched from the loopback server,
    checked against the whole model, and scored with the published value beside it."""
    import hashlib

    import torch
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from benchmark.cells import Init
    from benchmark.models.compose import compose
    from benchmark.models.evaluate import evaluate_cell
    from benchmark.models.train import train_cell
    from benchmark.reports.leaderboard import Leaderboard

    monkeypatch.setenv("MPBENCH_CHECKPOINTS", str(in_tree / "checkpoints"))
    model = "mmpose.td-hm_res50_8xb64-210e_coco-256x192"
    cfg = compose(Cell("coco", "rgb", model), overrides={"pretrained_backbone": False})
    init_default_scope("mmpose")
    torch.manual_seed(0)
    net = MODELS.build(cfg.model)
    path = in_tree / "weights.pth"
    torch.save({"state_dict": net.state_dict(), "meta": {}}, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    name = f"/mmpose/top_down/res50_coco_256x192-{sha[:8]}_20200727.pth"
    url = http_server.add(name, path.read_bytes())

    cell = Cell("coco", "rgb", model, Init("url", url, sha[:8]), train=False)
    summary = train_cell(cell, experiment="zoo")
    assert summary["evaluate_only"] and summary["epochs"] == 0
    assert not list(cell.work_dir.glob("epoch_*.pth"))  # nothing was trained
    assert http_server.count(name) == 1
    metrics = evaluate_cell(cell, bootstrap=0, released_detections=False, log=False,
                            published={"AP": 0.718})
    assert metrics["published"] == {"AP": 0.718}
    board = Leaderboard.from_files([cell.results_dir / "metrics.json"]).markdown()
    ap = metrics["scores"]["val"]["stats"]["AP"]
    row = next(line for line in board.splitlines() if line.startswith(f"| {model}"))
    assert row.endswith(f"| 71.8 | {(ap - 0.718) * 100:+.1f} |")
    assert "published = the value the paper or model zoo gives" in board
