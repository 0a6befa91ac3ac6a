"""Every model config composes and builds, at its full published size, for each dataset a
named benchmark uses it with: the family adapter puts the dataset's keypoint count where the
head reads it, and the built model's output has that many keypoints."""

from __future__ import annotations

import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402

from benchmark.cells import Cell  # noqa: E402
from benchmark.datasets import get_spec  # noqa: E402
from benchmark.workflow.matrix import cells_from_config, named_benchmark, named_benchmarks  # noqa: E402
from tests.conftest import REPO  # noqa: E402


def _pairs() -> list[tuple[str, str, str]]:
    pairs = set()
    for name in named_benchmarks(REPO):
        for cell in cells_from_config(named_benchmark(name, REPO), REPO):
            pairs.add((cell.dataset, cell.modality, cell.model))
    # one modality per (dataset, model) is enough: modalities change the loader, not the model
    seen, out = set(), []
    for d, m, model in sorted(pairs):
        if (d, model) not in seen:
            seen.add((d, model))
            out.append((d, m, model))
    return out


PAIRS = _pairs()


def test_the_named_benchmarks_reach_every_family() -> None:
    used = {model for _, _, model in PAIRS}
    assert {"hrnet_w48_udp", "vitpose_h", "simcc_r50", "rle_r50", "dekr_hrnet_w32",
            "yoloxpose_s", "yoloxpose_l", "rtmo_l", "simplebaseline_r50", "hrnet_w32",
            "hrnet_w48", "simdr_hrnet_w32", "simdr_hrnet_w48", "rle_hrnet_w48_384x288",
            "psa_hrnet_w48", "hrnet_w32_256x256", "hrnet_w48_256x256",
            "simplebaseline_r50_256x256", "tiny_hrnet"} <= used


@pytest.mark.parametrize(("dataset", "modality", "model"), PAIRS,
                         ids=[f"{d}-{m}" for d, _, m in PAIRS])
def test_full_size_config_composes_and_builds(dataset, modality, model, monkeypatch) -> None:
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401
    from benchmark.models.compose import compose
    from benchmark.models.families import family_of, input_size

    monkeypatch.chdir(REPO)
    cfg = compose(Cell(dataset, modality, model), repo_root=REPO,
                  overrides={"pretrained_backbone": False})
    adapter = family_of(cfg)
    k = get_spec(dataset).layout.num_keypoints
    assert cfg.model.head[adapter.keypoint_key] == k
    assert cfg.train_dataloader.dataset.data_mode == adapter.data_mode
    init_default_scope("mmpose")
    net = MODELS.build(cfg.model)
    if adapter.name in ("topdown_heatmap", "simcc", "regression"):
        w, h = input_size(cfg)
        net.eval()
        with torch.no_grad():
            out = net(torch.zeros(1, 3, h, w), None, mode="tensor")
        first = out[0] if isinstance(out, (tuple, list)) else out
        assert first.shape[1] == k, (model, tuple(first.shape))
