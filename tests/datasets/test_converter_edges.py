"""Converter edges the round-trip tests do not reach: the validation report's length, the
published-size check of the convert stage, the ExLPose pairing file's line numbers, and for
MVOR, MPII, PoseTrack18 and LLVIP-Pose the exact fields of known records against the native
files (boxes, areas, ids, visibility, head boxes, 13-joint expansion, default sizes).

Each test builds its input in ``tmp_path`` (real fixtures are linked or copied, never edited).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets import exlpose, llvip_pose, mpii, mvor, posetrack18
from benchmark.datasets.canonical import InvalidAnnotations, validate
from benchmark.datasets.layouts import COCO17, MPII16, MVOR10, POSETRACK17
from benchmark.datasets.native import NativeFormatError, index_images
from benchmark.datasets.registry import dataset_names, get_spec

MVOR_JSON = "mvor/annotations/camma_mvor_2018.json"
MPII_DIR = "mmpose/tests/data/mpii"
POSETRACK_DIR = "mmpose/tests/data/posetrack18"


def _link(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.symlink_to(src)
    return dst


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def _stand_in(path: Path, data: Path) -> None:
    """An empty stand-in for an image the convert stage only checks exists: a hard link to
    ``data/empty.bin`` (thousands are needed; links are much cheaper than new files)."""
    if path.exists():
        return
    blank = data / "empty.bin"
    if not blank.exists():
        blank.parent.mkdir(parents=True, exist_ok=True)
        blank.touch()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.hardlink_to(blank)


# --------------------------------------------------------------------------- validate()


def _bad_annotations(n: int) -> dict:
    """A canonical file with ``n`` problems: annotations 1..n refer to image 99, unknown."""
    img = {"id": 1, "width": 10, "height": 10, "modality_paths": {"rgb": "a.png"}}
    anns = [{"id": i, "image_id": 99, "category_id": 1, "keypoints": [0.0] * 51,
             "num_keypoints": 0} for i in range(1, n + 1)]
    return {"images": [img], "annotations": anns}


@pytest.mark.parametrize(("problems", "listed", "tail"), [
    (20, 20, None), (21, 20, "  ... and 1 more"), (45, 20, "  ... and 25 more")])
def test_validate_lists_twenty_problems_and_counts_the_rest(problems: int, listed: int,
                                                            tail: str | None) -> None:
    """A broken download can have thousands of bad records: the message lists the first 20
    (in file order) and says how many more there are, and with exactly 20 says nothing more."""
    with pytest.raises(InvalidAnnotations) as err:
        validate(_bad_annotations(problems), COCO17, "big.json", ["rgb"])
    lines = str(err.value).splitlines()
    assert lines[0] == f"big.json: {problems} invalid record(s):"
    body = lines[1:]
    shown = [line for line in body if line.startswith("  annotation id ")]
    assert shown == [f"  annotation id {i} (image 99): refers to an unknown image"
                     for i in range(1, listed + 1)]
    assert body[listed:] == ([tail] if tail else [])


# --------------------------------------------------------------------------- published sizes


def _coco_data(data: Path, n_images: int, n_persons: int) -> None:
    """A COCO raw folder whose val file has ``n_images`` images (stand-ins on disk) and
    ``n_persons`` persons; the train file is empty."""
    raw = data / "coco" / "raw"
    ann_dir = raw / "annotations_trainval2017" / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(1, n_images + 1):
        _stand_in(raw / "images" / "val2017" / f"{i:012d}.jpg", data)
        images.append({"id": i, "file_name": f"{i:012d}.jpg", "width": 640, "height": 480})
    anns = [{"id": k + 1, "image_id": k % n_images + 1, "category_id": 1, "iscrowd": 0,
             "bbox": [1.0, 1.0, 10.0, 10.0], "area": 100.0, "keypoints": [0] * 51,
             "num_keypoints": 0} for k in range(n_persons)]
    (ann_dir / "person_keypoints_val2017.json").write_text(
        json.dumps({"images": images, "annotations": anns}))
    (ann_dir / "person_keypoints_train2017.json").write_text(
        json.dumps({"images": [], "annotations": []}))


def test_convert_stage_checks_coco_val_against_its_published_size(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """COCO val2017 has 5000 images and 11004 person annotations: a release of that size
    converts silently, one that is one image short or one person over is reported (a warning
    naming both numbers: the stage still writes it, it may be a newer release)."""
    from benchmark.datasets import coco
    from benchmark.stages.data import convert as convert_stage

    _coco_data(tmp_path, 5000, 11004)
    convert_stage(coco.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == []
    summary = json.loads((tmp_path / "coco/converted/summary.json").read_text())
    assert summary["val"] == {"images": 5000, "persons": 11004, "keypoints": 0}

    _coco_data(tmp_path, 4999, 11005)  # the same images on disk, one fewer in the file
    convert_stage(coco.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == [
        "warning: coco/val: 4999 images, the published split has 5000 (a partial or different "
        "release?)",
        "warning: coco/val: 11005 persons, the published split has 11004 (a partial or "
        "different release?)"]


#: ExLPose's published test sets (Lee et al. 2023): images and persons; LL-A = N + H + E.
EXLPOSE_SIZES = {"test_ll_n": (167, 1028), "test_ll_h": (169, 945), "test_ll_e": (155, 837),
                 "test_ocn_a7m3": (180, 466), "test_ocn_ricoh3": (180, 524)}


def _exlpose_data(data: Path, sizes: dict[str, tuple[int, int]]) -> None:
    """An ExLPose + ExLPose-OC raw folder with the given test-set sizes (stand-in images);
    LL-A is the union of LL-N/H/E, as released; the train file is empty."""
    raw = data / "exlpose" / "raw"
    ann = raw / "ExLPose" / "Annotations"
    ann.mkdir(parents=True, exist_ok=True)
    pairs, union = [], {"images": [], "annotations": []}
    next_id = 1
    for split, (n_img, n_pers) in sizes.items():
        oc = split.startswith("test_ocn")
        folder = raw / ("ExLPose-OC/" + split if oc else "ExLPose/dark")
        images = []
        for i in range(n_img):
            name = f"{split}_{i:04d}.png"
            _stand_in(folder / name, data)
            images.append({"id": next_id + i, "file_name": name, "width": 1919,
                           "height": 1198, "crowdIndex": 0.1})
            if not oc:
                bright = name.replace(".png", "_bright.png")
                _stand_in(raw / "ExLPose/bright" / bright, data)
                pairs.append(f"bright/{bright} dark/{name}")
        anns = [{"id": next_id + k, "image_id": next_id + k % n_img, "category_id": 1,
                 "iscrowd": 0, "bbox": [1.0, 1.0, 10.0, 10.0], "keypoints": [0] * 42,
                 "num_keypoints": 0} for k in range(n_pers)]
        next_id += max(n_img, n_pers)
        native = {"images": images, "annotations": anns}
        (ann if not oc else raw / "ExLPose-OC").joinpath(exlpose.SPLIT_FILES[split]).write_text(
            json.dumps(native))
        if not oc:
            union["images"] += images
            union["annotations"] += anns
    (ann / exlpose.SPLIT_FILES["test_ll_a"]).write_text(json.dumps(union))
    (ann / exlpose.SPLIT_FILES["train"]).write_text(json.dumps({"images": [],
                                                                "annotations": []}))
    (raw / "ExLPose" / exlpose.PAIRS_FILE).write_text("\n".join(pairs) + "\n")


def test_convert_stage_checks_exlpose_test_sets_against_their_published_sizes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every ExLPose test set of its published size (LL-N 167/1028, LL-H 169/945, LL-E
    155/837, LL-A 491/2810, OC A7M3 180/466, OC RICOH3 180/524) converts silently; an OC set
    one image short and another one person over are each named with both numbers."""
    from benchmark.stages.data import convert as convert_stage

    _exlpose_data(tmp_path, EXLPOSE_SIZES)
    convert_stage(exlpose.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == []
    summary = json.loads((tmp_path / "exlpose/converted/summary.json").read_text())
    assert {s: (c["images"], c["persons"]) for s, c in summary.items()} == {
        **EXLPOSE_SIZES, "test_ll_a": (491, 2810), "train": (0, 0)}

    off = {**EXLPOSE_SIZES, "test_ocn_a7m3": (180, 467), "test_ocn_ricoh3": (179, 524)}
    _exlpose_data(tmp_path, off)  # the same images on disk, one fewer in the RICOH3 file
    convert_stage(exlpose.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == [
        "warning: exlpose/test_ocn_a7m3: 467 persons, the published split has 466 (a partial "
        "or different release?)",
        "warning: exlpose/test_ocn_ricoh3: 179 images, the published split has 180 (a partial "
        "or different release?)"]


def _mvor_data(real: Path, data: Path) -> Path:
    """MVOR's real ground truth (a copy) and a stand-in colour and depth file for each of
    its images, as camma_mvor_dataset.zip unpacks."""
    raw = data / "mvor" / "raw"
    raw.mkdir(parents=True)
    gt = raw / "camma_mvor_2018.json"
    shutil.copyfile(real / MVOR_JSON, gt)
    root = raw / "images" / "camma_mvor_dataset"
    for img in json.loads(gt.read_text())["images"]:
        for sensor in ("color", "depth"):
            _stand_in(root / img["file_name"].replace("/color/", f"/{sensor}/"), data)
    return gt


def test_convert_stage_checks_mvor_against_its_published_size(
        real_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The released MVOR ground truth (2196 images, 4699 persons) converts without a size
    warning; with one person removed the warning names 4698 against 4699."""
    from benchmark.stages.data import convert as convert_stage

    gt = _mvor_data(real_fixtures, tmp_path)
    convert_stage(mvor.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == []
    native = json.loads(gt.read_text())
    native["annotations"].pop()
    gt.write_text(json.dumps(native))
    convert_stage(mvor.SPEC, tmp_path)
    assert _warnings(capsys.readouterr().err) == [
        "warning: mvor/all: 4698 persons, the published split has 4699 (a partial or "
        "different release?)"]


def _mpii_data(real: Path, data: Path, persons: int) -> None:
    """MPII raw folder: ``gt_valid.mat`` with its first ``persons`` persons (the real file when
    all), a val JSON of as many records on one blank 1920x1080 image, a one-record train."""
    from PIL import Image
    from scipy.io import loadmat, savemat

    raw = data / "mpii" / "raw"
    (raw / "images").mkdir(parents=True)
    Image.new("L", (1920, 1080)).save(raw / "images" / "blank.png")
    mat = real / "mpii/gt_valid.mat"
    if persons == 2958:
        _link(mat, raw / "gt_valid.mat")
    else:
        m = loadmat(str(mat))
        savemat(str(raw / "gt_valid.mat"), {
            "jnt_missing": m["jnt_missing"][:, :persons],
            "pos_gt_src": m["pos_gt_src"][:, :, :persons],
            "headboxes_src": m["headboxes_src"][:, :, :persons]})
    rec = {"image": "blank.png", "center": [900.0, 500.0], "scale": 3.0,
           "joints": [[900.0, 500.0]] * 16, "joints_vis": [1] * 16}
    (raw / "mpii_val.json").write_text(json.dumps([rec] * persons))
    (raw / "mpii_train.json").write_text(json.dumps([rec]))


def test_convert_stage_checks_mpii_val_against_its_published_size(
        real_fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MPII val is Tompson et al.'s 2958 persons: the real gt_valid.mat converts silently; a
    split of 2957 is reported (MPII publishes no image count for it: none is checked)."""
    pytest.importorskip("scipy")
    from benchmark.stages.data import convert as convert_stage

    _mpii_data(real_fixtures, tmp_path / "full", 2958)
    convert_stage(mpii.SPEC, tmp_path / "full")
    assert _warnings(capsys.readouterr().err) == []
    _mpii_data(real_fixtures, tmp_path / "off", 2957)
    convert_stage(mpii.SPEC, tmp_path / "off")
    assert _warnings(capsys.readouterr().err) == [
        "warning: mpii/val: 2957 persons, the published split has 2958 (a partial or "
        "different release?)"]


def test_every_archive_source_is_unpacked() -> None:
    """The download stage unpacks exactly the sources marked ``extract``: every .zip/.tar
    source of every dataset must be (the converters look for the files inside), and no plain
    JSON/.mat file is treated as an archive."""
    archives = (".zip", ".tar", ".tar.gz", ".tgz")
    seen = 0
    for name in dataset_names():
        for src in get_spec(name).sources:
            assert src.extract == src.filename.endswith(archives), (name, src.filename)
            seen += src.extract
    # not vacuous: coco 3, exlpose 2, mvor 1, mpii 1, llvip 1, posetrack18 2 at least
    assert seen >= 10


# --------------------------------------------------------------------------- ExLPose pairs


def test_exlpose_pairs_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    """A malformed line of brightPath2darkPath.txt is reported as ``<file>:<line>`` (1-based,
    blank lines counted) so the user can open it there; both separators are accepted."""
    path = tmp_path / exlpose.PAIRS_FILE
    path.write_text("bright/a_b.png dark/a_d.png\n\nbright/c_b.png,dark/c_d.png\n"
                    "bright/x.png dark/y.png extra.png\n")
    with pytest.raises(NativeFormatError) as err:
        exlpose.read_pairs(path)
    assert str(err.value) == (f"{path}:4: expected '<bright path> <dark path>', got "
                              "'bright/x.png dark/y.png extra.png'")
    path.write_text("bright/a_b.png dark/a_d.png\nbright/z_b.png dark/a_d.png\n")
    with pytest.raises(NativeFormatError, match=rf"^{path}:2: dark image a_d.png is paired "
                                                "twice$"):
        exlpose.read_pairs(path)
    path.write_text("bright/a_b.png dark/a_d.png\n\nbright/c_b.png,dark/c_d.png\n"
                    "bright/a_b.png dark/a_d.png\n")
    assert exlpose.read_pairs(path) == {"a_d.png": "a_b.png", "c_d.png": "c_b.png"}


# --------------------------------------------------------------------------- MVOR


def test_mvor_records_keep_the_native_values(real_fixtures: Path, tmp_path: Path) -> None:
    """Every MVOR person keeps its native box, keypoints and labels, is not a crowd (MVOR
    has none) and gets the area of its box (MVOR gives none); every image keeps its camera,
    day and 640x480 size. Annotation 0 pinned to the file's literals."""
    raw = tmp_path / "raw"
    _link(real_fixtures / MVOR_JSON, raw / "camma_mvor_2018.json")
    native = json.loads((real_fixtures / MVOR_JSON).read_text())
    out = mvor.convert(raw)["all"]
    nat_ann = {a["id"]: a for a in native["annotations"]}
    assert len(out["annotations"]) == len(nat_ann) == 4699
    for ann in out["annotations"]:
        src = nat_ann[ann["id"]]
        assert ann["image_id"] == src["image_id"]
        assert ann["bbox"] == src["bbox"] and ann["keypoints"] == src["keypoints"]
        assert ann["area"] == pytest.approx(src["bbox"][2] * src["bbox"][3], rel=1e-12)
        assert ann["iscrowd"] == 0
        assert (ann["only_bbox"], ann["person_id"], ann["person_role"], ann["face_blurred"]) \
            == (src["only_bbox"], src["person_id"], src["person_role"], src["face_blurred"])
    nat_img = {i["id"]: i for i in native["images"]}
    for img in out["images"]:
        src = nat_img[img["id"]]
        assert (img["cam_id"], img["day_id"], img["width"], img["height"]) == \
            (src["cam_id"], src["day_id"], 640, 480)
    first = next(a for a in out["annotations"] if a["id"] == 0)
    assert first["image_id"] == 10020000017 and first["person_role"] == "clinician"
    assert first["area"] == pytest.approx(134.4857142857143 * 273.0)
    assert first["keypoints"][3 * MVOR10.index["right_elbow"]:][:3] == \
        [409.1428571428571, 328.6857142857143, 1.0]


def test_mvor_day_fold_holds_each_recording_day_once(real_fixtures: Path,
                                                     tmp_path: Path) -> None:
    """train = days 1-3 and test = day 4 of the native file, image for image (171 + 990 +
    669 and 366 frames: the real file's days); each person follows its image."""
    raw = tmp_path / "raw"
    _link(real_fixtures / MVOR_JSON, raw / "camma_mvor_2018.json")
    native = json.loads((real_fixtures / MVOR_JSON).read_text())
    out = mvor.convert(raw)
    day = {i["id"]: i["day_id"] for i in native["images"]}
    for split, days, n in (("train", {1, 2, 3}, 171 + 990 + 669), ("test", {4}, 366)):
        ids = [i["id"] for i in out[split]["images"]]
        assert ids == [i["id"] for i in native["images"] if day[i["id"]] in days]
        assert len(ids) == n
        got = [a["id"] for a in out[split]["annotations"]]
        assert len(got) == len(set(got))
        assert set(got) == {a["id"] for a in native["annotations"] if day[a["image_id"]] in days}
        assert out[split]["info"]["split_days"] == sorted(days)


def test_mvor_low_resolution_depth_matches_its_name(real_fixtures: Path) -> None:
    """ORPose-Depth's 80x60 and 64x48 inputs are MVOR's 640x480 depth frames (the size in the
    native file) divided by the modality's factor."""
    native = json.loads((real_fixtures / MVOR_JSON).read_text())
    sizes = {(i["width"], i["height"]) for i in native["images"]}
    assert sizes == {(640, 480)}
    for name in ("depth_80x60", "depth_64x48"):
        mod = mvor.SPEC.modality(name)
        assert mod.derived_from == "depth" and mod.kind == "depth"
        assert f"{640 // mod.downsample}x{480 // mod.downsample}" == name.split("_")[1]
        assert 640 % mod.downsample == 0 and 480 % mod.downsample == 0


@pytest.mark.parametrize(("modality", "model", "channels", "sr_factor"), [
    ("depth", "depthpose", 1, None), ("depth_64x48", "depthpose", 1, None),
    ("depth_80x60", "depthpose_sr", 1, 8), ("rgb", "depthpose", 3, None)])
def test_mvor_depth_cells_read_one_channel(modality: str, model: str, channels: int,
                                           sr_factor: int | None) -> None:
    """MVOR's depth frames are single-channel: the ORPose-Depth cells (configs/benchmarks/
    mvor-depth.yaml) built from the spec feed DepthPose one channel for every depth modality
    and three for colour; the super-resolution branch undoes the 80x60 subsampling (x8)."""
    pytest.importorskip("mmengine")
    from benchmark.cells import Cell
    from benchmark.models.compose import compose
    from tests.conftest import REPO

    cfg = compose(Cell("mvor", modality, model), repo_root=REPO)
    assert cfg.model.backbone.in_channels == channels
    assert cfg.model.backbone.get("sr_factor") == sr_factor


def test_mvor_ground_truth_source_is_the_pinned_upstream_file(real_fixtures: Path,
                                                              tmp_path: Path) -> None:
    """The declared size and sha256 of camma_mvor_2018.json accept the real file (fetched
    from a folder mirror, as the download stage does), at the commit the fixture came from."""
    from benchmark.datasets.download import fetch

    src = next(s for s in mvor.SPEC.sources if s.filename == "camma_mvor_2018.json")
    got = fetch(src, tmp_path / "downloads", mirror=real_fixtures / "mvor/annotations",
                progress=False)
    assert got.read_bytes() == (real_fixtures / MVOR_JSON).read_bytes()
    manifest = (real_fixtures / "MANIFEST.tsv").read_text().splitlines()
    row = next(r.split("\t") for r in manifest if r.startswith(MVOR_JSON + "\t"))
    assert f"/{row[3]}/" in src.url and src.size == int(row[4]) == 3711320


def test_mvor_image_without_a_colour_folder_is_named(real_fixtures: Path,
                                                     tmp_path: Path) -> None:
    """The depth path is derived from the colour one: a file name without /color/ is refused,
    naming the file, the image id and the name."""
    native = json.loads((real_fixtures / MVOR_JSON).read_text())
    native["images"][5]["file_name"] = "day1/cam1/rgb/000005.png"
    src = tmp_path / "raw" / "camma_mvor_2018.json"
    src.parent.mkdir()
    src.write_text(json.dumps(native))
    iid = native["images"][5]["id"]
    with pytest.raises(NativeFormatError) as err:
        mvor.convert(tmp_path / "raw")
    assert str(err.value) == (f"{src}: image {iid}: file name 'day1/cam1/rgb/000005.png' has "
                              "no /color/ folder")


# --------------------------------------------------------------------------- MPII


def _mpii_json(real: Path, tmp_path: Path) -> tuple[dict, list[dict]]:
    base = real / MPII_DIR
    raw = tmp_path / "raw"
    for jpg in base.glob("*.jpg"):
        _link(jpg, raw / "images" / jpg.name)
    records = json.loads((base / "test_mpii.json").read_text())
    return mpii.convert_records(records, base / "test_mpii.json", raw,
                                index_images(raw)), records


def test_mpii_json_records_agree_with_gt_valid(real_fixtures: Path, tmp_path: Path) -> None:
    """mmpose's 5 MPII test records are the first 5 persons of gt_valid.mat: converted from
    either file, every joint has the same zero-based position (within the .mat's float
    noise) and the same visibility (records 2 and 3 miss their right ankle and left ankle)."""
    pytest.importorskip("scipy")
    out, records = _mpii_json(real_fixtures, tmp_path)
    mat = mpii.mpii_mat_to_coco(real_fixtures / "mpii/gt_valid.mat")
    for i in range(5):
        a = np.asarray(out["annotations"][i]["keypoints"]).reshape(16, 3)
        b = np.asarray(mat["annotations"][i]["keypoints"]).reshape(16, 3)
        np.testing.assert_allclose(a, b, atol=1e-4, err_msg=f"person {i}")
        vis = [int(v) for v in a[:, 2]]
        missing = [j for j, v in enumerate(records[i]["joints_vis"]) if v == 0]
        assert vis == [0 if j in missing else 2 for j in range(16)], i
        assert out["annotations"][i]["num_keypoints"] == 16 - len(missing)
    assert [j for j, v in enumerate(records[2]["joints_vis"]) if v == 0] == [
        MPII16.index["right_ankle"], MPII16.index["left_ankle"]]
    # record 0, joint 0 (right ankle): MATLAB (804, 711) -> (803, 710)
    assert out["annotations"][0]["keypoints"][:3] == [803.0, 710.0, 2.0]


def test_mpii_person_box_and_ids(real_fixtures: Path, tmp_path: Path) -> None:
    """Each record becomes annotation ``n`` (1-based, file order) on image ``n`` of its first
    appearance; its box is the square of side 200 * scale (MPII's scale is the person's
    height / 200 px) centred on MPII's person centre, shifted to zero-based pixels."""
    out, records = _mpii_json(real_fixtures, tmp_path)
    assert [a["id"] for a in out["annotations"]] == [1, 2, 3, 4, 5]
    assert [i["id"] for i in out["images"]] == [1, 2, 3, 4, 5]
    files = {i["id"]: i["file_name"] for i in out["images"]}
    for ann, rec in zip(out["annotations"], records):
        assert files[ann["image_id"]] == f"images/{rec['image']}"
        x, y, w, h = ann["bbox"]
        assert w == h == pytest.approx(200 * rec["scale"]), ann["id"]
        assert [x + w / 2, y + h / 2] == pytest.approx([c - 1 for c in rec["center"]])
    # record 0: centre (966, 340), scale 4.718488 (MATLAB) -> side 943.6976
    a0 = out["annotations"][0]
    assert a0["center"] == [965.0, 339.0] and a0["scale"] == 4.718488
    assert a0["bbox"] == pytest.approx([493.1512, -132.8488, 943.6976, 943.6976], abs=1e-9)
    assert a0["iscrowd"] == 0
    assert (out["images"][1]["width"], out["images"][1]["height"]) == (854, 480)


def test_mpii_gt_valid_persons_and_head_boxes(real_fixtures: Path) -> None:
    """Person ``i`` of gt_valid.mat is image and annotation ``i + 1`` of category 1 (not a
    crowd); its head box is ``[x1, y1, x2, y2]`` zero-based with x1 < x2, y1 < y2 for all
    2958 persons and holds the head top; missing joints are (0, 0, 0), the others
    visibility 2."""
    pytest.importorskip("scipy")
    from scipy.io import loadmat

    path = real_fixtures / "mpii/gt_valid.mat"
    out = mpii.mpii_mat_to_coco(path)
    raw = loadmat(str(path))
    anns = out["annotations"]
    assert [a["id"] for a in anns] == [i["id"] for i in out["images"]] == list(range(1, 2959))
    assert all(a["image_id"] == a["id"] for a in anns)
    assert [c["id"] for c in out["categories"]] == [1] and {a["category_id"] for a in anns} == {1}
    assert {a["iscrowd"] for a in anns} == {0}  # one person per record: never a crowd region
    boxes = np.asarray([a["head_box"] for a in anns])
    assert (boxes[:, 0] < boxes[:, 2]).all() and (boxes[:, 1] < boxes[:, 3]).all()
    # person 0: MATLAB head box (914, 79)-(1031, 237), head top (962.24, 80.03)
    assert anns[0]["head_box"] == pytest.approx([913.0, 78.0, 1030.0, 236.0], abs=1e-4)
    top = anns[0]["keypoints"][3 * MPII16.index["head_top"]:][:3]
    assert top == pytest.approx([961.24089, 79.03060, 2.0], abs=1e-4)
    x1, y1, x2, y2 = anns[0]["head_box"]
    assert x1 <= top[0] <= x2 and y1 <= top[1] <= y2
    missing = raw["jnt_missing"].astype(bool)
    kp = np.asarray([a["keypoints"] for a in anns]).reshape(-1, 16, 3)
    assert (kp[missing.T] == 0).all()
    assert (kp[~missing.T][:, 2] == 2).all()
    assert [a["num_keypoints"] for a in anns] == (~missing).sum(axis=0).tolist()
    np.testing.assert_allclose(kp[~missing.T][:, :2],
                               raw["pos_gt_src"].transpose(2, 0, 1)[~missing.T] - 1.0)


# --------------------------------------------------------------------------- PoseTrack18


def _posetrack_raw(real: Path, root: Path) -> list[Path]:
    """raw/posetrack18/{annotations,images}/val from the real sample and a train split holding
    a copy of the first video under images/train; returns the val annotation files."""
    base = real / POSETRACK_DIR
    raw = root / "posetrack18"
    files = [_link(f, raw / "annotations/val" / f.name)
             for f in sorted((base / "annotations/val").glob("*.json"))]
    for jpg in (base / "images/val").rglob("*.jpg"):
        _link(jpg, raw / "images/val" / jpg.parent.name / jpg.name)
    native = json.loads(files[0].read_text())
    for img in native["images"]:
        jpg = base / img["file_name"]
        img["file_name"] = img["file_name"].replace("images/val/", "images/train/")
        _link(jpg, raw / img["file_name"])
    (raw / "annotations/train").mkdir(parents=True)
    (raw / "annotations/train" / files[0].name).write_text(json.dumps(native))
    # a stray copy of the labels outside annotations/ must not be taken for the split
    _link(files[1].resolve(), root / "backup" / "val" / files[1].name)
    return files


def test_posetrack18_convert_finds_both_splits(real_fixtures: Path, tmp_path: Path) -> None:
    """convert() takes each split's videos from ``annotations/<split>/`` (not from another
    folder called ``val``), keeping frame fields, track ids and head boxes of the native
    files; PoseTrack18 has no crowd persons."""
    files = _posetrack_raw(real_fixtures, tmp_path)
    out = posetrack18.convert(tmp_path)
    assert set(out) == {"train", "val"}
    assert out["val"]["info"]["videos"] == [f.stem for f in files]
    assert out["train"]["info"]["videos"] == [files[0].stem]
    assert [i["file_name"] for i in out["train"]["images"]] == [
        "posetrack18/images/train/003418_mpii_test/000000.jpg"]
    native_imgs = {i["id"]: i for f in files for i in json.loads(f.read_text())["images"]}
    native_anns = {a["id"]: a for f in files for a in json.loads(f.read_text())["annotations"]}
    assert len(out["val"]["images"]) == 3 and len(out["val"]["annotations"]) == 14
    for img in out["val"]["images"]:
        src = native_imgs[img["id"]]
        for key in ("vid_id", "frame_id", "nframes", "ignore_regions_x", "ignore_regions_y"):
            assert img[key] == src[key], (img["id"], key)
        assert (img["width"], img["height"]) == (src["width"], src["height"]) == (1920, 1080)
    for ann in out["val"]["annotations"]:
        src = native_anns[ann["id"]]
        assert ann["track_id"] == src["track_id"] and ann["image_id"] == src["image_id"]
        assert ann["bbox_head"] == [float(v) for v in src["bbox_head"]]
        assert ann["bbox"] == [float(v) for v in src["bbox"]]
        assert ann["iscrowd"] == 0 and src["iscrowd"] is False
    first = next(a for a in out["val"]["annotations"] if a["id"] == 1003418000000)
    assert first["bbox_head"] == [346.0, 337.0, 296.0, 237.0]
    assert first["num_keypoints"] == 11


def test_posetrack18_keeps_only_labelled_frames(real_fixtures: Path, tmp_path: Path) -> None:
    """PoseTrack18 video files list every frame, most unlabelled and absent from the image
    archive: a frame with ``is_labeled: false`` is skipped with its persons, a frame without
    the flag is taken as labelled and must be on disk."""
    base = real_fixtures / POSETRACK_DIR
    src = sorted((base / "annotations/val").glob("*.json"))[0]
    raw = tmp_path / "raw"
    _link(base / "images/val/003418_mpii_test/000000.jpg",
          raw / "images/val/003418_mpii_test/000000.jpg")
    native = json.loads(src.read_text())
    frame = native["images"][0]
    del frame["is_labeled"]
    ghost = {**frame, "id": frame["id"] + 1, "is_labeled": False,
             "file_name": "images/val/003418_mpii_test/000001.jpg"}
    native["images"].append(ghost)
    native["annotations"].append({**native["annotations"][0], "id": 7, "image_id": ghost["id"]})
    f = tmp_path / "003418_mpii_test.json"
    f.write_text(json.dumps(native))
    out = posetrack18.convert_split([f], raw, posetrack18._image_index(raw))
    assert [i["id"] for i in out["images"]] == [frame["id"]]
    assert [a["id"] for a in out["annotations"]] == [native["annotations"][0]["id"]]
    ghost["is_labeled"] = True
    f.write_text(json.dumps(native))
    with pytest.raises(NativeFormatError) as err:
        posetrack18.convert_split([f], raw, posetrack18._image_index(raw))
    assert str(err.value) == (f"{f}: frame {ghost['id']} (images/val/003418_mpii_test/"
                              "000001.jpg) is not in the downloaded images")


def test_posetrack18_person_without_head_box_is_named(real_fixtures: Path,
                                                      tmp_path: Path) -> None:
    """The head box is the protocol's normaliser: a person without one is refused, naming
    the file and the annotation id."""
    base = real_fixtures / POSETRACK_DIR
    src = sorted((base / "annotations/val").glob("*.json"))[1]
    raw = tmp_path / "raw"
    _link(base / "images/val/009473_mpii_test/000000.jpg",
          raw / "images/val/009473_mpii_test/000000.jpg")
    native = json.loads(src.read_text())
    del native["annotations"][1]["bbox_head"]
    f = tmp_path / src.name
    f.write_text(json.dumps(native))
    with pytest.raises(NativeFormatError) as err:
        posetrack18.convert_split([f], raw, posetrack18._image_index(raw))
    assert str(err.value) == (f"{f}: annotation {native['annotations'][1]['id']} has no "
                              "bbox_head (the protocol's normaliser)")


# --------------------------------------------------------------------------- LLVIP-Pose

#: The 13-keypoint fine-tuning file's joints, in its order (COCO's nose and 12 limb joints).
LLVIP13 = ("nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
           "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
           "left_ankle", "right_ankle")


def _llvip_raw(real: Path, raw: Path) -> list[str]:
    """LLVIP's layout with the 12 real pairs in test/ and, as train/ 010001.jpg and
    010002.jpg, the first two again (LLVIP's names are unique across its splits)."""
    names = []
    for ir in sorted((real / "llvip/FusionGAN/Test_LLVIP_ir").glob("*.jpg")):
        vi = real / "llvip/FusionGAN/Test_LLVIP_vi" / ir.name
        _link(ir, raw / "images/LLVIP/infrared/test" / ir.name)
        _link(vi, raw / "images/LLVIP/visible/test" / ir.name)
        if len(names) < 2:
            train = f"01000{len(names) + 1}.jpg"
            _link(ir, raw / "images/LLVIP/infrared/train" / train)
            _link(vi, raw / "images/LLVIP/visible/train" / train)
        names.append(ir.name)
    return names


def _llvip_native(names: list[str], n_kp: int) -> dict:
    """Native LLVIP-Pose-style records without width/height/area (as some files have); the
    keypoint values of joint j are (10j + 100, 10j + 200, 2): distinct per joint."""
    kp = [float(v) for j in range(n_kp) for v in (10 * j + 100, 10 * j + 200, 2)]
    return {"images": [{"id": i, "file_name": n} for i, n in enumerate(names)],
            "annotations": [{"id": 100 + i, "image_id": i, "category_id": 1,
                             "bbox": [90.0, 190.0, 150.0, 40.0 + i], "keypoints": kp}
                            for i in range(len(names))]}


def test_llvip_convert_maps_the_13_joint_file_by_name(real_fixtures: Path,
                                                      tmp_path: Path) -> None:
    """convert() reads the three files by split; in ``test_13kpts`` each of the 13 joints
    lands on its own name in the 17-joint layout, the head and ears unlabelled."""
    raw = tmp_path / "raw"
    names = _llvip_raw(real_fixtures, raw)
    (raw / "train_llvip.json").write_text(json.dumps(_llvip_native(["010001.jpg",
                                                                     "010002.jpg"], 17)))
    (raw / "test_llvip.json").write_text(json.dumps(_llvip_native(names, 17)))
    (raw / llvip_pose.FINETUNE_FILE).write_text(json.dumps(_llvip_native(names[:3], 13)))
    out = llvip_pose.convert(raw)
    assert {s: len(c["images"]) for s, c in out.items()} == {"train": 2, "test": 12,
                                                             "test_13kpts": 3}
    assert out["train"]["images"][0]["modality_paths"] == {
        "thermal": "images/LLVIP/infrared/train/010001.jpg",
        "rgb": "images/LLVIP/visible/train/010001.jpg"}
    assert out["test"]["images"][0]["modality_paths"] == {
        "thermal": f"images/LLVIP/infrared/test/{names[0]}",
        "rgb": f"images/LLVIP/visible/test/{names[0]}"}
    for ann in out["test_13kpts"]["annotations"]:
        kp = ann["keypoints"]
        assert len(kp) == 51 and ann["num_keypoints"] == 13
        for j, name in enumerate(LLVIP13):
            k = POSETRACK17.index[name]
            assert kp[3 * k:3 * k + 3] == [10 * j + 100.0, 10 * j + 200.0, 2.0], name
        for name in ("head_bottom", "head_top", "left_ear", "right_ear"):
            k = POSETRACK17.index[name]
            assert kp[3 * k:3 * k + 3] == [0.0, 0.0, 0.0], name
    validate(out["test_13kpts"], POSETRACK17, "ft", llvip_pose.SPEC.sensor_modalities)


def test_llvip_missing_sizes_and_areas_come_from_the_images(real_fixtures: Path,
                                                            tmp_path: Path) -> None:
    """A native image without width/height gets LLVIP's frame size (1280x1024, the size of
    the real images), a person without area the area of its box; none is a crowd."""
    from PIL import Image

    raw = tmp_path / "raw"
    names = _llvip_raw(real_fixtures, raw)
    out = llvip_pose.convert_split(_llvip_native(names, 17), tmp_path / "test_llvip.json",
                                   "test", llvip_pose._paired_index(raw))
    for img in out["images"]:
        for rel in img["modality_paths"].values():
            with Image.open(raw / rel) as real:
                assert (img["width"], img["height"]) == real.size == (1280, 1024)
    assert [a["area"] for a in out["annotations"]] == [150.0 * (40.0 + i) for i in range(12)]
    assert {a["iscrowd"] for a in out["annotations"]} == {0}


def test_llvip_13_joint_record_of_the_wrong_length_is_named(real_fixtures: Path,
                                                            tmp_path: Path) -> None:
    """A 17-joint record in the 13-joint file is refused, naming the file, the annotation
    and both lengths."""
    raw = tmp_path / "raw"
    names = _llvip_raw(real_fixtures, raw)
    with pytest.raises(NativeFormatError) as err:
        llvip_pose.convert_split(_llvip_native(names[:1], 17), tmp_path / "ft.json", "test",
                                 llvip_pose._paired_index(raw), expand13=True)
    assert str(err.value) == (f"{tmp_path / 'ft.json'}: annotation 100: expected 39 values "
                              "(13 joints), got 51")
