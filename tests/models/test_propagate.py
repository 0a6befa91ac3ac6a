"""Video pose propagation (benchmark.models.propagate): which frames are sources and targets,
and a composed PoseWarper cell propagating a labelled person of the real 5-frame PoseTrack18
clip to its neighbours, scored with posetrack-map like the reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402

from benchmark.models.propagate import plan  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.models.test_posewarper import (  # noqa: E402
    CLIP,
    CLIP_PERSON,
    POSETRACK,
    TINY_EXTRA,
    TINY_NECK,
    _clip,
)

torch.set_num_threads(1)


def _video(frames: list[int], video: str = "v1", first_id: int = 0) -> dict:
    images = [{"id": first_id + f, "file_name": f"images/val/{video}/{f:06d}.jpg",
               "vid_id": video} for f in frames]
    anns = [{"id": i["id"], "image_id": i["id"], "keypoints": [1, 1, 2] * 17}
            for i in images]
    return {"images": images, "annotations": anns}


def test_plan_takes_every_seventh_label_as_source_and_its_neighbours_as_targets() -> None:
    dense = _video(list(range(21)))  # 21 consecutive labelled frames
    pairs = plan(dense)
    assert sorted(set(pairs.values())) == [3, 10, 17]  # the sources (ids = frame numbers)
    assert sorted(pairs) == [f for f in range(21) if f not in (3, 10, 17)]
    assert pairs[7] == 10 and pairs[6] == 3 and pairs[0] == 3 and pairs[20] == 17
    # every 4th frame labelled (PoseTrack18's sparse val videos): no label within +-3 of a
    # source, so nothing to propagate to; and no pose (only boxes) is no label
    assert plan(_video(list(range(0, 120, 4)))) == {}
    boxes_only = _video(list(range(21)), "v2", 100)
    for a in boxes_only["annotations"]:
        a["keypoints"] = [0, 0, 0] * 17
    assert plan(boxes_only) == {}


#: The clip person's head box (for the PCKh normaliser), placed by hand around its head joints.
HEAD_BOX = [415.0, 275.0, 50.0, 60.0]


def _clip_split(real: Path, data_root: Path, shift_frame3: float) -> Path:
    """The posetrack18 ``val`` view: frames 1-3 of the real clip, each labelled with the
    hand-placed person of frame 2 (frame 3's labels moved right by ``shift_frame3`` px)."""
    from benchmark.datasets import get_spec

    _clip(real)
    spec = get_spec("posetrack18")
    raw = spec.image_root("rgb", data_root)
    raw.parent.mkdir(parents=True, exist_ok=True)
    if not raw.exists():
        raw.symlink_to(real / POSETRACK)
    images, anns = [], []
    for f in (1, 2, 3):
        name = f"{CLIP.relative_to(POSETRACK)}/{f:06d}.jpg"
        images.append({"id": f, "file_name": name, "width": 960, "height": 540,
                       "vid_id": "000001", "frame_id": f, "modality_paths": {"rgb": name}})
        kp = np.asarray(CLIP_PERSON["keypoints"], float).reshape(-1, 3)
        if f == 3:
            kp[kp[:, 2] > 0, 0] += shift_frame3
        anns.append({"id": f, "image_id": f, "category_id": 1, "iscrowd": 0, "track_id": 0,
                     "bbox": CLIP_PERSON["bbox"], "bbox_head": HEAD_BOX, "num_keypoints": 15,
                     "keypoints": [float(v) for v in kp.ravel()]})
    from benchmark.datasets.canonical import canonical_dict

    canonical = canonical_dict(spec.layout, images, anns, source="test clip")
    for split, variant in (("train", "qa"), ("val", "qa"), ("val", "official")):
        path = spec.modality_annotation_file(split, "rgb", data_root, variant=variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(canonical))
    return spec.modality_annotation_file("val", "rgb", data_root, variant="official")


@pytest.mark.parametrize("shift", [0.0, 80.0])
def test_untrained_posewarper_propagates_the_labels_unchanged(real_fixtures, tmp_path,
                                                              monkeypatch, shift) -> None:
    """A freshly initialised PoseWarper warps by zero offsets with identity kernels: frame 2's
    person arrives in frames 1 and 3 where it was labelled in frame 2. Scored against the
    targets' labels: perfect where they are frame 2's, every joint missed where frame 3's
    labels are 80 px away; equal to the poseval restatement either way."""
    from benchmark.cells import Cell
    from benchmark.evaluation import evaluate
    from benchmark.models.compose import compose
    from benchmark.models.propagate import propagate_split
    from tests.evaluation import references

    monkeypatch.chdir(REPO)
    gt_file = _clip_split(real_fixtures, tmp_path / "data", shift)
    cfg = compose(Cell("posetrack18", "rgb", "posewarper_hrnet_w48"),
                  data_root=tmp_path / "data", repo_root=REPO,
                  overrides={"pretrained_backbone": False, "input_size": (96, 128),
                             "cfg_options": {"model.backbone.extra": TINY_EXTRA,
                                             "model.neck": {k: v for k, v in TINY_NECK.items()
                                                            if k != "type"}}})
    work = tmp_path / "work"
    work.mkdir()
    cfg.dump(str(work / "config.py"))
    done = propagate_split(work, None, gt_file, tmp_path / "prop.json", tmp_path / "gt.json",
                           every=3, max_offset=3)
    assert done is not None
    preds = json.loads((tmp_path / "prop.json").read_text())
    gt = json.loads((tmp_path / "gt.json").read_text())
    assert sorted(p["image_id"] for p in preds) == [1, 3]  # frame 2 is the source
    assert sorted(i["id"] for i in gt["images"]) == [1, 3]
    assert all(p["track_id"] == 0 for p in preds)
    source = np.asarray(CLIP_PERSON["keypoints"], float).reshape(-1, 3)
    for p in preds:
        kp = np.asarray(p["keypoints"]).reshape(-1, 3)
        labelled = source[:, 2] > 0
        # within a heatmap pixel (4 input px, ~3 image px each) of frame 2's labels
        assert np.abs(kp[labelled, :2] - source[labelled, :2]).max() < 12.0
        assert (kp[~labelled, 2] == 0).all()
    result = evaluate("posetrack-map", tmp_path / "gt.json", tmp_path / "prop.json")
    ref = references.posetrack_map(gt, preds)
    assert result.stats == pytest.approx(ref, abs=1e-9, nan_ok=True)
    if shift == 0:
        assert result.stats["Total"] == pytest.approx(100.0)
    else:
        assert result.stats["Total"] < 60.0
