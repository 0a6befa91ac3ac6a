"""PoseWarper (Bertasius et al., NeurIPS 2019) on known inputs and on the real PoseTrack18
samples (benchmark.models.ext.posewarper): deformable warping moves a heatmap by its offsets,
supporting frames come from the same video through the cell's loader, the estimator trains
and predicts through a composed cell, and propagation moves labelled keypoints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmpose")

import cv2  # noqa: E402
import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402

from tests.conftest import REPO  # noqa: E402
from tests.models.conftest import tiny_hrnet_extra  # noqa: E402

torch.set_num_threads(1)

CLIP = Path("mmpose/tests/data/posetrack18/videos/000001_mpiinew_test")
POSETRACK = Path("mmpose/tests/data/posetrack18")
#: The tiny top-down HRNet of configs/models/tiny_hrnet.py (16 channels at stride 4).
TINY_EXTRA = tiny_hrnet_extra()
#: A small neck: 2 residual blocks of 16 channels, 2 dilations; im2col_step 4 so that test
#: batches (3 clips of 5 frames) are not divisible by it.
TINY_NECK = dict(type="PoseWarperNeck", in_channels=16, inner_channels=16,
                 res_blocks_cfg=dict(block="BASIC", num_blocks=2), dilations=(3, 6),
                 trans_conv_kernel=1, freeze_trans_layer=False, im2col_step=4)


@pytest.fixture(autouse=True)
def _scope() -> None:
    from mmengine.registry import init_default_scope

    import benchmark.models.ext  # noqa: F401 - registration

    init_default_scope("mmpose")


def _clip(real_fixtures: Path) -> Path:
    clip = real_fixtures / CLIP
    if not all((clip / f"{i:06d}.jpg").is_file() for i in range(5)):
        from tests.conftest import missing_fixture

        missing_fixture(f"the 5-frame PoseTrack18 clip is not at {clip}")
    return clip


def _peak(heatmap: torch.Tensor) -> tuple[float, float]:
    """Decoded (x, y) of a K=1 heatmap with MMPose's codec (argmax + quarter-pixel refine)."""
    from mmpose.codecs import MSRAHeatmap

    h, w = heatmap.shape[-2:]
    codec = MSRAHeatmap(input_size=(w, h), heatmap_size=(w, h), sigma=2)
    kpts, _ = codec.decode(heatmap.reshape(1, h, w).detach().numpy())
    return float(kpts[0, 0, 0]), float(kpts[0, 0, 1])


def _gaussian(x: float, y: float, w: int = 16, h: int = 24) -> torch.Tensor:
    from mmpose.codecs import MSRAHeatmap

    codec = MSRAHeatmap(input_size=(w, h), heatmap_size=(w, h), sigma=2)
    heat = codec.encode(np.array([[[x, y]]], np.float32), np.ones((1, 1), np.float32))
    return torch.from_numpy(heat["heatmaps"])[None]  # 1 x 1 x h x w


def _constant_offsets(conv: torch.nn.Conv2d, dy: float, dx: float) -> None:
    """Offsets of (dy, dx) everywhere: zero weights and a constant bias. MMCV orders each
    deformable group's offsets as (dy, dx) per kernel tap."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias = torch.nn.Parameter(
            torch.tensor([dy, dx]).repeat(conv.out_channels // 2))


def test_offsets_warp_a_shifted_heatmap_back_onto_the_key_frame() -> None:
    """B = A moved by (dy, dx) = (3, -2); offsets of (3, -2) sample B at p + (3, -2), which
    brings B's peak back onto A's, through the whole neck (frame weights 0/1)."""
    from mmpose.registry import MODELS

    neck = MODELS.build(dict(type="PoseWarperNeck", in_channels=1, out_channels=1,
                             inner_channels=4, deform_groups=1, dilations=(3, 6),
                             trans_conv_kernel=0, res_blocks_cfg=dict(num_blocks=1)))
    neck.init_weights()  # deformable kernels: identity (centre tap 1)
    neck.eval()
    heat_a, heat_b = _gaussian(6, 10), _gaussian(6 - 2, 10 + 3)
    assert _peak(heat_b) == pytest.approx((4.0, 13.0), abs=1e-6)
    with torch.no_grad():
        # zero offsets (the initialisation): B passes through unchanged
        same = neck([torch.cat([heat_a, heat_b])], [0.0, 1.0])
        assert _peak(same) == pytest.approx((4.0, 13.0), abs=1e-6)
        for conv in neck.offset_layers:
            _constant_offsets(conv, 3.0, -2.0)
        warped = neck([torch.cat([heat_a, heat_b])], [0.0, 1.0])
    assert _peak(warped) == pytest.approx((6.0, 10.0), abs=0.5)
    assert torch.allclose(warped[0, 0, 4:20, 4:12], heat_a[0, 0, 4:20, 4:12], atol=1e-5)


def test_supporting_frames_are_the_neighbours_through_the_cells_loader(real_fixtures) -> None:
    from mmcv.transforms import Compose

    from benchmark.models.families import replace_loaders

    clip = _clip(real_fixtures)
    pipeline = [dict(type="LoadImage"),
                dict(type="LoadSupportingFrames", offsets=(-2, -1, 1, 2),
                     loader=dict(type="LoadImage"))]
    # the composer's loader rewrite reaches the nested loader; upsample=2 marks its output
    loader = {"type": "LoadModalityImage", "kind": "rgb", "value_range": None, "upsample": 2}
    assert replace_loaders(pipeline, loader) == 2
    load = Compose(pipeline)

    def expected(i: int) -> np.ndarray:
        img = cv2.imread(str(clip / f"{i:06d}.jpg"))
        return cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2),
                          interpolation=cv2.INTER_NEAREST)

    for key, frames, offsets in ((2, (2, 0, 1, 3, 4), [-2, -1, 1, 2]),
                                 (0, (0, 0, 0, 1, 2), [0, 0, 1, 2]),  # left edge: clamped
                                 (4, (4, 2, 3, 4, 4), [-2, -1, 0, 0])):
        out = load({"img_path": str(clip / f"{key:06d}.jpg")})
        assert out["frame_offsets"] == offsets
        assert len(out["img"]) == 5
        for img, i in zip(out["img"], frames, strict=True):
            assert img.shape == (1440, 2560, 3)
            assert np.array_equal(img, expected(i)), (key, i)

    # training: one offset in [-3, 3] \ {0} from NumPy's global RNG, clamped inside the clip
    train = Compose([dict(type="LoadImage"),
                     dict(type="LoadSupportingFrames", frame_range=3)])
    drawn = []
    for seed in range(40):
        np.random.seed(seed)
        out = train({"img_path": str(clip / "000002.jpg")})
        np.random.seed(seed)
        assert train({"img_path": str(clip / "000002.jpg")})["frame_offsets"] == \
            out["frame_offsets"]
        (off,) = out["frame_offsets"]
        assert np.array_equal(out["img"][1], cv2.imread(str(clip / f"{2 + off:06d}.jpg")))
        drawn.append(off)
    assert set(drawn) == {-2, -1, 1, 2}  # +-3 clamps to the clip's ends


def test_one_crop_and_flip_for_every_frame_then_stacked(real_fixtures) -> None:
    from mmcv.transforms import Compose

    clip = _clip(real_fixtures)
    box = np.array([[500.0, 150.0, 700.0, 600.0]], np.float32)
    steps = [dict(type="GetBBoxCenterScale"),
             dict(type="RandomFlip", prob=1.0, direction="horizontal"),
             dict(type="TopdownAffine", input_size=(64, 96))]
    clipped = Compose([dict(type="LoadImage"),
                       dict(type="LoadSupportingFrames", offsets=(-1, 1)), *steps,
                       dict(type="StackFrames")])
    single = Compose([dict(type="LoadImage"), *steps])
    out = clipped({"img_path": str(clip / "000000.jpg"), "bbox": box.copy()})
    assert out["img"].shape == (96, 64, 9) and out["num_frames"] == 3
    assert out["frame_offsets"] == [0, 1]
    # frame -1 is the key frame (clamped): identical crops; frame +1 as cropped on its own
    assert np.array_equal(out["img"][..., 0:3], out["img"][..., 3:6])
    alone = single({"img_path": str(clip / "000001.jpg"), "bbox": box.copy()})["img"]
    assert np.array_equal(out["img"][..., 6:9], alone)
    assert not np.array_equal(out["img"][..., 6:9], out["img"][..., 0:3])


def test_data_preprocessor_converts_and_normalises_each_frame() -> None:
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    mean, std = [100.0, 110.0, 120.0], [50.0, 60.0, 70.0]
    pre = MODELS.build(dict(type="MultiFrameDataPreprocessor", mean=mean, std=std,
                            bgr_to_rgb=True))
    x = torch.randint(0, 256, (9, 8, 6), dtype=torch.uint8)
    out = pre({"inputs": [x], "data_samples": [PoseDataSample()]})["inputs"][0]
    assert out.shape == (9, 8, 6)
    for f in range(3):
        rgb = x[3 * f:3 * f + 3].flip(0).float()
        ref = (rgb - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
        assert torch.allclose(out[3 * f:3 * f + 3], ref)


def _estimator(k: int = 3):
    from mmpose.registry import MODELS

    codec = dict(type="MSRAHeatmap", input_size=(64, 96), heatmap_size=(16, 24), sigma=2)
    model = MODELS.build(dict(
        type="PoseWarperEstimator",
        data_preprocessor=dict(type="MultiFrameDataPreprocessor", mean=[123.675, 116.28,
                                                                        103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
        backbone=dict(type="HRNet", in_channels=3, extra=TINY_EXTRA),
        neck=TINY_NECK,
        head=dict(type="HeatmapHead", in_channels=16, out_channels=k, deconv_out_channels=None,
                  final_layer=None, decoder=codec),
        test_cfg=dict(flip_test=False)))
    model.init_weights()
    return model


def test_estimator_takes_the_keypoint_count_from_its_head() -> None:
    model = _estimator(k=5)
    assert model.neck.out_channels == 5 and model.neck.deform_groups == 5
    assert model.neck.trans_layer.out_channels == 5 and model.head.in_channels == 5
    # the deformable convs start as identities and keep their Parameter objects (the
    # optimizer, built before init_weights, holds them)
    conv = model.neck.deform_conv_layers[0]
    assert conv.weight[2, 2, 1, 1] == 1 and conv.weight.sum() == 5
    before = {id(p) for p in model.parameters()}
    model.init_weights()
    assert {id(p) for p in model.parameters()} == before
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(3, 15, 96, 64), None, mode="tensor").shape == (3, 5, 24, 16)
        assert model(torch.rand(1, 3, 96, 64), None, mode="tensor").shape == (1, 5, 24, 16)
        with pytest.raises(ValueError, match="frame weights disagree"):
            model(torch.rand(1, 6, 96, 64), None, mode="tensor")


class _Record(Hook):
    """Keeps what the test checks: weights after initialisation, losses, the channels of each
    batch and the predictions."""

    def __init__(self) -> None:
        self.initial: dict[str, torch.Tensor] = {}
        self.losses: list[float] = []
        self.channels: dict[str, set[int]] = {"train": set(), "val": set()}
        self.predictions: list = []

    def before_train(self, runner) -> None:
        self.initial = {k: v.detach().clone() for k, v in runner.model.named_parameters()}

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.channels["train"] |= {int(x.shape[0]) for x in data_batch["inputs"]}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.losses.append(float(outputs["loss"].detach()))

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.channels["val"] |= {int(x.shape[0]) for x in data_batch["inputs"]}

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.predictions += outputs


#: One person (the white #3) of frame 2 of the unlabelled clip, box and keypoints placed by
#: hand (approximate; PoseTrack order, ears unlabelled): the fixture's labelled frames have no
#: neighbours on disk, so this is the one training pair with real motion.
CLIP_PERSON = {"bbox": [365.0, 280.0, 185.0, 310.0], "keypoints": [
    440, 309, 2, 440, 327, 2, 437, 287, 2, 0, 0, 0, 0, 0, 0, 473, 349, 2, 411, 349, 2,
    500, 380, 2, 400, 400, 2, 540, 373, 2, 407, 447, 2, 473, 447, 2, 427, 447, 2,
    467, 520, 2, 407, 500, 2, 460, 573, 2, 380, 527, 2]}


def _posetrack_cell_data(real_fixtures: Path, data_root: Path) -> int:
    """data/posetrack18 from the fixture (images read in place): its 3 labelled val frames
    (14 persons) and the hand-placed person of the clip, as the train and val views; returns
    the person count."""
    from benchmark.datasets import get_spec
    from benchmark.datasets.posetrack18 import _image_index, convert_split

    src = real_fixtures / POSETRACK
    if not (src / "annotations" / "val").is_dir():
        from tests.conftest import missing_fixture

        missing_fixture(f"PoseTrack18 samples not at {src}")
    _clip(real_fixtures)
    spec = get_spec("posetrack18")
    raw = spec.image_root("rgb", data_root)
    raw.parent.mkdir(parents=True)
    os.symlink(src, raw)
    canonical = convert_split(sorted((raw / "annotations" / "val").glob("*.json")), raw,
                              _image_index(raw))
    frame = f"{CLIP.relative_to(POSETRACK)}/000002.jpg"
    canonical["images"].append({"id": 1, "file_name": frame, "width": 1280, "height": 720,
                                "modality_paths": {"rgb": frame}})
    canonical["annotations"].append({"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                                     "track_id": 0, "num_keypoints": 15, **CLIP_PERSON})
    for split, variant in (("train", "qa"), ("val", "qa"), ("val", "official")):
        path = spec.modality_annotation_file(split, "rgb", data_root, variant=variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(canonical))
    return len(canonical["annotations"])


def test_estimator_trains_and_predicts_through_a_composed_cell(real_fixtures, tmp_path,
                                                               monkeypatch) -> None:
    """The configs/models/posewarper_hrnet_w48 cell on PoseTrack18 (tiny HRNet, 64x96): two
    training iterations on (labelled frame, one supporting frame) pairs, then the end-of-epoch
    validation on clips of +-2 frames. The labelled frames' supporting frames clamp to
    themselves (no neighbours on disk); the clip's person has real ones."""
    from mmengine.runner import Runner

    from benchmark.cells import Cell
    from benchmark.models.compose import compose
    from benchmark.models.train import limit_workers

    monkeypatch.chdir(REPO)
    persons = _posetrack_cell_data(real_fixtures, tmp_path / "data")
    assert persons == 15
    cfg = compose(Cell("posetrack18", "rgb", "posewarper_hrnet_w48"),
                  data_root=tmp_path / "data", work_dir=tmp_path / "work", repo_root=REPO,
                  overrides={"pretrained_backbone": False, "input_size": (64, 96), "epochs": 1,
                             "batch_size": 8, "cfg_options": {
                                 "model.backbone.extra": TINY_EXTRA,
                                 "model.neck": {k: v for k, v in TINY_NECK.items()
                                                if k != "type"},
                                 "param_scheduler.0.start_factor": 1.0,
                                 "val_dataloader.batch_size": 3}})
    assert cfg.model.head.out_channels == 17 and cfg.codec["heatmap_size"] == (16, 24)
    loaders = [t for t in cfg.train_dataloader.dataset.pipeline
               if t["type"] == "LoadSupportingFrames"]
    assert loaders[0]["loader"]["type"] == "LoadModalityImage"
    limit_workers(cfg)
    runner = Runner.from_cfg(cfg)
    record = _Record()
    runner.register_hook(record)
    runner.train()

    assert len(record.losses) == 2 and all(np.isfinite(record.losses))
    assert record.channels == {"train": {6}, "val": {15}}
    after = dict(runner.model.named_parameters())
    changed = {k for k, v in after.items() if not torch.equal(v.detach(), record.initial[k])}
    # the offset convs start at zero: any change is a gradient that reached them (from the
    # clip's pair: a frame and itself differ by nothing, which gives them no gradient)
    assert all(torch.count_nonzero(record.initial[f"neck.offset_layers.{i}.weight"]) == 0
               for i in range(2))
    for name in ("neck.offset_layers.0.weight", "neck.offset_layers.1.weight",
                 "neck.deform_conv_layers.0.weight", "neck.deform_conv_layers.1.weight",
                 "neck.trans_layer.weight", "backbone.conv1.weight"):
        assert name in changed, name
    assert len(record.predictions) == persons
    for sample in record.predictions:
        kpts = sample.pred_instances.keypoints
        assert kpts.shape == (1, 17, 2) and np.isfinite(kpts).all()
        x0, y0, x1, y1 = sample.gt_instances.bboxes[0]
        w, h = x1 - x0, y1 - y0  # inside the (1.25x padded, 64x96 aspect) crop of the box
        assert (kpts[0, :, 0] > x0 - w).all() and (kpts[0, :, 0] < x1 + w).all()
        assert (kpts[0, :, 1] > y0 - h).all() and (kpts[0, :, 1] < y1 + h).all()


def test_propagation_moves_labelled_keypoints_by_the_offsets(real_fixtures) -> None:
    from benchmark.models.ext.posewarper import propagate_keypoints

    clip = _clip(real_fixtures)
    model = _estimator(k=3)
    crop = [cv2.resize(cv2.imread(str(clip / f"{i:06d}.jpg"))[100:700, 400:800], (64, 96))
            for i in range(2)]
    kpts_a = np.array([[20.0, 32.0], [40.0, 60.0], [32.0, 76.0]])
    # identity: B = A and the initial (zero) offsets give back A's keypoints
    kpts, scores = propagate_keypoints(model, crop[0], crop[0], kpts_a)
    assert np.abs(kpts - kpts_a).max() <= 1.0
    assert (scores > 0.5).all()
    # offsets of (dy, dx) = (1, -2) heatmap pixels sample A at p + (1, -2): the keypoints move
    # by (-dx, -dy) x 4 (the heatmap stride) into B, whatever the frames; unlabelled: score 0
    for conv in model.neck.offset_layers:
        _constant_offsets(conv, 1.0, -2.0)
    kpts, scores = propagate_keypoints(model, crop[0], crop[1], kpts_a,
                                       visible_a=np.array([1, 1, 0]))
    assert np.abs(kpts[:2] - (kpts_a[:2] + [8.0, -4.0])).max() <= 1.0
    assert scores[2] == 0 and (scores[:2] > 0.5).all()
    assert model.training  # left as it was
