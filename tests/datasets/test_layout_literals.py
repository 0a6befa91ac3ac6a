"""Every layout's OKS sigmas equal the published ones, read from the reference packages at test
time, and every dataset's generated MMPose metainfo file matches its spec.

The evaluation tests hand a layout's own sigmas to the reference evaluators, so they compare a
layout with itself: a mistyped sigma would pass them. These tests pin the numbers to the
sources the papers' numbers were computed with: pycocotools' ``COCOeval`` defaults (COCO),
MMPose's dataset configs (CrowdPose, ExLPose, MPII, PoseTrack18), and COCO's sigmas for the
joints MVOR shares with COCO (MVOR has no published sigmas; see ``MVOR10``).
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets import dataset_names, get_spec
from benchmark.datasets.layouts import (
    COCO17,
    CROWDPOSE14,
    LAYOUTS,
    MPII16,
    MVOR10,
    POSETRACK17,
    KeypointLayout,
)

REPO = Path(__file__).resolve().parents[2]
#: Absolute tolerance for sigmas MMPose writes as decimals (0.079) and the layouts as
#: pycocotools does (.79 / 10): they differ in the last bit only.
ULP = 1e-15


def _pycocotools_sigmas() -> np.ndarray:
    from pycocotools.cocoeval import Params

    return np.asarray(Params(iouType="keypoints").kpt_oks_sigmas)


def _mmpose_dataset_info(name: str) -> dict:
    """``dataset_info`` of MMPose's ``configs/_base_/datasets/<name>.py`` (installed copy)."""
    mmpose = pytest.importorskip("mmpose")
    path = Path(mmpose.__file__).parent / ".mim/configs/_base_/datasets" / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"MMPose's dataset config {path} is not installed")
    return runpy.run_path(str(path))["dataset_info"]


def test_coco_sigmas_are_pycocotools_defaults_bit_for_bit() -> None:
    """COCO's sigmas are pycocotools' ``kpt_oks_sigmas`` exactly (same float expression), and
    xtcocotools' defaults are the same numbers."""
    from xtcocotools.cocoeval import COCOeval as XtCOCOeval

    ref = _pycocotools_sigmas()
    assert np.array_equal(np.asarray(COCO17.sigmas), ref)
    xt = XtCOCOeval(iouType="keypoints").sigmas
    assert np.array_equal(np.asarray(xt), ref)


@pytest.mark.parametrize(("mmpose_name", "layout", "same_weights"), [
    ("coco", COCO17, True),
    ("crowdpose", CROWDPOSE14, False),
    ("exlpose", CROWDPOSE14, False),
    ("mpii", MPII16, True),
    ("posetrack18", POSETRACK17, True),
])
def test_sigmas_equal_mmpose_dataset_configs(mmpose_name: str, layout: KeypointLayout,
                                             same_weights: bool) -> None:
    info = _mmpose_dataset_info(mmpose_name)
    assert len(info["sigmas"]) == layout.num_keypoints
    assert np.allclose(layout.sigmas, info["sigmas"], rtol=0, atol=ULP), (
        mmpose_name, [(n, a, b) for n, a, b in zip(layout.keypoints, layout.sigmas,
                                                   info["sigmas"]) if abs(a - b) > ULP])
    names = [kp["name"] for kp in info["keypoint_info"].values()]
    if mmpose_name != "crowdpose":  # MMPose spells CrowdPose's head "top_head"
        assert names == list(layout.keypoints)
    if same_weights:  # MMPose's CrowdPose/ExLPose weights are its own training choice
        assert list(layout.joint_weights) == info["joint_weights"]


def test_mvor_sigmas_are_cocos_for_the_shared_joints() -> None:
    """MVOR has no published sigmas; its layout uses COCO's for the same joints, with the face
    (``head``) as COCO's nose and MVOR's neck as COCO's shoulders."""
    coco = dict(zip(COCO17.keypoints, _pycocotools_sigmas()))
    alias = {"head": "nose", "neck": "left_shoulder"}
    want = [coco[alias.get(n, n)] for n in MVOR10.keypoints]
    assert np.allclose(MVOR10.sigmas, want, rtol=0, atol=ULP)


def test_every_layout_is_pinned_above() -> None:
    """A new layout must get a published-sigma test too."""
    assert set(LAYOUTS) == {"coco17", "posetrack17", "crowdpose14", "mvor10", "mpii16"}


@pytest.mark.parametrize("name", dataset_names())
def test_committed_metainfo_file_matches_every_dataset_spec(name: str) -> None:
    """The generated ``configs/_base_/datasets/<name>.py`` (what training and testing read)
    equals what the spec renders, sigmas included, for every dataset, not only ``demo``."""
    from benchmark.models.metainfo import check

    info = runpy.run_path(str(check(name, REPO)))["dataset_info"]
    assert info["sigmas"] == list(get_spec(name).layout.sigmas)


def test_canonical_categories_are_the_person_category_1() -> None:
    """Canonical files carry one category, id 1 (``validate`` requires ``category_id == 1``
    on every annotation), with the layout's names and 1-based skeleton."""
    from benchmark.datasets.canonical import canonical_dict

    cats = canonical_dict(COCO17, [], [])["categories"]
    assert [c["id"] for c in cats] == [1]
    assert cats[0]["keypoints"] == list(COCO17.keypoints)
    assert min(i for link in cats[0]["skeleton"] for i in link) == 1
