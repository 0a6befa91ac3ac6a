"""How a model's joints meet another dataset's protocol (cross-dataset scores)."""

from __future__ import annotations

import json

import pytest

from benchmark.datasets.layouts import COCO17, CROWDPOSE14, MPII16, MVOR10, POSETRACK17
from benchmark.models.transfer import TransferScoring


def test_mvor_takes_coco_predictions_as_they_are() -> None:
    t = TransferScoring(COCO17, MVOR10, "mvor-pck")
    assert t.native and t.layout is MVOR10 and t.joints == MVOR10.keypoints


def test_oks_protocols_score_the_shared_joints_with_their_sigmas(tmp_path) -> None:
    t = TransferScoring(COCO17, POSETRACK17, "coco")
    assert not t.native and t.layout.num_keypoints == 13
    assert t.joints == ("nose", *POSETRACK17.keypoints[5:])
    gt = {"images": [{"id": 1}], "categories": [POSETRACK17.coco_category()],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "num_keypoints": 17,
                           "keypoints": [float(v) for j in range(17) for v in (j, j, 2)]}]}
    pred = [{"image_id": 1, "category_id": 1, "score": 1.0,
             "keypoints": [float(v) for j in range(17) for v in (10 + j, j, 0.5)]}]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "p.json").write_text(json.dumps(pred))
    gt_file, pred_file, layout, sigmas = t.prepare(tmp_path / "gt.json", tmp_path / "p.json",
                                                   tmp_path, "x")
    assert layout is None and len(sigmas) == 13
    g = json.loads(gt_file.read_text())["annotations"][0]
    p = json.loads(pred_file.read_text())[0]
    # nose stays joint 0; POSETRACK's head_bottom/head_top/ears are dropped on both sides
    assert g["keypoints"][:3] == [0.0, 0.0, 2.0] and g["keypoints"][3:6] == [5.0, 5.0, 2.0]
    assert p["keypoints"][3:6] == [15.0, 5.0, 0.5] and g["num_keypoints"] == 13


def test_pck_protocols_keep_their_layout_with_unshared_joints_unlabelled(tmp_path) -> None:
    t = TransferScoring(CROWDPOSE14, MPII16, "mpii-pckh")
    assert t.layout is MPII16 and len(t.joints) == 12  # the limbs; head/neck are CrowdPose's
    gt = {"images": [{"id": 1}], "categories": [MPII16.coco_category()],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "num_keypoints": 16,
                           "head_box": [0, 0, 10, 10],
                           "keypoints": [float(v) for j in range(16) for v in (j, j, 2)]}]}
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "p.json").write_text(json.dumps([{"image_id": 1, "category_id": 1, "score": 1,
                                                  "keypoints": [1.0] * 42}]))
    gt_file, _, _, sigmas = t.prepare(tmp_path / "gt.json", tmp_path / "p.json", tmp_path, "x")
    ann = json.loads(gt_file.read_text())["annotations"][0]
    labelled = [MPII16.keypoints[j] for j in range(16) if ann["keypoints"][3 * j + 2] > 0]
    assert sorted(labelled) == sorted(t.joints) and ann["head_box"] == [0, 0, 10, 10]
    assert len(sigmas) == 16


def test_mvor_refuses_a_layout_it_would_score_as_missing_joints(tmp_path) -> None:
    t = TransferScoring(CROWDPOSE14, MVOR10, "mvor-pck")
    with pytest.raises(ValueError, match="mvor-pck scores MVOR-10 or COCO-17 predictions"):
        t.prepare(tmp_path / "gt.json", tmp_path / "p.json", tmp_path, "x")
