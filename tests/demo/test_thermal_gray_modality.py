"""Thermal normalisation and the 3-channel grayscale conversion."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.modalities.grayscale import to_gray3
from benchmark.modalities.thermal import normalize_thermal


def test_16bit_ramp_fills_the_8bit_range() -> None:
    ramp = np.tile(np.linspace(7000, 9000, 512).astype(np.uint16), (8, 1))  # a narrow band
    for mode in ("percentile", "minmax"):
        out = normalize_thermal(ramp, mode)
        assert out.dtype == np.uint8 and out.shape == ramp.shape
        assert out.min() == 0 and out.max() == 255
        assert np.all(np.diff(out[0].astype(int)) >= 0)  # monotonic
        assert len(np.unique(out)) > 240  # no level lost
    np.testing.assert_array_equal(normalize_thermal(ramp, "minmax")[0, [0, -1]], [0, 255])


def test_percentile_stretch_is_robust_to_hot_outliers() -> None:
    rng = np.random.default_rng(0)
    img = rng.normal(7500, 60, (100, 100)).astype(np.uint16)
    img[0, :5] = 30000  # a lamp
    robust, plain = normalize_thermal(img)[1:], normalize_thermal(img, "minmax")[1:]
    assert robust.std() > 40 and plain.std() < 2  # the bodies' contrast, without the lamp


def test_8bit_and_multichannel_inputs() -> None:
    img = np.tile(np.arange(256, dtype=np.uint8), (4, 1))
    assert np.array_equal(normalize_thermal(img, "none"), img)
    assert np.array_equal(normalize_thermal(np.dstack([img] * 3), "minmax"), img)
    assert np.array_equal(normalize_thermal(img.astype(np.uint16) * 257, "none"), img)
    assert not normalize_thermal(np.full((4, 4), 9, np.uint16)).any()  # constant -> 0
    with pytest.raises(TypeError):
        normalize_thermal(img.astype(np.float32))
    with pytest.raises(ValueError):
        normalize_thermal(img, "histogram")


def test_to_gray3() -> None:
    bgr = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 10, 10]]], np.uint8)
    g = to_gray3(bgr)
    assert g.shape == (1, 4, 3) and g.dtype == np.uint8
    assert list(g[0, :, 0]) == [29, 150, 76, 10]  # BT.601 luma of B, G, R
    assert np.all(g[..., 0] == g[..., 2])
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(to_gray3(gray)[..., 1], gray)
    assert np.array_equal(to_gray3(gray[..., None]), to_gray3(gray))
