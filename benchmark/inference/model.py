"""The pose model of ``mpbench infer``: a cell's composed config and checkpoint, checked strictly.

A trained cell keeps its composed config in ``work_dirs/<key>/config.py`` and names its
checkpoint in its summary (``train_summary.json``, or ``checkpoint_summary.json`` for an
evaluate-only cell), as ``mpbench evaluate`` reads them. ``--config``/``--checkpoint`` name
both explicitly.

Inference scores a checkpoint as it is, so unlike a training init (which may leave out a head,
:func:`benchmark.models.init_weights.fit`) every tensor must fit: the same keys and the same
shapes. The error names what differs, in the terms a user recognises (the keypoint count, the
input channels) where the shapes say so, else the first differing key, as ``fit`` does.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.inference.sources import InferenceError

#: Loading transforms of a test pipeline: inference runs them itself (see sources.py).
LOADERS = ("LoadModalityImage", "LoadImage", "mmpose.LoadImage")


@dataclass
class PoseModel:
    """A ready model with what inference needs from its config."""

    model: Any
    cfg: Any
    pipeline: Any  # the test pipeline after its loader
    loader: dict[str, Any]
    top_down: bool
    num_keypoints: int
    dataset: str | None
    device: str


def cell_files(key: str, work_dir: Path | None = None) -> tuple[Path, Path]:
    """The composed config and trained checkpoint of a cell (key as ``--cell`` takes it)."""
    from benchmark.cells import Cell, CellError

    try:
        cell = Cell.from_key(key)
    except CellError as exc:
        raise InferenceError(str(exc)) from None
    work_dir = Path(work_dir or cell.work_dir)
    config = work_dir / "config.py"
    summaries = (work_dir / cell.summary_path.name, work_dir / "checkpoint_summary.json")
    summary = next((p for p in summaries if p.is_file()), None)
    if not config.is_file() or summary is None:
        raise InferenceError(f"{work_dir}: cell {cell.key} is not trained (no config.py or "
                             f"{cell.summary_path.name}); run `mpbench train --cell {cell.key}` "
                             "or pass --config and --checkpoint")
    checkpoint = json.loads(summary.read_text()).get("checkpoint")
    if not checkpoint:
        raise InferenceError(f"{summary}: names no checkpoint")
    return config, Path(checkpoint)


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_state(path: Path) -> dict[str, Any]:
    """The checkpoint's tensors (``state_dict``, ``module.`` prefixes removed), read with
    torch's safe unpickler."""
    import torch

    from benchmark.models.checkpoints import allow_mmengine_checkpoints

    if not Path(path).is_file():
        raise InferenceError(f"{path}: checkpoint not found")
    allow_mmengine_checkpoints()
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign: one clear error
        raise InferenceError(f"{path}: not a loadable checkpoint ({exc})") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise InferenceError(f"{path}: holds no state_dict")
    out = OrderedDict((k.removeprefix("module."), v) for k, v in state.items()
                      if hasattr(v, "shape"))
    # The modules' version metadata rides along: heads with load hooks (CID's) convert only
    # what an old version saved, and take a state dict without it for an old one.
    meta = getattr(state, "_metadata", None)
    if meta is not None:
        out._metadata = OrderedDict(("" if k == "module" else k.removeprefix("module."), v)
                                    for k, v in meta.items())
    return out


def compare(want: dict[str, tuple], have: dict[str, tuple], num_keypoints: int) -> str | None:
    """Why a checkpoint's shapes ``have`` do not fit a model's ``want`` (None: they fit).

    Every key and shape must match. A head tensor whose first dimension is the model's
    keypoint count and differs in the checkpoint is reported as a keypoint count; the first
    convolution differing only in its input dimension as input channels.
    """
    differ = [k for k in want if k in have and have[k] != want[k]]
    for key in differ:
        if (key.startswith("head.") and len(want[key]) == len(have[key])
                and want[key][0] == num_keypoints != have[key][0]
                and want[key][1:] == have[key][1:]):
            return (f"another keypoint count: the checkpoint's head predicts {have[key][0]} "
                    f"keypoints, the model {num_keypoints} ({key!r} is {have[key]} in the "
                    f"checkpoint, {want[key]} in the model)")
    first_conv = next((k for k, s in want.items() if len(s) == 4), None)
    if first_conv in differ and want[first_conv][0] == have[first_conv][0] \
            and want[first_conv][2:] == have[first_conv][2:]:
        return (f"another input: the checkpoint's first convolution takes "
                f"{have[first_conv][1]} channels, the model's {want[first_conv][1]} "
                f"({first_conv!r})")
    if differ:
        key = differ[0]
        return (f"another architecture: {key!r} has shape {have[key]} in the checkpoint, "
                f"{want[key]} in the model ({len(differ)} tensors differ)")
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    if missing:
        return (f"another architecture: the model's {missing[0]!r} is not in the checkpoint "
                f"({len(missing)} of {len(want)} model tensors missing)")
    if extra:
        return (f"another architecture: the checkpoint's {extra[0]!r} is not a tensor of the "
                f"model ({len(extra)} extra)")
    return None


def _resolve_metainfo(cfg) -> dict[str, Any]:
    """The dataset metainfo of the config; its ``from_file`` is relative to the repository
    root (composed configs are), so it is found from any working directory."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    meta = dict(cfg.test_dataloader.dataset.get("metainfo") or {})
    path = meta.get("from_file")
    if path and not Path(path).is_file():
        repo = Path(__file__).resolve().parents[2]
        if (repo / path).is_file():
            meta["from_file"] = str(repo / path)
    if not meta:
        raise InferenceError(f"{cfg.filename}: the test dataset has no metainfo")
    return parse_pose_metainfo(meta)


def build(config: Path, checkpoint: Path, device: str | None = None) -> PoseModel:
    """Build the config's model, refuse a checkpoint that does not fit it, load it strictly."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope

    from benchmark.models.families import ADAPTERS, family_of
    from benchmark.models.train import limit_threads

    if not Path(config).is_file():
        raise InferenceError(f"{config}: config not found")
    limit_threads()
    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.get("default_scope", "mmpose"))
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401 - the config's registered modules

    family = (cfg.get("mpbench") or {}).get("family")
    adapter = ADAPTERS[family] if family in ADAPTERS else family_of(cfg, str(config))
    head = cfg.model.head
    num_keypoints = int(head.get(adapter.keypoint_key) or head.get("num_keypoints") or 0)
    meta = _resolve_metainfo(cfg)
    num_keypoints = num_keypoints or int(meta["num_keypoints"])
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = load_state(Path(checkpoint))
    why = compare(want, {k: tuple(v.shape) for k, v in state.items()}, num_keypoints)
    if why:
        raise InferenceError(f"{checkpoint} does not fit {config}: {why}")
    model.load_state_dict(state, strict=True)
    model.dataset_meta = meta
    device = device or default_device()
    model.to(device).eval()
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline]
    loader = dict(steps[0]) if steps and steps[0].get("type") in LOADERS else {}
    if loader.get("type") != "LoadModalityImage":  # a zoo config: an 8-bit colour image
        loader = {"type": "LoadModalityImage", "kind": "rgb", "value_range": None,
                  "upsample": 1}
    rest = [s for s in steps if s.get("type") not in LOADERS]
    return PoseModel(model, cfg, Compose(rest), loader, adapter.top_down, num_keypoints,
                     (cfg.get("mpbench") or {}).get("dataset"), device)
