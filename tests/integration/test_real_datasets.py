"""End to end on the real datasets: a micro matrix over fixture-built copies of five releases.

LLVIP-Pose, ExLPose, MVOR, MPII and PoseTrack18 are built in their upstream release layouts from
the real samples in ``../shared/fixtures/real`` (read in place) by the builders of
``tests/datasets/test_upstream_layouts.py`` (its docstring says what is real and what is a
synthetic stand-in). In a temporary committed copy of the repository (never this working tree)
the URL sources are served by a loopback HTTP server through the documented mirror
(``MPBENCH_MIRROR``) and the registration-only files are placed in ``data/<dataset>/manual/``;
``params.yaml`` lists the five datasets and ``configs/real_micro.yaml`` is the matrix: one
``tiny_hrnet`` cell per (dataset, modality), one epoch. Then the real workflow runs once:
``snakemake --profile workflow/profiles/local --configfile configs/real_micro.yaml --cores 2``
(DVC data stages, MMPose training, detections, evaluation on every evaluation set and box source,
MLflow, leaderboard, paired modality comparisons).

Sizes, chosen to keep the module within 3-4 minutes on 2 cores shared with other jobs
(measured: 2 min 45 s and 3 min 54 s, nearly all of it the workflow run):

- **MVOR**: the real ground truth has 2196 images / 4699 persons; the copy serves its records
  of the first 4 images with posed persons of every (day, camera): 48 images (36 train on days
  1-3, 12 test on day 4), 140 persons of which 56 ``only_bbox``; every other key of the file
  is kept. Those bytes are not the published file, so the copy's ``benchmark/datasets/mvor.py``
  names the restricted file's sha256 and size instead of the published ones (a commit of its
  own in the copy), and the workflow runs the copy's package (``PYTHONPATH``; the compiled
  evaluation helpers are copied beside it): the download stage verifies the restricted file
  as it would the published one. Images: 640x480 synthetic colour and 16-bit depth ramps (the
  fixture has none).
- **MPII**: the real ``gt_valid.mat`` cut to its first 300 persons (every variable; scipy
  rewrites it, so it is pinned like any manual file) and ``mpii_val.json`` written from it.
  The whole file (2958 persons on the 5 real photos) cost 77 s of training (MMPose's
  end-of-training validation) and 79 s of evaluation on this machine, more than the other
  four datasets together.
- the others are whole already (ExLPose 2 images, LLVIP-Pose 12 test pairs, PoseTrack18 one
  labelled val video).

Cells: LLVIP-Pose ``thermal`` and ``rgb`` (scored with GT boxes and the released
``det:llvip_nms50`` files), ExLPose ``lowlight`` and ``rgb``, MVOR ``depth`` (also scored with a
randomly initialised one-class RTMDet-tiny, ``det:tiny``), MPII ``rgb``, PoseTrack18 ``rgb``;
and on LLVIP-Pose ``thermal`` a bottom-up (CID) and a one-stage (YOLOX-Pose-s) family, random
weights at the tiny model's 64x96 input, scored without box sources.

Checked: every evaluation set of each cell's modality was scored with every box source; every
score names the official annotation view with its sha256; the MVOR cell predicts MVOR's 10
joints and its scores equal ``benchmark.evaluation`` and the MVOR reference restatement on the
same files; LLVIP-Pose equals pycocotools, ExLPose equals xtcocotools ``keypoints_crowd``,
PoseTrack18 equals the poseval restatement and MPII equals ``benchmark.evaluation`` on the same
files; the leaderboard has each dataset's section with its protocol's headline and caption and a
CSV row for every (cell, set, boxes); the paired comparisons exist for the two-modality
datasets; each mirrored URL was fetched once and every source without a published checksum
was pinned; training's validation reads no ``area`` where the dataset has none, and each cell
has one finished MLflow run; a second ``snakemake -n`` has nothing to do.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.integration.test_pipeline import _run as run_in_copy
from tests.integration.test_pipeline import _stack_available
from tests.repo_copy import committed_copy

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
EXPERIMENT = "real_micro"
MODEL = "tiny_hrnet"
MODALITIES = {"llvip_pose": ["thermal", "rgb"], "exlpose": ["lowlight", "rgb"],
              "mvor": ["depth"], "mpii": ["rgb"], "posetrack18": ["rgb"], "coco": ["gray"]}
DATASETS = list(MODALITIES)
#: MVOR's ground truth restricted to this many posed images per (day, camera).
MVOR_PER_CAMERA = 4
MVOR_IMAGE_SIZE = (640, 480)
#: MPII's gt_valid.mat restricted to its first persons.
MPII_VAL_PERSONS = 300
#: A randomly initialised 1-class RTMDet-tiny (as tests/models/test_detect.py): boxes from
#: random weights, so the checks are on the plumbing, not on the numbers. With random weights
#: every anchor passes ``score_thr=0``: the detector's own NMS is capped (1000 candidates, 20
#: kept) and it sees 320x320 instead of 640x640 (Resize, Pad), 5x faster on a CPU core.
TINY_DETECTOR = {"config": "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py", "checkpoint": None,
                 "score_thr": 0.0, "nms_iou": 0.5, "max_per_image": 5,
                 "cfg_options": {"model.bbox_head.num_classes": 1,
                                 "model.bbox_head.exp_on_reg": True,
                                 "model.test_cfg.nms_pre": 1000,
                                 "model.test_cfg.max_per_img": 20,
                                 "test_dataloader.dataset.pipeline.1.scale": 320,
                                 "test_dataloader.dataset.pipeline.2.size": [320, 320]}}
#: Cross-dataset scores of the ExLPose cells (CrowdPose's 14 joints) on LLVIP-Pose (OKS on the
#: 12 shared limb joints) and on MPII (PCKh on the limb joints, MPII's other joints unlabelled).
TRANSFER = [{"dataset": "llvip_pose", "modalities": ["thermal"]},
            {"dataset": "mpii", "modalities": ["rgb"]}]
LIMBS = [f"{side}_{joint}" for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
         for side in ("left", "right")]
#: A bottom-up and a one-stage family on the LLVIP-Pose thermal cell (random weights, the
#: tiny model's 64x96 input; CID's and YOLOX-Pose's score thresholds are 0 so that their
#: decoders give poses from random weights).
FIND_PEOPLE = ["cid_hrnet_w32", "yoloxpose_s"]
#: ExLPose's LSBN+LUPI on the real ExLPose pairs (ResNet-50 at 64x96, random weights).
EXLPOSE_METHOD = "exlpose_lsbn_lupi_r50"
#: DepthPose with its super-resolution branch on MVOR depth subsampled to 80x60 (the copy's
#: depth images draw the GT persons), at 64x96: the SR branch sees 8x12. Its decoding
#: thresholds are below any value (``test_cfg.paf_decode``) so that one epoch's maps (mostly
#: negative) give people.
DEPTHPOSE = ("depth_80x60", "depthpose_sr")
#: The LLVIP-Pose grayscale-pretraining chain in two links: the COCO sample's grayscale
#: variant, then LLVIP-Pose thermal finetuned from its checkpoint (``init: {cell: ...}``).
CHAIN = {"dataset": "llvip_pose", "modalities": ["thermal"], "models": [MODEL],
         "init": {"cell": f"coco/gray/{MODEL}", "name": "coco-gray"}}
CHAINED = f"llvip_pose/thermal/{MODEL}~coco-gray"
#: PoseWarper on the PoseTrack18 copy (HRNet-W48 and its neck at 64x96, random weights): the
#: labelled frames' supporting frames clamp to themselves (the release has no neighbours).
POSEWARPER = "posewarper_hrnet_w48"
MATRIX = {
    "experiment": EXPERIMENT,
    "matrix": [{"dataset": d, "modalities": m, "models": [MODEL],
                **({"detectors": ["tiny"]} if d == "mvor" else {}),
                **({"transfer": TRANSFER} if d == "exlpose" else {})}
               for d, m in MODALITIES.items()]
    + [{"dataset": "llvip_pose", "modalities": ["thermal"], "models": FIND_PEOPLE},
       {"dataset": "exlpose", "modalities": ["lowlight"], "models": [EXLPOSE_METHOD]},
       {"dataset": "mvor", "modalities": [DEPTHPOSE[0]], "models": [DEPTHPOSE[1]]}, CHAIN,
       {"dataset": "posetrack18", "modalities": ["rgb"], "models": [POSEWARPER]}],
    "detectors": {"tiny": TINY_DETECTOR},
    "train": {"epochs": 1, "seed": 0, "batch_size": 4, "input_size": [64, 96],
              "pretrained_backbone": False, "cfg_options": {
                  "model.test_cfg.score_thr": 0.0, "model.test_cfg.score_threshold": 0.0,
                  "model.test_cfg.paf_decode": {"peak_thr": -1.0, "paf_thr": -1.0,
                                                "min_above": 0.0, "min_score": -1.0}}},
    "evaluate": {"bootstrap": 10, "seed": 0},
    "resources": {"train": {"threads": 1}, "evaluate": {"threads": 1},
                  "detections": {"threads": 1}},
}
CELLS = sorted([f"{d}/{m}/{MODEL}" for d, mods in MODALITIES.items() for m in mods]
               + [f"llvip_pose/thermal/{m}" for m in FIND_PEOPLE]
               + [f"exlpose/lowlight/{EXLPOSE_METHOD}", f"mvor/{DEPTHPOSE[0]}/{DEPTHPOSE[1]}",
                  CHAINED, f"posetrack18/rgb/{POSEWARPER}"])
SNAKE = ["snakemake", "--profile", "workflow/profiles/local", "--configfile",
         "configs/real_micro.yaml", "--cores", "2"]
#: The scores each cell must have: every evaluation set x box source (labels of metrics.json).
EXPECTED_SCORES = {
    "llvip_pose": {m: {"test", "test/det:llvip_nms50", "test_13kpts",
                       "test_13kpts/det:llvip_nms50"} for m in ("thermal", "rgb")},
    "exlpose": {"lowlight": {"test_ll_a", "test_ll_n", "test_ll_h", "test_ll_e",
                             "test_ocn_a7m3", "test_ocn_ricoh3", "test_wl"},
                # the well-lit partners: their test_ll_a is the WL score; no OC partner
                "rgb": {"test_ll_a", "test_ll_n", "test_ll_h", "test_ll_e"}},
    "mvor": {"depth": {"test", "test/det:tiny", "all", "all/det:tiny"}},
    "mpii": {"rgb": {"val"}},
    "posetrack18": {"rgb": {"val"}},
    "coco": {"gray": {"val", "val/det:hrnet_ap56"}},
}
HEADINGS = {"llvip_pose": "## llvip_pose (coco: AP)", "exlpose": "## exlpose (crowdpose: AP)",
            "mvor": "## mvor (mvor-pck: Mean)", "mpii": "## mpii (mpii-pckh: Mean)",
            "posetrack18": "## posetrack18 (posetrack-map: Total)",
            "coco": "## coco (coco: AP)"}


if not _stack_available():
    pytestmark = [pytestmark, pytest.mark.skip(
        reason="needs the full stack (mmcv with ops, mmpose, mmdet, snakemake): run `make test`")]


# --------------------------------------------------------------------------- the copy


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _builders() -> dict:
    from tests.datasets import test_upstream_layouts as up

    return {"llvip_pose": up._llvip_release, "exlpose": up._exlpose_release,
            "mvor": functools.partial(up._mvor_release, per_camera=MVOR_PER_CAMERA,
                                      size=MVOR_IMAGE_SIZE),
            "mpii": functools.partial(up._mpii_release, val_persons=MPII_VAL_PERSONS),
            "posetrack18": up._posetrack_release, "coco": up._coco_release}


def _params(values: dict) -> None:
    values["datasets"] = DATASETS
    values["preprocess"]["workers"] = 1


def _pin_restricted_mvor_gt(repo: Path, gt_file: Path) -> None:
    """The copy's MVOR spec names the restricted ground truth's sha256 and size instead of the
    published file's (see the module docstring); committed on its own."""
    from benchmark.datasets import mvor

    (source,) = [s for s in mvor.SPEC.sources if s.filename == "camma_mvor_2018.json"]
    path = repo / "benchmark" / "datasets" / "mvor.py"
    text = path.read_text()
    for old, new in ((f'sha256="{source.sha256}"', f'sha256="{_sha256(gt_file)}"'),
                     (f"size={source.size},", f"size={gt_file.stat().st_size},")):
        assert text.count(old) == 1, f"{path}: {old!r} not found once"
        text = text.replace(old, new)
    path.write_text(text)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam",
                    "test: MVOR ground truth restricted to a few images per day and camera"],
                   cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def server():
    from tests.datasets.conftest import LoopbackServer

    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def repo(real_fixtures: Path, server, module_tmp: Path) -> Path:
    return build_copy(real_fixtures, server, module_tmp)


def build_copy(real_fixtures: Path, server, root: Path) -> Path:
    """The committed copy ``root/repo`` with the five releases in place: URL sources on the
    mirror, manual files in ``data/<dataset>/manual/``."""
    from benchmark.datasets import get_spec

    (root / "home").mkdir()
    built = {name: build(real_fixtures, root / "upstream" / name)[0]
             for name, build in _builders().items()}
    dst = committed_copy(root / "repo", params=_params,
                         files={"configs/real_micro.yaml": MATRIX})
    _pin_restricted_mvor_gt(dst, built["mvor"]["camma_mvor_2018.json"])
    for ext in REPO.glob("benchmark/**/*.so"):  # the compiled helpers (git-ignored builds)
        shutil.copy2(ext, dst / ext.relative_to(REPO))
    for name, files in built.items():
        spec = get_spec(name)
        assert set(files) == {s.filename for s in spec.sources}
        for source in spec.sources:
            if source.is_manual:
                (dst / "data" / name / "manual").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(files[source.filename],
                                dst / "data" / name / "manual" / source.filename)
            else:
                server.add(_mirror_path(source.filename), files[source.filename].read_bytes())
    return dst


def _mirror_path(filename: str) -> str:
    from urllib.parse import quote

    return "/mirror/" + quote(filename)


def _env(repo: Path, server) -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and k.lower() not in proxies}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["HOME"] = str(repo.parent / "home")  # no user profile/config leaks into the test
    env["MPBENCH_MIRROR"] = server.base_url + "/mirror/"
    # the copy's package, not the editable install's (the copy pins the restricted MVOR GT)
    env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _run(cmd: list[str], repo: Path, server, timeout: int = 1500
         ) -> subprocess.CompletedProcess:
    return run_in_copy(cmd, repo, timeout, env=_env(repo, server))


@pytest.fixture(scope="module")
def first_run(repo: Path, server) -> subprocess.CompletedProcess:
    return _run(SNAKE, repo, server)


# --------------------------------------------------------------------------- helpers


def _metrics(repo: Path, dataset: str, modality: str, model: str = MODEL) -> dict:
    return json.loads((repo / "results" / "cells" / dataset / modality / model
                       / "metrics.json").read_text())


def _files(repo: Path, score: dict) -> tuple[dict, list[dict]]:
    return (json.loads((repo / score["gt_file"]).read_text()),
            json.loads((repo / score["predictions"]).read_text()))


def _scores(repo: Path, dataset: str):
    for modality in MODALITIES[dataset]:
        for label, score in _metrics(repo, dataset, modality)["scores"].items():
            yield modality, label, score


# --------------------------------------------------------------------------- tests


def test_every_mirrored_source_was_fetched_once(repo: Path, server, first_run) -> None:
    from benchmark.datasets import get_spec

    auto = sorted(_mirror_path(s.filename) for d in DATASETS for s in get_spec(d).sources
                  if not s.is_manual)
    assert sorted(h.path for h in server.hits) == auto
    assert all(h.status == 200 for h in server.hits)
    # every source without a published checksum was pinned with the bytes built here
    pins = yaml.safe_load((repo / "datasets.lock").read_text())
    for name in DATASETS:
        spec = get_spec(name)
        assert set(pins[name]) == {s.filename for s in spec.sources if not s.sha256}, name
        for filename, pin in pins[name].items():
            (src,) = [s for s in spec.sources if s.filename == filename]
            placed = (repo / "data" / name / ("manual" if src.is_manual else "downloads")
                      / filename)
            assert pin == {"sha256": _sha256(placed), "size": placed.stat().st_size}


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_evaluation_set_and_box_source_is_scored(repo: Path, first_run,
                                                       dataset: str) -> None:
    from benchmark.datasets import get_spec

    spec = get_spec(dataset)
    for modality in MODALITIES[dataset]:
        metrics = _metrics(repo, dataset, modality)
        sets = [e.name for e in spec.eval_sets_of(modality)]
        assert metrics["primary"] == sets[0]
        assert {s["set"] for s in metrics["scores"].values()} == set(sets)
        assert set(metrics["scores"]) == EXPECTED_SCORES[dataset][modality], modality
        assert metrics["protocol"] == spec.protocol and metrics["bootstrap"] == 10
        for label, score in metrics["scores"].items():
            assert label == score["set"] + ("" if score["boxes"] == "gt"
                                            else "/" + score["boxes"])
            assert score["annotations"] == "official"
            assert math.isfinite(score["stats"][metrics["headline"]]), label


@pytest.mark.parametrize("dataset", DATASETS)
def test_scores_name_the_official_view_and_its_digest(repo: Path, first_run,
                                                      dataset: str) -> None:
    from benchmark.datasets import get_spec

    spec = get_spec(dataset)
    for modality, label, score in _scores(repo, dataset):
        (eval_set,) = [e for e in spec.eval_sets_of(modality) if e.name == score["set"]]
        images = eval_set.image_modality(modality)
        assert score["gt_file"] == (f"data/{dataset}/processed/annotations_official/{images}/"
                                    f"{eval_set.split}.json"), label
        assert score["gt_sha256"] == _sha256(repo / score["gt_file"]), label
        assert score["predictions_sha256"] == _sha256(repo / score["predictions"]), label
        if score["boxes"] != "gt":
            name = score["boxes"].removeprefix("det:")
            assert score["box_file"] == (f"results/detections/{dataset}/{images}/"
                                         f"{eval_set.split}/{name}.json")


def test_mvor_cell_predicts_its_ten_joints_scored_like_the_reference(repo: Path,
                                                                     first_run) -> None:
    from benchmark.evaluation import evaluate
    from tests.evaluation import references

    config = (repo / "work_dirs" / "mvor" / "depth" / MODEL / "config.py").read_text()
    assert re.search(r"out_channels\s*=\s*10\b", config)
    metrics = _metrics(repo, "mvor", "depth")
    for label, score in metrics["scores"].items():
        gt, preds = _files(repo, score)
        assert preds and all(len(p["keypoints"]) == 30 for p in preds), label
        ours = evaluate("mvor-pck", repo / score["gt_file"], repo / score["predictions"])
        assert ours.stats == pytest.approx(score["stats"], abs=1e-12), label
        ref = references.mvor_pck(gt, preds, layout="mvor10")
        assert score["stats"] == pytest.approx(ref, abs=1e-9), label
    # the day fold: the test set is day 4 only, the official set every day
    test = json.loads((repo / metrics["scores"]["test"]["gt_file"]).read_text())
    full = json.loads((repo / metrics["scores"]["all"]["gt_file"]).read_text())
    assert {i["day_id"] for i in test["images"]} == {4}
    assert {i["day_id"] for i in full["images"]} == {1, 2, 3, 4}
    assert len(full["images"]) == 12 * MVOR_PER_CAMERA


def test_depthpose_trains_its_super_resolution_and_scores_ten_joints(repo: Path,
                                                                      first_run) -> None:
    """DepthPose+SR on the 80x60 depth: the factor and the partner modality come from the
    spec, the reconstruction loss is logged, and the people it finds (10 joints) are scored
    on both MVOR sets like the reference; the ORPose-Depth table has its row."""
    from mlflow.tracking import MlflowClient
    from mmengine.config import Config

    from tests.evaluation import references

    modality, model = DEPTHPOSE
    cfg = Config.fromfile(str(repo / "work_dirs/mvor" / modality / model / "config.py"))
    assert cfg.model.backbone.sr_factor == 8 and cfg.model.head.decoder.heatmap_size == (8, 12)
    assert cfg.model.head.num_keypoints == 10 and len(cfg.model.head.decoder.limbs) == 10
    paired = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == "LoadPairedImage"]
    assert paired[0].ann_file == "data/mvor/processed/annotations/depth/train.json"
    metrics = _metrics(repo, "mvor", modality, model)
    run = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}").get_run(
        metrics["run_id"])
    assert {"train/loss_sr", "train/loss_paf", "train/loss_heatmap"} <= set(run.data.metrics)
    assert set(metrics["scores"]) == {"test", "all"}
    for label, score in metrics["scores"].items():
        gt, preds = _files(repo, score)
        assert preds and all(len(p["keypoints"]) == 30 for p in preds), label
        assert score["stats"] == pytest.approx(references.mvor_pck(gt, preds, layout="mvor10"),
                                               abs=1e-9), label
    md = (repo / "results" / "paper" / "orpose-depth.md").read_text()
    stats = metrics["scores"]["test"]["stats"]
    factor = 100 if metrics["scale"] == "fraction" else 1
    row = " | ".join(f"{stats[g] * factor:.1f}" for g in ("Head", "Shoulder", "Hip", "Elbow",
                                                        "Wrist", "Mean"))
    assert f"| {model} ({modality}) | {row} |" in md
    assert "| depthpose (depth_64x48) | n/a |" in md


def test_chain_finetunes_thermal_from_the_coco_gray_checkpoint(repo: Path,
                                                               first_run) -> None:
    """Two links: the COCO sample's grayscale variant trains first; the LLVIP-Pose thermal
    cell starts from its checkpoint (same sha256 in the summary and MLflow, the backbone
    tensors loaded as trained), is scored on every LLVIP-Pose set, and has its own row in the
    LLVIP-Pose table next to the from-scratch cell."""
    import torch
    from mlflow.tracking import MlflowClient

    upstream = json.loads((repo / "work_dirs/coco/gray" / MODEL / "train_summary.json")
                          .read_text())
    cfg = (repo / "work_dirs/coco/gray" / MODEL / "config.py").read_text()
    assert "data/coco/processed/gray/" in cfg  # the first link read the grayscale images
    down = json.loads((repo / "work_dirs" / CHAINED / "train_summary.json").read_text())
    ckpt = repo / upstream["checkpoint"]
    assert down["init"] == {"kind": "cell", "source": f"coco/gray/{MODEL}",
                            "sha256": _sha256(ckpt)}
    run = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}").get_run(
        down["run_id"])
    assert run.data.params["init"] == f"coco/gray/{MODEL}"
    assert run.data.params["init_sha256"] == _sha256(ckpt)
    assert run.data.tags["mpbench.init"] == f"coco/gray/{MODEL}"
    trained = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    init = torch.load(repo / "work_dirs" / CHAINED / "init.pth", map_location="cpu",
                      weights_only=False)["state_dict"]
    backbone = [k for k in trained if k.startswith("backbone.")]
    assert backbone and all(torch.equal(init[k], trained[k]) for k in backbone)
    metrics = _metrics(repo, "llvip_pose", "thermal", f"{MODEL}~coco-gray")
    assert set(metrics["scores"]) == EXPECTED_SCORES["llvip_pose"]["thermal"]
    scratch = _metrics(repo, "llvip_pose", "thermal")
    assert _files(repo, metrics["scores"]["test"])[1] != _files(repo, scratch["scores"]["test"])[1]
    md = (repo / "results" / "paper" / "llvip-pose.md").read_text()
    values = [f"{metrics['scores'][label]['stats']['AP'] * 100:.1f}"
              for label in ("test", "test/det:llvip_nms50")]
    assert f"| {MODEL}~coco-gray | n/a | n/a | {' | '.join(values)} |" in md


def test_posewarper_aggregates_frames_and_scores_like_poseval(repo: Path, first_run) -> None:
    """The PoseWarper cell trains on (frame, supporting frame) pairs, predicts with +-2
    supporting frames through the cell's loader, is scored like the poseval restatement and
    has its row in the PoseWarper table; the copy's one labelled frame per video leaves no
    frame to propagate to (no propagation score, no propagation row)."""
    from mmengine.config import Config

    from tests.evaluation import references

    cfg = Config.fromfile(str(repo / "work_dirs/posetrack18/rgb" / POSEWARPER / "config.py"))
    (train,) = [t for t in cfg.train_dataloader.dataset.pipeline
                if t.type == "LoadSupportingFrames"]
    (test,) = [t for t in cfg.test_dataloader.dataset.pipeline
               if t.type == "LoadSupportingFrames"]
    assert train.frame_range == 3 and tuple(test.offsets) == (-2, -1, 1, 2)
    assert test.loader.type == "LoadModalityImage"
    assert cfg.model.type == "PoseWarperEstimator" and cfg.model.head.out_channels == 17
    metrics = _metrics(repo, "posetrack18", "rgb", POSEWARPER)
    assert set(metrics["scores"]) == {"val"}
    gt, preds = _files(repo, metrics["scores"]["val"])
    assert preds and all(len(p["keypoints"]) == 51 for p in preds)
    assert metrics["scores"]["val"]["stats"] == pytest.approx(
        references.posetrack_map(gt, preds), abs=1e-9, nan_ok=True)
    md = (repo / "results" / "paper" / "posewarper.md").read_text()
    assert f"| {POSEWARPER} (rgb) |" in md and "propagation |" not in md.split("[published")[0]
    assert "| hrnet_w48_384x288 (-) | n/a |" in md


def test_training_validation_and_mlflow_runs(repo: Path, first_run) -> None:
    """Training ends with MMPose's validation (CocoMetric): it reads the GT ``area`` only for
    COCO-protocol datasets (PoseTrack18, MPII and ExLPose annotations have none); every
    cell has one finished MLflow run with its training loss and its scores."""
    from mlflow.tracking import MlflowClient
    from mmengine.config import Config

    from benchmark.datasets import get_spec

    client = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id])
    assert sorted(r.data.tags["mpbench.cell"] for r in runs) == CELLS
    for run in runs:
        cell = run.data.tags["mpbench.cell"]
        cfg = Config.fromfile(str(repo / "work_dirs" / cell / "config.py"))
        coco = get_spec(cell.split("/")[0]).protocol == "coco"
        assert cfg.val_evaluator.get("use_area", True) is coco, cell
        metrics = _metrics(repo, *cell.split("/"))
        assert run.info.run_id == metrics["run_id"], cell
        assert "train/loss" in run.data.metrics, cell
        assert run.data.metrics[metrics["headline"]] == pytest.approx(
            metrics["scores"][metrics["primary"]]["stats"][metrics["headline"]]), cell
        assert run.info.status == "FINISHED", cell


def test_bottom_up_and_one_stage_cells_find_people(repo: Path, first_run) -> None:
    """CID (bottom-up) and YOLOX-Pose (one-stage) on the thermal images: trained through the
    workflow, scored on both test files with no box source (they find the people), equal to
    pycocotools on their own predictions."""
    from benchmark.datasets import get_spec
    from tests.evaluation.conftest import pycocotools_stats

    sigmas = list(get_spec("llvip_pose").layout.sigmas)
    for model in FIND_PEOPLE:
        metrics = _metrics(repo, "llvip_pose", "thermal", model)
        assert set(metrics["scores"]) == {"test", "test_13kpts"}, model
        summary = json.loads((repo / "work_dirs/llvip_pose/thermal" / model
                              / "train_summary.json").read_text())
        assert summary["family"] == {"cid_hrnet_w32": "bottomup",
                                     "yoloxpose_s": "onestage"}[model]
        for label, score in metrics["scores"].items():
            gt, preds = _files(repo, score)
            assert preds and all(len(p["keypoints"]) == 51 for p in preds), (model, label)
            assert {p["image_id"] for p in preds} <= {i["id"] for i in gt["images"]}
            ref = pycocotools_stats(gt, preds, sigmas)
            assert score["stats"]["AP"] == pytest.approx(ref[0], abs=1e-12), (model, label)


def test_exlpose_method_trains_on_pairs_and_scores_every_split(repo: Path,
                                                                first_run) -> None:
    """LSBN+LUPI trained on the real low-light/well-lit pairs (its LUPI term logged), scored
    on every ExLPose set; the WL set goes through the well-lit BN set (its predictions differ
    from LL-A's on the same persons), each score equal to xtcocotools."""
    from mlflow.tracking import MlflowClient

    from tests.evaluation.test_crowdpose import NAMES, xtcocotools_crowd

    metrics = _metrics(repo, "exlpose", "lowlight", EXLPOSE_METHOD)
    assert set(metrics["scores"]) == EXPECTED_SCORES["exlpose"]["lowlight"]
    config = (repo / "work_dirs/exlpose/lowlight" / EXLPOSE_METHOD / "config.py").read_text()
    assert "LoadPairedImage" in config and "data/exlpose/processed/annotations/rgb/train.json" \
        in config
    client = MlflowClient(f"sqlite:///{repo / 'results' / 'mlflow' / 'mlflow.db'}")
    run = client.get_run(metrics["run_id"])
    assert run.data.metrics["train/loss_lupi"] > 0 and "train/loss_kpt_wl" in run.data.metrics
    ll_a = _files(repo, metrics["scores"]["test_ll_a"])[1]
    wl = _files(repo, metrics["scores"]["test_wl"])[1]
    assert [p["keypoints"] for p in ll_a] != [p["keypoints"] for p in wl]
    for label, score in metrics["scores"].items():
        _, preds = _files(repo, score)
        ref = xtcocotools_crowd(repo / score["gt_file"], preds)
        assert [score["stats"][n] for n in NAMES] == pytest.approx(list(ref), abs=1e-12), label


def test_paper_tables_show_the_fixture_cells(repo: Path, first_run) -> None:
    """results/paper/: the LLVIP-Pose table has the tiny model's row with its measured test
    AP (GT and released-detector boxes, both modalities) and n/a for the paper's models."""
    md = (repo / "results" / "paper" / "llvip-pose.md").read_text()
    values = []
    for modality in ("rgb", "thermal"):
        scores = _metrics(repo, "llvip_pose", modality)["scores"]
        values += [f"{scores[label]['stats']['AP'] * 100:.1f}"
                   for label in ("test", "test/det:llvip_nms50")]
    assert f"| {MODEL} | {' | '.join(values)} |" in md
    assert "| hrnet_w48_udp | n/a | n/a | n/a | n/a |" in md
    for name in ("exlpose", "orpose-depth", "posewarper", "coco"):
        assert (repo / "results" / "paper" / f"{name}.tex").is_file()


def test_llvip_pose_equals_pycocotools(repo: Path, first_run) -> None:
    from benchmark.datasets import get_spec
    from tests.evaluation.conftest import pycocotools_stats

    sigmas = list(get_spec("llvip_pose").layout.sigmas)
    names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    for modality, label, score in _scores(repo, "llvip_pose"):
        gt, preds = _files(repo, score)
        ref = pycocotools_stats(gt, preds, sigmas)
        assert [score["stats"][n] for n in names] == pytest.approx(list(ref), abs=1e-12), (
            modality, label)


def test_cross_dataset_scores_are_pycocotools_on_the_shared_joints(repo: Path,
                                                                    first_run) -> None:
    """The ExLPose-trained cells scored on LLVIP-Pose: every LLVIP-Pose set and box source,
    on the 12 limb joints both layouts have, equal to pycocotools on 12-joint files built
    here from the raw 14-joint predictions and the official 17-joint ground truth."""
    from benchmark.datasets.layouts import CROWDPOSE14, POSETRACK17
    from tests.evaluation.conftest import pycocotools_stats

    for modality in MODALITIES["exlpose"]:
        root = repo / "results/transfer/exlpose" / modality / MODEL
        metrics = json.loads((root / "llvip_pose/thermal/metrics.json").read_text())
        assert metrics["dataset"] == "llvip_pose" and metrics["protocol"] == "coco"
        assert metrics["model"] == f"{MODEL} (from exlpose/{modality})"
        assert sorted(metrics["joints"]) == sorted(LIMBS)
        assert set(metrics["scores"]) == EXPECTED_SCORES["llvip_pose"]["thermal"]
        src = [CROWDPOSE14.keypoints.index(n) for n in LIMBS]
        dst = [POSETRACK17.keypoints.index(n) for n in LIMBS]
        sigmas = [POSETRACK17.sigmas[j] for j in dst]
        for label, score in metrics["scores"].items():
            official = repo / (f"data/llvip_pose/processed/annotations_official/thermal/"
                               f"{score['split']}.json")
            gt = json.loads(official.read_text())
            for ann in gt["annotations"]:
                ann["keypoints"] = [v for j in dst for v in ann["keypoints"][3 * j:3 * j + 3]]
                ann["num_keypoints"] = sum(v > 0 for v in ann["keypoints"][2::3])
            raw = root / "llvip_pose/thermal/predictions" / (
                f"{score['set']}.{score['boxes'].replace('det:', 'det-')}.keypoints.json")
            preds = json.loads(raw.read_text())
            assert {len(p["keypoints"]) for p in preds} == {42}  # the model's own 14 joints
            for p in preds:
                p["keypoints"] = [v for j in src for v in p["keypoints"][3 * j:3 * j + 3]]
            ref = pycocotools_stats(gt, preds, sigmas)
            names = ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
            assert [score["stats"][n] for n in names] == pytest.approx(list(ref), abs=1e-12), (
                modality, label)
        mpii = json.loads((root / "mpii/rgb/metrics.json").read_text())
        assert mpii["protocol"] == "mpii-pckh" and set(mpii["scores"]) == {"val"}
        assert mpii["scores"]["val"]["stats"]["Head"] != mpii["scores"]["val"]["stats"]["Head"]
    md = (repo / "results" / "leaderboard.md").read_text()
    section = md.split("## llvip_pose (coco: AP)", 1)[1].split("\n## ", 1)[0]
    assert f"| {MODEL} (from exlpose/lowlight) | thermal |" in section


def test_exlpose_equals_xtcocotools(repo: Path, first_run) -> None:
    from tests.evaluation.test_crowdpose import NAMES, xtcocotools_crowd

    for modality, label, score in _scores(repo, "exlpose"):
        _, preds = _files(repo, score)
        ref = xtcocotools_crowd(repo / score["gt_file"], preds)
        assert [score["stats"][n] for n in NAMES] == pytest.approx(list(ref), abs=1e-12), (
            modality, label)


def test_posetrack18_equals_the_poseval_restatement(repo: Path, first_run) -> None:
    from tests.evaluation import references

    ((_, _, score),) = list(_scores(repo, "posetrack18"))
    gt, preds = _files(repo, score)
    ref = references.posetrack_map(gt, preds)
    assert score["stats"].keys() == ref.keys()
    assert score["stats"] == pytest.approx(ref, abs=1e-9, nan_ok=True)


def test_mpii_scores_the_validation_persons_of_gt_valid(repo: Path, first_run) -> None:
    from benchmark.evaluation import evaluate

    ((_, _, score),) = list(_scores(repo, "mpii"))
    gt, preds = _files(repo, score)
    assert len(gt["annotations"]) == MPII_VAL_PERSONS
    assert all("head_box" in a for a in gt["annotations"])
    # one prediction per GT box at most: MMPose drops the boxes that lie outside their photo
    # (the fixture puts every person on one of 5 photos) and CocoMetric's OKS-NMS the
    # near-duplicates of an untrained model
    assert 0 < len(preds) <= MPII_VAL_PERSONS
    assert {p["image_id"] for p in preds} == {i["id"] for i in gt["images"]}
    assert all(len(p["keypoints"]) == 48 for p in preds)
    ours = evaluate("mpii-pckh", repo / score["gt_file"], repo / score["predictions"])
    assert ours.stats == pytest.approx(score["stats"], abs=1e-12)


def test_leaderboard_has_every_dataset_cell_set_and_box_source(repo: Path,
                                                               first_run) -> None:
    from benchmark.reports.leaderboard import PROTOCOL_TABLES

    md = (repo / "results" / "leaderboard.md").read_text()
    rows = list(csv.DictReader((repo / "results" / "leaderboard.csv").open()))
    assert sorted({r["cell"] for r in rows}) == CELLS
    for dataset, heading in HEADINGS.items():
        assert md.count(heading + "\n") == 1, heading
        section = md.split(heading, 1)[1].split("\n## ", 1)[0]
        protocol = heading.split("(")[1].split(":")[0]
        assert PROTOCOL_TABLES[protocol][1] in section
        for modality, label, score in _scores(repo, dataset):
            cell = f"{dataset}/{modality}/{MODEL}"
            mine = [r for r in rows if r["cell"] == cell and r["set"] == score["set"]
                    and r["boxes"] == score["boxes"] and r["annotations"] == "official"]
            assert {r["statistic"] for r in mine} == set(score["stats"]), (cell, label)
            for r in mine:
                value = score["stats"][r["statistic"]]
                if value == value:  # NaN (a joint without GT) is written empty
                    assert float(r["value"]) == pytest.approx(value, rel=1e-9), (cell, label)
                assert r["gt_sha256"] == score["gt_sha256"]
            boxes = "GT boxes" if score["boxes"] == "gt" else score["boxes"]
            assert f"### {dataset} · {score['set']} · {boxes}" in section, (cell, label)
            assert f"| {MODEL} | {modality} |" in section


def test_paired_modality_comparisons(repo: Path, first_run) -> None:
    rows = list(csv.DictReader((repo / "results" / "compare" / "llvip_pose.csv").open()))
    assert sorted((r["a"], r["b"], r["set"]) for r in rows) == [
        ("rgb", "thermal", "test"), ("rgb", "thermal", "test_13kpts")]
    md = (repo / "results" / "compare" / "llvip_pose.md").read_text()
    for eval_set in ("test", "test_13kpts"):
        assert f"| {MODEL} | {eval_set} | rgb | thermal |" in md
    rgb, thermal = _metrics(repo, "llvip_pose", "rgb"), _metrics(repo, "llvip_pose", "thermal")
    for r in rows:
        a = rgb["scores"][r["set"]]["stats"]["AP"] * 100
        b = thermal["scores"][r["set"]]["stats"]["AP"] * 100
        assert float(r["value_a"]) == pytest.approx(a, abs=1e-9)
        assert float(r["difference"]) == pytest.approx(b - a, abs=1e-9)
    # ExLPose: the sets both cells were scored on (the OC sets have no well-lit partner)
    rows = list(csv.DictReader((repo / "results" / "compare" / "exlpose.csv").open()))
    assert sorted(r["set"] for r in rows) == sorted(["test_ll_a", "test_ll_n", "test_ll_h",
                                                     "test_ll_e"])


def test_nothing_left_to_do(repo: Path, server, first_run) -> None:
    dry = _run([*SNAKE, "-n"], repo, server, timeout=300)
    assert "Nothing to be done" in dry.stdout + dry.stderr
