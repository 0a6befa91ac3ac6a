"""Thermal images to a common 8-bit range.

Thermal datasets arrive as 8-bit frames already stretched by the camera's automatic gain
(AGC), or as 14/16-bit radiometric counts that occupy a narrow band of the 16-bit range (a room
spans a few hundred counts). A network needs a consistent input, so every thermal image goes
through :func:`normalize_thermal`. The default is a *robust* percentile stretch: hot outliers
(lamps, engines, the sun) and dead pixels would otherwise compress the bodies into a few gray
levels, which is what a plain min-max stretch does.
"""

from __future__ import annotations

import numpy as np

MODES = ("percentile", "minmax", "none")


def normalize_thermal(img: np.ndarray, mode: str = "percentile", low: float = 1.0,
                      high: float = 99.0) -> np.ndarray:
    """8- or 16-bit thermal image (H, W) or (H, W, C) -> 8-bit (H, W).

    ``mode``:
      * ``"percentile"`` - map the ``low``-th..``high``-th percentiles linearly to 0..255 and clip;
      * ``"minmax"`` - map the minimum..maximum to 0..255;
      * ``"none"`` - keep 8-bit images as they are; 16-bit images are divided by 257 (full
        16-bit range -> full 8-bit range), i.e. no contrast change.

    Multi-channel inputs (thermal stored as 3 equal channels) are averaged to one channel. A
    constant image maps to 0.
    """
    a = np.asarray(img)
    if a.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"expected an 8- or 16-bit image, got {a.dtype}")
    x = a.astype(np.float64)
    if x.ndim == 3:
        x = x.mean(axis=2)
    if x.ndim != 2:
        raise ValueError(f"expected (H, W) or (H, W, C), got {a.shape}")
    if mode == "none":
        scaled = x if a.dtype == np.uint8 else x / 257.0
        return np.clip(np.round(scaled), 0, 255).astype(np.uint8)
    if mode == "percentile":
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(f"need 0 <= low < high <= 100, got {low}, {high}")
        lo, hi = np.percentile(x, [low, high])
    elif mode == "minmax":
        lo, hi = float(x.min()), float(x.max())
    else:
        raise ValueError(f"unknown mode {mode!r}; use one of {MODES}")
    if hi <= lo:
        return np.zeros(x.shape, np.uint8)
    return np.round(np.clip((x - lo) / (hi - lo), 0.0, 1.0) * 255.0).astype(np.uint8)
