"""Network input of each modality kind: a 3-channel uint8 image in the annotation frame.

One function serves the MMPose loading transform and the normalisation statistics of the
preprocess stage, so the statistics describe exactly what the network sees.
"""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.modalities.depth import depth_to_input
from benchmark.modalities.thermal import normalize_thermal


def to_network_input(raw: np.ndarray, kind: str, *, value_range: tuple[float, float] | None = None,
                     upsample: int = 1) -> np.ndarray:
    """Convert a stored image (as read with ``cv2.IMREAD_UNCHANGED``) to HxWx3 uint8 (BGR)."""
    if upsample > 1:
        # Low-resolution sensors: nearest-neighbour back to the annotation frame keeps the
        # blocky information content of the low-resolution image (no invented detail).
        h, w = raw.shape[:2]
        raw = cv2.resize(raw, (w * upsample, h * upsample), interpolation=cv2.INTER_NEAREST)
    if kind == "depth":
        if value_range is None:
            raise ValueError("depth modality needs value_range (mm) in its spec")
        return depth_to_input(raw, *value_range)
    if kind == "thermal" and raw.dtype != np.uint8:
        raw = normalize_thermal(raw)
    if raw.dtype != np.uint8:
        raise ValueError(f"{kind} image must be 8-bit, got {raw.dtype}")
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR)
    if raw.shape[2] == 4:
        return cv2.cvtColor(raw, cv2.COLOR_BGRA2BGR)
    return raw
