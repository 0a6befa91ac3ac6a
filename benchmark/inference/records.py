"""The output folder of ``mpbench infer``: per-frame lines while running, COCO files at the end.

``predictions.jsonl`` gets one JSON line per finished frame (its instances, or ``skipped`` with
the reason), flushed as each batch finishes. It is the run's state: a restarted run reads it,
passes over the frames it lists and appends the rest, so a stopped run resumes where it
stopped. A line cut short by a kill is dropped (and truncated away) on the next start.
``run.json`` records what the lines were computed from; a restart with other inputs is refused
rather than mixing two runs in one file.

From the lines, every run writes ``predictions.json`` (COCO results: ``image_id``,
``category_id`` 1, ``keypoints`` [x, y, score] * K, ``score``, ``bbox`` [x, y, w, h]),
``images.json`` (image ids -> file names or frame indices, sizes) and ``skipped.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.fileio import write_text_atomic
from benchmark.inference.sources import InferenceError

LINES = "predictions.jsonl"
RUN = "run.json"


def read_lines(out: Path) -> list[dict[str, Any]]:
    """The finished frames' records; an incomplete last line is removed from the file."""
    path = out / LINES
    if not path.is_file():
        return []
    data = path.read_bytes()
    records, good = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            records.append(json.loads(line))
        except ValueError:
            break
        good += len(line)
    if good != len(data):
        with open(path, "r+b") as f:
            f.truncate(good)
    return records


def check_run(out: Path, identity: dict[str, Any], webcam: bool) -> list[dict[str, Any]]:
    """The records a restart resumes from (none for a new run); refuses another run's folder."""
    records = read_lines(out)
    run_file = out / RUN
    if run_file.is_file():
        old = json.loads(run_file.read_text())
        differ = [k for k in sorted(set(old) | set(identity)) if old.get(k) != identity.get(k)]
        if differ:
            raise InferenceError(f"{out} holds predictions of another run ({', '.join(differ)} "
                                 "differ); use another --out or remove the folder")
        if webcam and records:
            raise InferenceError(f"{out} holds a webcam run; a live stream does not resume: "
                                 "use another --out")
    elif records:
        raise InferenceError(f"{out / LINES} exists without {RUN}; use another --out")
    return records


def start(out: Path, identity: dict[str, Any]):
    """Write ``run.json`` and open the lines file for appending."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / RUN, json.dumps(identity, indent=1, sort_keys=True) + "\n")
    return open(out / LINES, "a", encoding="utf-8")


def coco_results(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """COCO keypoint results of the finished frames, in frame order."""
    results = []
    for rec in sorted(records, key=lambda r: r["frame"]):
        for inst in rec.get("instances", []):
            results.append({"image_id": rec["image_id"], "category_id": 1,
                            "keypoints": inst["keypoints"], "score": inst["score"],
                            "bbox": inst["bbox"]})
    return results


def finish(out: Path, records: list[dict[str, Any]], source: dict[str, Any]) -> None:
    """``predictions.json``, ``images.json`` and ``skipped.json`` from all finished frames."""
    done = sorted(records, key=lambda r: r["frame"])
    images = [{"id": r["image_id"], "name": r["name"], "width": r["width"],
               "height": r["height"], **({"file_name": r["file_name"]} if "file_name" in r
                                         else {"frame": r["frame"]})}
              for r in done if "skipped" not in r]
    skipped = [{"frame": r["frame"], "image_id": r["image_id"], "name": r["name"],
                "reason": r["skipped"]} for r in done if "skipped" in r]
    _dump(out / "predictions.json", coco_results(done))
    _dump(out / "images.json", {**source, "images": images})
    _dump(out / "skipped.json", skipped)


def _dump(path: Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1) + "\n")
