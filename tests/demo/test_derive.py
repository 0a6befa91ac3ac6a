"""File-level derivation used by the pipeline's data stages."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmark.modalities.derive import (
    derive_directory,
    derive_modality,
    image_key,
    lowlight_level_for,
)
from tests.demo.helpers import SmallDataset


def test_level_cycles_with_image_id() -> None:
    assert [lowlight_level_for(i) for i in range(1, 7)] == \
        ["hard", "extreme", "normal", "hard", "extreme", "normal"]
    assert image_key("train/000123.png") == 123
    assert image_key("a.png") == image_key(Path("x/a.png"))  # name-based, not dir-based


def test_lowlight_file(small_dataset: SmallDataset, tmp_path: Path) -> None:
    root, _ = small_dataset
    src = root / "rgb" / "train" / "000003.png"
    meta = derive_modality("lowlight", src, tmp_path / "a.png", rng_seed=5)
    assert meta["level"] == "normal" and meta["image_id"] == 3
    derive_modality("lowlight", src, tmp_path / "b.png", rng_seed=5)
    derive_modality("lowlight", src, tmp_path / "c.png", rng_seed=6)
    a, b = (tmp_path / "a.png").read_bytes(), (tmp_path / "b.png").read_bytes()
    assert a == b and a != (tmp_path / "c.png").read_bytes()
    out, rgb = cv2.imread(str(tmp_path / "a.png")), cv2.imread(str(src))
    assert out.shape == rgb.shape and out.mean() < 0.5 * rgb.mean()
    forced = derive_modality("lowlight", src, tmp_path / "d.png", rng_seed=5, level="extreme")
    assert forced["level"] == "extreme"
    assert cv2.imread(str(tmp_path / "d.png")).mean() < out.mean()


def test_depth_lowres_file(small_dataset: SmallDataset, tmp_path: Path) -> None:
    root, _ = small_dataset
    src = root / "depth" / "val" / "100001.png"
    meta = derive_modality("depth_lowres", src, tmp_path / "d.png")
    assert meta["factor"] == 8 and meta["shape"] == [30, 40] and meta["full_shape"] == [240, 320]
    small = cv2.imread(str(tmp_path / "d.png"), cv2.IMREAD_UNCHANGED)
    full = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    assert small.dtype == np.uint16 and small.shape == (30, 40)
    assert set(np.unique(small)) <= set(np.unique(full))
    with pytest.raises(ValueError):
        derive_modality("depth_lowres", root / "rgb" / "val" / "100001.png", tmp_path / "x.png")


def test_gray_and_thermal_files(small_dataset: SmallDataset, tmp_path: Path) -> None:
    root, _ = small_dataset
    derive_modality("gray", root / "rgb" / "test" / "200001.png", tmp_path / "g.png")
    g = cv2.imread(str(tmp_path / "g.png"), cv2.IMREAD_UNCHANGED)
    assert g.shape == (240, 320, 3) and np.array_equal(g[..., 0], g[..., 2])
    meta = derive_modality("thermal", root / "thermal" / "test" / "200001.png", tmp_path / "t.png")
    t = cv2.imread(str(tmp_path / "t.png"), cv2.IMREAD_UNCHANGED)
    assert meta["mode"] == "percentile" and t.shape == (240, 320)
    assert t.min() == 0 and t.max() == 255


def test_directory_mirrors_the_tree(small_dataset: SmallDataset, tmp_path: Path) -> None:
    root, _ = small_dataset
    done = derive_directory("lowlight", root / "rgb", tmp_path / "ll", rng_seed=0)
    assert list(done) == sorted(p.relative_to(root / "rgb").as_posix()
                                for p in (root / "rgb").rglob("*.png"))
    assert len(done) == 6 and {m["level"] for m in done.values()} == {"normal", "hard", "extreme"}
    assert all((tmp_path / "ll" / rel).is_file() for rel in done)


def test_bad_requests(small_dataset: SmallDataset, tmp_path: Path) -> None:
    root, _ = small_dataset
    src = root / "rgb" / "train" / "000001.png"
    with pytest.raises(ValueError):
        derive_modality("infrared", src, tmp_path / "x.png")
    with pytest.raises(TypeError):
        derive_modality("gray", src, tmp_path / "x.png", factor=2)
    with pytest.raises(FileNotFoundError):
        derive_modality("gray", tmp_path / "missing.png", tmp_path / "x.png")
