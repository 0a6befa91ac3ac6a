"""The part-affinity-field codec round-trips known skeletons (encode, then OpenPose's greedy
decoding finds the same people and joints)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmpose")

from benchmark.datasets.layouts import COCO17  # noqa: E402
from benchmark.models.ext.paf import PartAffinityFieldLabel  # noqa: E402

#: Two standing people (COCO-17 order) in a 256x256 image, far enough apart that no limb field
#: overlaps the other person's.
PERSON = 2 * np.array([[20, 10], [22, 8], [18, 8], [25, 9], [15, 9], [28, 20], [12, 20],
                       [31, 32], [9, 32], [32, 44], [8, 44], [25, 46], [15, 46], [26, 62],
                       [14, 62], [27, 78], [13, 78]], np.float32)
SIZE = 256


def _codec(stride: int) -> PartAffinityFieldLabel:
    return PartAffinityFieldLabel(input_size=(SIZE, SIZE),
                                  heatmap_size=(SIZE // stride, SIZE // stride),
                                  limbs=list(COCO17.skeleton_indices), sigma=2.0)


@pytest.mark.parametrize("stride", [1, 2])
def test_round_trip_finds_each_person_within_a_pixel(stride) -> None:
    people = np.stack([PERSON + [10, 20], PERSON + [130, 40]])
    codec = _codec(stride)
    enc = codec.encode(people, np.ones((2, 17)))
    assert enc["heatmaps"].shape == (17, SIZE // stride, SIZE // stride)
    assert enc["pafs"].shape == (2 * len(COCO17.skeleton), SIZE // stride, SIZE // stride)
    keypoints, scores = codec.decode(enc["heatmaps"], enc["pafs"])
    assert keypoints.shape == (2, 17, 2) and (scores > 0.5).all()
    order = np.argsort(keypoints[:, 0, 0])
    err = np.abs(keypoints[order] - people).max()
    assert err < 1.0, err


def test_fields_point_along_their_limbs() -> None:
    codec = _codec(1)
    enc = codec.encode((PERSON + [40, 20])[None], np.ones((1, 17)))
    li = list(COCO17.skeleton_indices).index((COCO17.index["left_knee"],
                                              COCO17.index["left_hip"]))
    a, b = (PERSON + [40, 20])[[COCO17.index["left_knee"], COCO17.index["left_hip"]]]
    mid = np.round((a + b) / 2).astype(int)
    u = (b - a) / np.linalg.norm(b - a)
    assert enc["pafs"][2 * li:2 * li + 2, mid[1], mid[0]] == pytest.approx(u, abs=1e-6)
    assert not enc["pafs"][2 * li:2 * li + 2, 5, 5].any()  # away from the limb


def test_weak_people_are_dropped() -> None:
    """Two joints of a person (fewer than 3 parts) are not a person."""
    codec = _codec(1)
    part = np.zeros((1, 17, 2), np.float32)
    vis = np.zeros((1, 17))
    part[0, [11, 13]] = [[80, 80], [84, 120]]  # left hip - left knee only
    vis[0, [11, 13]] = 1
    enc = codec.encode(part, vis)
    keypoints, _ = codec.decode(enc["heatmaps"], enc["pafs"])
    assert keypoints.shape[0] == 0
