"""The physical low-light model: brightness ladder, Poisson + read noise, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from benchmark.modalities.lowlight import (
    LEVEL_NAMES,
    LOWLIGHT_LEVELS,
    linear_to_srgb,
    simulate_lowlight,
    simulate_raw,
    srgb_to_linear,
)
from tests.demo.helpers import SmallDataset


def test_srgb_transfer_round_trip() -> None:
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-12)
    assert srgb_to_linear(np.array([118 / 255]))[0] == pytest.approx(0.181, abs=0.002)


def test_ladder_order() -> None:
    assert LEVEL_NAMES == ("normal", "hard", "extreme")
    exposures = [LOWLIGHT_LEVELS[n].exposure for n in LEVEL_NAMES]
    assert exposures == sorted(exposures, reverse=True)


def test_mean_intensity_falls_strongly_over_the_ladder(small_dataset: SmallDataset) -> None:
    root, _ = small_dataset
    img = cv2.imread(str(root / "rgb" / "train" / "000001.png"))
    ramp = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    for src in (img, ramp):
        rng = np.random.default_rng(0)
        means = [simulate_lowlight(src, n, rng).mean() for n in LEVEL_NAMES]
        assert means[0] < 0.5 * src.mean()
        assert means[1] < 0.6 * means[0] and means[2] < 0.5 * means[1]
        assert means[2] > 1.0  # dark, not black


@pytest.mark.parametrize("name", LEVEL_NAMES)
def test_raw_noise_is_poisson_plus_read_noise(name: str) -> None:
    """On a flat patch, the variance in electrons equals mean + read^2 + quantisation."""
    level = LOWLIGHT_LEVELS[name]
    linear = np.full((400, 400), 0.5)
    raw = simulate_raw(linear, level, np.random.default_rng(1))
    electrons = raw / level.dn_per_electron
    expected = level.expected_electrons(0.5)
    assert electrons.mean() == pytest.approx(expected, rel=0.01)
    assert electrons.var() == pytest.approx(level.electron_variance(0.5), rel=0.03)
    # Shot noise alone: what is left after removing read and quantisation noise ~ the mean.
    step = 1 / level.dn_per_electron
    shot = electrons.var() - level.read_noise_e ** 2 - step * step / 12
    assert shot == pytest.approx(expected, rel=0.05)


def test_snr_falls_over_the_ladder() -> None:
    flat = np.full((200, 200, 3), 118, np.uint8)
    rng = np.random.default_rng(2)
    snr = []
    for name in LEVEL_NAMES:
        out = simulate_lowlight(flat, name, rng).astype(float)
        snr.append(out.mean() / out.std())
    assert snr[0] > snr[1] > snr[2] and snr[2] < 2


def test_output_type_shape_and_determinism() -> None:
    img = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    a = simulate_lowlight(img, "hard", np.random.default_rng(7))
    b = simulate_lowlight(img, "hard", np.random.default_rng(7))
    c = simulate_lowlight(img, "hard", np.random.default_rng(8))
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    gray = simulate_lowlight(img[..., 0], LOWLIGHT_LEVELS["normal"], np.random.default_rng(7))
    assert gray.shape == (48, 64)
    with pytest.raises(TypeError):
        simulate_lowlight(img.astype(np.uint16), "hard", np.random.default_rng(0))
    with pytest.raises(KeyError):
        simulate_lowlight(img, "pitch-black", np.random.default_rng(0))
