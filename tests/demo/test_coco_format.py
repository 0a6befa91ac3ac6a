"""The files the generator writes: COCO keypoint JSON and aligned PNGs per modality."""

from __future__ import annotations

import cv2
import numpy as np

from benchmark.datasets.demo.generate import GENERATOR_VERSION, ID_OFFSETS, MODALITIES
from benchmark.datasets.layouts import COCO17
from tests.demo.helpers import GeometryDataset


def test_summary_matches_annotations(geometry_dataset: GeometryDataset) -> None:
    _, cocos = geometry_dataset
    for split, coco in cocos.items():
        anns = coco["annotations"]
        assert len(coco["images"]) == {"train": 24, "val": 4, "test": 4}[split]
        assert 1 <= len(anns) / len(coco["images"]) <= 3  # 1-3 people per image
        assert coco["categories"] == [COCO17.coco_category()]
        assert coco["info"]["seed"] == 3 and coco["info"]["version"] == GENERATOR_VERSION


def test_ids_unique_and_file_names_shared_across_modalities(
        geometry_dataset: GeometryDataset) -> None:
    root, cocos = geometry_dataset
    image_ids = [im["id"] for c in cocos.values() for im in c["images"]]
    ann_ids = [a["id"] for c in cocos.values() for a in c["annotations"]]
    assert len(set(image_ids)) == len(image_ids) and len(set(ann_ids)) == len(ann_ids)
    for split, coco in cocos.items():
        for k, im in enumerate(coco["images"]):
            assert im["id"] == ID_OFFSETS[split] + k
            assert im["file_name"] == f"{split}/{im['id']:06d}.png"
            assert im["modalities"] == {m: f"{m}/{im['file_name']}" for m in MODALITIES}
            for path in im["modalities"].values():
                assert (root / path).is_file()


def test_png_dtypes_and_channels(geometry_dataset: GeometryDataset) -> None:
    root, cocos = geometry_dataset
    im = cocos["val"]["images"][0]
    rgb = cv2.imread(str(root / im["modalities"]["rgb"]), cv2.IMREAD_UNCHANGED)
    thermal = cv2.imread(str(root / im["modalities"]["thermal"]), cv2.IMREAD_UNCHANGED)
    depth = cv2.imread(str(root / im["modalities"]["depth"]), cv2.IMREAD_UNCHANGED)
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert thermal.shape == (240, 320) and thermal.dtype == np.uint8
    assert depth.shape == (240, 320) and depth.dtype == np.uint16
    valid = depth[depth > 0]
    assert 0.8 < valid.size / depth.size < 1.0  # some, but not many, invalid pixels
    assert 500 <= valid.min() and valid.max() <= 8000  # millimetres, sensor range


def test_annotation_fields(geometry_dataset: GeometryDataset) -> None:
    _, cocos = geometry_dataset
    for coco in cocos.values():
        sizes = {im["id"]: (im["width"], im["height"]) for im in coco["images"]}
        for a in coco["annotations"]:
            assert a["image_id"] in sizes and a["category_id"] == 1 and a["iscrowd"] == 0
            kps = np.array(a["keypoints"], dtype=float).reshape(COCO17.num_keypoints, 3)
            assert set(np.unique(kps[:, 2])) <= {0, 1, 2}
            assert a["num_keypoints"] == int(np.count_nonzero(kps[:, 2] > 0))
            assert np.count_nonzero(kps[:, 2] == 2) >= 5
            assert a["area"] > 0 and len(a["bbox"]) == 4
