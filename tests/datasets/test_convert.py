"""Converters round-trip the real samples: images, persons and labelled keypoints equal the
source, paired modalities resolve to the right files, and bad records are named."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmark.datasets import coco, exlpose, llvip_pose, mpii, mvor, posetrack18
from benchmark.datasets.canonical import InvalidAnnotations, counts, validate
from benchmark.datasets.layouts import COCO17, MPII16, POSETRACK17
from benchmark.datasets.native import NativeFormatError
from benchmark.datasets.registry import dataset_names, get_spec


def _link(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.symlink_to(src)
    return dst


def _labelled(kp: list) -> int:
    return sum(1 for v in kp[2::3] if v > 0)


def _source_counts(native: dict) -> dict[str, int]:
    return {"images": len(native["images"]), "persons": len(native["annotations"]),
            "keypoints": sum(_labelled(a["keypoints"]) for a in native["annotations"])}


def test_every_registered_spec_is_complete() -> None:
    assert set(dataset_names()) >= {"demo", "llvip_pose", "exlpose", "mvor", "coco", "mpii",
                                    "posetrack18"}
    for name in dataset_names():
        spec = get_spec(name)
        assert spec.converter is not None, name
        assert spec.train_split in spec.splits and spec.eval_split in spec.splits, name
        assert set(spec.eval_splits) <= set(spec.splits), name
        assert spec.license and spec.citation, name
        for mod in spec.modalities.values():
            assert mod.derived_from is None or mod.derived_from in spec.modalities, name
        if name != "demo":
            assert spec.sources, name
            for src in spec.sources:
                assert src.url or src.manual, (name, src.filename)


def test_mvor_round_trip(real_fixtures: Path, tmp_path: Path) -> None:
    src = real_fixtures / "mvor/annotations/camma_mvor_2018.json"
    raw = tmp_path / "raw"
    _link(src, raw / "camma_mvor_2018.json")
    native = json.loads(src.read_text())
    out = mvor.convert(raw)
    assert counts(out["all"]) == _source_counts(native) == \
        {"images": 2196, "persons": 4699, "keypoints": counts(out["all"])["keypoints"]}
    # the day-fold partitions the official set
    for what in ("images", "persons", "keypoints"):
        assert counts(out["train"])[what] + counts(out["test"])[what] == counts(out["all"])[what]
    assert {img["day_id"] for img in out["test"]["images"]} == {4}
    img = out["all"]["images"][0]
    assert img["modality_paths"]["depth"] == img["modality_paths"]["rgb"].replace("color",
                                                                                  "depth")
    validate(out["all"], mvor.SPEC.layout, "mvor", mvor.SPEC.sensor_modalities)
    assert sum(a["only_bbox"] for a in out["all"]["annotations"]) == 1773


def test_mvor_finds_the_extracted_image_folder(real_fixtures: Path, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _link(real_fixtures / "mvor/annotations/camma_mvor_2018.json", raw / "camma_mvor_2018.json")
    (raw / "images/camma_mvor_dataset/day1/cam1/color").mkdir(parents=True)
    out = mvor.convert(raw)
    assert out["all"]["images"][0]["file_name"].startswith("images/camma_mvor_dataset/day")


def test_convert_stage_names_images_missing_from_the_archive(real_fixtures: Path,
                                                             tmp_path: Path) -> None:
    """The convert stage checks that every image of every sensor modality is on disk: here
    the MVOR image archive was unpacked with only one colour frame."""
    from benchmark.stages.data import convert as convert_stage

    raw = tmp_path / "data" / "mvor" / "raw"
    _link(real_fixtures / "mvor/annotations/camma_mvor_2018.json", raw / "camma_mvor_2018.json")
    root = raw / "images/camma_mvor_dataset"
    (root / "day1/cam1/color").mkdir(parents=True)
    native = json.loads((raw / "camma_mvor_2018.json").read_text())
    first = native["images"][0]["file_name"]
    (root / first).parent.mkdir(parents=True, exist_ok=True)
    (root / first).write_bytes(b"")
    with pytest.raises(FileNotFoundError) as err:
        convert_stage(mvor.SPEC, tmp_path / "data")
    msg = str(err.value)
    # the first split converted ("all") holds every image: its colour and depth files
    assert f"{2 * len(native['images']) - 1} image file(s) named by the annotations are " \
        "missing" in msg
    assert "(all: camma_mvor_2018.json)" in msg and "(depth)" in msg
    assert str(root / first.replace("/color/", "/depth/")) in msg
    assert f"and {2 * len(native['images']) - 6} more" in msg
    assert not (tmp_path / "data" / "mvor" / "converted").exists()


def _exlpose_raw(real: Path, tmp_path: Path) -> tuple[Path, dict]:
    """ExLPose layout: dark/ (the real captures), bright/ partners with other names (the gain
    differs, as upstream), the pairs file, and every split file holding the real sample."""
    base = real / "mmpose/tests/data/exlpose"
    raw = tmp_path / "raw" / "ExLPose"
    native = json.loads((base / "test_exlpose.json").read_text())
    lines = []
    for img in native["images"]:
        dark = _link(base / img["file_name"], raw / "dark" / img["file_name"])
        bright_name = img["file_name"].replace("gain_3.40", "gain_0.00")
        _link(dark.resolve(), raw / "bright" / bright_name)
        lines.append(f"bright/{bright_name} dark/{img['file_name']}")
    (raw / exlpose.PAIRS_FILE).write_text("\n".join(lines) + "\n")
    for name in exlpose.SPLIT_FILES.values():
        _link(base / "test_exlpose.json", raw / "Annotations" / name)
    return raw.parent, native


def test_exlpose_round_trip_and_pairing(real_fixtures: Path, tmp_path: Path) -> None:
    raw, native = _exlpose_raw(real_fixtures, tmp_path)
    out = exlpose.convert(raw)
    assert set(out) == set(exlpose.SPEC.splits)
    for split, coco_dict in out.items():
        assert counts(coco_dict) == _source_counts(native), split
        validate(coco_dict, exlpose.SPEC.layout, split, exlpose.SPEC.sensor_modalities)
    for img in out["test_ll_a"]["images"]:
        paths = img["modality_paths"]
        assert paths["lowlight"].startswith("ExLPose/dark/")
        assert paths["rgb"] == "ExLPose/bright/" + Path(paths["lowlight"]).name.replace(
            "gain_3.40", "gain_0.00")
    # the other-camera sets have no well-lit partner
    assert all(set(i["modality_paths"]) == {"lowlight"} for i in out["test_ocn_a7m3"]["images"])


def test_exlpose_missing_partner_is_named(real_fixtures: Path, tmp_path: Path) -> None:
    raw, native = _exlpose_raw(real_fixtures, tmp_path)
    (raw / "ExLPose" / exlpose.PAIRS_FILE).write_text("")
    with pytest.raises(NativeFormatError, match=r"image 0 .* no well-lit partner"):
        exlpose.convert(raw)


def test_exlpose_flip_pairs_are_left_right() -> None:
    layout = exlpose.SPEC.layout
    for a, b in layout.flip_pairs:
        assert a.replace("left_", "") == b.replace("right_", "")
    assert layout.flip_index[layout.index["head"]] == layout.index["head"]


def test_coco_round_trip(real_fixtures: Path, tmp_path: Path) -> None:
    base = real_fixtures / "mmpose/tests/data/coco"
    raw = tmp_path / "raw"
    _link(base / "test_coco.json",
          raw / "annotations_trainval2017/annotations/person_keypoints_val2017.json")
    for jpg in base.glob("*.jpg"):
        _link(jpg, raw / "images/val2017" / jpg.name)
    native = json.loads((base / "test_coco.json").read_text())
    src = raw / "annotations_trainval2017/annotations/person_keypoints_val2017.json"
    from benchmark.datasets.native import index_images

    out = coco.convert_split(native, src, index_images(raw))
    assert counts(out) == _source_counts(native) == {"images": 4, "persons": 14,
                                                     "keypoints": counts(out)["keypoints"]}
    assert out["images"][0]["modality_paths"]["rgb"].startswith("images/val2017/")
    validate(out, COCO17, "coco", ["rgb"])


def test_posetrack18_round_trip(real_fixtures: Path, tmp_path: Path) -> None:
    base = real_fixtures / "mmpose/tests/data/posetrack18"
    raw = tmp_path / "raw" / "posetrack18"
    files = []
    for f in sorted((base / "annotations/val").glob("*.json")):
        files.append(_link(f, raw / "annotations/val" / f.name))
    for jpg in (base / "images/val").rglob("*.jpg"):
        _link(jpg, raw / "images/val" / jpg.parent.name / jpg.name)
    out = posetrack18.convert_split(files, raw.parent, posetrack18._image_index(raw.parent))
    want = {"images": 0, "persons": 0, "keypoints": 0}
    for f in files:
        native = json.loads(f.read_text())
        keep = {i["id"] for i in native["images"] if i.get("is_labeled", True)}
        anns = [a for a in native["annotations"] if a["image_id"] in keep]
        want["images"] += len(keep)
        want["persons"] += len(anns)
        want["keypoints"] += sum(_labelled(a["keypoints"]) for a in anns)
    assert counts(out) == want and want["persons"] > 0
    assert all("bbox_head" in a and "track_id" in a for a in out["annotations"])
    assert any("ignore_regions_x" in i for i in out["images"])
    validate(out, POSETRACK17, "posetrack18", ["rgb"])


def _posetrack18_val(real: Path, tmp_path: Path) -> tuple[dict, dict[int, dict]]:
    """The converted PoseTrack18 val sample and its native annotations by id."""
    base = real / "mmpose/tests/data/posetrack18"
    raw = tmp_path / "raw" / "posetrack18"
    files = [_link(f, raw / "annotations/val" / f.name)
             for f in sorted((base / "annotations/val").glob("*.json"))]
    for jpg in (base / "images/val").rglob("*.jpg"):
        _link(jpg, raw / "images/val" / jpg.parent.name / jpg.name)
    out = posetrack18.convert_split(files, raw.parent, posetrack18._image_index(raw.parent))
    native = {a["id"]: a for f in files for a in json.loads(f.read_text())["annotations"]}
    return out, native


def test_posetrack18_keypoints_are_the_native_x_y(real_fixtures: Path, tmp_path: Path) -> None:
    """Every converted keypoint is the native (x, y, v) of the same person and joint (counts
    alone would not see x and y swapped or joints reordered); two joints pinned to the
    file's literals, one of them a real annotation above the frame."""
    out, native = _posetrack18_val(real_fixtures, tmp_path)
    assert len(out["annotations"]) == 14
    for ann in out["annotations"]:
        assert ann["keypoints"] == [float(v) for v in native[ann["id"]]["keypoints"]], ann["id"]
    by_id = {a["id"]: a["keypoints"] for a in out["annotations"]}
    j = POSETRACK17.index
    # 012834_mpii_test.json, frame 000000: nose of person 8, head_top of person 10 (y < 0)
    assert by_id[1012834000008][3 * j["nose"]:3 * j["nose"] + 3] == [1406.0, 451.0, 1.0]
    top = by_id[1012834000010][3 * j["head_top"]:3 * j["head_top"] + 3]
    assert top == [424.0380249, -24.93852425, 1.0]
    sizes = {i["id"]: (i["width"], i["height"]) for i in out["images"]}
    assert sizes[10128340000] == (1920, 1080)


def test_validate_refuses_keypoints_outside_the_image(real_fixtures: Path,
                                                      tmp_path: Path) -> None:
    """Real PoseTrack18 (a head_top 25 px above the frame) passes; the same file with x and y
    swapped is refused, naming the annotation, the image size and the joints; the tolerance
    is 25 % of the side, both sides."""
    from benchmark.datasets.canonical import OUTSIDE_TOLERANCE

    out, _ = _posetrack18_val(real_fixtures, tmp_path)
    validate(out, POSETRACK17, "posetrack18", ["rgb"])
    swapped = json.loads(json.dumps(out))
    for ann in swapped["annotations"]:
        kp = ann["keypoints"]
        kp[0::3], kp[1::3] = kp[1::3], kp[0::3]
    with pytest.raises(InvalidAnnotations) as err:
        validate(swapped, POSETRACK17, "posetrack18/val", ["rgb"])
    msg = str(err.value)
    assert msg.startswith("posetrack18/val: 3 invalid record(s)")
    assert ("annotation id 1012834000008 (image 10128340000): 11 keypoint(s) outside the "
            "1920x1080 image (beyond 25% of its size): nose (451, 1406), head_bottom "
            "(472.946, 1379.2), head_top (431.915, 1398.98), left_shoulder (467.5, 1375.5) "
            "and 7 more; x and y swapped, or the wrong image?") in msg
    assert OUTSIDE_TOLERANCE == 0.25
    img = {"id": 1, "width": 100, "height": 40, "modality_paths": {"rgb": "a.png"}}

    def one(x: float, y: float) -> dict:
        kp = [0.0] * 51
        kp[15:18] = [x, y, 2]  # left_shoulder; unlabelled joints at (0, 0) are never checked
        return {"images": [img], "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "keypoints": kp, "num_keypoints": 1}]}

    for x, y in ((-25.0, -10.0), (125.0, 50.0), (0.0, 0.0), (100.0, 40.0)):
        validate(one(x, y), COCO17, "edge.json", ["rgb"])  # on the tolerance: accepted
    for x, y in ((-25.001, 0.0), (125.001, 0.0), (0.0, -10.001), (0.0, 50.001)):
        with pytest.raises(InvalidAnnotations, match="left_shoulder"):
            validate(one(x, y), COCO17, "edge.json", ["rgb"])


def test_posetrack18_same_video_name_in_two_splits(real_fixtures: Path, tmp_path: Path) -> None:
    """Frames are found by split, video and frame name: a train and a val video of the same
    name (same frame names) each keep their own images."""
    base = real_fixtures / "mmpose/tests/data/posetrack18"
    src = sorted((base / "annotations/val").glob("*.json"))[0]
    raw = tmp_path / "raw"
    files = {}
    for split in ("train", "val"):
        native = json.loads(src.read_text())
        for img in native["images"]:
            img["file_name"] = img["file_name"].replace("images/val/", f"images/{split}/")
            jpg = base / "images/val" / Path(img["file_name"]).parent.name / Path(
                img["file_name"]).name
            if jpg.is_file():
                _link(jpg, raw / "posetrack_data" / img["file_name"])
        files[split] = raw / "posetrack_data/annotations" / split / src.name
        files[split].parent.mkdir(parents=True, exist_ok=True)
        files[split].write_text(json.dumps(native))
    index = posetrack18._image_index(raw)
    for split, f in files.items():
        out = posetrack18.convert_split([f], raw, index)
        assert out["images"], split
        assert all(i["file_name"].startswith(f"posetrack_data/images/{split}/")
                   for i in out["images"]), (split, [i["file_name"] for i in out["images"]])


def test_mpii_json_round_trip(real_fixtures: Path, tmp_path: Path) -> None:
    base = real_fixtures / "mmpose/tests/data/mpii"
    raw = tmp_path / "raw"
    for jpg in base.glob("*.jpg"):
        _link(jpg, raw / "images" / jpg.name)
    records = json.loads((base / "test_mpii.json").read_text())
    from benchmark.datasets.native import index_images

    out = mpii.convert_records(records, base / "test_mpii.json", raw, index_images(raw))
    assert counts(out) == {"images": len({r["image"] for r in records}), "persons": len(records),
                           "keypoints": sum(sum(1 for v in r["joints_vis"] if v > 0)
                                            for r in records)}
    # zero-based pixels: MATLAB value - 1
    r0, a0 = records[0], out["annotations"][0]
    assert a0["keypoints"][0] == pytest.approx(r0["joints"][0][0] - 1)
    assert out["images"][0]["width"] > 0
    validate(out, MPII16, "mpii", ["rgb"])


def test_mpii_val_takes_joints_and_head_boxes_from_gt_valid(real_fixtures: Path,
                                                            tmp_path: Path) -> None:
    from benchmark.datasets.native import index_images
    from benchmark.evaluation import mpii_mat_to_coco

    mat = real_fixtures / "mpii/gt_valid.mat"
    ref = mpii_mat_to_coco(mat)["annotations"]
    raw = tmp_path / "raw"
    jpgs = sorted((real_fixtures / "mmpose/tests/data/mpii").glob("*.jpg"))
    for jpg in jpgs:
        _link(jpg, raw / "images" / jpg.name)
    records = [{"image": jpgs[i % len(jpgs)].name, "center": [100.0, 100.0], "scale": 1.0,
                "joints": [[0, 0]] * 16, "joints_vis": [1] * 16} for i in range(len(ref))]
    out = mpii.convert_records(records, tmp_path / "mpii_val.json", raw, index_images(raw),
                               gt_mat=mat)
    assert len(out["annotations"]) == len(ref) == 2958
    assert all(a["keypoints"] == r["keypoints"] and a["head_box"] == r["head_box"]
               for a, r in zip(out["annotations"], ref, strict=True))
    with pytest.raises(NativeFormatError, match="2958 persons"):
        mpii.convert_records(records[:10], tmp_path / "mpii_val.json", raw,
                             index_images(raw), gt_mat=mat)


def _llvip_raw(real: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    raw = tmp_path / "raw"
    names = []
    for ir in sorted((real / "llvip/FusionGAN/Test_LLVIP_ir").glob("*.jpg")):
        vi = real / "llvip/FusionGAN/Test_LLVIP_vi" / ir.name
        _link(ir, raw / "images/LLVIP/infrared/test" / ir.name)
        _link(vi, raw / "images/LLVIP/visible/test" / ir.name)
        names.append(ir.name)
    return raw, names


def test_llvip_pairs_one_annotation_file_with_both_modalities(real_fixtures: Path,
                                                              tmp_path: Path) -> None:
    raw, names = _llvip_raw(real_fixtures, tmp_path)
    images = [{"id": i, "file_name": n, "width": 1280, "height": 1024}
              for i, n in enumerate(names)]
    kp17 = [float(v) for j in range(17) for v in ((0, 0, 0) if j in (3, 4) else
                                                   (100 + j, 200 + j, 2))]
    anns = [{"id": 10 + i, "image_id": i, "category_id": 1, "bbox": [90, 190, 40, 40],
             "area": 1600.0, "keypoints": kp17, "num_keypoints": 15}
            for i in range(len(names))]
    native = {"images": images, "annotations": anns, "categories": []}
    index = llvip_pose._paired_index(raw)
    out = llvip_pose.convert_split(native, tmp_path / "test_llvip.json", "test", index)
    assert counts(out) == _source_counts(native) == {"images": 12, "persons": 12,
                                                     "keypoints": 12 * 15}
    for img in out["images"]:
        t, r = img["modality_paths"]["thermal"], img["modality_paths"]["rgb"]
        assert t == f"images/LLVIP/infrared/test/{names[img['id']]}"
        assert r == f"images/LLVIP/visible/test/{names[img['id']]}"
    validate(out, POSETRACK17, "llvip", llvip_pose.SPEC.sensor_modalities)
    # the 13-keypoint fine-tuning file lands in the 17-joint layout
    kp13 = [float(v) for j in range(13) for v in (j, j, 2)]
    native13 = {"images": images[:1], "annotations": [{**anns[0], "keypoints": kp13}]}
    out13 = llvip_pose.convert_split(native13, tmp_path / "ft.json", "test", index, expand13=True)
    kp = out13["annotations"][0]["keypoints"]
    assert kp[0:3] == [0.0, 0.0, 2.0]  # nose
    assert kp[3:15] == [0.0] * 12  # head_bottom, head_top, ears: unlabelled
    assert kp[15:18] == [1.0, 1.0, 2.0]  # left_shoulder = 2nd joint of the 13
    assert out13["annotations"][0]["num_keypoints"] == 13


def test_llvip_missing_image_is_named(real_fixtures: Path, tmp_path: Path) -> None:
    raw, names = _llvip_raw(real_fixtures, tmp_path)
    native = {"images": [{"id": 7, "file_name": "999999.jpg"}], "annotations": []}
    with pytest.raises(NativeFormatError, match=r"image 7 \(999999.jpg\) not found"):
        llvip_pose.convert_split(native, tmp_path / "test_llvip.json", "test",
                                 llvip_pose._paired_index(raw))


def test_validation_names_the_file_and_each_bad_record() -> None:
    good = [1.0, 2.0, 2] * 17
    coco_dict = {
        "images": [{"id": 1, "width": 10, "height": 10, "modality_paths": {"rgb": "a.png"}}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "keypoints": good, "num_keypoints": 17},
            {"id": 2, "image_id": 1, "category_id": 1, "keypoints": good[:-3],
             "num_keypoints": 16},
            {"id": 3, "image_id": 1, "category_id": 1,
             "keypoints": [math.nan, 1.0, 2] + good[3:], "num_keypoints": 17},
            {"id": 4, "image_id": 99, "category_id": 1, "keypoints": good, "num_keypoints": 17},
            {"id": 5, "image_id": 1, "category_id": 1, "keypoints": [1.0, 2.0, 3] * 17,
             "num_keypoints": 17},
        ]}
    with pytest.raises(InvalidAnnotations) as err:
        validate(coco_dict, COCO17, "native.json", ["rgb"])
    msg = str(err.value)
    assert msg.startswith("native.json: 4 invalid record(s)")
    assert "annotation id 2 (image 1): expected 51 keypoint values" in msg
    assert "annotation id 3 (image 1): keypoints contain NaN" in msg
    assert "annotation id 4 (image 99): refers to an unknown image" in msg
    assert "annotation id 5 (image 1): visibility flags must be 0, 1 or 2" in msg
