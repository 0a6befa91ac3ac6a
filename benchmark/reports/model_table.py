"""``mpbench models``: what each model config costs, generated into ``docs/models.md``.

Hand-kept tables of parameters and FLOPs drift from the configs; this one builds every model
the way a training job does (the cell's composed config, MMPose's registry) and measures it, so
the numbers describe the code that runs. Published accuracies sit beside them, labelled as
published, because they are quoted from papers and model zoos and not measured here.
"""

from __future__ import annotations

import argparse
import gc
import math
import re
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "configs" / "models"
DEFAULT_OUT = Path("docs") / "models.md"

_COCO_VAL = "COCO val AP (person detector 56.4 AP)"
_TEST_DEV = "COCO test-dev AP (person detector 60.9 AP)"
_MPII = "MPII val PCKh@0.5 Mean"
_HRNET = "HRNet paper (Sun et al., CVPR 2019)"
_SIMCC = "SimCC/SimDR paper (Li et al., ECCV 2022)"
_ZOO = "MMPose model zoo (metafile)"

#: Published numbers (model config -> (benchmark, value, source)); quoted, not measured.
PUBLISHED: dict[str, list[tuple[str, float, str]]] = {
    "hrnet_w32": [(_COCO_VAL, 74.4, _HRNET), ("ExLPose LL-A (mmpose) AP", 40.1, _ZOO)],
    "hrnet_w48": [(_COCO_VAL, 75.1, _HRNET)],
    "simdr_hrnet_w32": [(_COCO_VAL, 75.3, _SIMCC)],
    "simdr_hrnet_w48": [(_COCO_VAL, 75.9, _SIMCC)],
    "rle_hrnet_w48_384x288": [(_TEST_DEV, 75.7, "RLE paper (Li et al., ICCV 2021)")],
    "psa_hrnet_w48": [(_TEST_DEV, 78.9, "PSA paper (Liu et al., 2021)")],
    "hrnet_w32_256x256": [
        (_MPII, 90.3, _HRNET),
        # HRNet's table heads this column Mean@0.1; it is taken at a 0.11 threshold
        ("MPII val PCKh@0.11 Mean (the paper's 'Mean@0.1')", 37.7, _HRNET),
        (_MPII, 90.0, _ZOO)],
    "hrnet_w48_256x256": [(_MPII, 90.1, _ZOO)],
    "simplebaseline_r50_256x256": [(_MPII, 88.2, _ZOO)],
}


@dataclass
class ModelRow:
    """One model config as built and measured (``gflops`` None: ``flops_note`` says why)."""

    name: str
    dataset: str
    family: str
    estimator: str
    backbone: str
    head: str
    input_size: tuple[int, int]  # (w, h)
    params: int
    gflops: float | None
    flops_note: str
    size: str  # the size class, or "own" for a config's mpbench_resources
    resources: dict[str, int]  # gpus, mem_mb, runtime (minutes)
    max_epochs: int | None
    batch: str  # GPUs x per-GPU batch, as MMPose names recipes ("8xb64")
    optimizer: str
    lr: float | None


def config_names() -> list[str]:
    return sorted(p.stem for p in MODEL_DIR.glob("*.py"))


def dataset_for(name: str, default: str = "coco") -> str:
    """MPII-only recipes (``*_256x256``) compose for MPII, the CPU demo model for the demo,
    DepthPose for MVOR (its depth study)."""
    if name.startswith("depthpose"):
        return "mvor"
    return "mpii" if name.endswith("_256x256") else "demo" if name == "tiny_hrnet" else default


def modality_for(name: str) -> str:
    """The modality a config is composed for: DepthPose reads 1-channel depth, its SR variant
    low-resolution depth (80x60); the others colour."""
    return {"depthpose": "depth", "depthpose_sr": "depth_80x60"}.get(name, "rgb")


def recipe_batch(path: Path) -> str | None:
    """``8xb64`` from the MMPose recipe a config derives from, following local ``_base_``s."""
    for ref in re.findall(r"[\"']([^\"'\s]+\.py)[\"']", path.read_text()):
        local = path.parent / ref
        if ref.startswith("mmpose::") and (found := re.search(r"\d+xb\d+", ref)):
            return found.group(0)
        if local.is_file() and (batch := recipe_batch(local)):
            return batch
    return None


def _batch(path: Path, per_gpu: int) -> str:
    """The recipe's name, flagged where its config trains with another per-GPU batch (MMPose's
    MPII HRNet-W32 recipe, named 8xb64, sets 16)."""
    named = recipe_batch(path)
    if named is None:
        return f"1xb{per_gpu}"
    return named if named.endswith(f"xb{per_gpu}") else f"{named} (config: b{per_gpu})"


def _attention_flops(inputs: list[Any], outputs: list[Any]) -> Counter[str]:
    """mmpretrain's ViT calls ``scaled_dot_product_attention``, which mmengine leaves out:
    Q K^T and A V as multiply-adds."""
    from mmengine.analysis.jit_handles import get_shape

    q, k, v = (get_shape(x) for x in inputs[:3])
    return Counter({"attention": math.prod(q[:-1]) * k[-2] * (q[-1] + v[-1])})


def _deform_conv_flops(weight_index: int) -> Any:
    """mmcv's deformable convs (DEKR), which mmengine leaves out, as dense convs."""
    from mmengine.analysis.jit_handles import get_shape

    def handle(inputs: list[Any], outputs: list[Any]) -> Counter[str]:
        out, w = get_shape(outputs[0]), get_shape(inputs[weight_index])
        return Counter({"deform_conv": out[0] * math.prod(out[2:]) * math.prod(w)})
    return handle


def count_gflops(model: Any, width: int, height: int) -> tuple[float | None, str]:
    """Multiply-adds of the tensor forward on one image, in G, and what the count leaves out.

    MMPose estimators take ``(inputs, data_samples, mode)``; the tracer passes only tensors,
    so a wrapper calls ``mode='tensor'`` (backbone, neck, head; no decoding, no NMS)."""
    import torch
    from mmengine.analysis import FlopAnalyzer

    class TensorForward(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> Any:
            return self.model(x, None, mode="tensor")

    handles = {"aten::scaled_dot_product_attention": _attention_flops,
               "prim::PythonOp.DeformConv2dFunction": _deform_conv_flops(2),
               "prim::PythonOp.ModulatedDeformConv2dFunction": _deform_conv_flops(3)}
    try:
        analyzer = FlopAnalyzer(TensorForward(model).eval(), (torch.zeros(1, 3, height, width),))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        analyzer.tracer_warnings("none")
        for op, handle in handles.items():
            analyzer.set_op_handle(op, handle)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            total, by_op = analyzer.total(), analyzer.by_operator()
            uncalled = analyzer.uncalled_modules()
    except Exception as exc:  # a table row, not a crash: say why
        return None, f"not counted: {type(exc).__name__}: {str(exc)[:120]}"
    notes = [text for op, text in (("attention", "attention (SDPA) counted by mpbench"),
                                   ("deform_conv", "deformable convs counted as dense convs"))
             if by_op.get(op)]
    # parameter-owning modules the tensor forward never calls (losses and the preprocessor
    # aside; MultiheadAttention's out_proj runs inside its parent's call)
    modules = dict(model.named_modules())
    skipped = [n for n in (u.removeprefix("model.") for u in uncalled)
               if n in modules and "loss" not in n and not n.startswith("data_preprocessor")
               and next(modules[n].parameters(), None) is not None
               and not isinstance(modules.get(n.rpartition(".")[0]), torch.nn.MultiheadAttention)]
    top = sorted(n for n in skipped if not any(n.startswith(p + ".") for p in skipped))
    if top:
        shown = ", ".join(top[:4]) + (f" and {len(top) - 4} more" if len(top) > 4 else "")
        notes.append("not in the tensor forward (run at predict, in training only, or the "
                     f"other lighting's BN set): {shown}")
    return total / 1e9, "; ".join(notes)


def model_rows(names: list[str] | None = None, dataset: str = "coco",
               count_flops: bool = True) -> list[ModelRow]:
    """Build every named config (default: all of configs/models/) for its cell and measure
    it; one progress line per model goes to stderr (ViTPose-H takes a while)."""
    from mmengine.registry import init_default_scope

    from benchmark.cells import Cell
    from benchmark.models.compose import compose
    from benchmark.models.families import family_of, input_size, resources

    init_default_scope("mmpose")
    from mmpose.registry import MODELS

    import benchmark.models.ext  # noqa: F401  (registers mpbench's modules)

    rows = []
    names = names or config_names()
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        ds = dataset_for(name, dataset)
        cfg = compose(Cell(ds, modality_for(name), name),
                      overrides={"pretrained_backbone": False}, repo_root=REPO)
        adapter = family_of(cfg, name)
        width, height = input_size(cfg)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MODELS.build(cfg.model)
        params = sum(p.numel() for p in model.parameters())
        gflops, note = (count_gflops(model, width, height) if count_flops
                        else (None, "not counted (list only)"))
        optimizer = cfg.optim_wrapper.get("optimizer") or {}
        rows.append(ModelRow(
            name=name, dataset=ds, family=adapter.name, estimator=cfg.model.type,
            backbone=cfg.model.backbone.type, head=cfg.model.head.type,
            input_size=(width, height), params=params, gflops=gflops, flops_note=note,
            size="own" if cfg.get("mpbench_resources") else cfg.get("mpbench_size", "m"),
            resources=resources(cfg, adapter), max_epochs=cfg.train_cfg.get("max_epochs"),
            batch=_batch(MODEL_DIR / f"{name}.py", cfg.train_dataloader.batch_size),
            optimizer=str(optimizer.get("type", "?")), lr=optimizer.get("lr")))
        del model
        gc.collect()
        flops = "-" if gflops is None else f"{gflops:.2f}"
        print(f"[{i}/{len(names)}] {name}: {params / 1e6:.2f}M params, {flops} GFLOPs "
              f"({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return rows


_INTRO = """# Model configs

Generated by `mpbench models --table` from `configs/models/`: do not edit by hand; rerun the
command after changing a config. Each config is composed for its cell (COCO RGB; MPII for
`*_256x256`, the demo dataset for `tiny_hrnet`; no pretrained weights) and built with MMPose's
registry.

- **params**: every parameter of the built model, training-only parts included (RLE's flow
  prior, DEKR's rescore net).
- **GFLOPs**: mmengine's complexity analysis (`FlopAnalyzer`) of the estimator's tensor forward
  (`mode='tensor'`: backbone, neck, head; no decoding, flip test or NMS) on one image at the
  full input size, in multiply-adds. Convolutions, linear layers and matrix products are
  counted; batch/layer norm and upsampling are counted too but add well under 1 %; activations,
  additions, softmax and max-pooling are not. Transposed convolutions are counted at their input
  resolution, so SimpleBaseline R50 (5.45) is below its paper's 8.9 (at output resolution
  its deconvs would give 9.68: the paper counted another way). mmengine leaves out
  `scaled_dot_product_attention` (ViTPose) and mmcv's deformable convs (DEKR); mpbench adds
  them (attention as Q K^T + A V, a deformable conv as its dense conv).
- **resources**: the SLURM request of one training job (below); **schedule**: epochs, GPUs x
  per-GPU batch of the MMPose recipe, optimizer and base lr; "(config: b16)" where the recipe's
  config trains with another per-GPU batch than its name says.
- No GPU timings are measured here: runtimes are requests, and any GPU figure derived from
  this table is a FLOP-based estimate.

| model | family | backbone / head | input (w x h) | params (M) | GFLOPs | GPUs | mem (GB) \
| runtime (h) | schedule |
|---|---|---|---|---:|---:|---:|---:|---:|---|
"""
_RESOURCES = """
## Resources by family and size

A training job's SLURM resources come from the model's family and its size class
(`mpbench_size` in the config, default `m`; `benchmark.models.families`), sized for the full
published schedule on one GPU. A config may give its own (`mpbench_resources`), and a matrix
entry overrides both with `resources: {train: {gpus, mem_mb, runtime}}` (runtime in minutes).

| size | GPUs | mem (GB) | runtime (h) | models |
|---|---:|---:|---:|---|
"""
_PUBLISHED = """
## Published reference numbers

Quoted from papers and MMPose's model zoo, not measured by mpbench.

| model | benchmark | value | source |
|---|---|---:|---|
"""


def _res(res: dict[str, int]) -> str:
    return f"{res['gpus']} | {res['mem_mb'] / 1000:g} | {res['runtime'] / 60:g}"


def render_markdown(rows: list[ModelRow]) -> str:
    """docs/models.md: the measured table, the size classes, and the published numbers."""
    from benchmark.models.families import _RES

    out = [_INTRO.rstrip("\n")]
    for r in rows:
        flops = "n/a" if r.gflops is None else f"{r.gflops:.2f}"
        lr = "" if r.lr is None else f" lr {r.lr:g}"
        out.append(f"| `{r.name}` | {r.family} | {r.backbone} / {r.head} | "
                   f"{r.input_size[0]}x{r.input_size[1]} | {r.params / 1e6:.2f} | {flops} | "
                   f"{_res(r.resources)} | {r.max_epochs} ep, {r.batch}, {r.optimizer}{lr} |")
    notes = [f"- `{r.name}`: {r.flops_note}" for r in rows if r.flops_note]
    out += ["", "Notes on the counts:", "", *notes] if notes else []
    out.append(_RESOURCES.rstrip("\n"))
    for size, res in _RES.items():
        names = ", ".join(f"`{r.name}`" for r in rows if r.size == size)
        out.append(f"| {size} | {_res(res)} | {names} |")
    out += [f"| own | {_res(r.resources)} | `{r.name}` |" for r in rows if r.size == "own"]
    out.append(_PUBLISHED.rstrip("\n"))
    for name, entries in PUBLISHED.items():
        out += [f"| `{name}` | {bench} | {value:.1f} (published) | {source} |"
                for bench, value, source in entries]
    return "\n".join(out) + "\n"


def command(args: argparse.Namespace) -> int:
    from benchmark.fileio import write_text_atomic

    rows = model_rows(args.models or None, count_flops=args.table)
    if args.table:
        print(write_text_atomic(args.out, render_markdown(rows)))
        return 0
    for r in rows:
        print(f"{r.name:28} {r.family:16} {r.input_size[0]}x{r.input_size[1]:<6} "
              f"{r.params / 1e6:8.2f}M")
    return 0


def register(sub: Any) -> argparse.ArgumentParser:
    """Add ``models`` to the ``mpbench`` subcommands."""
    p = sub.add_parser("models", help="the model configs: list them, or write docs/models.md "
                                      "with params, GFLOPs, resources and schedules")
    p.add_argument("--table", action="store_true",
                   help="measure GFLOPs too and write the markdown table")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: docs/models.md")
    p.add_argument("--model", dest="models", nargs="+", default=[], metavar="NAME",
                   help="only these configs (default: all of configs/models/)")
    p.set_defaults(func=command)
    return p


if __name__ == "__main__":  # python -m benchmark.reports.model_table models --table
    _parser = argparse.ArgumentParser(prog="mpbench")
    register(_parser.add_subparsers(required=True))
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))
