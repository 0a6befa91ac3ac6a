"""Are the skeletons the QA flags in the *clean* MVOR ground truth really inconsistent?

Usage: ``python benchmarks/qa_mvor_multiview.py [--json OUT]``

The injection benchmark (``qa_injection.py``) counts every flag on an uncorrupted skeleton as
a false positive, although real annotations contain errors. MVOR gives an independent witness
without images: 1061 persons carry a 3D pose annotated across the three synchronised views
(``annotations3D``, millimetres in the reference camera's frame). Each 3D pose is projected
into every view (``cameras_info``: extrinsics map a camera's frame to the reference camera's,
so the inverse is applied; pinhole intrinsics, lens distortion ignored) and compared with the
2D skeleton of the same ``person_id`` in that view. The script prints, for the skeletons the
QA flags with a shift-type flag (limb length, pose outlier, outside the box) and for the
others, how far their worst joint lies from the projected 3D pose. Reads
``../shared/fixtures/real/mvor`` (or ``$MPBENCH_REAL_FIXTURES``); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.datasets.layouts import MVOR10  # noqa: E402
from benchmark.qa import run_qa  # noqa: E402
from benchmark.qa.inject import DETECTED_BY  # noqa: E402

FIXTURES = Path(os.environ.get("MPBENCH_REAL_FIXTURES", REPO.parent / "shared/fixtures/real"))
GT = FIXTURES / "mvor/annotations/camma_mvor_2018.json"
K = MVOR10.num_keypoints


def reprojection_errors(gt: dict) -> dict[int, float]:
    """Annotation id -> the largest distance (px) between a labelled 2D joint and the
    projection of the same person's 3D joint, for 2D skeletons with >= 3 comparable joints."""
    cams = gt["cameras_info"]["camParams"]
    to_cam = [np.linalg.inv(np.array(e, dtype=float).reshape(4, 4)) for e in cams["extrinsics"]]
    by_image: dict = {}
    for ann in gt["annotations"]:
        if not ann.get("only_bbox"):
            by_image.setdefault(ann["image_id"], []).append(ann)
    out: dict[int, float] = {}
    for pose in gt["annotations3D"]:
        xyzv = np.array(pose["keypoints3D"], dtype=float).reshape(-1, 4)[:K]
        for cam, image_id in enumerate(int(i) for i in pose["image_ids"].split("_")):
            x = np.c_[xyzv[:, :3], np.ones(K)] @ to_cam[cam].T
            intr = cams["intrinsics"][cam]
            (fx, fy), (cx, cy) = intr["focallength"], intr["principalpoint"]
            with np.errstate(divide="ignore", invalid="ignore"):
                u, v = fx * x[:, 0] / x[:, 2] + cx, fy * x[:, 1] / x[:, 2] + cy
            for ann in by_image.get(image_id, []):
                if ann.get("person_id") != pose["person_id"]:
                    continue
                kp = np.array(ann["keypoints"], dtype=float).reshape(K, 3)
                ok = (kp[:, 2] > 0) & (xyzv[:, 3] > 0) & (x[:, 2] > 1)
                if ok.sum() >= 3:
                    out[ann["id"]] = float(np.hypot(u[ok] - kp[ok, 0], v[ok] - kp[ok, 1]).max())
    return out


def summary(errors: list[float]) -> dict[str, float]:
    e = np.asarray(errors)
    return {"n": int(len(e)), "median_px": float(np.median(e)),
            "over_40px": float(np.mean(e > 40)), "over_80px": float(np.mean(e > 80))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the rows here as JSON")
    args = parser.parse_args(argv)
    if not GT.is_file():
        print(f"MVOR ground truth not found: {GT}", file=sys.stderr)
        return 1
    gt = json.loads(GT.read_text())
    errors = reprojection_errors(gt)
    table = run_qa(gt, MVOR10, source=str(GT)).table
    wanted = DETECTED_BY["shift"]
    groups: dict[str, list[float]] = {"flagged (shift-type)": [], "not flagged": []}
    per_flag: dict[str, list[float]] = {f: [] for f in sorted(wanted)}
    for ann_id, flags in zip(table["ann_id"], table["flags"], strict=True):
        if ann_id not in errors:
            continue
        names = set(str(flags).split(";")) if isinstance(flags, str) else set()
        groups["flagged (shift-type)" if names & wanted else "not flagged"].append(errors[ann_id])
        for f in names & wanted:
            per_flag[f].append(errors[ann_id])
    rows = {**groups, **{f"  {f}": e for f, e in per_flag.items() if e}}
    print("| 2D skeletons with a 3D pose | n | median worst-joint distance | > 40 px | > 80 px |")
    print("|---|---|---|---|---|")
    result = {}
    for name, errs in rows.items():
        s = summary(errs)
        result[name.strip()] = s
        print(f"| {name} | {s['n']} | {s['median_px']:.1f} px | {s['over_40px']:.2f} | "
              f"{s['over_80px']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
