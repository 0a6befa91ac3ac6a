"""LLVIP-Pose: pose annotations for LLVIP's registered thermal / visible night-street pairs.

Annotations are release assets of github.com/MickaelCormier/llvip-pose (COCO format, 17
keypoints in the PoseTrack18 layout: nose, head_bottom, head_top, two unannotated ears, then
COCO's limb joints; COCO sigmas with 0.025 for head_bottom and head_top). Images come from
LLVIP (manual download): ``infrared/{train,test}/`` and ``visible/{train,test}/``, 1280x1024,
the same file name is the same instant, so one annotation file serves both modalities.
The 13-keypoint fine-tuning file keeps the joints COCO and LLVIP-Pose share (nose and the 12
limb joints); it is converted into the 17-joint layout with the other four unlabelled.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import POSETRACK17
from benchmark.datasets.native import (
    NativeFormatError,
    find_file,
    index_images,
    read_coco,
)
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, ModalitySpec, ReleasedDetections

RELEASE = "https://github.com/MickaelCormier/llvip-pose/releases/latest/download/"
SPLIT_FILES = {"train": "train_llvip.json", "test": "test_llvip.json"}
FINETUNE_FILE = "test_llvip_finetuning_13_kpts.json"
#: Joints of the 13-keypoint file, in its order: nose + COCO's 12 limb joints.
FINETUNE_JOINTS = ("nose", *POSETRACK17.keypoints[5:])
SENSOR_DIRS = {"thermal": "infrared", "rgb": "visible"}


def _paired_index(raw: Path) -> dict[tuple[str, str, str], str]:
    """``{(sensor dir, split, file name): path under raw}`` of the LLVIP images."""
    out = {}
    for name, rel in index_images_all(raw):
        parts = Path(rel).parts
        for sensor in SENSOR_DIRS.values():
            if sensor in parts:
                i = parts.index(sensor)
                if i + 1 < len(parts):
                    out[(sensor, parts[i + 1], name)] = rel
    return out


def index_images_all(raw: Path) -> list[tuple[str, str]]:
    # LLVIP reuses a file name across infrared/ and visible/: index each sensor folder apart.
    hits = []
    for sensor in SENSOR_DIRS.values():
        for folder in sorted(p for p in raw.rglob(sensor) if p.is_dir()):
            hits += [(n, f"{folder.relative_to(raw).as_posix()}/{rel}")
                     for n, rel in index_images(folder).items()]
    return hits


def _expand_13(kp: list[float], source: Path, aid: object) -> list[float]:
    if len(kp) != 3 * len(FINETUNE_JOINTS):
        raise NativeFormatError(f"{source}: annotation {aid}: expected 39 values (13 joints), "
                                f"got {len(kp)}")
    out = [0.0] * (3 * POSETRACK17.num_keypoints)
    for j, name in enumerate(FINETUNE_JOINTS):
        k = POSETRACK17.index[name]
        out[3 * k:3 * k + 3] = [float(v) for v in kp[3 * j:3 * j + 3]]
    return out


def convert_split(native: dict, source: Path, split: str,
                  index: dict[tuple[str, str, str], str], expand13: bool = False) -> dict:
    images = []
    for img in native["images"]:
        name = Path(img["file_name"]).name
        paths = {}
        for modality, sensor in SENSOR_DIRS.items():
            rel = index.get((sensor, split, name))
            if rel is None:
                raise NativeFormatError(f"{source}: image {img['id']} ({name}) not found under "
                                        f"LLVIP/{sensor}/{split}/ (was LLVIP.zip extracted?)")
            paths[modality] = rel
        images.append({"id": img["id"], "file_name": paths["thermal"],
                       "width": int(img.get("width", 1280)),
                       "height": int(img.get("height", 1024)), "modality_paths": paths})
    annotations = []
    for ann in native["annotations"]:
        kp = ([float(v) for v in ann["keypoints"]] if not expand13
              else _expand_13(ann["keypoints"], source, ann.get("id")))
        annotations.append({"id": ann["id"], "image_id": ann["image_id"], "category_id": 1,
                            "iscrowd": int(ann.get("iscrowd", 0)),
                            "bbox": [float(v) for v in ann["bbox"]],
                            "area": float(ann.get("area", ann["bbox"][2] * ann["bbox"][3])),
                            "keypoints": kp, "num_keypoints": count_labelled(kp)})
    return canonical_dict(POSETRACK17, images, annotations, source=source.name)


def convert(raw: Path) -> dict[str, dict]:
    index = _paired_index(raw)
    out = {}
    for split, name in SPLIT_FILES.items():
        src = find_file(raw, name)
        out[split] = convert_split(read_coco(src), src, split, index)
    src = find_file(raw, FINETUNE_FILE)
    out["test_13kpts"] = convert_split(read_coco(src), src, "test", index, expand13=True)
    return out


SPEC = DatasetSpec(
    name="llvip_pose",
    layout=POSETRACK17,
    modalities={
        "thermal": ModalitySpec("thermal", "thermal", root="raw",
                                description="LWIR 1280x1024 (8-bit, stored as 3-channel JPEG)"),
        "rgb": ModalitySpec("rgb", "rgb", root="raw",
                            description="visible-light camera at night, registered to thermal"),
        "thermal_norm": ModalitySpec("thermal_norm", "thermal", root="processed/thermal_norm",
                                     channels=1, derived_from="thermal",
                                     params={"mode": "percentile", "low": 1.0, "high": 99.0},
                                     description="thermal with per-image percentile "
                                                 "normalisation (1-99 %)"),
    },
    splits=("train", "test", "test_13kpts"),
    train_split="train",
    eval_split="test",
    eval_splits=("test_13kpts",),
    protocol="coco",
    license="LLVIP: research only, non-commercial; LLVIP-Pose annotations: non-commercial",
    citation="M. Cormier et al. LLVIP-Pose (github.com/MickaelCormier/llvip-pose); X. Jia, "
             "C. Zhu, M. Li, W. Tang, W. Zhou. LLVIP: A Visible-infrared Paired Dataset for "
             "Low-light Vision. ICCV Workshops 2021.",
    description="Thermal/visible night-street pairs, PoseTrack18 layout, COCO OKS AP",
    homepage="https://github.com/MickaelCormier/llvip-pose",
    sources=(
        *(Source(f, url=RELEASE + f, description="LLVIP-Pose release asset (no published "
                                                  "checksum: pinned on first download)")
          for f in ("train_llvip.json", "test_llvip.json",
                    "test_bbox_thermal_nms_50_llvip.json", "test_bbox_rgb_nms_50_llvip.json",
                    FINETUNE_FILE)),
        Source("LLVIP.zip", extract=True, extract_to="images",
               manual="LLVIP images: download LLVIP.zip from the LLVIP project page "
                      "https://bupt-ai-cz.github.io/LLVIP/ (Google Drive or Baidu links; "
                      "it holds LLVIP/infrared/{train,test} and LLVIP/visible/{train,test})."),
    ),
    converter=convert,
    # The authors' person boxes for the test images (NMS 0.5), one file per camera; the
    # 13-keypoint file's images are test images, so it is scored with the same boxes.
    released_detections=(
        ReleasedDetections("llvip_nms50", "test", "test_bbox_thermal_nms_50_llvip.json",
                           ("thermal", "thermal_norm"), subsets=("test_13kpts",)),
        ReleasedDetections("llvip_nms50", "test", "test_bbox_rgb_nms_50_llvip.json",
                           ("rgb",), subsets=("test_13kpts",)),
    ),
    manual_instructions="LLVIP.zip from https://bupt-ai-cz.github.io/LLVIP/",
)
