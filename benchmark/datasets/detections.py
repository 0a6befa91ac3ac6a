"""Person detection files: the boxes a top-down pose model is scored with instead of GT boxes.

A detection file is a COCO *results* file: a JSON list of ``{image_id, category_id, bbox:
[x, y, w, h], score}`` (pixels, top-left origin). Released files exist for some datasets
(HRNet's ``COCO_val2017_detections_AP_H_56_person.json``, LLVIP-Pose's
``test_bbox_{thermal,rgb}_nms_50_llvip.json``); otherwise :mod:`benchmark.models.detect` writes
one per (dataset, modality, split).

A wrong file does not fail loudly on its own: MMPose looks image ids up in the ground truth and
a file of another split, or of another id numbering, would give an AP near zero or a crash deep
inside evaluation. So every file is checked against the split's ground truth before use, and a
problem names the file, the record index and what is wrong. Only ``category_id`` 1 (person)
is kept: HRNet's COCO file holds nothing else; a file with other categories has them dropped
and counted, since MMPose itself would ignore them.

numpy/json only: the convert stage and the workflow's planning import this without torch.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import MpbenchError
from benchmark.fileio import write_text_atomic

#: The COCO category id of a person; the only category a pose benchmark keeps.
PERSON = 1
#: Problems listed in one error message; the count of the rest is given.
MAX_REPORT = 20


class DetectionFileError(MpbenchError, ValueError):
    """A detection file is unreadable, malformed, or does not belong to the ground truth."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def gt_images(gt: dict | str | Path) -> tuple[dict[Any, dict], str]:
    """``({image id: image record}, source name)`` of a COCO-style ground truth (dict or file)."""
    source = "ground truth"
    if not isinstance(gt, dict):
        source = str(gt)
        try:
            gt = json.loads(Path(gt).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{source}: ground-truth file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DetectionFileError(f"{source}: ground truth is not valid JSON ({exc})") from None
    images = gt.get("images") if isinstance(gt, dict) else None
    if not isinstance(images, list):
        raise DetectionFileError(f"{source}: ground truth has no 'images' list")
    out: dict[Any, dict] = {}
    for i, img in enumerate(images):
        if not isinstance(img, dict) or "id" not in img:
            raise DetectionFileError(f"{source}: images[{i}] has no 'id'")
        out[img["id"]] = img
    return out, source


def _read_list(path: Path) -> list:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: detection file not found") from None
    except UnicodeDecodeError as exc:
        raise DetectionFileError(f"{path}: not a text file ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DetectionFileError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        hint = ""
        if isinstance(data, dict) and "annotations" in data:
            hint = " (this looks like a COCO annotation file, not a detection results file)"
        raise DetectionFileError(
            f"{path}: a detection file must be a JSON list of {{image_id, category_id, bbox, "
            f"score}} records, got a JSON {type(data).__name__}{hint}")
    return data


def _check_record(i: int, rec: Any) -> str | None:
    """The problem of one record (None when it is well formed); image ids are checked apart."""
    if not isinstance(rec, dict):
        return f"record {i}: expected an object, got {type(rec).__name__}"
    where = f"record {i} (image_id {rec.get('image_id')!r})"
    for key in ("image_id", "category_id", "bbox", "score"):
        if key not in rec:
            return f"{where}: missing {key!r}"
    if not isinstance(rec["image_id"], (int, str)) or isinstance(rec["image_id"], bool):
        return f"{where}: image_id must be an integer or a string"
    box = rec["bbox"]
    if not isinstance(box, (list, tuple)) or len(box) != 4 or not all(map(_is_number, box)):
        return f"{where}: bbox must be 4 finite numbers [x, y, w, h], got {box!r}"
    if box[2] <= 0 or box[3] <= 0:
        return f"{where}: bbox width and height must be > 0, got {box!r}"
    if not _is_number(rec["score"]):
        return f"{where}: score must be a finite number, got {rec['score']!r}"
    return None


def read_detections(path: str | Path, gt: dict | str | Path, *, min_score: float = 0.0,
                    drop_unknown_images: bool = False) -> tuple[list[dict], dict[str, int]]:
    """Validated person detections of ``path`` and the counts of what was dropped.

    Returns ``(records, counts)``: records are ``{image_id, category_id: 1, bbox: [4 floats],
    score: float}`` in file order, with ``score >= min_score``; counts has ``records`` (in the
    file), ``kept``, ``other_categories``, ``below_min_score`` and ``unknown_images``.

    Raises :class:`DetectionFileError` listing every malformed record, and refusing the file when
    records name image ids the ground truth does not have: that is a file of another split (or
    another id numbering). ``drop_unknown_images=True`` drops them instead, for a ground truth
    that is a subset of the file's split (e.g. a test subset with its own annotation file).
    """
    path = Path(path)
    images, gt_source = gt_images(gt)
    data = _read_list(path)
    problems: list[str] = []
    unknown: list[int] = []
    counts = Counter(records=len(data))
    out: list[dict] = []
    for i, rec in enumerate(data):
        problem = _check_record(i, rec)
        if problem is not None:
            problems.append(problem)
            continue
        if rec["image_id"] not in images:
            unknown.append(i)
            continue
        if rec["category_id"] != PERSON:
            counts["other_categories"] += 1
            continue
        if rec["score"] < min_score:
            counts["below_min_score"] += 1
            continue
        out.append({"image_id": rec["image_id"], "category_id": PERSON,
                    "bbox": [float(v) for v in rec["bbox"]], "score": float(rec["score"])})
    counts["unknown_images"] = len(unknown)
    if unknown and not drop_unknown_images:
        first = ", ".join(f"record {i} (image_id {data[i]['image_id']!r})" for i in unknown[:5])
        problems.insert(0, (
            f"{len(unknown)} of {len(data)} records name image ids that {gt_source} does not "
            f"have ({len(images)} images), first: {first}; the file probably belongs to another "
            "split or uses another image id numbering"))
    if problems:
        more = len(problems) - MAX_REPORT
        listed = "\n  ".join(problems[:MAX_REPORT])
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise DetectionFileError(f"{path}: {len(problems)} problem(s) against {gt_source}:"
                                 f"\n  {listed}{tail}")
    counts["kept"] = len(out)
    for key in ("other_categories", "below_min_score"):
        counts.setdefault(key, 0)
    return out, dict(counts)


def load_detections(path: str | Path, gt: dict | str | Path, *, min_score: float = 0.0,
                    drop_unknown_images: bool = False) -> list[dict]:
    """:func:`read_detections`' records; what was dropped is reported on stderr."""
    records, counts = read_detections(path, gt, min_score=min_score,
                                      drop_unknown_images=drop_unknown_images)
    dropped = {k: counts[k] for k in ("other_categories", "below_min_score", "unknown_images")
               if counts[k]}
    if dropped:
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in dropped.items())
        print(f"detections {path}: kept {counts['kept']} of {counts['records']} records "
              f"(dropped: {what})", file=sys.stderr)
    return records


def _record_line(rec: dict) -> str:
    ordered = {"image_id": rec["image_id"], "category_id": rec.get("category_id", PERSON),
               "bbox": [float(v) for v in rec["bbox"]], "score": float(rec["score"])}
    return json.dumps(ordered, separators=(", ", ": "), allow_nan=False)


def write_detections(records: list[dict], path: str | Path) -> Path:
    """Write ``records`` as a COCO results file, one record per line, atomically.

    The file appears complete or not at all (a temporary file in the same folder is renamed),
    so a job killed while writing never leaves a truncated file that a later step would trust.
    NaN or infinite numbers raise ``ValueError``: such a file would be refused when read.
    """
    body = ",\n".join(_record_line(r) for r in records)
    return write_text_atomic(Path(path), f"[\n{body}\n]\n" if records else "[]\n")


def summary(records: list[dict], gt: dict | str | Path | None = None) -> dict[str, Any]:
    """Counts and score quantiles of a detection set, for logs and run parameters.

    With ``gt``, also the images of the split that have no detection at all: many of them hint
    at a detector that fails on the modality (or a file of another split).
    """
    per_image = Counter(r["image_id"] for r in records)
    scores = np.asarray([r["score"] for r in records], dtype=np.float64)
    out: dict[str, Any] = {
        "detections": len(records),
        "images_with_detections": len(per_image),
        "per_image_mean": round(len(records) / len(per_image), 3) if per_image else 0.0,
        "per_image_max": max(per_image.values(), default=0),
    }
    if len(scores):
        q = np.quantile(scores, [0.0, 0.25, 0.5, 0.75, 1.0])
        out["score_quantiles"] = dict(zip(("min", "q25", "median", "q75", "max"),
                                          (round(float(v), 6) for v in q)))
    if gt is not None:
        images, _ = gt_images(gt)
        out["gt_images"] = len(images)
        out["images_without_detections"] = sum(1 for i in images if i not in per_image)
        out["per_gt_image_mean"] = round(len(records) / len(images), 3) if images else 0.0
    return out


def canonical_detections(path: str | Path, gt: dict | str | Path, out_path: str | Path, *,
                         min_score: float = 0.0,
                         drop_unknown_images: bool = False) -> dict[str, Any]:
    """Validate a released detection file against a canonical split and write its canonical copy.

    The canonical converters keep the released image ids, so the copy only drops non-person
    records and normalises numbers; it is what the evaluation stage points MMPose's
    ``bbox_file`` at. Returns the summary (with the dropped counts) for the stage's log.
    """
    records, counts = read_detections(path, gt, min_score=min_score,
                                      drop_unknown_images=drop_unknown_images)
    write_detections(records, out_path)
    return {"source": str(path), "out": str(out_path), **counts, **summary(records, gt)}
