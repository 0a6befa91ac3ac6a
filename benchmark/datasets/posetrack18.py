"""PoseTrack18: multi-person video pose with track ids, head boxes and ignore regions.

Registration-gated (manual download). Ground truth is one JSON per video
(``annotations/{train,val}/<video>.json``); 17 keypoints in the PoseTrack layout with the ears
never labelled. Scored with poseval's per-joint mAP (``posetrack-map``). The converter keeps
every labelled frame (``is_labeled``) with its video id, frame id and ignore regions, and every
person with its ``track_id`` and ``bbox_head`` (the PCKh normaliser of the protocol).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import POSETRACK17
from benchmark.datasets.native import IMAGE_SUFFIXES, NativeFormatError, image_size, read_coco
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, ModalitySpec

KEEP_IMAGE = ("vid_id", "frame_id", "nframes", "ignore_regions_x", "ignore_regions_y")


def _find_split_dir(raw: Path, split: str) -> Path:
    for cand in sorted(raw.rglob(split)):
        if cand.is_dir() and cand.parent.name == "annotations" and any(cand.glob("*.json")):
            return cand
    raise NativeFormatError(f"{raw}: no annotations/{split}/*.json (PoseTrack18 labels) found")


def _frame_key(parts: tuple[str, ...]) -> str:
    """``<split>/<video>/<frame file>`` of a frame path: frame names repeat across videos, and
    a video name could repeat across splits."""
    return "/".join(parts[-3:])


def _image_index(raw: Path) -> dict[str, str]:
    """``{'<split>/<video>/<frame file>': path under raw}`` of every extracted frame."""
    out = {}
    for folder in sorted(p for p in raw.rglob("images") if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                out[_frame_key(path.parts)] = path.relative_to(raw).as_posix()
    return out


def convert_split(files: list[Path], raw: Path, index: dict[str, str]) -> dict:
    images, annotations = [], []
    for src in files:
        native = read_coco(src)
        labelled = set()
        for img in native["images"]:
            if not img.get("is_labeled", True):
                continue
            key = _frame_key(Path(img["file_name"]).parts)
            rel = index.get(key)
            if rel is None:
                raise NativeFormatError(f"{src}: frame {img['id']} ({img['file_name']}) is "
                                        f"not in the downloaded images")
            width, height = image_size(raw / rel)
            images.append({"id": img["id"], "file_name": rel, "width": width,
                           "height": height, "modality_paths": {"rgb": rel},
                           **{k: img[k] for k in KEEP_IMAGE if k in img}})
            labelled.add(img["id"])
        for ann in native["annotations"]:
            if ann["image_id"] not in labelled:
                continue
            kp = [float(v) for v in ann["keypoints"]]
            if "bbox_head" not in ann:
                raise NativeFormatError(f"{src}: annotation {ann['id']} has no bbox_head "
                                        f"(the protocol's normaliser)")
            annotations.append({"id": ann["id"], "image_id": ann["image_id"],
                                "category_id": 1, "iscrowd": 0, "track_id": ann["track_id"],
                                "bbox": [float(v) for v in ann["bbox"]],
                                "bbox_head": [float(v) for v in ann["bbox_head"]],
                                "keypoints": kp, "num_keypoints": count_labelled(kp)})
    return canonical_dict(POSETRACK17, images, annotations,
                          videos=[f.stem for f in files])


def convert(raw: Path) -> dict[str, dict]:
    index = _image_index(raw)
    return {split: convert_split(sorted(_find_split_dir(raw, split).glob("*.json")), raw, index)
            for split in ("train", "val")}


_MANUAL = ("PoseTrack18 requires registration: request access at https://posetrack.net/ "
           "(or its current mirror), then download ")

SPEC = DatasetSpec(
    name="posetrack18",
    layout=POSETRACK17,
    modalities={"rgb": ModalitySpec("rgb", "rgb", root="raw", description="video frames")},
    splits=("train", "val"),
    train_split="train",
    eval_split="val",
    protocol="posetrack-map",
    license="PoseTrack terms of use (research only)",
    citation="M. Andriluka et al. PoseTrack: A Benchmark for Human Pose Estimation and "
             "Tracking. CVPR 2018.",
    description="Multi-person video pose, track ids, ignore regions, poseval mAP",
    homepage="https://posetrack.net",
    sources=(
        Source("posetrack18_images.tar", extract=True, extract_to="posetrack18",
               manual=_MANUAL + "the image archive parts and join them into one "
                                "posetrack18_images.tar (it holds images/{train,val}/<video>/)."),
        Source("posetrack18_v0.45_public_labels.tar.gz", extract=True,
               extract_to="posetrack18",
               manual=_MANUAL + "the public labels (annotations/{train,val}/<video>.json)."),
    ),
    converter=convert,
    manual_instructions=_MANUAL,
)
