"""Measure the annotation-QA flags on seeded corruptions of real annotation files.

Usage: ``python benchmarks/qa_injection.py [--seeds 5] [--small-seeds 40] [--json OUT]``

For every file and every corruption kind (see :mod:`benchmark.qa.inject`) it corrupts 10 % of
the eligible skeletons per seed, runs the QA at its default threshold and reports precision
and recall of the kind's flags, pooled over seeds. ``precision`` counts every flag on an
uncorrupted skeleton as false; ``precision_new`` leaves out skeletons the QA already flags
on the uncorrupted file (how many, per file, is the ``clean_flagged`` column: the
false-positive rate on the clean annotations, or errors of the source data; without images
nobody can tell which). The real fixtures are read from ``../shared/fixtures/real`` (or
``$MPBENCH_REAL_FIXTURES``); nothing is downloaded or copied.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.datasets.layouts import COCO17, CROWDPOSE14, MVOR10, KeypointLayout  # noqa: E402
from benchmark.qa.inject import KINDS  # noqa: E402
from benchmark.qa.injection_eval import Counts, measure, preflagged  # noqa: E402

FIXTURES = Path(os.environ.get("MPBENCH_REAL_FIXTURES", REPO.parent / "shared/fixtures/real"))

#: (file under the fixtures, layout, is it large enough for file statistics)
FILES: tuple[tuple[str, KeypointLayout, bool], ...] = (
    ("mvor/annotations/camma_mvor_2018.json", MVOR10, True),
    ("mmpose/tests/data/coco/test_coco.json", COCO17, False),
    ("mmpose/tests/data/ochuman/test_ochuman.json", COCO17, False),
    ("mmpose/tests/data/crowdpose/test_crowdpose.json", CROWDPOSE14, False),
    ("xtcocoapi/annotations/example_crowdpose_val.json", CROWDPOSE14, False),
)


def _row(name: str, kind: str, c: Counts, clean: int | str) -> dict:
    return {"file": name, "kind": kind, "injected": c.tp + c.fn, "tp": c.tp, "fp": c.fp,
            "fn": c.fn, "precision": round(c.precision, 3),
            "precision_new": round(c.precision_new, 3), "recall": round(c.recall, 3),
            "clean_flagged": clean, "missed": dict(c.missed)}


def run(seeds: int, small_seeds: int) -> list[dict]:
    rows: list[dict] = []
    pooled = {k: Counts() for k in KINDS}
    for rel, layout, large in FILES:
        path = FIXTURES / rel
        if not path.is_file():
            print(f"skip {rel}: not found under {FIXTURES}", file=sys.stderr)
            continue
        coco = json.loads(path.read_text())
        n_seeds = seeds if large else small_seeds
        already = preflagged(coco, layout)
        for kind in KINDS:
            t0 = time.time()
            counts = measure(coco, layout, kind, range(n_seeds), already=already[kind])
            clean = len(already[kind])
            pooled[kind].add(counts)
            rows.append(_row(rel, kind, counts, clean))
            print(f"{rel:52s} {kind:9s} P={counts.precision:.3f} "
                  f"P_new={counts.precision_new:.3f} R={counts.recall:.3f} "
                  f"n={counts.tp + counts.fn} clean_flagged={clean} ({time.time() - t0:.1f}s)",
                  flush=True)
    for kind, counts in pooled.items():
        rows.append(_row("ALL", kind, counts, ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds for MVOR (2926 poses)")
    parser.add_argument("--small-seeds", type=int, default=40,
                        help="seeds for the small COCO/OCHuman/CrowdPose samples")
    parser.add_argument("--json", type=Path, help="write the rows here as JSON")
    args = parser.parse_args(argv)
    rows = run(args.seeds, args.small_seeds)
    print("\n| kind | injected | precision | precision (new flags) | recall |")
    print("|---|---|---|---|---|")
    for r in rows:
        if r["file"] == "ALL":
            print(f"| {r['kind']} | {r['injected']} | {r['precision']:.3f} | "
                  f"{r['precision_new']:.3f} | {r['recall']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
