"""MVOR: multi-view operating-room dataset (CAMMA, University of Strasbourg).

732 synchronised frames x 3 ceiling cameras (2196 images, 640x480), colour and depth at the
same path with ``color`` -> ``depth``; 10 upper-body keypoints; ``only_bbox`` persons carry a
box but no keypoints. Scored with MVOR PCK@0.2 (``mvor-pck``).

Splits: ``all`` is the official evaluation set (every annotated image, the number MVOR papers
report for models trained elsewhere). For fine-tuning studies mpbench adds a documented
day-fold: ``train`` = days 1-3, ``test`` = day 4 (no recording day in both).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import MVOR10
from benchmark.datasets.native import NativeFormatError, find_file, read_coco
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, ModalitySpec

GT_COMMIT = "4d84700370c2b2c6fd6e1c954fec80c769051a89"
SPLIT_DAYS = {"all": (1, 2, 3, 4), "train": (1, 2, 3), "test": (4,)}
DEPTH_RANGE_MM = (500.0, 6000.0)  # ceiling cameras: the room spans ~0.5-6 m


def _find_images_root(raw: Path) -> Path:
    """The folder holding ``day1/`` .. ``day4/`` inside the extracted archive."""
    for cand in sorted(raw.rglob("day1")):
        if cand.is_dir() and (cand / "cam1").is_dir():
            return cand.parent
    raise NativeFormatError(f"{raw}: no MVOR image folder (day1/cam1/...) found; was "
                            f"camma_mvor_dataset.zip extracted?")


def convert(raw: Path) -> dict[str, dict]:
    src = find_file(raw, "camma_mvor_2018.json")
    native = read_coco(src)
    try:
        images_root = _find_images_root(raw).relative_to(raw).as_posix()
    except NativeFormatError:
        images_root = None  # annotations only (e.g. evaluating predictions): paths stay native
    prefix = f"{images_root}/" if images_root not in (None, ".") else ""
    anns_by_image: dict = {}
    for ann in native["annotations"]:
        anns_by_image.setdefault(ann["image_id"], []).append(ann)
    out: dict[str, dict] = {}
    for split, days in SPLIT_DAYS.items():
        images, annotations = [], []
        for img in native["images"]:
            if img["day_id"] not in days:
                continue
            color = prefix + img["file_name"]
            if "/color/" not in color:
                raise NativeFormatError(f"{src}: image {img['id']}: file name "
                                        f"{img['file_name']!r} has no /color/ folder")
            images.append({"id": img["id"], "file_name": color, "width": img["width"],
                           "height": img["height"], "cam_id": img["cam_id"],
                           "day_id": img["day_id"],
                           "modality_paths": {"rgb": color,
                                              "depth": color.replace("/color/", "/depth/")}})
            for ann in anns_by_image.get(img["id"], []):
                kp = [float(v) for v in ann["keypoints"]]
                annotations.append({
                    "id": ann["id"], "image_id": ann["image_id"], "category_id": 1,
                    "iscrowd": 0, "bbox": [float(v) for v in ann["bbox"]],
                    "area": float(ann["bbox"][2] * ann["bbox"][3]),
                    "keypoints": kp, "num_keypoints": count_labelled(kp),
                    "only_bbox": int(ann["only_bbox"]), "person_id": ann.get("person_id"),
                    "person_role": ann.get("person_role"),
                    "face_blurred": ann.get("face_blurred")})
        out[split] = canonical_dict(MVOR10, images, annotations, source=str(src.name),
                                    split_days=list(days))
    return out


SPEC = DatasetSpec(
    name="mvor",
    layout=MVOR10,
    modalities={
        "rgb": ModalitySpec("rgb", "rgb", root="raw",
                            description="640x480 colour images of the ceiling cameras"),
        "depth": ModalitySpec("depth", "depth", root="raw", bit_depth=16, channels=1,
                              value_range=DEPTH_RANGE_MM,
                              description="640x480 16-bit depth (mm), registered to colour"),
        "depth_80x60": ModalitySpec("depth_80x60", "depth", root="processed/depth_80x60",
                                    bit_depth=16, channels=1, value_range=DEPTH_RANGE_MM,
                                    downsample=8, derived_from="depth",
                                    description="depth subsampled 8x to 80x60 (ORPose-Depth)"),
        "depth_64x48": ModalitySpec("depth_64x48", "depth", root="processed/depth_64x48",
                                    bit_depth=16, channels=1, value_range=DEPTH_RANGE_MM,
                                    downsample=10, derived_from="depth",
                                    description="depth subsampled 10x to 64x48 (ORPose-Depth)"),
    },
    splits=("train", "test", "all"),
    train_split="train",
    eval_split="test",
    eval_splits=("all",),
    protocol="mvor-pck",
    license="CC BY-NC-SA 4.0",
    citation="V. Srivastav, T. Issenhuth, A. Kadkhodamohammadi, M. de Mathelin, A. Gangi, "
             "N. Padoy. MVOR: A Multi-view RGB-D Operating Room Dataset for 2D and 3D Human "
             "Pose Estimation. MICCAI-LABELS 2018.",
    description="Operating-room RGB-D, 3 views, 10 upper-body joints, PCK@0.2",
    homepage="https://github.com/CAMMA-public/MVOR",
    sources=(
        Source("camma_mvor_2018.json",
               url=("https://raw.githubusercontent.com/CAMMA-public/MVOR/"
                    f"{GT_COMMIT}/annotations/camma_mvor_2018.json"),
               sha256="64f4270149ef1a738a881a764c4174264d051c2c2e4fd252f9c10fd5b377c0e0",
               size=3711320, description="2D/3D ground truth (repository file at a fixed "
                                         "commit: checksum known)"),
        Source("camma_mvor_dataset.zip",
               url="https://s3.unistra.fr/camma_public/datasets/mvor/camma_mvor_dataset.zip",
               extract=True, extract_to="images",
               description="colour + depth images (no published checksum: pinned on the first "
                           "verified download)"),
    ),
    converter=convert,
    expected_counts={"all": (2196, 4699)},
)
