"""COCO person keypoints 2017: the RGB reference and the source of LLVIP-Pose's augmentations.

The derived modalities are the training variants the LLVIP-Pose study used to make an RGB model
robust for thermal input, precomputed (deterministically per image) so that they are cached
and comparable across runs: ``gray``; ``gray_p50`` (a seeded half of the images gray, the
rest unchanged, i.e. grayscale with p = 0.5); ``hsv_gray_invert`` (HSV jitter -> gray ->
invert, which makes warm-bright skin resemble thermal polarity); ``hsv_invert`` (HSV jitter
-> invert). ``lowlight`` is the synthetic low-light ladder (LL-N/H/E-like levels cycling over
the images, parameters in :mod:`benchmark.modalities.lowlight`).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import COCO17
from benchmark.datasets.native import find_file, index_images, lookup, read_coco
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, ModalitySpec, ReleasedDetections

ZIPS = "http://images.cocodataset.org/zips/"
SPLIT_FILES = {"train": "person_keypoints_train2017.json",
               "val": "person_keypoints_val2017.json"}


def convert_split(native: dict, source: Path, index: dict[str, str]) -> dict:
    images = []
    for img in native["images"]:
        rel = lookup(index, img["file_name"], source, f"image {img['id']}")
        images.append({"id": img["id"], "file_name": rel, "width": int(img["width"]),
                       "height": int(img["height"]), "modality_paths": {"rgb": rel}})
    annotations = []
    for ann in native["annotations"]:
        kp = [float(v) for v in ann["keypoints"]]
        annotations.append({"id": ann["id"], "image_id": ann["image_id"], "category_id": 1,
                            "iscrowd": int(ann.get("iscrowd", 0)),
                            "bbox": [float(v) for v in ann["bbox"]],
                            "area": float(ann["area"]), "keypoints": kp,
                            "num_keypoints": count_labelled(kp)})
    return canonical_dict(COCO17, images, annotations, source=source.name)


def convert(raw: Path) -> dict[str, dict]:
    index = index_images(raw)
    return {split: convert_split(read_coco(src := find_file(raw, name)), src, index)
            for split, name in SPLIT_FILES.items()}


def _variant(name: str, description: str) -> ModalitySpec:
    return ModalitySpec(name, "augment", root=f"processed/{name}", derived_from="rgb",
                        params={"variant": name}, description=description)


SPEC = DatasetSpec(
    name="coco",
    layout=COCO17,
    modalities={
        "rgb": ModalitySpec("rgb", "rgb", root="raw", description="COCO photographs"),
        "gray": _variant("gray", "grayscale (3 equal channels)"),
        "gray_p50": _variant("gray_p50", "grayscale for a seeded half of the images"),
        "hsv_gray_invert": _variant("hsv_gray_invert", "HSV jitter, grayscale, inverted"),
        "hsv_invert": _variant("hsv_invert", "HSV jitter, inverted"),
        "lowlight": ModalitySpec("lowlight", "lowlight", root="processed/lowlight",
                                 derived_from="rgb",
                                 description="synthetic low light, LL-N/H/E-like ladder"),
    },
    splits=("train", "val"),
    train_split="train",
    eval_split="val",
    protocol="coco",
    license="annotations CC BY 4.0; images: Flickr terms of use",
    citation="T.-Y. Lin et al. Microsoft COCO: Common Objects in Context. ECCV 2014.",
    description="COCO 2017 person keypoints (RGB), with gray/augmented/low-light variants",
    homepage="https://cocodataset.org",
    sources=(
        Source("annotations_trainval2017.zip",
               url="http://images.cocodataset.org/annotations/annotations_trainval2017.zip",
               extract=True, extract_to="annotations_trainval2017",
               description="no published sha256: pinned on the first verified download"),
        Source("val2017.zip", url=ZIPS + "val2017.zip", extract=True, extract_to="images",
               description="5000 images, no published sha256: pinned on first download"),
        Source("train2017.zip", url=ZIPS + "train2017.zip", extract=True, extract_to="images",
               description="118287 images, no published sha256: pinned on first download"),
        Source("COCO_val2017_detections_AP_H_56_person.json",
               manual="Person detections of the HRNet release (AP_H 56): download "
                      "COCO_val2017_detections_AP_H_56_person.json from the HRNet "
                      "(deep-high-resolution-net.pytorch) data release on Google Drive / "
                      "OneDrive, under person_detection_results/."),
    ),
    converter=convert,
    # HRNet's person boxes (AP_H 56), the boxes COCO top-down results are reported with; the
    # derived modalities keep COCO's image ids, so the same boxes serve them.
    released_detections=(
        ReleasedDetections("hrnet_ap56", "val", "COCO_val2017_detections_AP_H_56_person.json",
                           ("rgb", "gray", "gray_p50", "hsv_gray_invert", "hsv_invert",
                            "lowlight")),),
    expected_counts={"val": (5000, 11004)},
)
