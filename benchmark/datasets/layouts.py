"""Keypoint layouts: the single source of truth for keypoint names, order, OKS sigmas,
flip pairs, skeleton links and joint weights.

Every consumer (MMPose metainfo, evaluation sigmas, annotation QA, format converters) reads
these objects; nothing else in the repository spells a sigma or a flip pair out again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class KeypointLayout:
    """An ordered keypoint layout with everything needed to train, evaluate and QA it."""

    name: str
    keypoints: tuple[str, ...]
    sigmas: tuple[float, ...]
    flip_pairs: tuple[tuple[str, str], ...]
    skeleton: tuple[tuple[str, str], ...]
    joint_weights: tuple[float, ...]
    upper_body: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(set(self.keypoints)) != k:
            raise ValueError(f"layout {self.name}: duplicate keypoint names")
        if len(self.sigmas) != k or len(self.joint_weights) != k:
            raise ValueError(f"layout {self.name}: sigmas/joint_weights must have {k} entries")
        for a, b in (*self.flip_pairs, *self.skeleton):
            if a not in self.keypoints or b not in self.keypoints:
                raise ValueError(f"layout {self.name}: unknown keypoint in pair ({a}, {b})")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    @cached_property
    def index(self) -> dict[str, int]:
        """Keypoint name -> position in the layout."""
        return {n: i for i, n in enumerate(self.keypoints)}

    @cached_property
    def flip_index(self) -> tuple[int, ...]:
        """For each keypoint, the index of its mirror partner (itself when unpaired)."""
        idx = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            idx[self.index[a]], idx[self.index[b]] = self.index[b], self.index[a]
        return tuple(idx)

    @cached_property
    def flip_pair_indices(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.index[a], self.index[b]) for a, b in self.flip_pairs)

    @cached_property
    def skeleton_indices(self) -> tuple[tuple[int, int], ...]:
        return tuple((self.index[a], self.index[b]) for a, b in self.skeleton)

    def coco_category(self, category_id: int = 1) -> dict:
        """The COCO ``categories`` entry (skeleton is 1-based, as in COCO files)."""
        return {
            "id": category_id,
            "name": "person",
            "supercategory": "person",
            "keypoints": list(self.keypoints),
            "skeleton": [[a + 1, b + 1] for a, b in self.skeleton_indices],
        }

    def mmpose_metainfo(self, dataset_name: str) -> dict:
        """MMPose ``metainfo`` dict (the format of ``configs/_base_/datasets/*.py``)."""
        swap = {a: b for a, b in self.flip_pairs} | {b: a for a, b in self.flip_pairs}
        keypoint_info = {
            i: {
                "name": n,
                "id": i,
                "color": [255, 128, 0] if n.startswith("left") else
                         [0, 128, 255] if n.startswith("right") else [51, 153, 255],
                "type": "upper" if n in self.upper_body else "lower",
                "swap": swap.get(n, ""),
            }
            for i, n in enumerate(self.keypoints)
        }
        skeleton_info = {
            i: {"link": (a, b), "id": i, "color": [0, 255, 0]}
            for i, (a, b) in enumerate(self.skeleton)
        }
        return {
            "dataset_name": dataset_name,
            "keypoint_info": keypoint_info,
            "skeleton_info": skeleton_info,
            "joint_weights": list(self.joint_weights),
            "sigmas": list(self.sigmas),
        }


def _lr(*names: str) -> tuple[str, ...]:
    return tuple(f"{side}_{n}" for n in names for side in ("left", "right"))


_LIMBS = _lr("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
_LIMB_PAIRS = tuple((f"left_{n}", f"right_{n}") for n in
                    ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))
def _tenth(*values: float) -> tuple[float, ...]:
    """Sigmas written as pycocotools does (``np.array([.26, ...]) / 10.0``), so that the
    floats are bit-identical to the reference evaluators'."""
    return tuple(v / 10.0 for v in values)


_LIMB_SIGMAS = _tenth(.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89)
_LIMB_WEIGHTS = (1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5)
_LIMB_LINKS = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"),
    ("right_ankle", "right_knee"), ("right_knee", "right_hip"),
    ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
    ("right_elbow", "right_wrist"),
)
_UPPER = frozenset({"nose", "left_eye", "right_eye", "left_ear", "right_ear", "head_bottom",
                    "head_top", "neck", "head", *_lr("shoulder", "elbow", "wrist")})

#: COCO person keypoints (17), pycocotools' sigmas, mmpose's joint weights.
COCO17 = KeypointLayout(
    name="coco17",
    keypoints=("nose", "left_eye", "right_eye", "left_ear", "right_ear", *_LIMBS),
    sigmas=(*_tenth(.26, .25, .25, .35, .35), *_LIMB_SIGMAS),
    flip_pairs=(("left_eye", "right_eye"), ("left_ear", "right_ear"), *_LIMB_PAIRS),
    skeleton=(*_LIMB_LINKS, ("left_eye", "right_eye"), ("nose", "left_eye"),
              ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
              ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder")),
    joint_weights=(1.0, 1.0, 1.0, 1.0, 1.0, *_LIMB_WEIGHTS),
    upper_body=_UPPER,
)

#: PoseTrack18 (and LLVIP-Pose): COCO order with head_bottom/head_top in the eyes' slots;
#: the ears are present in the layout but never annotated.
POSETRACK17 = KeypointLayout(
    name="posetrack17",
    keypoints=("nose", "head_bottom", "head_top", "left_ear", "right_ear", *_LIMBS),
    sigmas=(*_tenth(.26, .25, .25, .35, .35), *_LIMB_SIGMAS),
    flip_pairs=(("left_ear", "right_ear"), *_LIMB_PAIRS),
    skeleton=(*_LIMB_LINKS, ("nose", "head_bottom"), ("nose", "head_top"),
              ("head_bottom", "left_shoulder"), ("head_bottom", "right_shoulder")),
    joint_weights=(1.0, 1.0, 1.0, 1.0, 1.0, *_LIMB_WEIGHTS),
    upper_body=_UPPER,
)

#: CrowdPose / ExLPose (14): limbs first, then head (top of the head) and neck, named as in
#: the CrowdPose/ExLPose annotation files.
CROWDPOSE14 = KeypointLayout(
    name="crowdpose14",
    keypoints=(*_LIMBS, "head", "neck"),
    sigmas=(*_LIMB_SIGMAS, *_tenth(.79, .79)),
    flip_pairs=_LIMB_PAIRS,
    skeleton=(*_LIMB_LINKS, ("head", "neck"), ("right_shoulder", "neck"),
              ("left_shoulder", "neck")),
    joint_weights=(*_LIMB_WEIGHTS, 1.0, 1.0),
    upper_body=_UPPER,
)

#: MVOR (10 upper-body joints), order of ``camma_mvor_2018.json``.
MVOR10 = KeypointLayout(
    name="mvor10",
    keypoints=("head", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip",
               "left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    # MVOR is scored with PCK, not OKS; COCO's sigmas for the shared joints (head ~ nose,
    # neck ~ shoulders) only serve QA and optional OKS diagnostics.
    sigmas=(0.026, 0.079, 0.079, 0.079, 0.107, 0.107, 0.072, 0.072, 0.062, 0.062),
    flip_pairs=(("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
                ("left_elbow", "right_elbow"), ("left_wrist", "right_wrist")),
    skeleton=(("head", "neck"), ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"),
              ("right_shoulder", "right_hip"), ("right_elbow", "right_wrist"),
              ("neck", "left_shoulder"), ("left_shoulder", "left_hip"),
              ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
              ("left_hip", "right_hip")),
    joint_weights=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5),
    upper_body=_UPPER,
)

#: MPII (16), the order of MPII's ``joints`` / ``gt_valid.mat``.
MPII16 = KeypointLayout(
    name="mpii16",
    keypoints=("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
               "pelvis", "thorax", "upper_neck", "head_top", "right_wrist", "right_elbow",
               "right_shoulder", "left_shoulder", "left_elbow", "left_wrist"),
    # mmpose's mpii.py sigmas (used only for OKS-style diagnostics; MPII is scored by PCKh).
    sigmas=(0.089, 0.083, 0.107, 0.107, 0.083, 0.089, 0.026, 0.026, 0.026, 0.026, 0.062,
            0.072, 0.179, 0.179, 0.072, 0.062),
    flip_pairs=(("right_ankle", "left_ankle"), ("right_knee", "left_knee"),
                ("right_hip", "left_hip"), ("right_wrist", "left_wrist"),
                ("right_elbow", "left_elbow"), ("right_shoulder", "left_shoulder")),
    skeleton=(("right_ankle", "right_knee"), ("right_knee", "right_hip"),
              ("right_hip", "pelvis"), ("pelvis", "left_hip"), ("left_hip", "left_knee"),
              ("left_knee", "left_ankle"), ("pelvis", "thorax"), ("thorax", "upper_neck"),
              ("upper_neck", "head_top"), ("upper_neck", "right_shoulder"),
              ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
              ("upper_neck", "left_shoulder"), ("left_shoulder", "left_elbow"),
              ("left_elbow", "left_wrist")),
    joint_weights=(1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.2, 1.0, 1.0, 1.2,
                   1.5),
    upper_body=_UPPER | {"thorax", "upper_neck"},
)

LAYOUTS: dict[str, KeypointLayout] = {
    lay.name: lay for lay in (COCO17, POSETRACK17, CROWDPOSE14, MVOR10, MPII16)
}


def get_layout(name: str) -> KeypointLayout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown keypoint layout {name!r}; known: {sorted(LAYOUTS)}") from None
