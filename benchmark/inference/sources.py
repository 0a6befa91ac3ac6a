"""Frame sources of ``mpbench infer``: an image, a folder of images, a video file, a webcam.

Every frame reaches the network as the cell's training loader gives it: an image file goes
through the config's own ``LoadModalityImage`` (the same object training builds, so a 16-bit
depth PNG or a 1-channel thermal image is converted exactly as in training); a video or
webcam frame, already 8-bit BGR, goes through
:func:`benchmark.modalities.inputs.to_network_input` with the loader's kind and upsampling.

A frame that cannot be read (a corrupt file, a failed video read) is yielded with ``error``
set instead of an image, so the runner reports and skips it and the run goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import MpbenchError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
#: A video whose reads fail this many times in a row is treated as ended (a broken tail).
MAX_FAILED_READS = 10


class InferenceError(MpbenchError):
    """An input of ``mpbench infer`` that cannot be used; the message names it."""


@dataclass
class Frame:
    """One frame: its position, COCO image id, name, and network input (or why not)."""

    index: int
    image_id: int
    name: str
    image: np.ndarray | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Source:
    """What SOURCE names. ``files`` for images (sorted), ``video`` for a file or webcam."""

    kind: str  # "images", "video" or "webcam"
    spec: str
    files: list[Path] = field(default_factory=list)
    video: str | int | None = None

    @property
    def is_stream(self) -> bool:
        return self.kind in ("video", "webcam")

    def identity(self) -> str:
        """What a resumed run must match (absolute path, or the webcam index)."""
        return str(self.video) if self.kind == "webcam" else str(Path(self.spec).resolve())

    def image_ids(self) -> list[int]:
        """COCO image ids of the files: their numeric stem when every stem is a distinct
        integer (COCO, PoseTrack and LLVIP name files so), else their sorted position."""
        stems = [f.stem for f in self.files]
        if stems and all(s.isdigit() for s in stems) and len({int(s) for s in stems}) == len(
                stems):
            return [int(s) for s in stems]
        return list(range(len(self.files)))

    def names(self) -> list[str]:
        """Overlay names: the file stem, or the whole file name where two stems collide."""
        stems = [f.stem for f in self.files]
        return [f.stem if stems.count(f.stem) == 1 else f.name for f in self.files]


def open_source(spec: str) -> Source:
    """Classify SOURCE without reading any frame; a missing path is an error."""
    text = str(spec)
    if text.isdigit():
        return Source("webcam", text, video=int(text))
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InferenceError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder")
        return Source("images", text, files=files)
    if not path.is_file():
        raise InferenceError(f"{path}: no such image, folder or video (a webcam is an integer)")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return Source("video", text, video=str(path))
    return Source("images", text, files=[path])


def frame_converter(loader: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """An 8-bit video frame -> network input, by the loader's kind and upsampling."""
    from benchmark.modalities.inputs import to_network_input

    kind = loader.get("kind", "rgb")
    if kind == "depth":
        raise InferenceError("a depth cell reads metric 16-bit depth images; an 8-bit video has "
                             "no depth in mm: give the frames as a folder of depth PNGs")
    value_range = loader.get("value_range")
    upsample = int(loader.get("upsample") or 1)

    def convert(frame: np.ndarray) -> np.ndarray:
        return to_network_input(frame, kind, upsample=upsample,
                                value_range=tuple(value_range) if value_range else None)

    return convert


def image_loader(loader: dict[str, Any]) -> Callable[[Path], np.ndarray]:
    """The config's loading transform as a function of a path (built from the registry, so it
    is the very transform the cell was trained with)."""
    from mmpose.registry import TRANSFORMS

    import benchmark.models.ext  # noqa: F401 - registers LoadModalityImage

    transform = TRANSFORMS.build(dict(loader))

    def load(path: Path) -> np.ndarray:
        return transform({"img_path": str(path)})["img"]

    return load


def iter_frames(source: Source, loader: dict[str, Any], done: set[int] | None = None,
                ) -> Iterator[Frame]:
    """The source's frames in order; frames in ``done`` are passed over without decoding
    (images are not opened; video frames are grabbed, not converted)."""
    done = done or set()
    if source.kind == "images":
        load = image_loader(loader)
        for i, (path, image_id, name) in enumerate(zip(source.files, source.image_ids(),
                                                       source.names())):
            if i in done:
                continue
            frame = Frame(i, image_id, name, extra={"file_name": path.name})
            try:
                frame.image = load(path)
            except (OSError, ValueError, RuntimeError) as exc:  # corrupt, wrong bit depth
                frame.error = f"{path}: {exc}"
            yield frame
        return
    yield from _video_frames(source, frame_converter(loader), done)


def open_capture(source: Source):
    import cv2

    cap = cv2.VideoCapture(source.video)
    if not cap.isOpened():
        raise InferenceError(f"{source.spec}: cv2.VideoCapture cannot open it")
    return cap


def _video_frames(source: Source, convert: Callable[[np.ndarray], np.ndarray],
                  done: set[int]) -> Iterator[Frame]:
    import cv2

    cap = open_capture(source)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if source.kind == "video" else 0
    index, failed = 0, 0
    try:
        while True:
            if index in done:
                if not cap.grab() and not (count and index < count):
                    return
                index += 1
                continue
            ok, raw = cap.read()
            name = f"frame_{index:06d}"
            if not ok or raw is None:
                if not (count and index < count):
                    return  # the end of the stream
                failed += 1
                yield Frame(index, index, name, error=f"{source.spec}: reading frame {index} "
                                                      "failed")
                if failed >= MAX_FAILED_READS:
                    print(f"infer: {failed} failed reads in a row at frame {index} of {count}; "
                          "treating the video as ended", file=sys.stderr)
                    return
                index += 1
                continue
            failed = 0
            frame = Frame(index, index, name, extra={"frame": index})
            try:
                frame.image = convert(raw)
            except ValueError as exc:
                frame.error = f"{source.spec}: frame {index}: {exc}"
            yield frame
            index += 1
    finally:
        cap.release()


def video_fps(source: Source, default: float = 25.0) -> float:
    """Frames per second of a video (the overlay video keeps it); a webcam's or an unknown
    rate is ``default``."""
    import cv2

    cap = open_capture(source)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps if 1.0 <= fps <= 240.0 else default
