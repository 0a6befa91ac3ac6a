"""Initialisation from a published checkpoint (loopback URL) or another cell, fitted to the
model: head left out when the keypoint count differs, another architecture refused."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402

from benchmark.cells import Cell, Init  # noqa: E402
from benchmark.datasets.download import ChecksumError  # noqa: E402
from benchmark.models.compose import compose  # noqa: E402
from benchmark.models.init_weights import InitError, InitSource, fetch_checkpoint, fit  # noqa: E402
from tests.conftest import REPO  # noqa: E402


def _model(dataset: str, model: str = "tiny_hrnet"):
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401

    cfg = compose(Cell(dataset, "rgb" if dataset != "mvor" else "depth", model),
                  repo_root=REPO, overrides={"pretrained_backbone": False})
    init_default_scope("mmpose")
    return cfg, MODELS.build(cfg.model)


def _save(model, path) -> InitSource:
    torch.save({"state_dict": model.state_dict(), "meta": {}}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return InitSource(path, digest, Init("url", "https://x/y.pth", digest[:8]))


def test_same_model_loads_completely(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    cfg, model = _model("demo")
    source = _save(model, tmp_path / "a.pth")
    report = fit(cfg.model, source, tmp_path / "init.pth", log=lambda _: None)
    assert report.head_dropped == [] and report.missing == []
    saved = torch.load(tmp_path / "init.pth", weights_only=True)["state_dict"]
    assert saved.keys() == model.state_dict().keys()
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_head_of_another_keypoint_count_is_left_out(tmp_path, monkeypatch) -> None:
    """COCO-17 weights into an MVOR (10 joints) cell: backbone loaded, head not, and said."""
    monkeypatch.chdir(REPO)
    _, coco = _model("demo")
    cfg, _ = _model("mvor")
    lines: list[str] = []
    report = fit(cfg.model, _save(coco, tmp_path / "coco.pth"), tmp_path / "init.pth",
                 log=lines.append)
    assert report.head_dropped == ["head.final_layer.bias", "head.final_layer.weight"]
    assert "(17, 16, 1, 1) in the checkpoint, (10, 16, 1, 1) in the model" in report.note
    assert any("head not loaded" in line for line in lines)
    saved = torch.load(tmp_path / "init.pth", weights_only=True)["state_dict"]
    assert not any(k.startswith("head.") for k in saved)
    assert torch.equal(saved["backbone.conv1.weight"], coco.state_dict()["backbone.conv1.weight"])
    with pytest.raises(InitError, match="the head does not fit this cell"):
        fit(cfg.model, _save(coco, tmp_path / "coco.pth"), tmp_path / "x.pth",
            need_head=True, log=lambda _: None)


def test_another_architecture_is_refused_naming_the_key(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)
    _, resnet = _model("demo", "rle_r50")
    cfg, _ = _model("demo")
    with pytest.raises(InitError, match=re.escape(
            "another architecture: 'backbone.conv1.weight' has shape (64, 3, 7, 7) in the "
            "checkpoint, (64, 3, 3, 3) in the model")):
        fit(cfg.model, _save(resnet, tmp_path / "r50.pth"), tmp_path / "init.pth",
            log=lambda _: None)
    assert not (tmp_path / "init.pth").exists()


def test_url_init_is_verified_by_its_sha256_prefix(http_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MPBENCH_CHECKPOINTS", str(tmp_path / "ckpt"))
    buf = io.BytesIO()
    torch.save({"state_dict": {"w": torch.ones(2)}}, buf)
    data = buf.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    url = http_server.add(f"/zoo/net-{digest[:8]}_20260101.pth", data)
    with pytest.raises(ChecksumError, match=f"does not start with {'0' * 8}"):
        fetch_checkpoint(url, "0" * 8, progress=False)
    assert list((tmp_path / "ckpt" / "downloads").glob("*.bad"))
    path = fetch_checkpoint(url, digest[:8], progress=False)
    assert path.read_bytes() == data
    assert fetch_checkpoint(url, digest[:8], progress=False) == path
    assert http_server.count(f"/zoo/net-{digest[:8]}_20260101.pth") == 2  # refused + accepted
    assert fetch_checkpoint(url, digest, progress=False) == path  # a full sha256 as well


def test_finetune_identity_follows_the_upstream_checkpoint(tmp_path, monkeypatch) -> None:
    """A `cell:` init puts the upstream checkpoint's sha256 into the composed config, so the
    finetune is a new run (and re-trains) when the upstream cell's weights change."""
    from benchmark.models.compose import config_digest
    from benchmark.models.train import _compose_with_init

    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(REPO / "configs")
    upstream = Cell("demo", "rgb", "tiny_hrnet")
    ckpt = tmp_path / "up.pth"
    upstream.summary_path.parent.mkdir(parents=True)
    upstream.summary_path.write_text(json.dumps({"checkpoint": str(ckpt)}))
    ft = Cell("demo", "thermal", "tiny_hrnet", Init("cell", upstream.key))
    with pytest.raises(InitError, match="checkpoint of the upstream cell demo/rgb/tiny_hrnet"):
        _compose_with_init(ft, tmp_path / "w", None)
    digests = []
    for value in (1.0, 2.0):
        torch.save({"state_dict": {"w": torch.full((2,), value)}}, ckpt)
        cfg, source = _compose_with_init(ft, tmp_path / "w", None)
        assert cfg.mpbench["init"]["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
        digests.append(config_digest(cfg))
    assert digests[0] != digests[1]


def test_amp_is_refused_on_a_cpu_node(tmp_path, monkeypatch) -> None:
    from benchmark.errors import MpbenchError
    from benchmark.models.train import train_cell

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: AMP is allowed here")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(REPO / "configs")
    with pytest.raises(MpbenchError, match="mixed precision needs a CUDA GPU"):
        train_cell(Cell("demo", "rgb", "tiny_hrnet"), overrides={"amp": True})
    assert not (tmp_path / "work_dirs").exists()  # refused before anything was written
