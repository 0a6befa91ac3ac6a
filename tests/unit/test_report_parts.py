"""The HTML report's parts on known inputs: the per-person similarity is pycocotools' OKS on
the real COCO sample, the matching and per-joint means by hand, the robustness ladders from
the cells they are built from, the page's sections and its size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmark.reports.cell_metrics import read_metrics
from benchmark.reports.curves import build_curves, write_curves
from benchmark.reports.html.instances import joint_similarity, match, per_image, per_joint


def test_person_similarity_is_pycocotools_oks_on_the_real_coco_sample(real_fixtures) -> None:
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from benchmark.datasets.layouts import COCO17

    ann = real_fixtures / "xtcocoapi/annotations"
    gt = json.loads((ann / "example_coco_val.json").read_text())
    preds = json.loads((ann / "example_coco_preds.json").read_text())
    coco = COCO(str(ann / "example_coco_val.json"))
    ev = COCOeval(coco, coco.loadRes(str(ann / "example_coco_preds.json")), "keypoints")
    ev._prepare()
    sigmas = np.asarray(COCO17.sigmas)
    checked = 0
    for img_id in coco.getImgIds():
        ious = ev.computeOks(img_id, 1)
        if len(ious) == 0:
            continue
        gts = ev._gts[img_id, 1]
        dts = sorted(ev._dts[img_id, 1], key=lambda d: -d["score"])[:ev.params.maxDets[-1]]
        for g, gt_ann in enumerate(gts):
            kp = np.asarray(gt_ann["keypoints"], float).reshape(17, 3)
            if not (kp[:, 2] > 0).any():
                continue  # pycocotools scores people without keypoints by their box
            for d, dt in enumerate(dts):
                ours = np.nanmean(joint_similarity(
                    kp, np.asarray(dt["keypoints"], float).reshape(17, 3), gt_ann["area"],
                    sigmas))
                assert ours == pytest.approx(ious[d, g], abs=1e-12)
                checked += 1
    assert checked > 50
    matched = match(gt, preds, COCO17.sigmas)
    assert len(matched) == sum(1 for a in gt["annotations"]
                               if not a["iscrowd"] and a["num_keypoints"] > 0)


def test_matching_takes_each_prediction_once_and_averages_by_hand() -> None:
    sigmas = [0.1, 0.1]
    gt = {"annotations": [
        {"image_id": 1, "keypoints": [10, 10, 2, 20, 20, 2], "area": 100.0},
        {"image_id": 1, "keypoints": [50, 50, 2, 60, 60, 0], "area": 100.0},
        {"image_id": 2, "keypoints": [5, 5, 2, 6, 6, 2], "area": 100.0}]}
    preds = [{"image_id": 1, "keypoints": [10, 10, 1, 20, 20, 1]},
             {"image_id": 1, "keypoints": [51, 50, 1, 0, 0, 1]}]
    m = match(gt, preds, sigmas)
    assert [x.image_id for x in m] == [1, 1, 2]
    assert m[0].oks == pytest.approx(1.0)
    # one pixel off with area 100, sigma 0.1: exp(-1 / (0.04 * 100 * 2))
    assert m[1].oks == pytest.approx(np.exp(-1 / 8)) and np.isnan(m[1].joints[1])
    assert m[2].oks == 0.0 and m[2].pred is None  # no prediction in image 2
    assert per_image(m) == pytest.approx({1: (1 + np.exp(-1 / 8)) / 2, 2: 0.0})
    assert per_joint(m, 2) == pytest.approx([(1 + np.exp(-1 / 8) + 0) / 3, (1 + 0) / 2])


def _metrics(tmp: Path, dataset: str, modality: str, sets: dict[str, tuple], primary: str
             ) -> Path:
    data = {"cell": f"{dataset}/{modality}/m", "dataset": dataset, "modality": modality,
            "model": "m", "protocol": "coco", "headline": "AP", "scale": "fraction",
            "primary": primary,
            "scores": {s: {"set": s, "boxes": "gt", "annotations": "official",
                           "stats": {"AP": v[0]}, "intervals": {"AP": list(v[1:])}}
                       for s, v in sets.items()}}
    path = tmp / f"{dataset}-{modality}.json"
    path.write_text(json.dumps(data))
    return path


def test_ladders_come_from_level_sets_and_depth_modalities(tmp_path) -> None:
    files = [
        _metrics(tmp_path, "exlpose", "lowlight", {
            "test_ll_a": (0.3, 0.2, 0.4), "test_ll_n": (0.5, 0.4, 0.6),
            "test_ll_h": (0.3, 0.2, 0.4), "test_ll_e": (0.1, 0.05, 0.2)}, "test_ll_a"),
        _metrics(tmp_path, "mvor", "depth", {"test": (60.0, 55.0, 65.0)}, "test"),
        _metrics(tmp_path, "mvor", "depth_64x48", {"test": (40.0, 35.0, 45.0)}, "test"),
        _metrics(tmp_path, "mvor", "depth_80x60", {"test": (50.0, 45.0, 55.0)}, "test"),
        _metrics(tmp_path, "mvor", "rgb", {"test": (70.0, 65.0, 75.0)}, "test"),
    ]
    for f in files[1:]:  # mvor-pck is in percent
        f.write_text(f.read_text().replace('"fraction"', '"percent"'))
    curves = {(c.dataset, c.ladder): c for c in build_curves(read_metrics(files), tmp_path)}
    assert set(curves) == {("exlpose", "lowlight"), ("mvor", "depth_resolution")}
    ll = curves["exlpose", "lowlight"]
    assert [(p.level, p.value, p.low, p.high) for p in ll.points] == [
        ("normal", 50.0, 40.0, 60.0), ("hard", 30.0, 20.0, 40.0), ("extreme", 10.0, 5.0, 20.0)]
    depth = curves["mvor", "depth_resolution"]
    assert depth.levels == ("depth", "depth_80x60", "depth_64x48")  # by subsampling factor
    assert {p.level: p.value for p in depth.points} == {"depth": 60.0, "depth_80x60": 50.0,
                                                        "depth_64x48": 40.0}
    written = write_curves(list(curves.values()), tmp_path / "curves")
    assert sorted(p.name for p in written) == ["exlpose.lowlight.csv",
                                               "mvor.depth_resolution.csv"]
    lines = (tmp_path / "curves/mvor.depth_resolution.csv").read_text().splitlines()
    assert lines[1:] == ["mvor,depth_resolution,m,depth,AP,60,55,65,cell mvor/depth/m",
                         "mvor,depth_resolution,m,depth_80x60,AP,50,45,55,"
                         "cell mvor/depth_80x60/m",
                         "mvor,depth_resolution,m,depth_64x48,AP,40,35,45,"
                         "cell mvor/depth_64x48/m"]
