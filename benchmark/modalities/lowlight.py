"""Physical low-light model: what a well-lit 8-bit sRGB image looks like with few photons.

Darkening an image by a scale factor is not low light: real low-light images are dominated by
photon (shot) noise, whose variance equals the signal in electrons, by the sensor's read noise
and by coarse quantisation of a signal that uses a few of the ADC's levels. The model below
follows the image formation chain of a raw sensor, as in the synthetic low-light data used by
low-light pose work (ExLPose LL-N/H/E are real captures of this regime):

1. linearise the sRGB input (inverse sRGB transfer function) to relative irradiance ``L``;
2. expose: the expected photo-electrons are ``L * exposure * full_well_e`` (a well-lit image at
   ``exposure = 1`` would fill the pixel wells);
3. shot noise: electrons ~ Poisson(expected);
4. read noise: + Normal(0, ``read_noise_e``);
5. ADC: ``DN = round(electrons * (2**bits - 1) / full_well_e)``, clipped to the ADC range;
6. camera output: ``DN / (2**bits - 1) * gain_to_8bit``, clipped to 1, sRGB-encoded to 8 bits.

``gain_to_8bit`` is much smaller than ``1 / exposure``: the camera does not fully compensate the
missing light, so the result is dark *and* noisy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """Inverse sRGB transfer function (IEC 61966-2-1), values in [0, 1]."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """sRGB transfer function, values in [0, 1]."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@dataclass(frozen=True)
class LowLightLevel:
    """One rung of the low-light ladder: scene light and the camera that records it."""

    name: str
    #: Fraction of the well-lit exposure (light x exposure time) reaching the sensor.
    exposure: float
    #: Photo-electrons that fill a pixel (well-lit linear value 1.0 at exposure 1).
    full_well_e: float = 10_000.0
    #: Standard deviation of the Gaussian read noise, in electrons.
    read_noise_e: float = 2.5
    #: ADC bit depth.
    bits: int = 12
    #: Digital gain from the normalised raw signal to the 8-bit output's linear scale.
    gain_to_8bit: float = 3.0

    @property
    def dn_per_electron(self) -> float:
        """ADC conversion factor (DN per electron)."""
        return (2 ** self.bits - 1) / self.full_well_e

    def expected_electrons(self, linear: np.ndarray) -> np.ndarray:
        """Mean photo-electrons for linear irradiance ``linear`` (well-lit scale, [0, 1])."""
        return np.asarray(linear, dtype=np.float64) * self.exposure * self.full_well_e

    def electron_variance(self, linear: np.ndarray) -> np.ndarray:
        """Model variance of the recorded signal, in electrons^2: shot + read + quantisation."""
        step = 1.0 / self.dn_per_electron
        return self.expected_electrons(linear) + self.read_noise_e ** 2 + step * step / 12.0


#: The ladder, named after ExLPose's LL-N / LL-H / LL-E test subsets: the same camera with
#: 1/30, 1/100 and 1/400 of the well-lit exposure. A mid-grey surface (8-bit 118) lands at about
#: 36, 16 and 4.5 (8-bit) with a raw SNR (electrons) of about 7.4, 3.7 and 1.4; demo RGB images
#: (mean ~130) average about 41, 20 and 7.
LOWLIGHT_LEVELS: dict[str, LowLightLevel] = {
    "normal": LowLightLevel("normal", exposure=1 / 30),
    "hard": LowLightLevel("hard", exposure=1 / 100),
    "extreme": LowLightLevel("extreme", exposure=1 / 400),
}
LEVEL_NAMES: tuple[str, ...] = tuple(LOWLIGHT_LEVELS)


def _level(level: LowLightLevel | str) -> LowLightLevel:
    if isinstance(level, LowLightLevel):
        return level
    try:
        return LOWLIGHT_LEVELS[level]
    except KeyError:
        raise KeyError(f"unknown low-light level {level!r}; known: {LEVEL_NAMES}") from None


def simulate_raw(linear: np.ndarray, level: LowLightLevel | str,
                 rng: np.random.Generator) -> np.ndarray:
    """Steps 2-5: raw ADC counts (float array of integers) for linear irradiance ``linear``.

    Negative values (read noise on a black pixel) clip to 0, as a sensor without black-level
    offset would; for signals a few read-noise sigmas above 0 this does not bias the statistics.
    """
    lv = _level(level)
    electrons = rng.poisson(lv.expected_electrons(linear)).astype(np.float64)
    electrons += rng.normal(0.0, lv.read_noise_e, electrons.shape)
    dn = np.round(electrons * lv.dn_per_electron)
    return np.clip(dn, 0, 2 ** lv.bits - 1)


def simulate_lowlight(img: np.ndarray, level: LowLightLevel | str,
                      rng: np.random.Generator) -> np.ndarray:
    """Low-light version of a well-lit 8-bit sRGB image (any channel count), 8-bit output.

    Deterministic for a given generator state; each channel gets independent noise.
    """
    src = np.asarray(img)
    if src.dtype != np.uint8:
        raise TypeError(f"expected an 8-bit image, got {src.dtype}")
    lv = _level(level)
    raw = simulate_raw(srgb_to_linear(src / 255.0), lv, rng)
    out = linear_to_srgb(raw / (2 ** lv.bits - 1) * lv.gain_to_8bit)
    return np.round(out * 255.0).astype(np.uint8)
