"""The LLVIP-Pose augmentation variants of RGB images, as deterministic derived modalities.

LLVIP-Pose trains RGB models for thermal input with colour-removing and polarity-flipping
augmentations. Applied at training time they make two runs differ by their random draws;
precomputed here (seeded per image) they are cached by DVC and every cell that uses a variant
sees the same pixels. Variants:

* ``gray``: luma in three channels;
* ``gray_p50``: ``gray`` for a seeded half of the images, the others unchanged (grayscale with
  probability 0.5);
* ``hsv_gray_invert``: HSV jitter, then gray, then inversion (255 - x);
* ``hsv_invert``: HSV jitter, then inversion.

HSV jitter: hue shifted by up to +-18 degrees, saturation and value scaled by a factor in
[0.6, 1.4] (one draw per image), OpenCV's 8-bit HSV.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.modalities.grayscale import to_gray3

VARIANTS = ("gray", "gray_p50", "hsv_gray_invert", "hsv_invert")
HUE_SHIFT_DEG = 18.0
SV_SCALE = (0.6, 1.4)


def hsv_jitter(bgr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random hue shift and saturation/value scaling of an 8-bit BGR image."""
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV).astype(np.float64)
    shift = rng.uniform(-HUE_SHIFT_DEG, HUE_SHIFT_DEG) / 2.0  # OpenCV hue is degrees / 2
    s_scale, v_scale = rng.uniform(*SV_SCALE, size=2)
    hsv[..., 0] = np.mod(hsv[..., 0] + shift, 180.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * s_scale, 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * v_scale, 0, 255)
    return cv2.cvtColor(np.round(hsv).astype(np.uint8), cv2.COLOR_HSV2BGR)


def augment_variant(img: np.ndarray, variant: str, rng: np.random.Generator) -> np.ndarray:
    """8-bit image (gray or BGR) -> the variant, 8-bit BGR (H, W, 3)."""
    if img.dtype != np.uint8:
        raise TypeError(f"augment variants need an 8-bit image, got {img.dtype}")
    bgr = to_gray3(img) if img.ndim == 2 or img.shape[2] == 1 else img[..., :3]
    if variant == "gray":
        return to_gray3(bgr)
    if variant == "gray_p50":
        return to_gray3(bgr) if rng.random() < 0.5 else bgr.copy()
    if variant == "hsv_gray_invert":
        return 255 - to_gray3(hsv_jitter(bgr, rng))
    if variant == "hsv_invert":
        return 255 - hsv_jitter(bgr, rng)
    raise ValueError(f"unknown augmentation variant {variant!r}; known: {VARIANTS}")
