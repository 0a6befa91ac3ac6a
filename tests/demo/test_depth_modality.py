"""Depth downsampling never invents depths; the network input mapping keeps holes apart."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.modalities.depth import depth_to_input, downsample_depth, upsample_nearest


@pytest.fixture
def depth() -> np.ndarray:
    rng = np.random.default_rng(0)
    d = rng.integers(500, 8000, (240, 320)).astype(np.uint16)
    d[rng.random(d.shape) < 0.3] = 0  # 30% holes
    d[:8, :8] = 0  # one block without any measurement
    return d


def test_nearest_picks_block_centres(depth: np.ndarray) -> None:
    small = downsample_depth(depth, 8, "nearest")
    assert small.shape == (30, 40) and small.dtype == np.uint16
    np.testing.assert_array_equal(small, depth[4::8, 4::8])
    assert set(np.unique(small)) <= set(np.unique(depth))


def test_median_ignores_zeros_and_returns_measured_values(depth: np.ndarray) -> None:
    small = downsample_depth(depth, 8)
    assert small.shape == (30, 40) and small.dtype == np.uint16
    assert small[0, 0] == 0  # no valid pixel in the block
    for by, bx in [(0, 1), (5, 7), (29, 39), (12, 20)]:
        block = depth[by * 8:(by + 1) * 8, bx * 8:(bx + 1) * 8]
        valid = np.sort(block[block > 0])
        assert small[by, bx] == valid[(len(valid) - 1) // 2]  # lower median of valid pixels
        assert small[by, bx] in block
    assert np.count_nonzero(small) == small.size - 1


def test_median_of_half_empty_block_is_not_pulled_to_zero() -> None:
    d = np.zeros((4, 4), np.uint16)
    d[:2, :] = 3000  # the lower half of the block is a hole
    assert downsample_depth(d, 4)[0, 0] == 3000
    assert downsample_depth(d, 4, "nearest")[0, 0] == 0  # nearest keeps the hole it sampled


def test_round_trip_is_block_consistent_for_any_size() -> None:
    rng = np.random.default_rng(1)
    d = rng.integers(1, 9000, (37, 53)).astype(np.uint16)
    for method in ("median", "nearest"):
        small = downsample_depth(d, 8, method)
        assert small.shape == (5, 7)
        up = upsample_nearest(small, d.shape)
        assert up.shape == d.shape and up.dtype == d.dtype
        rows = (np.arange(37) * 5) // 37
        cols = (np.arange(53) * 7) // 53
        for by in range(5):
            for bx in range(7):
                block = d[np.ix_(rows == by, cols == bx)]
                assert small[by, bx] in block  # every output value comes from its own block
                assert np.all(up[np.ix_(rows == by, cols == bx)] == small[by, bx])


def test_upsample_keeps_channels() -> None:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    up = upsample_nearest(img, (16, 24))
    assert up.shape == (16, 24, 3)
    np.testing.assert_array_equal(up[::8, ::8], img)


def test_depth_to_input_mapping() -> None:
    d = np.array([[0, 500, 4250, 8000, 9000, 100]], np.uint16)
    x = depth_to_input(d, 500, 8000)
    assert x.shape == (1, 6, 3) and x.dtype == np.uint8
    assert np.all(x[..., 0] == x[..., 1]) and np.all(x[..., 1] == x[..., 2])
    assert list(x[0, :, 0]) == [0, 1, 128, 255, 255, 1]  # hole, near, mid, far, clipped x2
    with pytest.raises(ValueError):
        depth_to_input(d, 8000, 500)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        downsample_depth(np.zeros((8, 8, 3), np.uint16), 2)
    with pytest.raises(ValueError):
        downsample_depth(np.zeros((8, 8), np.uint16), 2, "mean")
