"""``mpbench register|mlflow-url``: the MLflow commands a user runs after the workflow.

Their parsers are defined in :mod:`benchmark.models.cli`, which imports this module only when
one of them runs: every subcommand's registration is imported for every command, and the
tracking package stays out of the light commands (``tests/unit/test_cli_imports.py``).

Both exit 1 with a one-line message (no traceback) when the store, the experiment, the cell's
run or its checkpoint is missing. The experiment defaults to the matrix file's, as in
``mpbench runs``, so that after ``make demo`` neither needs ``--experiment``.
"""

from __future__ import annotations

import argparse
import sys


def _experiment(args: argparse.Namespace) -> str:
    """``--experiment``, else the matrix file's ``experiment:``, else ``mpbench``."""
    if args.experiment:
        return args.experiment
    if args.config and args.config.is_file():
        from benchmark.workflow.matrix import load_config

        return load_config(args.config).get("experiment") or "mpbench"
    return "mpbench"


def _fail(exc: Exception) -> int:
    from benchmark.errors import format_user_error

    print(format_user_error(exc), file=sys.stderr)
    return 1


def cmd_mlflow_url(args: argparse.Namespace) -> int:
    from benchmark.errors import MpbenchError
    from benchmark.tracking.ui import experiment_id, runs_url

    try:
        print(runs_url(experiment_id(_experiment(args)), args.host))
    except MpbenchError as exc:
        return _fail(exc)
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from benchmark.cells import Cell, CellError
    from benchmark.errors import MpbenchError
    from benchmark.tracking.registry import register_cell

    try:
        key = Cell.from_key(args.cell).key
        version = register_cell(key, args.name, _experiment(args))
    except (MpbenchError, CellError) as exc:
        return _fail(exc)
    if version.created:
        print(f"registered {version.name} version {version.version} "
              f"(run {version.run_id}, source {version.source})")
    else:
        print(f"{version.name} version {version.version} already registers run "
              f"{version.run_id}; no new version created")
    return 0
