"""``mpbench``: the command line the workflow rules, DVC stages and users call.

Heavy imports (torch, MMPose, MLflow) happen inside the handlers so that ``--help`` and the
light subcommands stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from benchmark import __version__

DEFAULT_MATRIX = Path("configs") / "matrix.yaml"


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


def _matrix_config(args: argparse.Namespace) -> dict:
    """The matrix of a named benchmark (positional NAME) or of a matrix file (--config)."""
    from benchmark.workflow.matrix import load_config, named_benchmark

    return named_benchmark(args.name) if args.name else load_config(args.config)


def _cmd_matrix(args: argparse.Namespace) -> int:
    from benchmark.workflow.matrix import cells_from_config, named_benchmarks

    if args.list:
        print("\n".join(named_benchmarks()))
        return 0
    cells = cells_from_config(_matrix_config(args))
    if args.json:
        print(json.dumps([{"key": c.key, "dataset": c.dataset, "modality": c.modality,
                           "model": c.model, "seed": c.seed, "train": c.train,
                           "init": c.init.as_dict() if c.init else None} for c in cells],
                         indent=2))
    else:
        print(f"{'dataset':<12} {'modality':<14} {'model':<28} recipe")
        for c in cells:
            recipe = c.recipe.removeprefix(c.model) or "-"
            note = "" if c.train else "  (evaluate only)"
            print(f"{c.dataset:<12} {c.modality:<14} {c.model:<28} {recipe}{note}")
        print(f"{len(cells)} cells")
    return 0


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


def _cmd_data_stage(args: argparse.Namespace) -> int:
    from benchmark.datasets import get_spec
    from benchmark.stages.data import STAGES

    STAGES[args.stage](get_spec(args.dataset), Path(args.data_root))
    return 0


def _cmd_data_repro(args: argparse.Namespace) -> int:
    from benchmark.stages.dvc import repro_dataset

    repro_dataset(args.dataset, stamp=args.stamp)
    return 0


def _cmd_data_list(args: argparse.Namespace) -> int:
    from benchmark.datasets.status import dataset_table

    rows = dataset_table(Path(args.data_root))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['name']}: {r['description']}")
        print(f"  modalities: {', '.join(r['modalities'])}")
        print(f"  splits: {', '.join(r['splits'])}   protocol: {r['protocol']}   "
              f"layout: {r['layout']} ({r['num_keypoints']} keypoints)")
        print(f"  license: {r['license']}")
        status = r["status"]
        if r["manual_files_missing"] and status in ("missing", "manual files needed"):
            files = ", ".join(r["manual_files_missing"])
            status += f" (place in data/{r['name']}/manual/: {files})"
        print(f"  status: {status}")
    return 0


def _cmd_tracking_init(args: argparse.Namespace) -> int:
    from benchmark.tracking.store import init_store, tracking_uri

    exp_id = init_store(args.experiment)
    info = {"tracking_uri": tracking_uri(), "experiment": args.experiment,
            "experiment_id": exp_id}
    if args.stamp:
        args.stamp.parent.mkdir(parents=True, exist_ok=True)
        args.stamp.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info))
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


def _metrics_paths(args: argparse.Namespace) -> list[Path]:
    """The metrics files named by --metrics, else those of --cell / the matrix's cells."""
    from benchmark.models.evaluate import default_out_dir
    from benchmark.workflow.matrix import cells_from_config, load_config

    if args.metrics:
        return list(args.metrics)
    cells = ([_cell(k) for k in args.cell] if args.cell
             else cells_from_config(load_config(args.config)))
    return [default_out_dir(c) / "metrics.json" for c in cells]


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from benchmark.reports.leaderboard import Leaderboard

    for path in Leaderboard.from_files(_metrics_paths(args)).write(args.out_dir):
        print(path)
    return 0


def _cmd_paper_tables(args: argparse.Namespace) -> int:
    from benchmark.reports.paper_tables import write_paper_tables

    paths = _metrics_paths(args)
    have = [p for p in paths if p.is_file()]
    if len(have) < len(paths):
        print(f"note: {len(paths) - len(have)} cell(s) not evaluated yet: n/a in the tables",
              file=sys.stderr)
    for path in write_paper_tables(have, args.out_dir):
        print(path)
    return 0


def _cmd_compare_modalities(args: argparse.Namespace) -> int:
    from benchmark.reports.modality_compare import write_comparisons

    for path in write_comparisons(_metrics_paths(args), args.out_dir,
                                  datasets=args.dataset or None, bootstrap=args.bootstrap,
                                  seed=args.seed):
        print(path)
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from benchmark.reports.mlflow_runs import RunsTable, fetch_results
    from benchmark.workflow.matrix import cells_from_config, load_config

    if args.cell:
        cells = sorted(_cell(k) for k in args.cell)
        experiment = args.experiment or "mpbench"
    else:
        config = load_config(args.config)
        cells = cells_from_config(config)
        experiment = args.experiment or config.get("experiment", "mpbench")
    table = RunsTable.build(cells, fetch_results(cells, experiment))
    for path in table.write(args.out_dir):
        print(path)
    missing = [c.key for c in cells if c not in table.results]
    if missing:
        print(f"warning: no evaluated run for {len(missing)} cell(s): {', '.join(missing)}",
              file=sys.stderr)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from benchmark.reports.model_table import command

    return command(args)


def _cell(key: str):
    from benchmark.cells import Cell
    from benchmark.errors import MpbenchError

    try:
        return Cell.from_key(key)
    except ValueError as exc:
        raise MpbenchError(f"--cell {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mpbench",
        description="Pose estimation beyond visible light: data stages, training, evaluation, "
                    "tracking and leaderboards. The full pipeline runs with `snakemake`; these "
                    "subcommands are its steps.")
    parser.add_argument("--version", action="version", version=f"mpbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("matrix", help="print the cells of a named benchmark or a matrix file")
    p.add_argument("name", nargs="?", default=None,
                   help="a named benchmark (configs/benchmarks/<name>.yaml)")
    p.add_argument("--config", type=Path, default=DEFAULT_MATRIX,
                   help="a matrix file (when no NAME is given)")
    p.add_argument("--list", action="store_true", help="list the named benchmarks")
    p.add_argument("--json", action="store_true", help="print the cells as JSON")
    p.set_defaults(func=_cmd_matrix)

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

    data = sub.add_parser("data", help="dataset stages (what dvc.yaml runs) and status")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="STEP")
    for stage, text in (("download", "download (demo: generate) into data/<dataset>/raw"),
                        ("convert", "native layout -> canonical annotations in "
                                    "data/<dataset>/converted"),
                        ("qa", "annotation QA into data/<dataset>/qa"),
                        ("preprocess", "derive modalities into data/<dataset>/processed")):
        sp = dsub.add_parser(stage, help=text)
        sp.add_argument("--dataset", required=True)
        sp.add_argument("--data-root", default="data")
        sp.set_defaults(func=_cmd_data_stage, stage=stage)
    sp = dsub.add_parser("repro", help="bring a dataset's DVC stages up to date (`dvc repro`), "
                                        "serialised by a lock so parallel callers never collide")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--stamp", type=Path, default=None,
                    help="write the dataset's data version (from dvc.lock) to this JSON file")
    sp.set_defaults(func=_cmd_data_repro)
    sp = dsub.add_parser("list", help="datasets with modalities, splits, protocol, license, "
                                       "local status")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--data-root", default="data")
    sp.set_defaults(func=_cmd_data_list)

    p = sub.add_parser("tracking-init", help="create the MLflow store and experiment once, "
                                              "before parallel jobs")
    p.add_argument("--experiment", default="mpbench")
    p.add_argument("--stamp", type=Path, default=None)
    p.set_defaults(func=_cmd_tracking_init)

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

    def add_cell_selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--metrics", type=Path, action="append", default=[], metavar="FILE",
                       help="a cell's metrics.json (repeatable; what the workflow passes)")
        p.add_argument("--config", type=Path, default=DEFAULT_MATRIX,
                       help="matrix file giving the cells (unless --metrics or --cell is used)")
        p.add_argument("--cell", action="append", default=[], metavar="DATASET/MODALITY/MODEL",
                       help="a cell to include (repeatable); overrides --config")
        p.add_argument("--out-dir", type=Path, default=Path("results"))

    p = sub.add_parser("leaderboard", help="per-protocol leaderboard tables (md, csv, tex) "
                                            "from the cells' metrics.json files")
    add_cell_selection(p)
    p.set_defaults(func=_cmd_leaderboard)

    p = sub.add_parser("paper-tables", help="the seed papers' tables in their layouts "
                                             "(results/paper/<table>.{md,tex}), n/a where a "
                                             "cell has not run")
    add_cell_selection(p)
    p.set_defaults(func=_cmd_paper_tables, out_dir=Path("results") / "paper")

    p = sub.add_parser("compare-modalities",
                       help="paired bootstrap comparison of the modalities of each (dataset, "
                            "model) on their shared images -> <out-dir>/<dataset>.{md,csv}")
    add_cell_selection(p)
    p.add_argument("--dataset", action="append", default=[],
                   help="write this dataset's tables even if it has no pair (repeatable)")
    p.add_argument("--bootstrap", type=int, default=1000, help="paired resamples")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_compare_modalities, out_dir=Path("results") / "compare")

    p = sub.add_parser("runs", help="overview table of the cells' MLflow runs (which run each "
                                     "number comes from)")
    p.add_argument("--config", type=Path, default=DEFAULT_MATRIX,
                   help="matrix file giving the cells and experiment (unless --cell is used)")
    p.add_argument("--cell", action="append", default=[], metavar="DATASET/MODALITY/MODEL",
                   help="a cell to include (repeatable); overrides --config")
    p.add_argument("--experiment", default=None, help="MLflow experiment")
    p.add_argument("--out-dir", type=Path, default=Path("results"))
    p.set_defaults(func=_cmd_runs)

    p = sub.add_parser("models", help="the model configs: list them, or write docs/models.md "
                                      "with params, GFLOPs, resources and schedules")
    p.add_argument("--table", action="store_true",
                   help="measure GFLOPs too and write the markdown table")
    p.add_argument("--out", type=Path, default=Path("docs") / "models.md",
                   help="default: docs/models.md")
    p.add_argument("--model", dest="models", nargs="+", default=[], metavar="NAME",
                   help="only these configs (default: all of configs/models/)")
    p.set_defaults(func=_cmd_models)

    for module in ("benchmark.evaluation.cli", "benchmark.qa.cli"):
        try:
            __import__(module, fromlist=["register"]).register(sub)
        except ModuleNotFoundError as exc:  # a stage package not installed in this checkout
            if exc.name is None or not exc.name.startswith("benchmark"):
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    from benchmark.errors import UserError, format_user_error

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if os.environ.get("MPBENCH_DEBUG"):
            raise
        print(format_user_error(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
