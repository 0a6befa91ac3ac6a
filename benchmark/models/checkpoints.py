"""Loading MMEngine checkpoints under PyTorch's ``weights_only`` default (torch >= 2.6).

MMEngine's resume and ``load_from`` call ``torch.load`` without ``weights_only``; since torch
2.6 that means ``weights_only=True``, and MMEngine's own checkpoints are refused because their
``meta``/``message_hub`` hold numpy scalars and arrays and MMEngine's ``HistoryBuffer``.
Rather than disabling the safe unpickler for everything (``weights_only=False``), mpbench
allows exactly the globals that MMEngine checkpoints contain. Any other global (e.g. an
arbitrary callable in a tampered file) is still refused by torch.
"""

from __future__ import annotations

import numpy as np
import torch


def _numpy_globals() -> list:
    allowed: list = [np.ndarray, np.dtype, np.core.multiarray._reconstruct,
                     np.core.multiarray.scalar]
    # The dtype classes numpy pickles with (np.dtypes.Float64DType, ...), numpy >= 1.25.
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    return allowed


def mmengine_safe_globals() -> list:
    """numpy types, MMEngine's ``HistoryBuffer`` and ``getattr``.

    ``getattr`` is there because a pickled ``HistoryBuffer`` restores its statistics methods as
    ``getattr(buffer, "mean")``. Under ``weights_only`` the unpickler may only *call*
    allow-listed callables, so ``getattr`` can fetch an attribute but nothing fetched can be
    called unless it is itself allow-listed (a tampered file with ``os.system`` is refused, see
    tests/unit/test_checkpoints.py).
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    return [*_numpy_globals(), HistoryBuffer, getattr]


def allow_mmengine_checkpoints() -> None:
    """Register the MMEngine checkpoint globals with torch's safe unpickler (idempotent)."""
    torch.serialization.add_safe_globals(mmengine_safe_globals())


def is_valid_checkpoint(path: str) -> bool:
    """True when ``path`` is a complete, loadable checkpoint (a truncated file is not)."""
    allow_mmengine_checkpoints()
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not usable", the caller skips it
        return False
    return isinstance(ckpt, dict) and "state_dict" in ckpt


def checkpoint_progress(path: str) -> int | None:
    """Training iterations a checkpoint holds (``meta.iter``); None when it is not usable.

    Iteration checkpoints (``iter_<n>.pth``, written on a signal or every N iterations) and
    epoch checkpoints (``epoch_<e>.pth``) are compared by this number to pick the newest.
    """
    allow_mmengine_checkpoints()
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - truncated, corrupt, foreign: skip it
        return None
    if not (isinstance(ckpt, dict) and "state_dict" in ckpt):
        return None
    return int(ckpt.get("meta", {}).get("iter", 0))
