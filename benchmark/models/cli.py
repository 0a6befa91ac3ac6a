"""``mpbench train|evaluate|detections|zoo|models``: the commands that act on one cell or on
model configs. Heavy imports (torch, MMPose, MLflow) happen inside the handlers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add_cell_args(p: argparse.ArgumentParser) -> None:
    """A cell: ``--cell KEY`` with its init flags (what the workflow passes,
    :meth:`benchmark.cells.Cell.cli_args`), or ``--dataset/--modality/--model``."""
    p.add_argument("--cell", default=None, metavar="DATASET/MODALITY/MODEL[~INIT][@sSEED]",
                   help="the cell's key (the workflow's form)")
    p.add_argument("--dataset", help="dataset name (see `mpbench data list`)")
    p.add_argument("--modality", help="modality of the dataset, e.g. thermal")
    p.add_argument("--model", help="model config name under configs/models/")
    p.add_argument("--init-url", default=None, help="start from this published checkpoint")
    p.add_argument("--init-sha256", default=None,
                   help="its sha256 (or first 8+ hex digits, as MMPose file names carry)")
    p.add_argument("--init-cell", default=None, metavar="KEY",
                   help="start from this cell's trained checkpoint")
    p.add_argument("--init-name", default=None, help="the init's label in the cell key")
    p.add_argument("--evaluate-only", action="store_true",
                   help="an evaluate-only cell (train: false): its init url's checkpoint as is")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="work dir of the cell (default: work_dirs/<cell key>)")


def _cell_of(args: argparse.Namespace):
    """The cell the command line names (one codec: :class:`benchmark.cells.Cell`)."""
    from benchmark.cells import Cell, CellError
    from benchmark.errors import MpbenchError

    try:
        if args.cell:
            return Cell.from_cli(args.cell, init_url=args.init_url,
                                 init_sha256=args.init_sha256, init_cell=args.init_cell,
                                 init_name=args.init_name, evaluate_only=args.evaluate_only)
        if not (args.dataset and args.modality and args.model):
            raise MpbenchError("name the cell: --cell KEY, or --dataset, --modality and "
                               "--model")
        key = f"{args.dataset}/{args.modality}/{args.model}"
        if args.init_url or args.init_cell:
            from benchmark.cells import Init

            init = (Init("url", args.init_url, args.init_sha256, args.init_name)
                    if args.init_url else Init("cell", args.init_cell, None, args.init_name))
            return Cell(args.dataset, args.modality, args.model, init,
                        train=not args.evaluate_only)
        return Cell.from_key(key)
    except CellError as exc:
        raise MpbenchError(str(exc)) from None


def _cmd_zoo(args: argparse.Namespace) -> int:
    from benchmark.models.zoo import describe, write_benchmark, zoo_entries

    entries = zoo_entries(args.dataset)
    print(describe(entries))
    print(f"{len(entries)} runnable entries on {args.dataset}")
    if not args.list:
        out = args.out or Path("configs") / "benchmarks" / f"zoo-{args.dataset}.yaml"
        path = write_benchmark(args.dataset, out, args.modality or None, entries=entries)
        print(f"wrote {path}: `snakemake --configfile {path}` evaluates them")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from benchmark.models.train import train_cell

    overrides = {"epochs": args.epochs or None, "seed": args.seed,
                 "batch_size": args.batch_size or None,
                 "checkpoint_iters": args.checkpoint_iters or None,
                 "annotations": args.annotations, "amp": args.amp,
                 "pretrained_backbone": not args.no_pretrained_backbone,
                 "input_size": _size(args.input_size),
                 "cfg_options": json.loads(args.cfg_options) if args.cfg_options else None}
    summary = train_cell(_cell_of(args), overrides=overrides,
                         experiment=args.experiment, work_dir=args.work_dir,
                         device=args.device)
    print(json.dumps(summary, indent=2))
    return 0


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    from benchmark.errors import MpbenchError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MpbenchError(f"--input-size {text!r}: expected WxH, e.g. 96x128") from None
    return w, h


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from benchmark.models.evaluate import evaluate_cell

    annotations = ("official", "qa") if args.annotations == "qa" else ("official",)
    target = None
    if args.on:
        dataset, _, modality = args.on.partition("/")
        if not dataset or not modality:
            from benchmark.errors import MpbenchError

            raise MpbenchError(f"--on {args.on!r}: expected DATASET/MODALITY")
        target = (dataset, modality)
    metrics = evaluate_cell(_cell_of(args), work_dir=args.work_dir,
                            out_dir=args.out_dir, bootstrap=args.bootstrap, seed=args.seed,
                            device=args.device, annotations=annotations,
                            detectors=tuple(args.detector),
                            released_detections=not args.no_released_detections,
                            target=target,
                            published=json.loads(args.published) if args.published else None)
    primary = metrics["scores"][metrics["primary"]]
    print(json.dumps({"cell": metrics["cell"], "primary": metrics["primary"],
                      metrics["headline"]: primary["stats"][metrics["headline"]],
                      "scores": sorted(metrics["scores"])}, indent=2))
    return 0


def _cmd_detections(args: argparse.Namespace) -> int:
    from benchmark.datasets import get_spec
    from benchmark.models.boxes import detection_file, materialise

    out = args.out or detection_file(args.dataset, args.modality, args.split, args.name)
    detector = json.loads(args.detector) if args.detector else None
    materialise(get_spec(args.dataset), args.modality, args.split, args.name, Path(out),
                detector=detector, device=args.device or "cpu")
    print(out)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from benchmark.reports.model_table import command

    return command(args)


def _cmd_mlflow(args: argparse.Namespace) -> int:
    """``register`` / ``mlflow-url``: handled in :mod:`benchmark.tracking.cli`, imported only
    when one of them runs (the tracking package stays out of the other commands' imports)."""
    from benchmark.tracking import cli

    return {"register": cli.cmd_register, "mlflow-url": cli.cmd_mlflow_url}[args.command](args)


def _add_mlflow_commands(sub) -> None:
    def add_experiment(p: argparse.ArgumentParser) -> None:
        p.add_argument("--experiment", default=None,
                       help="MLflow experiment (default: the matrix file's `experiment:`)")
        p.add_argument("--config", type=Path, default=Path("configs") / "matrix.yaml",
                       help="matrix file giving the experiment (default: %(default)s)")

    p = sub.add_parser("mlflow-url", help="print the URL of the experiment's runs table in the "
                                          "MLflow UI (its model training view)")
    add_experiment(p)
    p.add_argument("--host", default="http://127.0.0.1:5000",
                   help="where `mlflow ui` listens (default: %(default)s)")
    p.set_defaults(func=_cmd_mlflow)

    p = sub.add_parser("register", help="register a cell's trained checkpoint in the MLflow "
                                        "model registry (one version per run)")
    p.add_argument("--cell", required=True, metavar="DATASET/MODALITY/MODEL[~INIT][@sSEED]",
                   help="the cell's key")
    p.add_argument("--name", default=None,
                   help="registered model name (default: the key with / and @ written .)")
    add_experiment(p)
    p.set_defaults(func=_cmd_mlflow)


def register(sub) -> None:
    """Add the cell commands to the ``mpbench`` subcommands."""
    p = sub.add_parser("zoo", help="MMPose's published checkpoints for a dataset as a named "
                                    "benchmark of evaluate-only cells")
    p.add_argument("--dataset", required=True,
                   choices=("coco", "mpii", "posetrack18", "crowdpose", "exlpose"))
    p.add_argument("--modality", action="append", default=[],
                   help="modalities to evaluate on (default: the dataset's colour one); "
                        "e.g. --modality rgb --modality gray for zero-shot gray")
    p.add_argument("--out", type=Path, default=None,
                   help="default: configs/benchmarks/zoo-<dataset>.yaml")
    p.add_argument("--list", action="store_true", help="only list the entries")
    p.set_defaults(func=_cmd_zoo)

    p = sub.add_parser("train", help="train one benchmark cell (resumes an interrupted run)")
    _add_cell_args(p)
    p.add_argument("--experiment", default="mpbench", help="MLflow experiment")
    p.add_argument("--epochs", type=int, default=0,
                   help="override the model config's number of epochs (0: keep)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=0,
                   help="override the training batch size (0: keep)")
    p.add_argument("--checkpoint-iters", type=int, default=0,
                   help="also checkpoint every N iterations (0: epoch and signal checkpoints "
                        "only; env MPBENCH_CKPT_ITERS)")
    p.add_argument("--device", default=None, help="cpu, cuda (default: cuda if available)")
    p.add_argument("--annotations", choices=("qa", "official"), default="qa",
                   help="train on the QA-corrected (default) or the released annotations")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision (MMEngine's AmpOptimWrapper; needs a CUDA GPU)")
    p.add_argument("--no-pretrained-backbone", action="store_true",
                   help="random backbone initialisation instead of the config's ImageNet "
                        "weights")
    p.add_argument("--input-size", default=None, metavar="WxH",
                   help="scale the model's input size (and every size derived from it), "
                        "e.g. 96x128 for a quick CPU run")
    p.add_argument("--cfg-options", default=None, metavar="JSON",
                   help='config keys to set, as MMPose\'s --cfg-options: \'{"model.test_cfg.'
                        'score_thr": 0}\' (part of the run\'s identity)')
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="predict and score one cell on every evaluation set "
                                         "and box source, against the official annotations")
    _add_cell_args(p)
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where predictions and metrics go (default: results/cells/<cell>)")
    p.add_argument("--bootstrap", type=int, default=200,
                   help="bootstrap resamples over images for the 95%% interval (0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--device", default=None)
    p.add_argument("--annotations", choices=("official", "qa"), default="official",
                   help="official: score against the released annotations; qa: also against "
                        "the QA-corrected ones (a separate score labelled qa)")
    p.add_argument("--detector", action="append", default=[], metavar="NAME",
                   help="also score with this detector's boxes (its files under "
                        "results/detections/; repeatable)")
    p.add_argument("--no-released-detections", action="store_true",
                   help="do not score with the dataset's released detection files")
    p.add_argument("--on", default=None, metavar="DATASET/MODALITY",
                   help="score the cell on another dataset's evaluation sets (a cross-dataset "
                        "score through the joints the layouts share), written under "
                        "results/transfer/<cell>/<dataset>/<modality>/")
    p.add_argument("--published", default=None, metavar="JSON",
                   help='published values of the primary score, e.g. \'{"AP": 0.746}\' '
                        "(shown beside the reproduced ones on the leaderboard)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("detections", help="person boxes of one (dataset, modality, split): a "
                                           "released file validated, or a detector run")
    p.add_argument("--dataset", required=True)
    p.add_argument("--modality", required=True, help="whose images the boxes are for")
    p.add_argument("--split", required=True)
    p.add_argument("--name", required=True,
                   help="a released detection source of the dataset, or a detector's name")
    p.add_argument("--detector", default=None, metavar="JSON",
                   help="when NAME is a detector: its matrix-file entry as JSON, e.g. "
                        '\'{"config": "mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py", '
                        '"checkpoint": "rtmdet.pth", "score_thr": 0.05, "nms_iou": 0.5}\'')
    p.add_argument("--device", default=None)
    p.add_argument("--out", type=Path, default=None,
                   help="default: results/detections/<dataset>/<modality>/<split>/<name>.json")
    p.set_defaults(func=_cmd_detections)

    p = sub.add_parser("models", help="the model configs: list them, or write docs/models.md "
                                      "with params, GFLOPs, resources and schedules")
    p.add_argument("--table", action="store_true",
                   help="measure GFLOPs too and write the markdown table")
    p.add_argument("--out", type=Path, default=Path("docs") / "models.md",
                   help="default: docs/models.md")
    p.add_argument("--model", dest="models", nargs="+", default=[], metavar="NAME",
                   help="only these configs (default: all of configs/models/)")
    p.set_defaults(func=_cmd_models)

    _add_mlflow_commands(sub)
