"""``mpbench eval`` and ``mpbench eval-compare``.

The lead CLI calls :func:`register` with its subparsers; each handler returns an exit code:
0 on success, 2 for unusable input (printed as ``error: ...`` on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from benchmark.datasets.layouts import LAYOUTS
from benchmark.evaluation.api import compare, evaluate
from benchmark.evaluation.errors import EvaluationInputError
from benchmark.evaluation.protocols import PROTOCOLS
from benchmark.evaluation.result import EvalResult

_PROTOCOL_HELP = "; ".join(f"{name}: {spec.summary}" for name, spec in PROTOCOLS.items())
_FORMATS = ("Predictions are a JSON list in COCO keypoint results format "
            "({image_id, category_id, keypoints: [x, y, score]*K, score}); ground truth is the "
            "dataset's COCO-style JSON. See docs/evaluation.md for every rule and stat name.")


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _common(parser: argparse.ArgumentParser, default_bootstrap: int) -> None:
    parser.add_argument("--protocol", required=True, choices=sorted(PROTOCOLS),
                        help=f"evaluation protocol ({_PROTOCOL_HELP})")
    parser.add_argument("--gt", required=True, metavar="GT",
                        help="ground-truth JSON (COCO style)")
    parser.add_argument("--bootstrap", type=_count, default=default_bootstrap, metavar="N",
                        help="bootstrap resamples over images (frames for posetrack-map) "
                             f"for 95%% percentile intervals (default {default_bootstrap})")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="random seed of the resampling (default 0)")
    parser.add_argument("--layout", choices=sorted(LAYOUTS),
                        help="take OKS sigmas from this keypoint layout (coco and crowdpose "
                             "only; default: the layout matching the GT's keypoint names)")
    parser.add_argument("--pred-layout", choices=sorted(LAYOUTS), metavar="LAYOUT",
                        help="keypoint layout of the predictions, one the protocol accepts "
                             "(mvor-pck: mvor10 or coco17; the others: the ground truth's); "
                             "default: read from the number of keypoint values. Choices: "
                             + ", ".join(sorted(LAYOUTS)))
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with every statistic instead of a table")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` and ``eval-compare`` subcommands."""
    ev = subparsers.add_parser(
        "eval", help="score predictions with a reference-exact protocol",
        description="Score one prediction file against ground truth. " + _FORMATS)
    _common(ev, 0)
    ev.add_argument("--pred", required=True, metavar="PRED", help="predictions JSON")
    ev.set_defaults(func=run_eval)

    cmp_ = subparsers.add_parser(
        "eval-compare", help="paired bootstrap comparison of two prediction files",
        description="Difference B - A of the protocol's headline statistic, with a 95% "
                    "interval and a two-sided p-value from a paired bootstrap over images. "
                    + _FORMATS)
    _common(cmp_, 1000)
    cmp_.add_argument("--pred", required=True, action="append", metavar="PRED",
                      help="predictions JSON; give it twice: first A, then B")
    cmp_.set_defaults(func=run_compare)


def _sigmas(args: argparse.Namespace) -> Sequence[float] | None:
    return LAYOUTS[args.layout].sigmas if args.layout else None


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_eval(args: argparse.Namespace) -> int:
    try:
        result = evaluate(args.protocol, args.gt, args.pred, sigmas=_sigmas(args),
                          bootstrap=args.bootstrap, seed=args.seed,
                          pred_layout=args.pred_layout)
    except (EvaluationInputError, ValueError, TypeError) as exc:
        return _fail(str(exc))
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_result(result))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    if len(args.pred) != 2:
        return _fail(f"eval-compare needs --pred exactly twice (A then B), got {len(args.pred)}")
    try:
        out = compare(args.protocol, args.gt, args.pred[0], args.pred[1],
                      bootstrap=args.bootstrap, seed=args.seed, sigmas=_sigmas(args),
                      pred_layout=args.pred_layout)
    except (EvaluationInputError, ValueError, TypeError) as exc:
        return _fail(str(exc))
    out["pred_a"], out["pred_b"] = args.pred
    print(json.dumps(out, indent=2) if args.json else format_comparison(out))
    return 0


def _fmt(value: float | None, scale: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if scale == "fraction" else f"{value:.1f}"


def format_result(res: EvalResult) -> str:
    """A readable table: one row per statistic, the headline marked, intervals if any."""
    d = res.details
    head = [f"protocol {res.protocol} ({res.scale}), engine {d.get('engine', '?')}, "
            f"{d.get('units', '?')} {d.get('unit', 'unit')}s, "
            f"{d.get('predictions', '?')} predictions"]
    if res.bootstrap:
        head.append(f"95% intervals from {res.bootstrap} bootstrap resamples (seed {res.seed})")
    width = max(len(k) for k in res.stats) + 2
    rows = []
    for name, value in res.stats.items():
        mark = "*" if name == res.headline else " "
        line = f"{mark} {name:<{width}}{_fmt(value, res.scale):>8}"
        if name in res.intervals:
            lo, hi = res.intervals[name]
            line += f"   [{_fmt(lo, res.scale)}, {_fmt(hi, res.scale)}]"
        rows.append(line)
    return "\n".join(head + rows)


def format_comparison(out: dict[str, Any]) -> str:
    s = out["scale"]
    lines = [f"protocol {out['protocol']}: {out['headline']} ({s}), {out['resamples']} paired "
             f"resamples over {out['units']} {out['unit']}s (seed {out['seed']})",
             f"A  {_fmt(out['a'], s):>8}  {out['pred_a']}",
             f"B  {_fmt(out['b'], s):>8}  {out['pred_b']}"]
    diff = f"B - A  {_fmt(out['difference'], s)}"
    if out["interval"]:
        lo, hi = out["interval"]
        diff += f"   95% CI [{_fmt(lo, s)}, {_fmt(hi, s)}]   p = {out['p_value']:.4f}"
    return "\n".join([*lines, diff])
