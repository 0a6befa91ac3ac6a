"""Independent oracles: the reference evaluators' algorithms as plain per-person loops.

MVOR's script, HRNet's MPII evaluation and poseval cannot be installed as libraries, so their
rules are restated here in the most literal form (nested loops over persons and joints, Python
floats, shapely for polygons), independent of the vectorised code under test. Tests compare the
package against these; ``benchmarks/bench_eval.py`` times the package against them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from benchmark.datasets.layouts import COCO17, MPII16, MVOR10, POSETRACK17

# ---------------------------------------------------------------------------- MVOR PCK


def _mvor_from_coco(kp: list[float]) -> list[tuple[float, float] | None]:
    """COCO-17 flat keypoints -> 10 MVOR points (None = absent, i.e. at (0, 0))."""
    def get(name: str) -> tuple[float, float] | None:
        i = COCO17.index[name]
        x, y = kp[3 * i], kp[3 * i + 1]
        return None if (x == 0 and y == 0) else (x, y)

    def mid(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
        return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)

    le, re_, la, ra, nose = (get(n) for n in ("left_eye", "right_eye", "left_ear",
                                               "right_ear", "nose"))
    if le and re_:
        head = mid(le, re_)
    elif la and ra:
        head = mid(la, ra)
    else:
        head = nose or re_ or le or ra or la
    ls, rs = get("left_shoulder"), get("right_shoulder")
    neck = mid(ls, rs) if (ls and rs) else (rs or ls)
    return [head if n == "head" else neck if n == "neck" else get(n) for n in MVOR10.keypoints]


def _mvor_native(kp: list[float]) -> list[tuple[float, float] | None]:
    """MVOR's own 10 predicted joints, as they are (None = absent, i.e. at (0, 0))."""
    return [None if (kp[3 * j] == 0 and kp[3 * j + 1] == 0) else (kp[3 * j], kp[3 * j + 1])
            for j in range(10)]


def mvor_pck(gt: dict, preds: list[dict], thresh: float = 0.2, layout: str = "coco17"
             ) -> dict[str, float]:
    """MVOR's ``eval_pck_2dpose.py``; ``layout="mvor10"`` is its adaptation to predictions of
    MVOR's 10 joints: the candidate box is their extent, and no conversion."""
    k, to_mvor = (17, _mvor_from_coco) if layout == "coco17" else (10, _mvor_native)
    anns: dict[Any, list[dict]] = defaultdict(list)
    for a in gt["annotations"]:
        anns[a["image_id"]].append(a)
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for p in preds:
        by_image[p["image_id"]].append(p)
    hits = [0.0] * 10
    persons = 0
    for img in gt["images"]:
        for ann in anns[img["id"]]:
            if ann["only_bbox"] != 0:
                continue
            kp = ann["keypoints"]
            pts = [None if (kp[3 * j] == 0 and kp[3 * j + 1] == 0) else (kp[3 * j], kp[3 * j + 1])
                   for j in range(10)]
            xs = [p[0] for p in pts if p]
            ys = [p[1] for p in pts if p]
            if not xs:
                continue
            persons += 1
            x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
            area = (x2 - x1 + 1) * (y2 - y1 + 1)
            scale = max(x2 - x1 + 1, y2 - y1 + 1)
            best = None
            for p in by_image[img["id"]]:
                q = [(p["keypoints"][3 * j], p["keypoints"][3 * j + 1]) for j in range(k)]
                q = [v for v in q if not (v[0] == 0 and v[1] == 0)]
                if not q:
                    continue
                w = min(x2, max(v[0] for v in q)) - max(x1, min(v[0] for v in q)) + 1
                h = min(y2, max(v[1] for v in q)) - max(y1, min(v[1] for v in q)) + 1
                if max(w, 0) * max(h, 0) / area > 0.3 and (best is None or p["score"] > best):
                    best = p["score"]
            if best is None:
                continue
            chosen = next(p for p in by_image[img["id"]] if abs(p["score"] - best) < 1e-6)
            for j, pp in enumerate(to_mvor(chosen["keypoints"])):
                if pts[j] and pp:
                    d = math.sqrt((pp[0] - pts[j][0]) ** 2 + (pp[1] - pts[j][1]) ** 2)
                    hits[j] += d <= thresh * scale
    rate = {n: hits[j] / persons for j, n in enumerate(MVOR10.keypoints)}
    groups = {"Head": ("head", "neck"), "Shoulder": ("left_shoulder", "right_shoulder"),
              "Hip": ("left_hip", "right_hip"), "Elbow": ("left_elbow", "right_elbow"),
              "Wrist": ("left_wrist", "right_wrist")}
    out = {g: (rate[a] + rate[b]) / 2 * 100 for g, (a, b) in groups.items()}
    out["Mean"] = sum(out.values()) / 5
    out.update({f"joint/{n}": r * 100 for n, r in rate.items()})
    return out


# ---------------------------------------------------------------------------- MPII PCKh


def hrnet_pckh(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray, headboxes: np.ndarray
               ) -> dict[str, float]:
    """HRNet's PCKh on ``gt_valid.mat`` arrays: pred/gt (16, 2, N), missing (16, N),
    headboxes (2, 2, N), all in the .mat's 1-based pixels."""
    k, n = missing.shape
    hits = np.zeros((2, k))  # thresholds 0.5 and 0.1
    count = np.zeros(k)
    for i in range(n):
        head = math.dist(headboxes[1, :, i], headboxes[0, :, i]) * 0.6
        for j in range(k):
            if missing[j, i]:
                continue
            count[j] += 1
            err = math.dist(pred[j, :, i], gt[j, :, i]) / head
            hits[0, j] += err <= 0.5
            hits[1, j] += err <= 0.1
    rate = 100 * hits / count
    idx = MPII16.index
    kept = [j for j, name in enumerate(MPII16.keypoints) if name not in ("pelvis", "thorax")]
    out = {"Head": rate[0, idx["head_top"]]}
    for group in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
        out[group.capitalize()] = 0.5 * (rate[0, idx[f"left_{group}"]]
                                         + rate[0, idx[f"right_{group}"]])
    out["Mean"] = hits[0, kept].sum() / count[kept].sum() * 100
    out["Mean@0.1"] = hits[1, kept].sum() / count[kept].sum() * 100
    out.update({f"joint/{name}": rate[0, j] for j, name in enumerate(MPII16.keypoints)})
    return out


# ---------------------------------------------------------------------------- poseval AP

POSETRACK_JOINTS = [n for n in POSETRACK17.keypoints if "ear" not in n]


def _voc_ap(rec: list[float], prec: list[float]) -> float:
    mrec, mpre = [0.0, *rec, 1.0], [0.0, *prec, 0.0]
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mpre[i] for i in range(1, len(mrec))
               if mrec[i] != mrec[i - 1])


def posetrack_map(gt: dict, preds: list[dict]) -> dict[str, float]:
    """poseval's multi-person AP, frame by frame, pair by pair (shapely for ignore regions)."""
    from shapely.geometry import Point, Polygon

    names = gt["categories"][0]["keypoints"]
    col = [names.index(n) for n in POSETRACK_JOINTS]
    anns: dict[Any, list[dict]] = defaultdict(list)
    for a in gt["annotations"]:
        anns[a["image_id"]].append(a)
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for p in preds:
        by_image[p["image_id"]].append(p)
    samples: list[list[tuple[float, bool]]] = [[] for _ in POSETRACK_JOINTS]
    n_gt = [0] * len(POSETRACK_JOINTS)
    for img in gt["images"]:
        if not anns[img["id"]]:
            continue
        polys = [Polygon(list(zip(x, y))) for x, y in
                 zip(img.get("ignore_regions_x", []), img.get("ignore_regions_y", []))
                 if len(x) >= 3]

        def outside(x: float, y: float) -> bool:
            return not any(poly.contains(Point(x, y)) for poly in polys)  # noqa: B023

        gts = []
        for a in anns[img["id"]]:
            kp = a["keypoints"]
            joints = {j: (kp[3 * c], kp[3 * c + 1]) for j, c in enumerate(col)
                      if kp[3 * c + 2] > 0 and outside(kp[3 * c], kp[3 * c + 1])}
            if joints:
                bx, by, bw, bh = a["bbox_head"]
                size = 0.6 * math.dist((bx + bw, by + bh), (bx, by))
                gts.append((joints, size))
        prs = []
        for p in by_image[img["id"]]:
            kp = p["keypoints"]
            joints = {j: (kp[3 * c], kp[3 * c + 1], kp[3 * c + 2]) for j, c in enumerate(col)
                      if not (kp[3 * c] == kp[3 * c + 1] == kp[3 * c + 2] == 0)
                      and outside(kp[3 * c], kp[3 * c + 1])}
            if joints:
                prs.append(joints)
        for joints, _ in gts:
            for j in joints:
                n_gt[j] += 1

        def hit(pr: dict, g: tuple[dict, float], j: int) -> bool:
            gj, size = g[0], g[1]
            return j in pr and j in gj and math.dist(pr[j][:2], gj[j]) / size <= 0.5

        pck = [[sum(hit(pr, g, j) for j in range(len(col))) / len(g[0]) for g in gts]
               for pr in prs]
        best = [max(range(len(gts)), key=lambda g: (row[g], -g)) if gts else -1 for row in pck]
        owner: dict[int, int] = {}
        for g in range(len(gts)):
            chosen = [p for p in range(len(prs)) if best[p] == g and pck[p][g] > 0]
            if chosen:
                owner[max(chosen, key=lambda p: (pck[p][g], -p))] = g
        for p, pr in enumerate(prs):
            for j in sorted(pr):
                samples[j].append((pr[j][2], p in owner and hit(pr, gts[owner[p]], j)))
    ap = []
    for j, s in enumerate(samples):
        if not s:
            ap.append(0.0)
            continue
        if n_gt[j] == 0:
            ap.append(math.nan)
            continue
        ordered = sorted(s, key=lambda t: -t[0])
        tp, rec, prec = 0, [], []
        for i, (_, h) in enumerate(ordered):
            tp += h
            rec.append(tp / n_gt[j])
            prec.append(tp / (i + 1))
        ap.append(_voc_ap(rec, prec) * 100)
    by_name = dict(zip(POSETRACK_JOINTS, ap))
    out = {"Head": np.mean([by_name[n] for n in ("head_top", "head_bottom", "nose")])}
    for group in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
        out[group.capitalize()] = (by_name[f"right_{group}"] + by_name[f"left_{group}"]) / 2
    defined = [v for v in ap if not math.isnan(v)]
    out["Total"] = sum(defined) / len(defined) if defined else math.nan
    out.update({f"joint/{n}": v for n, v in by_name.items()})
    return out
