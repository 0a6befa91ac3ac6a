"""The report's pictures: each cell's best and worst images drawn on its own modality, and
the annotation-QA gallery (the worst-scored skeletons of each dataset's QA report).

Images are read as the network reads them (the modality's loader: 16-bit depth and thermal
mapped to 8 bits, low-resolution depth upsampled), downsized, and embedded as JPEG data URIs,
so the report stays one self-contained file of a few MB.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

import cv2
import numpy as np

from benchmark.reports.cell_metrics import CellMetrics
from benchmark.reports.html.instances import Matched, match, per_image

THUMB_WIDTH = 220
GT_COLOUR, PRED_COLOUR = (80, 200, 80), (0, 140, 255)  # BGR: green, orange


@dataclass(frozen=True)
class Thumb:
    uri: str
    caption: str


def data_uri(img: np.ndarray, width: int = THUMB_WIDTH, quality: int = 70) -> str:
    h, w = img.shape[:2]
    if w > width:
        img = cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def load_modality_image(dataset: str, modality: str, file_name: str,
                        data_root: Path) -> np.ndarray | None:
    """The image as the cell's network sees it (3-channel uint8), None if unreadable."""
    from benchmark.datasets import get_spec
    from benchmark.modalities.inputs import to_network_input

    spec = get_spec(dataset)
    mod = spec.modality(modality)
    raw = cv2.imread(str(spec.image_root(modality, data_root) / file_name), cv2.IMREAD_UNCHANGED)
    if raw is None:
        return None
    try:
        return to_network_input(raw, mod.kind, value_range=mod.value_range,
                                upsample=mod.downsample)
    except ValueError:
        return None


def draw_pose(img: np.ndarray, kp: np.ndarray, skeleton, colour, thickness: int = 1) -> None:
    lab = kp[:, 2] > 0
    for a, b in skeleton:
        if lab[a] and lab[b]:
            cv2.line(img, tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2]),
                     colour, thickness, cv2.LINE_AA)
    for x, y in kp[lab, :2]:
        cv2.circle(img, (int(x), int(y)), thickness + 1, colour, -1, cv2.LINE_AA)


def best_and_worst(cell: CellMetrics, data_root: Path, n: int = 2) -> list[Thumb]:
    """The cell's ``n`` best and ``n`` worst images (mean OKS of their persons, primary
    score's predictions), ground truth in green, predictions in orange."""
    from benchmark.datasets import get_spec

    score = cell.data["scores"][cell.data["primary"]]
    gt = json.loads(Path(score["gt_file"]).read_text())
    preds = json.loads(Path(score["predictions"]).read_text())
    layout = get_spec(cell.dataset).layout
    matched = match(gt, preds, layout.sigmas)
    images = per_image(matched)
    order = sorted(images, key=lambda i: (images[i], i))
    picked = order[::-1][:n] + [i for i in order[:n] if i not in order[::-1][:n]]
    files = {i["id"]: i["file_name"] for i in gt["images"]}
    by_image: dict[int, list[Matched]] = {}
    for m in matched:
        by_image.setdefault(m.image_id, []).append(m)
    images_of = cell.data["modality"] if score.get("images") in (None, cell.data["modality"]) \
        else score["images"]
    out = []
    for rank, image_id in enumerate(picked):
        img = load_modality_image(cell.dataset, images_of, files[image_id], data_root)
        if img is None:
            continue
        img = img.copy()
        for m in by_image[image_id]:
            draw_pose(img, m.gt, layout.skeleton_indices, GT_COLOUR)
            if m.pred is not None:
                draw_pose(img, m.pred, layout.skeleton_indices, PRED_COLOUR)
        kind = "best" if rank < min(n, len(order)) else "worst"
        out.append(Thumb(data_uri(img), f"{kind} · image {image_id} · mean OKS "
                                        f"{images[image_id]:.2f}"))
    return out


def qa_gallery(dataset: str, data_root: Path, n: int = 8) -> tuple[str, list[Thumb]]:
    """The ``n`` worst-scored skeletons of the dataset's QA report on its evaluation split
    (or the first split QA ran on), drawn from the released annotations."""
    import pandas as pd

    from benchmark.datasets import get_spec

    spec = get_spec(dataset)
    reports = spec.dataset_dir(data_root) / "qa" / "report"
    splits = [s for s in (spec.eval_split, *spec.splits) if (reports / s / "skeletons.csv")
              .is_file()]
    if not splits:
        return "", []
    split = splits[0]
    table = pd.read_csv(reports / split / "skeletons.csv", keep_default_na=False)
    table = table[(table["score"] < 1.0) | (table["flags"] != "")].sort_values(
        ["score", "ann_id"]).head(n)
    modality = spec.sensor_modalities[0]
    ann_file = spec.modality_annotation_file(split, modality, data_root, variant="official")
    if not ann_file.is_file():
        return split, []
    gt = json.loads(ann_file.read_text())
    anns = {a["id"]: a for a in gt["annotations"]}
    files = {i["id"]: i["file_name"] for i in gt["images"]}
    out = []
    for row in table.itertuples():
        ann = anns.get(int(row.ann_id))
        if ann is None:
            continue
        img = load_modality_image(dataset, modality, files[ann["image_id"]], data_root)
        if img is None:
            continue
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        x, y, w, h = (int(v) for v in ann["bbox"])
        pad = max(w, h) // 4 + 4
        crop = img[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad].copy()
        kp[:, 0] -= max(0, x - pad)
        kp[:, 1] -= max(0, y - pad)
        draw_pose(crop, kp, spec.layout.skeleton_indices, PRED_COLOUR, 2)
        flags = str(row.flags).replace(";", ", ") or "low score"
        out.append(Thumb(data_uri(crop, width=160),
                         f"ann {row.ann_id} · score {row.score:.2f} · {escape(flags)}"))
    return split, out
