"""DepthPose (benchmark.models.ext.depthpose) on known inputs: the SR backbone sees only the
low-resolution values, flipped fields map back onto the originals, the stage losses equal a
hand computation, decoding the encoded ground truth finds the people, and the composed MVOR
cell trains two iterations and predicts its 10 joints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402
from mmengine.structures import PixelData  # noqa: E402
from mmpose.structures import PoseDataSample  # noqa: E402

import benchmark.models.ext  # noqa: E402,F401 - registration
from benchmark.cells import Cell  # noqa: E402
from benchmark.datasets.layouts import COCO17, MVOR10  # noqa: E402
from benchmark.models.ext.depthpose import DepthPoseBackbone, PAFHead  # noqa: E402
from tests.conftest import REPO  # noqa: E402

torch.set_num_threads(1)

#: Two standing people (COCO-17 order) in a 256x256 input, apart (as tests/models/test_paf.py).
PERSON = 2 * np.array([[20, 10], [22, 8], [18, 8], [25, 9], [15, 9], [28, 20], [12, 20],
                       [31, 32], [9, 32], [32, 44], [8, 44], [25, 46], [15, 46], [26, 62],
                       [14, 62], [27, 78], [13, 78]], np.float32)
PEOPLE = np.stack([PERSON + [10, 20], PERSON + [130, 40]])


def _head(size: int = 256, stride: int = 4, **kw) -> PAFHead:
    codec = dict(type="PartAffinityFieldLabel", input_size=(size, size),
                 heatmap_size=(size // stride, size // stride),
                 limbs=[list(limb) for limb in COCO17.skeleton_indices], sigma=2.0)
    return PAFHead(in_channels=8, num_keypoints=17, decoder=codec, **kw)


def _sample(size: int, **fields) -> PoseDataSample:
    s = PoseDataSample(metainfo={"input_size": (size, size),
                                 "flip_indices": list(COCO17.flip_index)})
    s.gt_fields = PixelData(**{k: torch.from_numpy(v) for k, v in fields.items()})
    return s


def test_sr_backbone_sees_only_the_low_resolution_values() -> None:
    torch.manual_seed(0)
    net = DepthPoseBackbone(in_channels=1, sr=True, sr_factor=8).eval()
    x = torch.rand(1, 3, 96, 64)
    (feat,), recon = net(x)
    assert feat.shape == (1, 192, 12, 8) and recon.shape == (1, 1, 96, 64)
    # inside every 8x8 block, move values around (same block means): same output; channels
    # 1 and 2 (the reconstruction target, a copy) are never read
    y = x.clone()
    y[:, 0] = x[:, 0].reshape(1, 12, 8, 8, 8).flip(2).reshape(1, 96, 64)
    y[:, 1:] = 0
    with torch.no_grad():
        assert torch.allclose(net(y)[0][0], feat, atol=1e-5)
    plain = DepthPoseBackbone(in_channels=1)
    assert plain(x)[0][0].shape == (1, 128, 12, 8) and plain(x)[1] is None


def test_flipped_fields_map_back_onto_the_originals() -> None:
    head = _head(stride=2)
    codec = head.decoder
    w = codec.heatmap_size[0]
    enc = codec.encode(PEOPLE, np.ones((2, 17)))
    # the mirror image: x -> (w - 1 - x) in map pixels, joints renamed by their flip partners
    mirrored = PEOPLE.copy()
    mirrored[..., 0] = (w - 1 - PEOPLE[..., 0] / codec.scale[0]) * codec.scale[0]
    mirrored = mirrored[:, list(COCO17.flip_index)]
    menc = codec.encode(mirrored, np.ones((2, 17)))
    paf, heat = head._flip_back(torch.from_numpy(menc["pafs"])[None],
                                torch.from_numpy(menc["heatmaps"])[None],
                                list(COCO17.flip_index))
    assert torch.allclose(heat[0], torch.from_numpy(enc["heatmaps"]), atol=1e-5)
    assert torch.allclose(paf[0], torch.from_numpy(enc["pafs"]), atol=1e-5)


def test_stage_losses_equal_a_hand_computation() -> None:
    head = _head(size=64, stride=4, num_stages=3)
    for stage in (*head.paf_stages, *head.heatmap_stages):  # every stage predicts zeros
        torch.nn.init.zeros_(stage[-1].weight)
        torch.nn.init.zeros_(stage[-1].bias)
    enc = head.decoder.encode(PEOPLE / 4, np.ones((2, 17)))
    losses = head.loss((torch.rand(2, 8, 16, 16),),
                       [_sample(64, heatmaps=enc["heatmaps"], pafs=enc["pafs"])] * 2)
    assert losses["loss_paf"].item() == pytest.approx(3 * float(np.mean(enc["pafs"] ** 2)),
                                                      rel=1e-5)
    assert losses["loss_heatmap"].item() == pytest.approx(
        3 * float(np.mean(enc["heatmaps"] ** 2)), rel=1e-5)


def test_decoding_the_encoded_people_finds_them_in_input_pixels() -> None:
    """Maps at stride 4, upsampled bicubically to the input, then OpenPose's decoding."""
    head = _head(stride=4)
    enc = head.decoder.encode(PEOPLE, np.ones((2, 17)))
    (found,) = head.decode_maps(torch.from_numpy(enc["pafs"])[None],
                                torch.from_numpy(enc["heatmaps"])[None], [_sample(256)])
    assert found.keypoints.shape == (2, 17, 2) and found.bbox_scores.shape == (2,)
    order = np.argsort(found.keypoints[:, 0, 0])
    assert np.abs(found.keypoints[order] - PEOPLE).max() < 2.5


def _mvor_batch(real: Path, n: int, size: tuple[int, int]
                ) -> tuple[torch.Tensor, list[PoseDataSample]]:
    """Depth-like inputs with the real MVOR GT's first posed persons drawn in, and their
    encoded targets (10 joints, MVOR's skeleton)."""
    from benchmark.models.ext.paf import PartAffinityFieldLabel

    gt = json.loads((real / "mvor/annotations/camma_mvor_2018.json").read_text())
    anns = [a for a in gt["annotations"]
            if not a["only_bbox"] and sum(v > 0 for v in a["keypoints"][2::3]) >= 8][:n]

    w, h = size
    codec = PartAffinityFieldLabel(size, (w // 8, h // 8), list(MVOR10.skeleton_indices))
    inputs, samples = [], []
    for ann in anns:
        kp = np.asarray(ann["keypoints"], np.float32).reshape(1, -1, 3)
        xy = kp[..., :2] * [w / 640, h / 480]
        enc = codec.encode(xy, kp[..., 2] > 0)
        img = torch.full((3, h, w), 200.0)
        for x, y in xy[0][kp[0, :, 2] > 0]:
            img[:, max(0, int(y) - 2):int(y) + 3, max(0, int(x) - 2):int(x) + 3] = 60.0
        inputs.append(img)
        s = _sample(w, heatmaps=enc["heatmaps"], pafs=enc["pafs"])
        s.set_metainfo({"input_size": (w, h), "input_center": np.array([w / 2, h / 2]),
                        "input_scale": np.array([w, h], np.float32),
                        "flip_indices": list(MVOR10.flip_index)})
        samples.append(s)
    return torch.stack(inputs), samples


@pytest.mark.parametrize("modality,model", [("depth", "depthpose"),
                                            ("depth_80x60", "depthpose_sr")])
def test_composed_mvor_cell_trains_and_predicts_ten_joints(real_fixtures: Path, modality,
                                                           model) -> None:
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from benchmark.models.compose import compose

    init_default_scope("mmpose")
    cfg = compose(Cell("mvor", modality, model), repo_root=REPO,
                  overrides={"input_size": [64, 96]})
    net = MODELS.build(cfg.model)
    net.init_weights()
    inputs, samples = _mvor_batch(real_fixtures, 2, (64, 96))
    data = net.data_preprocessor({"inputs": list(inputs.to(torch.uint8)),
                                  "data_samples": samples}, training=True)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in net.parameters()]
    for _ in range(2):
        losses = net(data["inputs"], data["data_samples"], mode="loss")
        assert set(losses) == {"loss_paf", "loss_heatmap"} | (
            {"loss_sr"} if model.endswith("_sr") else set())
        assert all(torch.isfinite(v) for v in losses.values())
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True)
               if b.requires_grad)
    net.eval()
    with torch.no_grad():
        out = net(data["inputs"], data["data_samples"], mode="predict")
    assert len(out) == 2 and out[0].pred_instances.keypoints.shape[1:] == (10, 2)
