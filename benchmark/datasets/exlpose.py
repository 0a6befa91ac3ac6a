"""ExLPose: human pose under extremely low light (Lee et al., CVPR 2023, POSTECH).

Paired captures: a beam splitter records each instant with a well-lit camera (``bright/``) and
a low-light camera (``dark/``). 14 keypoints in CrowdPose order, visibility 0 or 2, no area
field; scored with CrowdPose-style AP (``crowdpose``).

Pairing: the two files of one instant have different names (the gain value differs), and
``brightPath2darkPath.txt`` is the only correct map. Each line holds a bright path and a dark
path (whitespace- or comma-separated); mpbench matches them by file name.

Splits: ``train`` (LL annotations with their well-lit partners), the low-light test sets
``test_ll_n/h/e`` (normal, hard, extreme) and ``test_ll_a`` (all three), and the ExLPose-OC
sets ``test_ocn_a7m3`` / ``test_ocn_ricoh3`` (other cameras, low light only). The WL (well-lit)
test is the ``rgb`` modality of ``test_ll_a``: the well-lit partners of the LL-A images, scored
with the LL-A annotations, exactly as ExLPose defines it.
"""

from __future__ import annotations

import re
from pathlib import Path

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import CROWDPOSE14
from benchmark.datasets.native import (
    NativeFormatError,
    find_file,
    index_images,
    lookup,
    read_coco,
)
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, EvalSet, ModalitySpec

SPLIT_FILES = {
    "train": "ExLPose_train_LL.json",
    "test_ll_n": "ExLPose_test_LL-N.json",
    "test_ll_h": "ExLPose_test_LL-H.json",
    "test_ll_e": "ExLPose_test_LL-E.json",
    "test_ll_a": "ExLPose_test_LL-A.json",
    "test_ocn_a7m3": "ExLPose-OC_test_A7M3.json",
    "test_ocn_ricoh3": "ExLPose-OC_test_RICOH3.json",
}
PAIRS_FILE = "brightPath2darkPath.txt"
#: Splits whose images have well-lit partners (the OC sets were captured without them).
PAIRED = ("train", "test_ll_n", "test_ll_h", "test_ll_e", "test_ll_a")


def read_pairs(path: Path) -> dict[str, str]:
    """``{dark file name: bright file name}`` from ``brightPath2darkPath.txt``."""
    if not path.is_file():
        raise NativeFormatError(f"{path}: file not found")
    pairs: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        fields = [f for f in re.split(r"[\s,]+", line.strip()) if f]
        if not fields:
            continue
        if len(fields) != 2:
            raise NativeFormatError(f"{path}:{n}: expected '<bright path> <dark path>', "
                                    f"got {line!r}")
        bright, dark = (Path(f).name for f in fields)
        if pairs.get(dark, bright) != bright:
            raise NativeFormatError(f"{path}:{n}: dark image {dark} is paired twice")
        pairs[dark] = bright
    return pairs


def convert_split(native: dict, source: Path, index: dict[str, str],
                  pairs: dict[str, str] | None) -> dict:
    """One native ExLPose file -> canonical (``pairs`` None: low light only)."""
    images = []
    for img in native["images"]:
        dark = lookup(index, img["file_name"], source, f"image {img['id']}")
        paths = {"lowlight": dark}
        if pairs is not None:
            bright = pairs.get(Path(img["file_name"]).name)
            if bright is None:
                raise NativeFormatError(f"{source}: image {img['id']} ({img['file_name']}) has "
                                        f"no well-lit partner in {PAIRS_FILE}")
            paths["rgb"] = lookup(index, bright, source, f"the partner of image {img['id']}")
        images.append({"id": img["id"], "file_name": dark, "width": int(img["width"]),
                       "height": int(img["height"]), "crowdIndex": img.get("crowdIndex"),
                       "modality_paths": paths})
    annotations = []
    for ann in native["annotations"]:
        kp = [float(v) for v in ann["keypoints"]]
        annotations.append({"id": ann["id"], "image_id": ann["image_id"], "category_id": 1,
                            "iscrowd": int(ann.get("iscrowd", 0)),
                            "bbox": [float(v) for v in ann["bbox"]],
                            "keypoints": kp, "num_keypoints": count_labelled(kp)})
    return canonical_dict(CROWDPOSE14, images, annotations, source=source.name)


def convert(raw: Path) -> dict[str, dict]:
    index = index_images(raw)
    pairs = read_pairs(find_file(raw, PAIRS_FILE))
    out = {}
    for split, name in SPLIT_FILES.items():
        src = find_file(raw, name)
        out[split] = convert_split(read_coco(src), src, index,
                                   pairs if split in PAIRED else None)
    return out


_MANUAL = ("ExLPose is distributed from its project page "
           "(https://cg.postech.ac.kr/research/ExLPose/, download links after agreeing to the "
           "terms). ")

SPEC = DatasetSpec(
    name="exlpose",
    layout=CROWDPOSE14,
    modalities={
        "lowlight": ModalitySpec("lowlight", "lowlight", root="raw",
                                 description="real extremely low-light captures (dark/)"),
        "rgb": ModalitySpec("rgb", "rgb", root="raw", splits=PAIRED,
                            description="the well-lit partner of each low-light capture "
                                        "(bright/); the WL test"),
    },
    splits=tuple(SPLIT_FILES),
    train_split="train",
    eval_split="test_ll_a",
    eval_splits=("test_ll_n", "test_ll_h", "test_ll_e", "test_ocn_a7m3", "test_ocn_ricoh3"),
    # WL, as ExLPose's loader_eval_WL.py: the well-lit partners of the LL-A images, scored
    # with the LL-A annotations (for an rgb cell this is its own test_ll_a score).
    cross_eval=(EvalSet("test_wl", "test_ll_a", images="rgb"),),
    protocol="crowdpose",
    license="ExLPose terms of use (research only; see the project page)",
    citation="S. Lee, J. Rim, B. Jeong, G. Kim, B. Woo, H. Lee, S. Cho, S. Kwak. Human Pose "
             "Estimation in Extremely Low-Light Conditions. CVPR 2023.",
    description="Paired low-light / well-lit captures, 14 CrowdPose joints, CrowdPose AP",
    homepage="https://cg.postech.ac.kr/research/ExLPose/",
    sources=(
        Source("ExLPose.zip", extract=True, extract_to="ExLPose",
               manual=_MANUAL + "Download the ExLPose archive (bright/, dark/, the annotation "
                                "JSON files and brightPath2darkPath.txt). If it comes as several "
                                "files, zip them into one ExLPose.zip with that content."),
        Source("ExLPose-OC.zip", extract=True, extract_to="ExLPose-OC",
               manual=_MANUAL + "Download ExLPose-OC (A7M3 and RICOH3 images and "
                                "ExLPose-OC_test_{A7M3,RICOH3}.json) as one ExLPose-OC.zip."),
    ),
    converter=convert,
    expected_counts={"test_ll_n": (167, 1028), "test_ll_h": (169, 945),
                     "test_ll_e": (155, 837), "test_ll_a": (491, 2810),
                     "test_ocn_a7m3": (180, 466), "test_ocn_ricoh3": (180, 524)},
    manual_instructions=_MANUAL,
)
