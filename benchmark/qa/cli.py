"""``mpbench qa``: run the annotation QA on one file from the command line.

Registered into the ``mpbench`` parser by :func:`register`; also runnable alone as
``python -m benchmark.qa.cli qa ...``. Bad input ends with ``error: ...`` and exit status 2,
never a traceback: the people running QA are annotators and dataset maintainers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.datasets.layouts import LAYOUTS, KeypointLayout
from benchmark.qa.config import QAConfig

# The pipeline (pandas, scipy) is imported by the handler: registering ``qa`` into the
# ``mpbench`` parser must stay cheap for every other subcommand.


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``qa`` subcommand."""
    parser = subparsers.add_parser(
        "qa", help="check a COCO keypoint annotation file (swaps, limbs, duplicates, ...)",
        description="Score every skeleton of an annotation file, write skeletons.csv, "
                    "corrected.json, fixes.jsonl and index.html (see docs/qa.md).")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="dataset name; its spec gives the keypoint layout")
    which.add_argument("--layout", choices=sorted(LAYOUTS), help="keypoint layout by name")
    parser.add_argument("--ann", type=Path, required=True, help="COCO annotation file")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--paired", type=Path,
                        help="annotation file of an aligned modality of the same images")
    parser.add_argument("--images", type=Path, help="image root for the overlays")
    parser.add_argument("--threshold", type=float, default=QAConfig.threshold,
                        help="severity at which a flag is raised (default %(default)s)")
    parser.add_argument("--worst", type=int, default=24,
                        help="skeletons drawn in index.html (default %(default)s)")
    parser.set_defaults(func=handler)


def resolve_layout(dataset: str | None, layout: str | None) -> KeypointLayout:
    """The layout named directly, or the one of the dataset's spec."""
    from benchmark.qa.data import QAInputError

    if layout is not None:
        return LAYOUTS[layout]
    try:
        from benchmark.datasets import get_spec

        return get_spec(str(dataset)).layout
    except KeyError as exc:
        raise QAInputError(str(exc.args[0] if exc.args else exc)) from None
    except ImportError as exc:
        raise QAInputError(f"dataset registry unavailable ({exc}); use --layout") from None


def handler(args: argparse.Namespace) -> int:
    from benchmark.qa.data import QAInputError, load_json
    from benchmark.qa.outputs import write_report
    from benchmark.qa.pipeline import run_qa

    try:
        layout = resolve_layout(args.dataset, args.layout)
        try:
            config = QAConfig(threshold=args.threshold)
        except ValueError as exc:
            raise QAInputError(str(exc)) from None
        coco = load_json(args.ann)
        paired = load_json(args.paired) if args.paired else None
        report = run_qa(coco, layout, config=config, paired=paired, source=str(args.ann),
                        paired_source=str(args.paired))
        try:
            write_report(report, args.out, images_root=args.images, worst=args.worst)
        except OSError as exc:
            raise QAInputError(f"{args.out}: cannot write the report ({exc.strerror})") from None
    except QAInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    s = report.summary
    print(f"qa: {s['skeletons']} skeletons, {s['flagged']} flagged, "
          f"{sum(s['fix_counts'].values())} fixes -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mpbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
