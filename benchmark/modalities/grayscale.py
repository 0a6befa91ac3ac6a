"""Grayscale images in a 3-channel container.

Pose networks pretrained on RGB expect three input channels; replicating the luma keeps the
architecture and the pretrained first layer unchanged while removing all colour cues. This is
how the COCO gray variants and single-channel modalities are fed to the same models.
"""

from __future__ import annotations

import cv2
import numpy as np


def to_gray3(bgr: np.ndarray) -> np.ndarray:
    """BGR (H, W, 3) or gray (H, W) / (H, W, 1) image -> (H, W, 3) with equal channels.

    Luma uses OpenCV's BT.601 weights (0.299 R + 0.587 G + 0.114 B); the dtype is kept.
    """
    img = np.asarray(bgr)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        gray = img
    elif img.ndim == 3 and img.shape[2] == 3:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    else:
        raise ValueError(f"expected (H, W), (H, W, 1) or (H, W, 3), got {img.shape}")
    return np.repeat(gray[..., None], 3, axis=2)
