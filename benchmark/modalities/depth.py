"""Depth maps: low-resolution sensors and conversion to a network input.

Depth images carry metric values with 0 meaning "no measurement". Ordinary image resizing
averages neighbours, which (a) mixes invalid zeros into valid depths, producing phantom
surfaces between the camera and the scene, and (b) averages across depth discontinuities,
producing "flying pixels" between a person and the wall. The functions here never average:
:func:`downsample_depth` picks one measured value per block and :func:`upsample_nearest`
replicates it.

Block geometry: for an output of ``(h, w)`` from an input of ``(H, W)``, input row ``i``
belongs to output row ``i * h // H`` (likewise for columns). With ``H`` a multiple of the
factor these are plain ``factor x factor`` blocks; :func:`upsample_nearest` uses the same
mapping, so a down/up round trip keeps every pixel inside its own block.
"""

from __future__ import annotations

import numpy as np


def _block_index(n_in: int, n_out: int) -> np.ndarray:
    return (np.arange(n_in) * n_out) // n_in


def downsample_depth(depth_mm: np.ndarray, factor: int, method: str = "median") -> np.ndarray:
    """Downsample a depth map by ``factor`` without ever averaging values.

    ``method="median"`` (default): the lower median of the *valid* (non-zero) pixels of each
    block, 0 where a block has no valid pixel. Robust to holes and noise, and, being a lower
    median, always one of the block's measured values (never an interpolated depth).
    ``method="nearest"``: the pixel at the block's centre, as a sensor with a sparser pixel grid
    would sample it; holes stay holes.

    The output has ``ceil(H / factor) x ceil(W / factor)`` pixels and the input's dtype.
    """
    d = np.asarray(depth_mm)
    if d.ndim != 2:
        raise ValueError(f"expected a single-channel (H, W) depth map, got {d.shape}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    big_h, big_w = d.shape
    h, w = -(-big_h // factor), -(-big_w // factor)
    if method == "nearest":
        rows = ((np.arange(h) + 0.5) * big_h / h).astype(int)
        cols = ((np.arange(w) + 0.5) * big_w / w).astype(int)
        return d[np.ix_(np.minimum(rows, big_h - 1), np.minimum(cols, big_w - 1))].copy()
    if method != "median":
        raise ValueError(f"unknown method {method!r}; use 'median' or 'nearest'")
    block = (_block_index(big_h, h)[:, None] * w + _block_index(big_w, w)[None, :]).ravel()
    vals = d.ravel()
    valid = vals > 0
    block, vals = block[valid], vals[valid]
    order = np.lexsort((vals, block))  # by block, then by value
    block, vals = block[order], vals[order]
    starts = np.searchsorted(block, np.arange(h * w), side="left")
    ends = np.searchsorted(block, np.arange(h * w), side="right")
    out = np.zeros(h * w, dtype=d.dtype)
    has = ends > starts
    out[has] = vals[(starts[has] + ends[has] - 1) // 2]
    return out.reshape(h, w)


def upsample_nearest(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour upsampling to ``shape`` = (H, W), block-consistent with the downsample.

    Works for any dtype and channel count (channels are kept); no value is ever interpolated.
    """
    a = np.asarray(img)
    big_h, big_w = int(shape[0]), int(shape[1])
    rows = _block_index(big_h, a.shape[0])
    cols = _block_index(big_w, a.shape[1])
    return a[rows][:, cols]


def depth_to_input(depth_mm: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Metric depth -> 8-bit 3-channel network input.

    Valid depths are mapped linearly from ``[vmin, vmax]`` mm to ``[1, 255]`` (clipped), near
    dark and far bright; invalid pixels (0) map to 0 so the network can tell "no measurement"
    from "near". The gray value is replicated on three channels for RGB-pretrained backbones.
    """
    if not vmax > vmin:
        raise ValueError(f"need vmax > vmin, got {vmin}, {vmax}")
    d = np.asarray(depth_mm, dtype=np.float64)
    if d.ndim == 3:
        d = d[..., 0]
    scaled = 1.0 + 254.0 * np.clip((d - vmin) / (vmax - vmin), 0.0, 1.0)
    out = np.where(d > 0, np.round(scaled), 0).astype(np.uint8)
    return np.repeat(out[..., None], 3, axis=2)
