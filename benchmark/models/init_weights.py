"""Where a cell's weights start: a published checkpoint or another cell's, fitted to the model.

``init: {url, sha256}`` is fetched through the dataset download layer (cache, mirror,
checksum, resume) into ``checkpoints/``; ``init: {cell: KEY}`` reads the upstream cell's
trained checkpoint from its summary (a DAG input of the finetune's job). Either way the
checkpoint is then *fitted* to the cell's model before MMEngine loads it:

- a checkpoint of another architecture is refused, naming the first key that differs: a
  parameter the model lacks, a shape that differs outside the head, or too few of the model's
  parameters present to call it the same network;
- a head that does not fit (another keypoint count) is left out, and the log says so, so the
  head starts from its own initialisation;
- everything else is loaded, and the report lists what was missing.

The fitted weights go to ``<work_dir>/init.pth`` (MMEngine's ``load_from``); the source's
sha256 enters the composed config (``mpbench.init``), so the run's identity, and a finetune
re-runs when its upstream cell's checkpoint changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from benchmark.cells import Cell, Init
from benchmark.errors import MpbenchError

#: Where fetched checkpoints are kept (shared by every cell; ``MPBENCH_CHECKPOINTS`` moves it).
CHECKPOINT_DIR = Path("checkpoints")
#: Prefixes of the parameters of a model's head (left out when the head does not fit).
HEAD_PREFIXES = ("head.",)
#: A checkpoint must hold at least this share of the model's non-head parameters.
MIN_SHARED = 0.5


class InitError(MpbenchError):
    """The init checkpoint cannot start this cell; the message names the key or file."""


@dataclass
class InitSource:
    """A resolved init: the checkpoint file and its sha256."""

    path: Path
    sha256: str
    init: Init

    def identity(self) -> dict[str, str]:
        """What enters the composed config (and so the run's identity)."""
        return {"kind": self.init.kind, "source": self.init.source, "sha256": self.sha256}


@dataclass
class FitReport:
    loaded: int = 0
    head_dropped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    note: str = ""

    def lines(self) -> list[str]:
        out = [f"init: {self.loaded} tensors loaded"]
        if self.head_dropped:
            out.append(f"init: head not loaded ({self.note}); {len(self.head_dropped)} head "
                       "tensors start from the model's own initialisation")
        if self.missing:
            shown = ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
            out.append(f"init: {len(self.missing)} model tensors not in the checkpoint "
                       f"(own initialisation): {shown}")
        return out


def checkpoint_dir() -> Path:
    return Path(os.environ.get("MPBENCH_CHECKPOINTS") or CHECKPOINT_DIR)


def resolve(init: Init, *, progress: bool = True) -> InitSource:
    """The checkpoint file of an init: fetched and verified (url), or the upstream cell's."""
    from benchmark.models.predict import file_sha256

    if init.kind == "url":
        path = fetch_checkpoint(init.source, str(init.sha256), progress=progress)
        return InitSource(path, file_sha256(path), init)
    if init.kind == "cell":
        import json

        upstream = Cell.from_key(init.source)
        summary = upstream.summary_path
        if not summary.is_file():
            raise InitError(f"{summary}: the upstream cell {upstream.key} of this finetune is "
                            "not trained yet (its training job runs first in the workflow)")
        path = Path(json.loads(summary.read_text())["checkpoint"])
        if not path.is_file():
            raise InitError(f"{path}: checkpoint of the upstream cell {upstream.key} missing")
        return InitSource(path, file_sha256(path), init)
    raise InitError(f"init {init.name!r}: only named in the cell key; give --init-url/"
                    "--init-sha256 or --init-cell (the workflow passes them)")


def fetch_checkpoint(url: str, sha256: str, *, progress: bool = True) -> Path:
    """Download (or reuse) a published checkpoint and check its sha256 or sha256 prefix."""
    from benchmark.datasets.download import ChecksumError, fetch, sha256_file
    from benchmark.datasets.sources import Source

    name = Path(urlparse(url).path).name
    if not name:
        raise InitError(f"init url {url}: no file name in the URL")
    sha256 = sha256.lower()
    full = sha256 if len(sha256) == 64 else None
    path = fetch(Source(name, url, full), checkpoint_dir() / "downloads", progress=progress)
    if full is None:
        actual = sha256_file(path)
        if not actual.startswith(sha256):
            bad = path.with_name(path.name + ".bad")
            os.replace(path, bad)
            raise ChecksumError(f"{path}: sha256 {actual} does not start with {sha256} "
                                f"(from {url}); the file was moved aside to {bad}")
    return path


def fit(model_cfg: Any, source: InitSource, out: Path, *, need_head: bool = False,
        log=print) -> FitReport:
    """Fit ``source``'s weights to the model of ``model_cfg`` and save them to ``out``.

    ``need_head``: an evaluate-only cell scores the checkpoint as it is, so a head that does
    not fit is an error there instead of being left out.
    """
    import torch
    from mmengine.registry import init_default_scope

    from benchmark.models.checkpoints import allow_mmengine_checkpoints

    allow_mmengine_checkpoints()
    import benchmark.models.ext  # noqa: F401 - registered modules the config may name

    init_default_scope("mmpose")
    from mmpose.registry import MODELS

    model = MODELS.build(model_cfg)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    try:
        ckpt = torch.load(source.path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file: say which
        raise InitError(f"{source.path}: not a loadable checkpoint ({exc})") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise InitError(f"{source.path}: holds no state_dict")
    state = {k.removeprefix("module."): v for k, v in state.items()
             if hasattr(v, "shape")}
    report = _check(want, state, source.path, need_head)
    kept = {k: v for k, v in state.items() if k in want and k not in report.head_dropped}
    report.loaded = len(kept)
    report.missing = sorted(k for k in want if k not in kept and not _is_head(k))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.save({"state_dict": kept, "meta": {"init_source": str(source.path),
                                             "init_sha256": source.sha256}}, tmp)
    os.replace(tmp, out)
    for line in report.lines():
        log(line)
    return report


def _is_head(key: str) -> bool:
    return key.startswith(HEAD_PREFIXES)


def _check(want: dict[str, tuple], state: dict[str, Any], path: Path,
           need_head: bool) -> FitReport:
    report = FitReport()
    for key, value in state.items():
        if _is_head(key):
            continue
        if key not in want:
            raise InitError(f"{path}: another architecture: checkpoint key {key!r} is not a "
                            "parameter of the model")
        if tuple(value.shape) != want[key]:
            raise InitError(f"{path}: another architecture: {key!r} has shape "
                            f"{tuple(value.shape)} in the checkpoint, {want[key]} in the model")
    body = [k for k in want if not _is_head(k)]
    shared = sum(k in state for k in body)
    if body and shared < MIN_SHARED * len(body):
        first = next(k for k in body if k not in state)
        raise InitError(f"{path}: another architecture: only {shared} of the model's "
                        f"{len(body)} non-head tensors are in the checkpoint; the first "
                        f"missing is {first!r}")
    heads = {k: v for k, v in state.items() if _is_head(k)}
    misfit = next(((k, tuple(v.shape)) for k, v in heads.items()
                   if k not in want or tuple(v.shape) != want[k]), None)
    if misfit is not None:
        key, shape = misfit
        note = (f"{key!r} is {shape} in the checkpoint, "
                f"{want.get(key, 'absent')} in the model")
        if need_head:
            raise InitError(f"{path}: the head does not fit this cell ({note}: another "
                            "keypoint count?); an evaluate-only cell needs the whole model")
        report.head_dropped = sorted(heads)
        report.note = note
    return report
