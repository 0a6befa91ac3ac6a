"""MPII Human Pose: single-person-per-box pose in everyday activities, scored by PCKh.

Images: ``mpii_human_pose_v1.tar.gz``. Annotations: the community-standard JSON conversion
(``mpii_train.json`` / ``mpii_val.json``: ``image``, ``center``, ``scale``, ``joints``,
``joints_vis``, MATLAB 1-based pixels, as used by HRNet and MMPose) and, for validation,
``gt_valid.mat`` (Tompson et al.'s 2958-person split with head boxes) which is the ground truth
the reference PCKh evaluators read. The canonical form stores zero-based pixels (MAT/JSON
value - 1) and, on every validation annotation, ``head_box: [x1, y1, x2, y2]``, so that
evaluation needs no ``.mat``. Validation persons come from ``gt_valid.mat`` (joints, missing
flags, head boxes: the evaluator's exact inputs), paired in order with ``mpii_val.json`` for
the image names. Person boxes: MPII has none; the square of side ``200 * scale`` around
``center`` (MPII's own person scale) is written as ``bbox``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.datasets.canonical import canonical_dict, count_labelled
from benchmark.datasets.layouts import MPII16
from benchmark.datasets.native import (
    NativeFormatError,
    find_file,
    image_size,
    index_images,
    lookup,
    read_json,
)
from benchmark.datasets.sources import Source
from benchmark.datasets.spec import DatasetSpec, ModalitySpec

K = MPII16.num_keypoints



def mpii_mat_to_coco(mat_path: str | Path) -> dict:
    """MPII's ``gt_valid.mat`` (MATLAB 1-based pixels) -> mpbench's canonical COCO-style dict.

    Person ``i`` of the file becomes image and annotation ``i + 1`` (the file names no images).
    Joints and head boxes are shifted to zero-based pixels; a joint flagged ``jnt_missing`` is
    written as ``(0, 0, 0)``, every other joint with visibility 2, *including* joints stored at
    (0, 0) but not flagged missing (they count in HRNet's denominator).
    """
    from scipy.io import loadmat  # scipy is imported only where needed (start-up time)

    mat = loadmat(str(mat_path))
    missing = np.asarray(mat["jnt_missing"], dtype=bool)  # (16, N)
    pos = np.asarray(mat["pos_gt_src"], dtype=np.float64) - 1.0  # (16, 2, N)
    head = np.asarray(mat["headboxes_src"], dtype=np.float64) - 1.0  # (corner, xy, N)
    k, n = missing.shape
    if k != MPII16.num_keypoints:
        raise NativeFormatError(f"{mat_path}: expected {MPII16.num_keypoints} joints, got {k}")
    images, annotations = [], []
    for i in range(n):
        kp = np.concatenate([pos[:, :, i], np.full((k, 1), 2.0)], axis=1)
        kp[missing[:, i]] = 0.0
        images.append({"id": i + 1, "file_name": "", "mat_index": i})
        annotations.append({
            "id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
            "keypoints": kp.ravel().tolist(), "num_keypoints": int((~missing[:, i]).sum()),
            "head_box": [float(head[0, 0, i]), float(head[0, 1, i]),
                         float(head[1, 0, i]), float(head[1, 1, i])]})
    return {"images": images, "annotations": annotations,
            "categories": [MPII16.coco_category(1)]}


def _records(path: Path) -> list[dict]:
    data = read_json(path)
    if not isinstance(data, list) or not all(isinstance(r, dict) and "image" in r
                                             for r in data):
        raise NativeFormatError(f"{path}: expected a list of MPII records with 'image', "
                                f"'center', 'scale', 'joints', 'joints_vis'")
    return data


def _person_box(rec: dict) -> list[float]:
    cx, cy = (float(v) - 1.0 for v in rec["center"])
    side = 200.0 * float(rec["scale"])
    return [cx - side / 2, cy - side / 2, side, side]


def convert_records(records: list[dict], source: Path, raw: Path, index: dict[str, str],
                    gt_mat: Path | None = None) -> dict:
    """MPII JSON records (+ optional ``gt_valid.mat`` in the same person order) -> canonical."""
    mat = None
    if gt_mat is not None:
        mat = mpii_mat_to_coco(gt_mat)["annotations"]
        if len(mat) != len(records):
            raise NativeFormatError(f"{gt_mat}: {len(mat)} persons, but {source} has "
                                    f"{len(records)}; they must be the same split")
    image_ids: dict[str, int] = {}
    images, annotations = [], []
    for i, rec in enumerate(records):
        name = rec["image"]
        if name not in image_ids:
            rel = lookup(index, name, source, f"record {i}")
            width, height = image_size(raw / rel)
            image_ids[name] = len(image_ids) + 1
            images.append({"id": image_ids[name], "file_name": rel, "width": width,
                           "height": height, "modality_paths": {"rgb": rel}})
        if mat is not None:
            kp = [float(v) for v in mat[i]["keypoints"]]
            extra = {"head_box": mat[i]["head_box"], "mat_index": i}
        else:
            joints = np.asarray(rec["joints"], dtype=float).reshape(K, 2) - 1.0
            vis = np.asarray(rec["joints_vis"], dtype=float).reshape(K) > 0
            kp_arr = np.column_stack([joints, np.full(K, 2.0)])
            kp_arr[~vis] = 0.0
            kp = kp_arr.ravel().tolist()
            extra = {}
        annotations.append({"id": i + 1, "image_id": image_ids[name], "category_id": 1,
                            "iscrowd": 0, "bbox": _person_box(rec),
                            "center": [float(v) - 1.0 for v in rec["center"]],
                            "scale": float(rec["scale"]), "keypoints": kp,
                            "num_keypoints": count_labelled(kp), **extra})
    return canonical_dict(MPII16, images, annotations, source=source.name)


def convert(raw: Path) -> dict[str, dict]:
    index = index_images(raw)
    train = find_file(raw, "mpii_train.json")
    val = find_file(raw, "mpii_val.json")
    return {"train": convert_records(_records(train), train, raw, index),
            "val": convert_records(_records(val), val, raw, index,
                                   gt_mat=find_file(raw, "gt_valid.mat"))}


_ANN = ("MPII annotations in the HRNet/MMPose JSON form and gt_valid.mat: download them from "
        "the HRNet data release (deep-high-resolution-net.pytorch, data/mpii/annot/) or "
        "MMPose's dataset preparation page (mpii_annotations). ")

SPEC = DatasetSpec(
    name="mpii",
    layout=MPII16,
    modalities={"rgb": ModalitySpec("rgb", "rgb", root="raw", description="photographs")},
    splits=("train", "val"),
    train_split="train",
    eval_split="val",
    protocol="mpii-pckh",
    license="MPII Human Pose: Simplified BSD (annotations); images from YouTube, research use",
    citation="M. Andriluka, L. Pishchulin, P. Gehler, B. Schiele. 2D Human Pose Estimation: "
             "New Benchmark and State of the Art Analysis. CVPR 2014.",
    description="MPII single-person poses, 16 joints, PCKh@0.5 on the 2958-person val split",
    homepage="http://human-pose.mpi-inf.mpg.de",
    sources=(
        Source("mpii_human_pose_v1.tar.gz",
               url="https://datasets.d2.mpi-inf.mpg.de/andriluka14cvpr/"
                   "mpii_human_pose_v1.tar.gz",
               extract=True, extract_to="images",
               description="images (no published sha256: pinned on first download)"),
        Source("mpii_train.json", manual=_ANN),
        Source("mpii_val.json", manual=_ANN),
        Source("gt_valid.mat", manual=_ANN + "(HRNet's gt_valid.mat = MMPose's "
                                            "mpii_gt_val.mat; rename to gt_valid.mat)"),
    ),
    converter=convert,
    expected_counts={"val": (None, 2958)},
)
