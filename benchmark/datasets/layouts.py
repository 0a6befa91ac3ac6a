"""Keypoint layouts: the single source of truth for keypoint names, order, OKS sigmas,
flip pairs, skeleton links and joint weights.

Every consumer (MMPose metainfo, evaluation sigmas, annotation QA, format converters) reads
these objects; nothing else in the repository spells a sigma or a flip pair out again.

The same holds for relations between layouts: which joint of one layout is which joint of
another (:func:`correspondence`, by name) and which spellings of a joint name denote the same
joint (:func:`canonical_joint_name`) are decided here, once, for the evaluation protocols, the
converters and the cross-dataset cells alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    #: Joints that no other layout shares even under the same name: their definition is the
    #: dataset's own (CrowdPose's ``head`` is the top of the head, MVOR's the face) or they are
    #: never annotated (PoseTrack's ears). :func:`correspondence` leaves them out.
    local_joints: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(set(self.keypoints)) != k:
            raise ValueError(f"layout {self.name}: duplicate keypoint names")
        if len(self.sigmas) != k or len(self.joint_weights) != k:
            raise ValueError(f"layout {self.name}: sigmas/joint_weights must have {k} entries")
        for a, b in (*self.flip_pairs, *self.skeleton):
            if a not in self.keypoints or b not in self.keypoints:
                raise ValueError(f"layout {self.name}: unknown keypoint in pair ({a}, {b})")
        if not self.local_joints <= set(self.keypoints):
            raise ValueError(f"layout {self.name}: unknown local joints")

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
    local_joints=frozenset({"left_ear", "right_ear"}),  # never annotated
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
    local_joints=frozenset({"head", "neck"}),  # top of the head; CrowdPose's own neck
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
    # the face and MVOR's own neck (COCO-17 reaches them only through mvor-pck's rule)
    local_joints=frozenset({"head", "neck"}),
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


# ------------------------------------------------------------------ joint names


#: Side words of joint names, as datasets spell them.
_SIDES = {"r": "right", "rt": "right", "right": "right", "l": "left", "lt": "left",
          "left": "left"}
#: The joints that come in left/right pairs, without the side ("ankle", "eye", ...); a name
#: such as ``rankle`` is read as ``right_ankle`` only for these.
_SIDED = frozenset(n.split("_", 1)[1] for lay in LAYOUTS.values() for n in lay.keypoints
                   if n.startswith(("left_", "right_")))


def canonical_joint_name(name: str) -> str:
    """The layouts' spelling of a joint name as ground-truth files write it.

    Files name the same joint ``right_ankle``, ``r_ankle``, ``r ankle`` (MPII's own
    abbreviations), ``R-Ankle``, ``RightAnkle``, ``rankle`` or ``ankle_r``; comparing them
    exactly would refuse good files, while a table of aliases would miss the next spelling.
    The rules: case and camelCase are ignored, ``_``, space, ``-`` and ``.`` separate words,
    ``r``/``rt``/``right`` and ``l``/``lt``/``left`` (first or last word) are the side, and a
    single word is split into side and joint only when the rest is a paired joint
    (``rankle``, ``lwrist``). Anything else is left as it is, so different joints stay different.
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    words = [w for w in re.split(r"[\s_.\-]+", spaced.lower()) if w]
    if len(words) > 1 and words[-1] in _SIDES and words[0] not in _SIDES:
        words = [words[-1], *words[:-1]]  # ankle_r
    if len(words) > 1 and words[0] in _SIDES:
        words[0] = _SIDES[words[0]]
    elif len(words) == 1 and words[0][:1] in ("r", "l") and words[0][1:] in _SIDED:
        words = [_SIDES[words[0][0]], words[0][1:]]  # rankle
    return "_".join(words)


def joint_name_differences(names: Sequence[str], layout: KeypointLayout
                           ) -> list[tuple[int, str, str]]:
    """``(position, expected, got)`` wherever ``names`` (a ground truth's) and the layout's
    joints differ after :func:`canonical_joint_name`; ``""`` stands for a missing name. Empty
    when they are the same joints in the same order."""
    out = []
    for i in range(max(len(names), layout.num_keypoints)):
        expected = layout.keypoints[i] if i < layout.num_keypoints else ""
        got = str(names[i]) if i < len(names) else ""
        if canonical_joint_name(got) != expected:
            out.append((i, expected, got))
    return out


def describe_name_differences(differences: Sequence[tuple[int, str, str]],
                              limit: int = 8) -> str:
    """``position 0: expected 'right_ankle', got 'l ankle'; ...`` (the first ``limit``)."""
    parts = [f"position {i}: expected {e or '(nothing)'!r}, got {g or '(nothing)'!r}"
             for i, e, g in differences[:limit]]
    if len(differences) > limit:
        parts.append(f"and {len(differences) - limit} more")
    return "; ".join(parts)


def layout_of_names(names: Sequence[str] | None) -> KeypointLayout | None:
    """The layout whose joints ``names`` lists, in order (spellings normalised), if any."""
    if not names:
        return None
    return next((lay for lay in LAYOUTS.values() if not joint_name_differences(names, lay)),
                None)


# ------------------------------------------------------------------ correspondences


def correspondence(source: KeypointLayout, target: KeypointLayout) -> tuple[int, ...]:
    """For each joint of ``target``, the index of the same joint in ``source``, -1 where
    ``source`` has no such joint.

    Joints correspond by name: the layouts spell names canonically, so e.g. COCO-17 ->
    PoseTrack17 / LLVIP-Pose gives the nose and the 12 limb joints, COCO-17 -> CrowdPose14 and
    MPII16 -> COCO-17 the 12 limb joints, MPII16 -> PoseTrack17 those and ``head_top``. A
    layout's :attr:`~KeypointLayout.local_joints` never correspond, except to themselves
    (a layout onto itself, or onto a layout with the same joint list, is the identity).
    """
    if source.keypoints == target.keypoints:
        return tuple(range(target.num_keypoints))
    index = {n: i for i, n in enumerate(source.keypoints) if n not in source.local_joints}
    return tuple(-1 if n in target.local_joints else index.get(n, -1)
                 for n in target.keypoints)


def shared_joints(source: KeypointLayout, target: KeypointLayout) -> tuple[str, ...]:
    """The joints of ``target`` that ``source`` also has (:func:`correspondence`), in
    ``target``'s order."""
    return tuple(n for n, i in zip(target.keypoints, correspondence(source, target)) if i >= 0)


def sub_layout(layout: KeypointLayout, joints: Sequence[str], name: str | None = None
               ) -> KeypointLayout:
    """``layout`` restricted to ``joints`` (kept in the layout's order), with their sigmas,
    weights, and the flip pairs and links whose two ends remain.

    What a cross-dataset cell is scored on: e.g. LLVIP-Pose's 13 joints that a COCO-trained
    model predicts, with PoseTrack's sigmas for them (:func:`shared_layout`).
    """
    unknown = set(joints) - set(layout.keypoints)
    if unknown:
        raise ValueError(f"layout {layout.name} has no joints {sorted(unknown)}")
    keep = [i for i, n in enumerate(layout.keypoints) if n in set(joints)]
    names = tuple(layout.keypoints[i] for i in keep)
    kept = set(names)
    return KeypointLayout(
        name=name or f"{layout.name}[{','.join(names)}]", keypoints=names,
        sigmas=tuple(layout.sigmas[i] for i in keep),
        flip_pairs=tuple(p for p in layout.flip_pairs if set(p) <= kept),
        skeleton=tuple(p for p in layout.skeleton if set(p) <= kept),
        joint_weights=tuple(layout.joint_weights[i] for i in keep),
        upper_body=layout.upper_body & kept, local_joints=layout.local_joints & kept)


def shared_layout(source: KeypointLayout, target: KeypointLayout) -> KeypointLayout:
    """``target`` restricted to the joints ``source`` shares with it, named
    ``"<target>&<source>"`` (e.g. ``posetrack17&coco17``, 13 joints)."""
    return sub_layout(target, shared_joints(source, target), f"{target.name}&{source.name}")
