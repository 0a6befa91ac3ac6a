"""File-level derivation of modalities, for the pipeline's data stages.

A derived modality (low light from RGB, low-resolution depth from depth, ...) is a pure function
of the source file, the stage's seed and the image's identity, never of processing order, so a
stage can be re-run, parallelised or resumed and still produce byte-identical files (DVC caches
them by content). Randomness for an image comes from ``SeedSequence(rng_seed, spawn_key=(id,))``
where ``id`` is the numeric image id taken from the file name (``000123.png`` -> 123).

Kinds:

* ``lowlight``: :func:`~benchmark.modalities.lowlight.simulate_lowlight` on an 8-bit image; the
  level is ``params["level"]`` or, by default, cycles over the ladder with the image id
  (``LEVEL_NAMES[id % 3]``) so every split holds all levels in equal shares;
* ``depth_lowres``: :func:`~benchmark.modalities.depth.downsample_depth` (``factor`` 8,
  ``method`` median), stored at the low resolution as a 16-bit PNG;
* ``gray``: :func:`~benchmark.modalities.grayscale.to_gray3`;
* ``thermal``: :func:`~benchmark.modalities.thermal.normalize_thermal` (``mode``, ``low``,
  ``high``) of an 8- or 16-bit frame, stored as 8-bit single channel;
* ``augment``: :func:`~benchmark.modalities.augment.augment_variant` (``variant``), the
  LLVIP-Pose augmentation variants of RGB.
"""

from __future__ import annotations

import zlib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from benchmark.modalities.augment import augment_variant
from benchmark.modalities.depth import downsample_depth
from benchmark.modalities.grayscale import to_gray3
from benchmark.modalities.lowlight import LEVEL_NAMES, LOWLIGHT_LEVELS, simulate_lowlight
from benchmark.modalities.thermal import normalize_thermal

#: Fields of :class:`~benchmark.modalities.lowlight.LowLightLevel` a spec may set per modality.
LEVEL_FIELDS = ("exposure", "full_well_e", "read_noise_e", "bits", "gain_to_8bit")
KINDS = ("lowlight", "depth_lowres", "gray", "thermal", "augment")


def image_key(path: str | Path) -> int:
    """Numeric identity of an image file: its integer stem, else a CRC32 of its name."""
    stem = Path(path).stem
    return int(stem) if stem.isdigit() else zlib.crc32(Path(path).name.encode())


def lowlight_level_for(image_id: int) -> str:
    """Ladder level of an image: cycles normal, hard, extreme with the image id."""
    return LEVEL_NAMES[image_id % len(LEVEL_NAMES)]


def _read(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return img


def _write(path: Path, img: np.ndarray) -> None:
    """Encode with OpenCV, write with Python: ``cv2.imwrite`` only returns False on a failed
    write, whereas Python's write raises the real ``OSError`` (a full disk is ENOSPC, which
    the CLI reports as such); the bytes are the same as ``imwrite``'s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix, img)
    if not ok:
        raise OSError(f"cannot encode image {path}")
    path.write_bytes(buf.tobytes())


def derive_modality(kind: str, src_path: str | Path, dst_path: str | Path, *, rng_seed: int = 0,
                    **params: str | float | None) -> dict:
    """Derive ``kind`` from ``src_path`` into ``dst_path``; returns what was done.

    The returned dict has ``kind``, ``src``, ``dst``, ``shape`` (of the written image) and the
    kind's own facts (``level`` for low light, ``factor``/``method`` for low-res depth, ...).
    """
    src, dst = Path(src_path), Path(dst_path)
    img = _read(src)
    key = int(params.pop("image_id", image_key(src)))
    meta: dict = {"kind": kind, "src": str(src), "dst": str(dst)}
    if kind == "lowlight":
        level = params.pop("level", None) or lowlight_level_for(key)
        custom = {f: params.pop(f) for f in LEVEL_FIELDS if f in params}
        rng = np.random.default_rng(np.random.SeedSequence(rng_seed, spawn_key=(key,)))
        if custom:  # a dataset spec's own rung: the named level with these fields replaced
            level = replace(LOWLIGHT_LEVELS[str(level)], name=f"{level}*", **custom)
            out = simulate_lowlight(img, level, rng)
            meta.update(level=level.name, image_id=key, **custom)
        else:
            out = simulate_lowlight(img, level, rng)
            meta.update(level=level, image_id=key)
    elif kind == "depth_lowres":
        factor, method = int(params.pop("factor", 8)), params.pop("method", "median")
        if img.dtype != np.uint16 or img.ndim != 2:
            raise ValueError(f"{src}: depth must be 16-bit single channel, got {img.dtype} "
                             f"{img.shape}")
        out = downsample_depth(img, factor, method)
        meta.update(factor=factor, method=method, full_shape=list(img.shape))
    elif kind == "gray":
        out = to_gray3(img)
    elif kind == "augment":
        variant = str(params.pop("variant"))
        rng = np.random.default_rng(np.random.SeedSequence(rng_seed, spawn_key=(key,)))
        out = augment_variant(img, variant, rng)
        meta.update(variant=variant, image_id=key)
    elif kind == "thermal":
        mode = params.pop("mode", "percentile")
        out = normalize_thermal(img, mode, params.pop("low", 1.0), params.pop("high", 99.0))
        meta.update(mode=mode)
    else:
        raise ValueError(f"unknown derived modality {kind!r}; known: {KINDS}")
    if params:
        raise TypeError(f"unexpected parameters for {kind!r}: {sorted(params)}")
    _write(dst, out)
    meta["shape"] = list(out.shape)
    return meta


def derive_directory(kind: str, src_root: str | Path, dst_root: str | Path, *,
                     rng_seed: int = 0, pattern: str = "**/*.png",
                     **params: str | float | None) -> dict[str, dict]:
    """Derive every image under ``src_root`` matching ``pattern`` (same relative paths).

    Returns ``{relative path: derive_modality result}`` in sorted path order.
    """
    src_root, dst_root = Path(src_root), Path(dst_root)
    done: dict[str, dict] = {}
    for src in sorted(src_root.glob(pattern)):
        rel = src.relative_to(src_root).as_posix()
        done[rel] = derive_modality(kind, src, dst_root / rel, rng_seed=rng_seed, **params)
    return done
