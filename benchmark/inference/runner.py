"""Batched, resumable pose inference over a frame source (the engine of ``mpbench infer``).

Order of work, so that a wrong input costs nothing: the source is classified (no frame is
read), the model is built and the checkpoint checked strictly
(:func:`benchmark.inference.model.build`), the boxes file is matched; only then is the output
folder created and frames read.

Frames are grouped ``batch_size`` at a time (one detector pass per group); a top-down model's
person crops of a group go through the network ``batch_size`` at a time; a bottom-up or
one-stage model takes one frame per pass (each frame is padded to its own size, as MMPose's
bottom-up test configs run with batch size 1). Each finished frame is one line of
``predictions.jsonl`` (:mod:`benchmark.inference.records`), so a stopped run resumes.

Instance scores follow MMPose's ``CocoMetric`` rescoring for top-down models (box score times
the mean of the keypoint scores above 0.2); bottom-up instances keep the model's own score.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.inference import records as rec_io
from benchmark.inference.boxes import Detector, load_box_file, whole_frame
from benchmark.inference.model import PoseModel, build, cell_files
from benchmark.inference.render import DEFAULT_KPT_THR, VideoOverlay, draw, style_of, write_image
from benchmark.inference.sources import (
    Frame,
    InferenceError,
    Source,
    frame_converter,
    iter_frames,
    open_source,
    video_fps,
)

#: CocoMetric's ``keypoint_score_thr``: keypoints counted in an instance's score.
KEYPOINT_SCORE_THR = 0.2

__all__ = ["InferenceError", "run_inference"]


def _sha256(path: Path) -> str:
    from benchmark.models.predict import file_sha256

    return file_sha256(Path(path))


def _batches(frames: Iterator[Frame], size: int, limit: int | None,
             state: dict[str, bool]) -> Iterator[list[Frame]]:
    """Groups of ``size`` frames; at most ``limit`` frames in all (None: no limit).
    ``state["stopped"]`` says that frames were left when the limit was reached."""
    batch: list[Frame] = []
    for n, frame in enumerate(frames):
        if limit is not None and n >= limit:
            state["stopped"] = True
            break
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _instance(kpts: np.ndarray, scores: np.ndarray, bbox: list[float], bbox_score: float,
              score: float) -> dict[str, Any]:
    flat = [v for (x, y), s in zip(kpts, scores)
            for v in (round(float(x), 2), round(float(y), 2), round(float(s), 6))]
    return {"bbox": [round(float(v), 2) for v in bbox], "bbox_score": round(bbox_score, 6),
            "keypoints": flat, "score": round(float(score), 6)}


def _rescore(bbox_score: float, scores: np.ndarray) -> float:
    valid = scores[scores > KEYPOINT_SCORE_THR]
    return bbox_score * float(valid.mean()) if len(valid) else 0.0


def _forward(pm: PoseModel, data: list[dict]) -> list[Any]:
    import torch
    from mmengine.dataset import pseudo_collate

    with torch.no_grad():
        return pm.model.test_step(pseudo_collate(data))


def _meta(frame: Frame, pm: PoseModel) -> dict[str, Any]:
    h, w = frame.image.shape[:2]
    return {"img": frame.image, "img_shape": (h, w), "ori_shape": (h, w),
            "img_id": frame.image_id, "img_path": frame.name, **pm.model.dataset_meta}


def predict_top_down(pm: PoseModel, frames: list[Frame],
                     boxes: list[list[tuple[list[float], float]]],
                     batch_size: int) -> list[list[dict[str, Any]]]:
    """Instances of each frame: one per box, crops batched ``batch_size`` per pass."""
    jobs = [(i, box, score) for i, frame_boxes in enumerate(boxes) for box, score in frame_boxes]
    out: list[list[dict[str, Any]]] = [[] for _ in frames]
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start:start + batch_size]
        data = []
        for i, (x, y, w, h), score in chunk:
            info = _meta(frames[i], pm) | {
                "bbox": np.array([[x, y, x + w, y + h]], dtype=np.float32),
                "bbox_score": np.array([score], dtype=np.float32)}
            data.append(pm.pipeline(info))
        for (i, box, score), res in zip(chunk, _forward(pm, data)):
            kpts = np.asarray(res.pred_instances.keypoints)[0]
            kscores = np.asarray(res.pred_instances.keypoint_scores)[0]
            out[i].append(_instance(kpts, kscores, box, score, _rescore(score, kscores)))
    return out


def predict_bottom_up(pm: PoseModel, frame: Frame) -> list[dict[str, Any]]:
    """Instances the model finds in one whole frame (its own grouping and score)."""
    pred = _forward(pm, [pm.pipeline(_meta(frame, pm))])[0].pred_instances
    kpts = np.asarray(pred.keypoints).reshape(-1, pm.num_keypoints, 2)
    kscores = np.asarray(pred.keypoint_scores).reshape(-1, pm.num_keypoints)
    bboxes = np.asarray(pred.bboxes).reshape(-1, 4) if "bboxes" in pred else None
    bscores = np.asarray(pred.bbox_scores).reshape(-1) if "bbox_scores" in pred else None
    out = []
    for n in range(len(kpts)):
        x1, y1, x2, y2 = (bboxes[n] if bboxes is not None else
                          (*kpts[n].min(axis=0), *kpts[n].max(axis=0)))
        score = float(bscores[n]) if bscores is not None else float(kscores[n].mean())
        out.append(_instance(kpts[n], kscores[n], [x1, y1, x2 - x1, y2 - y1], score, score))
    return out


def _predict_batch(pm: PoseModel, batch: list[Frame], detector: Detector | None,
                   box_map: dict[int, list] | None, batch_size: int) -> list[dict[str, Any]]:
    """The records of a group of frames (an unreadable frame's says why it was skipped)."""
    good = [f for f in batch if f.error is None]
    if not pm.top_down:
        found = [predict_bottom_up(pm, f) for f in good]
    else:
        frame_boxes = (detector(good) if detector is not None else
                       [box_map.get(f.index, []) for f in good] if box_map is not None
                       else [whole_frame(f) for f in good])
        found = predict_top_down(pm, good, frame_boxes, batch_size)
    results = dict(zip((f.index for f in good), found))
    return [_record(f, results.get(f.index)) for f in batch]


def _identity(source: Source, config: Path, checkpoint: Path, boxes: Path | None,
              detector: Detector | None) -> dict[str, Any]:
    return {"source": source.identity(), "config_sha256": _sha256(config),
            "checkpoint_sha256": _sha256(checkpoint),
            "boxes_sha256": _sha256(boxes) if boxes else None,
            "detector": detector.identity() if detector else None}


def _record(frame: Frame, instances: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"frame": frame.index, "image_id": frame.image_id, "name": frame.name,
                           **frame.extra}
    if frame.error is not None:
        return rec | {"skipped": frame.error}
    h, w = frame.image.shape[:2]
    return rec | {"width": w, "height": h, "instances": instances or []}


def run_inference(source: str, out: Path, *, cell: str | None = None,
                  config: Path | None = None, checkpoint: Path | None = None,
                  work_dir: Path | None = None, device: str | None = None,
                  boxes: Path | None = None, detector: Detector | None = None,
                  batch_size: int = 8, render: bool = True, kpt_thr: float = DEFAULT_KPT_THR,
                  max_frames: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Predict poses on every frame of ``source`` into ``out``; resume a stopped run there.

    ``cell`` (a trained cell's key) or ``config`` + ``checkpoint`` name the model.
    ``max_frames``: stop after that many new frames (a webcam's length; tests' interruption).
    Returns a summary: frames ``computed`` by this run, ``skipped`` ones, ``complete``.
    """
    if batch_size < 1:
        raise InferenceError(f"--batch-size {batch_size}: must be >= 1")
    if boxes is not None and detector is not None:
        raise InferenceError("--boxes and --detector exclude each other")
    src = open_source(source)
    if cell:
        config, checkpoint = cell_files(cell, work_dir)
    elif config is None or checkpoint is None:
        raise InferenceError("name the model: --cell KEY, or --config and --checkpoint")
    if boxes is not None and not Path(boxes).is_file():
        raise InferenceError(f"{boxes}: boxes file not found")
    pm = build(Path(config), Path(checkpoint), device)
    if not pm.top_down and (boxes is not None or detector is not None):
        print("infer: a bottom-up/one-stage model finds the people itself; --boxes and "
              "--detector are not used", file=sys.stderr)
        boxes, detector = None, None
    if src.is_stream:
        frame_converter(pm.loader)  # refuses what no video frame can be (metric depth)
    box_map = load_box_file(Path(boxes), src) if boxes is not None else None
    if detector is not None:
        detector.device = pm.device
        detector.load()
    identity = _identity(src, Path(config), Path(checkpoint), boxes, detector)
    out = Path(out)
    done = rec_io.check_run(out, identity, src.kind == "webcam")
    lines = rec_io.start(out, identity)
    style = style_of(pm.model.dataset_meta, pm.dataset, pm.num_keypoints)
    stream = (VideoOverlay(out / "overlay.mp4", video_fps(src))
              if render and src.kind == "webcam" else None)
    computed: list[int] = []
    total = len(src.files) if src.kind == "images" else _frame_count(src)
    from tqdm import tqdm

    bar = tqdm(total=total, initial=len(done), unit="frame", file=sys.stderr,
               disable=not progress, desc="infer")
    frames = iter_frames(src, pm.loader, {r["frame"] for r in done})
    new: list[dict[str, Any]] = []
    state = {"stopped": False}
    interrupted = False
    try:
        for batch in _batches(frames, batch_size, max_frames, state):
            for record in _predict_batch(pm, batch, detector, box_map, batch_size):
                if "skipped" in record:
                    print(f"infer: skipped {record['name']}: {record['skipped']}",
                          file=sys.stderr)
                else:
                    computed.append(record["frame"])
                    if render and (src.kind == "images" or stream is not None):
                        image = next(f.image for f in batch if f.index == record["frame"])
                        overlay = draw(image, record["instances"], style, kpt_thr)
                        if stream is not None:
                            stream.add(overlay)
                        else:
                            write_image(out / "overlays" / f"{record['name']}.jpg", overlay)
                lines.write(json.dumps(record) + "\n")
                new.append(record)
            lines.flush()  # the batch is done: a restart starts after it
            bar.update(len(batch))
    except KeyboardInterrupt:
        interrupted = True  # a webcam's normal end; elsewhere resumable
    finally:
        frames.close()
        bar.close()
        lines.close()
        if stream is not None:
            stream.close()
    all_records = done + new
    complete = not (state["stopped"] or interrupted)
    rec_io.finish(out, all_records, {"source": src.identity(), "kind": src.kind})
    if interrupted and src.kind != "webcam":
        raise KeyboardInterrupt
    if render and complete and src.kind == "video":
        _render_video(src, pm, all_records, out / "overlay.mp4", style, kpt_thr)
    skipped = [r["frame"] for r in all_records if "skipped" in r]
    return {"out": str(out), "frames": len(all_records), "computed": computed,
            "resumed": len(done), "skipped": skipped, "complete": complete,
            "instances": sum(len(r.get("instances", [])) for r in all_records)}


def _frame_count(src: Source) -> int | None:
    if src.kind != "video":
        return None
    import cv2

    from benchmark.inference.sources import open_capture

    cap = open_capture(src)
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) or None
    finally:
        cap.release()


def _render_video(src: Source, pm: PoseModel, records: list[dict[str, Any]], path: Path,
                  style, kpt_thr: float) -> None:
    """The overlay video, drawn once every frame is predicted (so a resumed run's video is
    whole): the video is read again, each predicted frame drawn; skipped frames are left out."""
    by_frame = {r["frame"]: r for r in records if "skipped" not in r}
    video = VideoOverlay(path, video_fps(src))
    try:
        for frame in iter_frames(src, pm.loader):
            if frame.error is None and frame.index in by_frame:
                video.add(draw(frame.image, by_frame[frame.index]["instances"], style, kpt_thr))
    finally:
        video.close()

