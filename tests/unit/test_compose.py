"""Cell config composition: base model config + dataset overlay + modality overlay."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mmengine")

from benchmark.cells import Cell  # noqa: E402
from benchmark.datasets import get_spec  # noqa: E402
from benchmark.models.compose import compose, config_digest  # noqa: E402
from tests.conftest import REPO  # noqa: E402


def _compose(modality: str, **kw):
    return compose(Cell("demo", modality, "tiny_hrnet"), repo_root=REPO, **kw)


def test_dataset_overlay_comes_from_the_spec() -> None:
    cfg = _compose("rgb")
    layout = get_spec("demo").layout
    assert cfg.model.head.out_channels == layout.num_keypoints == 17
    assert cfg.train_dataloader.dataset.metainfo == {"from_file":
                                                     "configs/_base_/datasets/demo.py"}
    assert cfg.train_dataloader.dataset.ann_file == "data/demo/processed/annotations/rgb/train.json"
    official = "data/demo/processed/annotations_official/rgb/test.json"
    assert cfg.test_dataloader.dataset.ann_file == official
    assert cfg.test_evaluator.ann_file == official


def test_training_annotation_variant_is_chosen_in_the_matrix() -> None:
    """Training reads the QA-corrected view by default and the released one on request; the
    test split is always the official view, and the choice changes the run's identity."""
    qa, official = _compose("rgb"), _compose("rgb", overrides={"annotations": "official"})
    assert official.train_dataloader.dataset.ann_file == \
        "data/demo/processed/annotations_official/rgb/train.json"
    assert official.test_dataloader.dataset.ann_file == qa.test_dataloader.dataset.ann_file
    assert config_digest(qa) != config_digest(official)


def test_modality_overlay_sets_root_loader_and_normalisation(tmp_path) -> None:
    cfg = _compose("depth_lowres")
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        ds = cfg[loader].dataset
        assert ds.data_prefix["img"] == "data/demo/processed/depth_lowres/"
        assert ds.pipeline[0] == {"type": "LoadModalityImage", "kind": "depth",
                                  "value_range": [500.0, 8000.0], "upsample": 8}
        assert ds.pipeline[1]["type"] == "GetBBoxCenterScale"  # the rest is the base model's
    assert cfg.model.data_preprocessor.bgr_to_rgb is False
    assert _compose("lowlight").model.data_preprocessor.bgr_to_rgb is True


def test_normalisation_reads_preprocess_statistics(tmp_path) -> None:
    stats = tmp_path / "demo" / "processed" / "stats.json"
    stats.parent.mkdir(parents=True)
    stats.write_text(json.dumps({"thermal": {"mean": [40.0, 40.0, 40.0],
                                             "std": [12.5, 12.5, 12.5]}}))
    cfg = _compose("thermal", data_root=tmp_path)
    assert cfg.model.data_preprocessor.mean == [40.0, 40.0, 40.0]
    assert cfg.model.data_preprocessor.std == [12.5, 12.5, 12.5]


def test_epoch_override_rescales_the_schedule() -> None:
    cfg = _compose("rgb", overrides={"epochs": 3, "seed": 7, "batch_size": 4})
    assert cfg.train_cfg.max_epochs == 3
    step = next(s for s in cfg.param_scheduler if s["type"] == "MultiStepLR")
    assert step["end"] == 3 and all(1 <= m <= 3 for m in step["milestones"])
    assert cfg.randomness.seed == 7
    assert cfg.train_dataloader.batch_size == 4


def test_digest_is_stable_and_sensitive() -> None:
    assert config_digest(_compose("rgb")) == config_digest(_compose("rgb"))
    assert config_digest(_compose("rgb")) != config_digest(_compose("thermal"))
    assert config_digest(_compose("rgb")) != config_digest(_compose("rgb",
                                                                     overrides={"epochs": 2}))


def test_digest_is_the_first_16_hex_digits_of_the_config_texts_sha256() -> None:
    """The digest names a run (MLflow tag, resume check) across mpbench versions: a changed
    length or hash would make every trained cell look new and train again. It is the first 16
    hex digits of the SHA-256 of the config text, as the README states."""
    import hashlib

    cfg = _compose("rgb")
    digest = config_digest(cfg)
    assert digest == hashlib.sha256(cfg.pretty_text.encode()).hexdigest()[:16]
    assert len(digest) == 16 and int(digest, 16) >= 0


def test_unknown_modality_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="dataset 'demo' has no modality 'sonar'"):
        _compose("sonar")


def test_metainfo_file_matches_the_spec_and_survives_a_dump(tmp_path) -> None:
    """Flip indices of a dumped and reloaded cell config equal the layout's."""
    from mmengine.config import Config
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    from benchmark.models.metainfo import check

    check("demo", REPO)  # committed file == generated from the spec
    cfg = _compose("rgb")
    cfg.dump(str(tmp_path / "cell.py"))
    again = Config.fromfile(str(tmp_path / "cell.py"), import_custom_modules=False)
    meta = dict(again.test_dataloader.dataset.metainfo)
    meta["from_file"] = str(REPO / meta["from_file"])
    parsed = parse_pose_metainfo(meta)
    layout = get_spec("demo").layout
    assert parsed["flip_indices"] == list(layout.flip_index)
    assert list(parsed["sigmas"]) == pytest.approx(layout.sigmas)


def test_training_validation_uses_box_areas_where_the_dataset_has_none() -> None:
    """MMPose's validation metric reads GT ``area`` unless ``use_area=False``: only the
    COCO-protocol datasets carry one (PoseTrack18, MPII and ExLPose do not)."""
    assert "use_area" not in _compose("rgb").val_evaluator
    cfg = compose(Cell("exlpose", "lowlight", "tiny_hrnet"), repo_root=REPO)
    assert cfg.val_evaluator.use_area is False


@pytest.mark.parametrize("model", ["rtmpose_m", "yoloxpose_s"])
def test_colour_augmentations_only_on_colour_modalities(model) -> None:
    """RTMPose and YOLOX-Pose jitter hue and saturation (``YOLOXHSVRandomAug``, also in their
    stage-2 pipelines and mode-switch hooks): kept for rgb, dropped for depth and thermal,
    whose other augmentations (blur, dropout, affine) stay."""
    from benchmark.models.families import walk

    def types(modality: str) -> list[str]:
        cfg = compose(Cell("demo", modality, model), repo_root=REPO,
                      overrides={"pretrained_backbone": False})
        return [n["type"] for n in walk(cfg._cfg_dict) if isinstance(n.get("type"), str)]

    rgb, depth, thermal = types("rgb"), types("depth"), types("thermal")
    assert any("HSVRandomAug" in t for t in rgb)
    assert not any("HSVRandomAug" in t for t in depth + thermal)
    assert [t for t in rgb if "HSV" not in t] == depth == thermal


@pytest.mark.parametrize("model", ["tiny_hrnet", "hrnet_w32"])
def test_every_cell_checkpoints_each_epoch_and_keeps_the_two_newest(model: str) -> None:
    """Every composed cell, whether its base config is mpbench's own (``tiny_hrnet``, on
    ``configs/_base_/runtime.py``) or one of MMPose's (``hrnet_w32``, given
    :data:`compose.RUNTIME`), saves a checkpoint each epoch (the granularity of a resume),
    keeps the two newest (the fallback when the newest is damaged: the fault matrix's
    "two newest damaged" case resumes from the one before) and the last; no more, on disk."""
    from mmengine.config import Config

    cfg = compose(Cell("demo", "rgb", model), repo_root=REPO)
    hook = cfg.default_hooks.checkpoint
    assert (hook.interval, hook.max_keep_ckpts, hook.save_last) == (1, 2, True)
    runtime = Config.fromfile(str(REPO / "configs/_base_/runtime.py"))
    assert {k: hook[k] for k in ("interval", "max_keep_ckpts", "save_last")} == {
        k: runtime.default_hooks.checkpoint[k] for k in ("interval", "max_keep_ckpts",
                                                          "save_last")}


@pytest.mark.parametrize(("modality", "model"), [
    ("depth", "depthpose"), ("depth_64x48", "depthpose"), ("depth_80x60", "depthpose_sr")])
def test_paf_fields_are_one_eighth_of_the_frame(modality: str, model: str) -> None:
    """DepthPose's fields come out of OpenPose's VGG trunk after three 2x poolings: an eighth
    of what the trunk sees. Without super-resolution that is the depth image itself; with it,
    the SR branch first restores the full 640x480 frame from 80x60 (x8), so the encoder's
    image space is the full frame and the fields are 80x60. The encoder's ``heatmap_size``
    must equal what the network produces."""
    cfg = compose(Cell("mvor", modality, model), repo_root=REPO)
    (label,) = [c for c in (cfg.codec if isinstance(cfg.codec, list) else [cfg.codec])
                if c["type"] == "PartAffinityFieldLabel"]
    w, h = label["input_size"]
    assert tuple(label["heatmap_size"]) == (w // 8, h // 8)
    if model == "depthpose_sr":
        assert (w, h) == (640, 480) and cfg.model.backbone.sr_factor == 8


def test_yoloxpose_multiscale_range_follows_a_reduced_input_size() -> None:
    """YOLOX-Pose trains at random sizes in 480..800 around its 640 input, in multiples of
    32. A test-size override of the input (320) scales that range with it, still in
    multiples of 32 and within half a step of the scaled bounds (240..400)."""
    cfg = compose(Cell("coco", "rgb", "yoloxpose_s"), repo_root=REPO,
                  overrides={"input_size": (320, 320)})
    (resize,) = [n for n in _walk(cfg._cfg_dict) if n.get("type") == "BatchSyncRandomResize"]
    lo, hi = resize["random_size_range"]
    div = resize.get("size_divisor", 32)
    assert lo % div == 0 and hi % div == 0
    assert abs(lo - 240) <= div / 2 and abs(hi - 400) <= div / 2


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _walk(v)


def test_vitpose_patch_grid_follows_a_reduced_input_size() -> None:
    """A ViT's ``img_size`` is (h, w), the patch grid's extent: an input-size override (w x h,
    as everywhere else) must scale it on the right axes, or the position embeddings do not
    match the image (ViTPose-S at 192x256 tested at 64x96: img_size (96, 64))."""
    cfg = compose(Cell("coco", "rgb", "vitpose_s"), repo_root=REPO,
                  overrides={"input_size": (64, 96)})
    assert tuple(cfg.model.backbone.img_size) == (96, 64)
    assert tuple(cfg.codec["input_size"]) == (64, 96)
