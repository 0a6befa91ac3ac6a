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


def _cmd_data_stage(args: argparse.Namespace) -> int:
    from benchmark.datasets import get_spec
    from benchmark.stages.data import STAGES

    STAGES[args.stage](get_spec(args.dataset), Path(args.data_root))
    return 0


def _cmd_data_repro(args: argparse.Namespace) -> int:
    from benchmark.stages.dvc import repro_dataset

    repro_dataset(args.dataset, stamp=args.stamp)
    return 0


def _cmd_data_verify(args: argparse.Namespace) -> int:
    from benchmark.stages.dvc_verify import repair, verify

    bad = verify(dataset=args.dataset)
    for m in bad:
        print(f"error: {m}", file=sys.stderr)
    if not bad:
        print("every recorded stage output matches dvc.lock, in the cache and the workspace")
        return 0
    if not args.repair:
        print(f"{len(bad)} file(s) differ from dvc.lock; `mpbench data verify --repair` deletes "
              "them and re-runs their stages", file=sys.stderr)
        return 1
    stages = repair(bad)
    left = verify(dataset=args.dataset, progress=False)
    for m in left:
        print(f"error: still differs after the repair: {m}", file=sys.stderr)
    print(f"re-ran {', '.join(stages)}; " + ("every file matches dvc.lock now" if not left
                                              else f"{len(left)} file(s) still differ"))
    return 1 if left else 0


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


def _cmd_report(args: argparse.Namespace) -> int:
    from benchmark.reports.html import build_report

    out, curves = build_report(_metrics_paths(args), args.out, compare_dir=args.compare_dir,
                               paper_dir=args.paper_dir, curves_dir=args.curves_dir,
                               data_root=args.data_root, bootstrap=args.bootstrap,
                               seed=args.seed)
    for path in (out, *curves):
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
    sp = dsub.add_parser("verify", help="hash the DVC cache and workspace against dvc.lock "
                                         "(DVC never re-checks them); --repair re-derives "
                                         "what differs")
    sp.add_argument("--dataset", default=None, help="one dataset's stages (default: all)")
    sp.add_argument("--repair", action="store_true",
                    help="delete the mismatching files and re-run their stages")
    sp.set_defaults(func=_cmd_data_verify)
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

    p = sub.add_parser("report", help="the self-contained HTML report (results/report/"
                                      "index.html) and robustness curves (results/curves/)")
    add_cell_selection(p)
    p.add_argument("--out", type=Path, default=Path("results/report/index.html"))
    p.add_argument("--compare-dir", type=Path, default=Path("results/compare"))
    p.add_argument("--paper-dir", type=Path, default=Path("results/paper"))
    p.add_argument("--curves-dir", type=Path, default=Path("results/curves"))
    p.add_argument("--data-root", type=Path, default=Path("data"))
    p.add_argument("--bootstrap", type=int, default=200,
                   help="resamples of the per-level curve points' intervals")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_report)

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

    for module in ("benchmark.models.cli", "benchmark.evaluation.cli", "benchmark.qa.cli",
                   "benchmark.inference.cli"):
        try:
            __import__(module, fromlist=["register"]).register(sub)
        except ModuleNotFoundError as exc:  # a stage package not installed in this checkout
            if exc.name is None or not exc.name.startswith("benchmark"):
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    from benchmark.errors import UserError, format_disk_full, format_user_error, is_disk_full

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if os.environ.get("MPBENCH_DEBUG"):
            raise
        print(format_user_error(exc), file=sys.stderr)
        return 2
    except OSError as exc:
        if not is_disk_full(exc) or os.environ.get("MPBENCH_DEBUG"):
            raise
        print(format_disk_full(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
