"""Every real dataset, from its upstream release layout to converted annotations, offline.

For each of ExLPose, MVOR, PoseTrack18, COCO, LLVIP-Pose and MPII the test builds, inside its
tmp dir, every source file the dataset's spec lists (``benchmark/datasets/<name>.py``), with the
archive member paths of the real release, from the real samples in ``../shared/fixtures/real``
(read in place, never copied into the repository; the tests skip when they are absent). The
sources that have a URL are served by the loopback HTTP server of ``conftest.py`` through the
documented mirror (``mirror=`` or ``MPBENCH_MIRROR``); the manual-only ones are placed into
``data/<name>/manual/`` after a first run has stopped naming each of them. Then the real stage
functions run: ``fetch_and_unpack`` (tmp ``datasets.lock``) and ``convert``.

Checked per dataset: the counts of ``converted/summary.json`` (images, persons, labelled
keypoints per split) equal those computed here from the source annotation files; every archive
member is unpacked at its place in ``raw/``; every image path of every modality of the converted
files exists under its modality root, and the paired modalities resolve to the partner file
(ExLPose dark/bright via ``brightPath2darkPath.txt``, MVOR colour/depth, LLVIP infrared/visible);
each URL is requested exactly once (the downloads made while the manual files were missing are
reused), checksums without a published value are pinned, and a second ``fetch_and_unpack``
makes no HTTP request and rewrites nothing.

Upstream layouts (archive members as the releases hold them) and what the fixtures lack:

- **ExLPose** (``ExLPose.zip``, ``ExLPose-OC.zip``; the release's folder tree):
  ``Annotations/ExLPose/{ExLPose_*.json,brightPath2darkPath.txt}``,
  ``ExLPose/{bright,dark}/imgs_*_{bright,dark}_*.png``, ``Annotations/ExLPose-OC/*.json``,
  ``ExLPose-OCN/{A7M3,RICOH3}/*.JPG``. The dark PNGs and the annotations are the real sample
  (2 images, 6 persons). The fixture has no well-lit partners and no other-camera images:
  those are synthetic images of the real size at the upstream paths. It has one annotation
  file: ``train`` and ``test_ll_a`` hold the whole sample, the LL-N/H/E files and the two OC
  files are subsets of it (one image each; the OC files name their synthetic image).
- **MVOR** (``camma_mvor_2018.json`` from the repository at the pinned commit, the published
  sha256 enforced; ``camma_mvor_dataset.zip`` with ``camma_mvor_dataset/dayD/camC/{color,
  depth}/NNNNNN.png``): the real ground truth (2196 images, 4699 persons). The fixture has no
  images: every colour (8-bit RGB) and depth (16-bit) image of the GT is a tiny synthetic PNG.
- **PoseTrack18** (``posetrack18_images.tar``: ``posetrack_data/images/{train,val,test}/<video>/
  NNNNNN.jpg``; ``posetrack18_v0.45_public_labels.tar.gz``: ``posetrack_data/annotations/
  {train,val}/<video>.json``): the real per-video val files and frames, and the real unlabelled
  test clip. The fixture has no train video: one val video is also shipped as a train video
  (``*_mpii_train``; same frames and labels, video name and frame paths renamed).
- **COCO** (``annotations_trainval2017.zip``: ``annotations/person_keypoints_{train,val}2017
  .json``; ``val2017.zip``: ``val2017/<id>.jpg``; ``train2017.zip``; the manual HRNet detection
  file): the real 4-photo val sample and the real detections (mmpose's subset of the HRNet
  file). The fixture has no train images: two val photos with their real annotations are
  shipped as train images under other ids (COCO names are unique across splits).
- **LLVIP-Pose** (five release assets; ``LLVIP.zip``: ``LLVIP/{infrared,visible}/{train,test}/
  NNNNNN.jpg``): the 12 real registered pairs as the test images. The fixture has no LLVIP-Pose
  annotations: the five JSON assets are synthetic (real image names, 17 PoseTrack joints and
  the 13-joint fine-tuning form). Three pairs are also shipped as train images under
  train-style names.
- **MPII** (``mpii_human_pose_v1.tar.gz``: ``images/<name>.jpg``; manual ``mpii_train.json``,
  ``mpii_val.json``, ``gt_valid.mat``): the real 5 photos, ``test_mpii.json`` as the train file
  and the real ``gt_valid.mat`` (2958 persons). The fixture has no ``mpii_val.json``: it is
  written from ``gt_valid.mat`` (same person order, joints and visibility), its image names
  cycling over the 5 photos.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

from benchmark.datasets import exlpose, llvip_pose
from benchmark.datasets.download import MIRROR_ENV, ManualFilesNeeded, Pin, PinStore
from benchmark.datasets.registry import get_spec
from benchmark.datasets.spec import DatasetSpec
from benchmark.stages.data import convert, fetch_and_unpack
from tests.conftest import missing_fixture

Members = dict[str, bytes]


# --------------------------------------------------------------------------- helpers


def _need(path: Path) -> Path:
    if not path.exists():
        missing_fixture(f"real fixture missing: {path}")
    return path


def _labelled(kp: list) -> int:
    return sum(1 for v in kp[2::3] if v > 0)


def _counts(images: list, annotations: list) -> dict[str, int]:
    return {"images": len(images), "persons": len(annotations),
            "keypoints": sum(_labelled(a["keypoints"]) for a in annotations)}


def _coco_counts(native: dict) -> dict[str, int]:
    return _counts(native["images"], native["annotations"])


def _subset(native: dict, image_ids: set) -> dict:
    """The native file restricted to some images (every other key kept as is)."""
    return {**native, "images": [i for i in native["images"] if i["id"] in image_ids],
            "annotations": [a for a in native["annotations"] if a["image_id"] in image_ids]}


def _dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


def _image(fmt: str, size: tuple[int, int], mode: str, value: object) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, value).save(buf, format=fmt)
    return buf.getvalue()


def _gradient_rgb_depth(size: tuple[int, int], seed: int) -> tuple[bytes, bytes]:
    """A colour PNG and a 16-bit depth PNG (mm, 1-6 m) of ``size``: smooth ramps that differ
    per ``seed`` (so normalisation statistics have a spread), small once compressed."""
    import numpy as np
    from PIL import Image

    w, h = size
    ramp = np.add.outer(np.arange(h) / h, np.arange(w) / w) / 2  # 0..1, top-left to bottom-right
    rgb = np.stack([ramp * 200 + 20 + seed % 30, ramp[::-1] * 150 + 40, ramp * 90 + 60],
                   axis=-1).astype(np.uint8)
    depth = (1000 + 5000 * ramp + 37 * (seed % 20)).astype(np.uint16)
    out = []
    for arr in (rgb, depth):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, format="PNG")
        out.append(buf.getvalue())
    return out[0], out[1]


def _mvor_rendered(size: tuple[int, int], seed: int, anns: list[dict]) -> tuple[bytes, bytes]:
    """MVOR colour and 16-bit depth images derived from the real ground truth: the gradient
    background of :func:`_gradient_rgb_depth` with every posed person drawn where the GT puts
    them (limbs as thick strokes, joints as discs, 1.8-2.6 m from the camera), so a model
    trained on the copy has people to find at the annotated places."""
    import numpy as np
    from PIL import Image, ImageDraw

    from benchmark.datasets.layouts import MVOR10

    color_bytes, depth_bytes = _gradient_rgb_depth(size, seed)
    color = Image.open(io.BytesIO(color_bytes)).convert("RGB")
    depth = Image.fromarray(np.asarray(Image.open(io.BytesIO(depth_bytes))).astype(np.int32),
                            mode="I")
    draw_c, draw_d = ImageDraw.Draw(color), ImageDraw.Draw(depth)
    radius = max(2, size[0] // 80)
    for n, ann in enumerate(anns):
        kp = np.asarray(ann["keypoints"], float).reshape(-1, 3)
        mm, rgb = 1800 + 200 * (n % 5), (230, 60 + 40 * (n % 4), 40)
        for a, b in MVOR10.skeleton_indices:
            if kp[a, 2] > 0 and kp[b, 2] > 0:
                line = [tuple(kp[a, :2]), tuple(kp[b, :2])]
                draw_c.line(line, fill=rgb, width=2 * radius)
                draw_d.line(line, fill=mm, width=2 * radius)
        for x, y, v in kp:
            if v > 0:
                box = (x - radius, y - radius, x + radius, y + radius)
                draw_c.ellipse(box, fill=rgb)
                draw_d.ellipse(box, fill=mm - 100)
    out = []
    for img in (color, Image.fromarray(np.asarray(depth).astype(np.uint16))):
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        out.append(buf.getvalue())
    return out[0], out[1]


def _folders(names: list[str]) -> list[str]:
    """Every folder above the members: archives made with `zip -r` / `tar c` list them."""
    out = set()
    for name in names:
        parts = name.split("/")[:-1]
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return sorted(out)


def _zip(path: Path, members: Members) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for folder in _folders(list(members)):
            zf.mkdir(folder)
        for name, data in members.items():
            packed = name.lower().endswith((".json", ".txt"))
            zf.writestr(name, data, zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED,
                        compresslevel=1 if packed else None)
    return path


def _tar(path: Path, members: Members) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = path.name.endswith(".gz")
    with tarfile.open(path, "w:gz" if gz else "w", **({"compresslevel": 1} if gz else {})) as tf:
        for folder in _folders(list(members)):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tf.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tf.addfile(info, io.BytesIO(data))
    return path


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _archive_files(path: Path) -> dict[str, int]:
    """``{member: size}`` of the regular files of a zip or tar archive."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            return {i.filename: i.file_size for i in zf.infolist() if not i.is_dir()}
    with tarfile.open(path) as tf:
        return {m.name: m.size for m in tf.getmembers() if m.isreg()}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _mirror_path(filename: str) -> str:
    return "/mirror/" + quote(filename)


def _round_trip(name: str, files: dict[str, Path], expected: dict[str, dict[str, int]],
                server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *,
                mirror_env: bool = False) -> tuple[DatasetSpec, Path, dict[str, dict]]:
    """Serve / place the sources, run fetch_and_unpack + convert, check what every dataset must
    satisfy; return the spec, the dataset dir and the converted annotations per split."""
    spec = get_spec(name)
    assert set(files) == {s.filename for s in spec.sources}, "build every source of the spec"
    data_root = tmp_path / "data"
    base = spec.dataset_dir(data_root)
    pins_file = tmp_path / "datasets.lock"
    auto = [s for s in spec.sources if not s.is_manual]
    manual = [s for s in spec.sources if s.is_manual]
    for s in auto:
        server.add(_mirror_path(s.filename), files[s.filename].read_bytes())
    mirror: str | None = server.base_url + "/mirror/"
    if mirror_env:  # the documented variable instead of the argument
        monkeypatch.setenv(MIRROR_ENV, mirror)
        mirror = None

    def fetch() -> Path:
        return fetch_and_unpack(spec, data_root, pins_file=pins_file, mirror=mirror)

    if manual:
        with pytest.raises(ManualFilesNeeded) as err:
            fetch()
        msg = str(err.value)
        assert f"dataset {name!r}: {len(manual)} file" in msg
        assert sorted(s.filename for s, _ in err.value.missing) == sorted(
            s.filename for s in manual)
        for s in manual:
            assert f"- {s.filename}: {s.manual}" in msg
            assert f"put it at: {base.absolute() / 'manual' / s.filename}" in msg
        assert not (base / "raw").exists(), "nothing is unpacked while files are missing"
        for s in manual:  # what the user does: put the downloaded file where the message says
            (base / "manual").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[s.filename], base / "manual" / s.filename)

    raw = fetch()
    assert raw == base / "raw"
    # every URL went to the mirror, once: files fetched during the failed run were kept
    assert sorted(h.path for h in server.hits) == sorted(_mirror_path(s.filename) for s in auto)
    assert all(h.status == 200 and h.range is None for h in server.hits)
    for s in auto:
        assert (base / "downloads" / s.filename).read_bytes() == files[s.filename].read_bytes()
    # sources without a published checksum are pinned with the bytes received
    pins = PinStore(pins_file).load().get(name, {})
    assert pins == {s.filename: Pin(hashlib.sha256(files[s.filename].read_bytes()).hexdigest(),
                                    files[s.filename].stat().st_size)
                    for s in spec.sources if not s.sha256}
    # unpacked in the release's layout (archives) or placed as is (single files)
    for s in spec.sources:
        if s.extract:
            target = raw / s.extract_to
            for member, size in _archive_files(files[s.filename]).items():
                assert (target / member).stat().st_size == size, (s.filename, member)
        else:
            assert (raw / s.filename).read_bytes() == files[s.filename].read_bytes()

    out = convert(spec, data_root)
    summary = json.loads((out / "summary.json").read_text())
    assert summary == expected
    converted = {split: json.loads((out / "annotations" / f"{split}.json").read_text())
                 for split in spec.splits}
    for split, coco in converted.items():
        for img in coco["images"]:
            paths = img["modality_paths"]
            assert set(paths) <= set(spec.sensor_modalities), (split, img["id"])
            first = next(m for m in spec.sensor_modalities if m in paths)
            assert img["file_name"] == paths[first]
            for modality, rel in paths.items():
                assert (spec.image_root(modality, data_root) / rel).is_file(), (split, rel)

    # a second run: no request, nothing downloaded, unpacked or placed again
    before, hits = _snapshot(base), len(server.hits)
    assert fetch() == raw
    assert len(server.hits) == hits
    assert _snapshot(base) == before
    return spec, base, converted


# --------------------------------------------------------------------------- ExLPose


def _bright_name(dark: str) -> str:
    """Upstream names a well-lit partner with `bright` and its own gain."""
    return dark.replace("_dark_", "_bright_").replace("gain_3.40", "gain_0.00")


def _exlpose_release(real: Path, out: Path) -> tuple[dict[str, Path], dict, dict]:
    src = _need(real / "mmpose/tests/data/exlpose")
    native = json.loads((src / "test_exlpose.json").read_text())
    ids = [img["id"] for img in native["images"]]
    assert len(ids) == 2, "the plan below splits the two-image sample"
    splits = {"train": set(ids), "test_ll_n": {ids[0]}, "test_ll_h": {ids[1]},
              "test_ll_e": {ids[0]}, "test_ll_a": set(ids)}
    main: Members = {}
    pairs, lines = {}, []
    for k, img in enumerate(native["images"]):
        dark = img["file_name"]
        bright = _bright_name(dark)
        assert bright != dark
        pairs[dark] = bright
        lines.append(f"bright/{bright} dark/{dark}")
        main[f"ExLPose/dark/{dark}"] = (src / dark).read_bytes()
        main[f"ExLPose/bright/{bright}"] = _image("PNG", (img["width"], img["height"]), "RGB",
                                                  (90 + 60 * k, 80, 70))
    main["Annotations/ExLPose/" + exlpose.PAIRS_FILE] = ("\n".join(lines) + "\n").encode()
    sources: dict[str, dict] = {}
    for split, keep in splits.items():
        sources[split] = _subset(native, keep)
        main["Annotations/ExLPose/" + exlpose.SPLIT_FILES[split]] = _dumps(sources[split])
    oc: Members = {}
    for split, cam, name, iid in (("test_ocn_a7m3", "A7M3", "0822_DSC07102.JPG", ids[0]),
                                  ("test_ocn_ricoh3", "RICOH3", "0825_R0000208.JPG", ids[1])):
        part = _subset(native, {iid})
        part["images"] = [{**img, "file_name": name} for img in part["images"]]
        sources[split] = part
        oc["Annotations/ExLPose-OC/" + exlpose.SPLIT_FILES[split]] = _dumps(part)
        size = (part["images"][0]["width"], part["images"][0]["height"])
        oc[f"ExLPose-OCN/{cam}/{name}"] = _image("JPEG", size, "RGB", (40, 40, 50))
    expected = {split: _coco_counts(s) for split, s in sources.items()}
    files = {"ExLPose.zip": _zip(out / "ExLPose.zip", main),
             "ExLPose-OC.zip": _zip(out / "ExLPose-OC.zip", oc)}
    return files, expected, {"pairs": pairs, "members": {**main, **oc}, "sources": sources}


def test_exlpose_from_its_release_layout(real_fixtures, tmp_path, http_server, monkeypatch):
    files, expected, built = _exlpose_release(real_fixtures, tmp_path / "upstream")
    spec, base, converted = _round_trip("exlpose", files, expected, http_server, tmp_path,
                                        monkeypatch)
    assert not http_server.hits  # both archives are manual (registration)
    pairs, members = built["pairs"], built["members"]
    for split, coco in converted.items():
        want = {i["id"]: i for i in built["sources"][split]["images"]}
        assert {i["id"] for i in coco["images"]} == set(want)
        for img in coco["images"]:
            paths = img["modality_paths"]
            assert (img["width"], img["height"]) == (want[img["id"]]["width"],
                                                     want[img["id"]]["height"])
            root = spec.image_root("lowlight", base.parent)
            if split in exlpose.PAIRED:
                dark = want[img["id"]]["file_name"]
                assert paths == {"lowlight": f"ExLPose/ExLPose/dark/{dark}",
                                 "rgb": f"ExLPose/ExLPose/bright/{pairs[dark]}"}
                # the partner is the file the pairs list names, not another pair's image
                assert (spec.image_root("rgb", base.parent) / paths["rgb"]).read_bytes() \
                    == members[f"ExLPose/bright/{pairs[dark]}"]
                assert (root / paths["lowlight"]).read_bytes() == members[f"ExLPose/dark/{dark}"]
            else:  # other cameras: low light only
                cam = "A7M3" if split == "test_ocn_a7m3" else "RICOH3"
                name = want[img["id"]]["file_name"]
                assert paths == {"lowlight": f"ExLPose-OC/ExLPose-OCN/{cam}/{name}"}
    # the annotations are the real ones, unchanged
    real = {a["id"]: a for a in built["sources"]["test_ll_a"]["annotations"]}
    for ann in converted["test_ll_a"]["annotations"]:
        assert ann["keypoints"] == pytest.approx(real[ann["id"]]["keypoints"])
        assert ann["bbox"] == pytest.approx(real[ann["id"]]["bbox"])


# --------------------------------------------------------------------------- MVOR


def _mvor_images_per_camera(gt: dict, n: int) -> set:
    """The first ``n`` images (by id) of every (day, camera) that show a person with joints."""
    posed = {a["image_id"] for a in gt["annotations"] if not a["only_bbox"]}
    keep: dict[tuple[int, int], list] = {}
    for img in sorted(gt["images"], key=lambda i: i["id"]):
        group = keep.setdefault((img["day_id"], img["cam_id"]), [])
        if img["id"] in posed and len(group) < n:
            group.append(img["id"])
    return {i for ids in keep.values() for i in ids}


def _mvor_release(real: Path, out: Path, *, per_camera: int | None = None,
                  size: tuple[int, int] = (8, 6)) -> tuple[dict[str, Path], dict, dict]:
    """The MVOR release: the real GT (byte for byte), or, with ``per_camera``, its records of
    the first ``per_camera`` posed images of every (day, camera) (every other key kept; no
    longer the published bytes); synthetic colour/depth images of ``size`` (a gradient that
    differs per image when larger than the default 8x6 placeholders)."""
    from benchmark.datasets import mvor

    gt_path = _need(real / "mvor/annotations/camma_mvor_2018.json")
    gt = json.loads(gt_path.read_text())
    if per_camera is not None:
        gt = _subset(gt, _mvor_images_per_camera(gt, per_camera))
        gt_path = _write(out / "camma_mvor_2018.json", _dumps(gt))
    placeholder = (_image("PNG", size, "RGB", (120, 110, 100)),
                   _image("PNG", size, "I;16", 2500)) if size == (8, 6) else None
    anns_of: dict = {}
    for ann in gt["annotations"]:
        anns_of.setdefault(ann["image_id"], []).append(ann)
    members: Members = {}
    for k, img in enumerate(gt["images"]):
        color, depth = placeholder or _mvor_rendered(size, k, anns_of.get(img["id"], []))
        members[f"camma_mvor_dataset/{img['file_name']}"] = color
        members[f"camma_mvor_dataset/{img['file_name'].replace('/color/', '/depth/')}"] = depth
    day = {img["id"]: img["day_id"] for img in gt["images"]}
    expected = {}
    for split, days in mvor.SPLIT_DAYS.items():
        images = [i for i in gt["images"] if i["day_id"] in days]
        anns = [a for a in gt["annotations"] if day.get(a["image_id"]) in days]
        expected[split] = _counts(images, anns)
    files = {"camma_mvor_2018.json": gt_path,  # whole: served byte for byte (published sha256)
             "camma_mvor_dataset.zip": _zip(out / "camma_mvor_dataset.zip", members)}
    return files, expected, gt


def test_mvor_from_its_release_layout(real_fixtures, tmp_path, http_server, monkeypatch):
    files, expected, gt = _mvor_release(real_fixtures, tmp_path / "upstream")
    assert expected["all"]["images"] == 2196 and expected["all"]["persons"] == 4699
    spec, base, converted = _round_trip("mvor", files, expected, http_server, tmp_path,
                                        monkeypatch)
    assert (base / "raw/images/camma_mvor_dataset/day1/cam1/color").is_dir()
    from PIL import Image

    native = {img["id"]: img for img in gt["images"]}
    for coco in converted.values():
        for img in coco["images"]:
            paths = img["modality_paths"]
            assert paths["rgb"] == "images/camma_mvor_dataset/" + native[img["id"]]["file_name"]
            assert paths["depth"] == paths["rgb"].replace("/color/", "/depth/")
        img = coco["images"][0]
        with Image.open(spec.image_root("rgb", base.parent) / img["modality_paths"]["rgb"]) as im:
            assert im.mode == "RGB"
        with Image.open(spec.image_root("depth", base.parent)
                        / img["modality_paths"]["depth"]) as im:
            assert im.mode.startswith("I")  # the 16-bit depth partner, not the colour image
    assert {i["day_id"] for i in converted["test"]["images"]} == {4}
    assert sum(a["only_bbox"] for a in converted["all"]["annotations"]) == sum(
        a["only_bbox"] for a in gt["annotations"])


# --------------------------------------------------------------------------- PoseTrack18


def _posetrack_release(real: Path, out: Path) -> tuple[dict[str, Path], dict, dict]:
    src = _need(real / "mmpose/tests/data/posetrack18")
    images: Members = {}
    labels: Members = {}
    sources: dict[str, list[dict]] = {"train": [], "val": []}
    val_files = sorted((src / "annotations/val").glob("*.json"))
    assert val_files
    for f in val_files:
        native = json.loads(f.read_text())
        labels[f"posetrack_data/annotations/val/{f.name}"] = f.read_bytes()
        sources["val"].append(native)
    for jpg in sorted((src / "images/val").rglob("*.jpg")):
        images[f"posetrack_data/images/val/{jpg.parent.name}/{jpg.name}"] = jpg.read_bytes()
    for jpg in sorted((src / "videos").rglob("*.jpg")):  # the unlabelled test clip
        images[f"posetrack_data/images/test/{jpg.parent.name}/{jpg.name}"] = jpg.read_bytes()
    # the fixture has no train video: one val video is shipped again as a train video
    first = val_files[0]
    video, train_video = first.stem, first.stem.replace("_test", "_train")
    native = json.loads(first.read_text())
    for img in native["images"]:
        img["file_name"] = img["file_name"].replace(f"val/{video}/", f"train/{train_video}/")
        frame = src / "images/val" / video / Path(img["file_name"]).name
        images["posetrack_data/" + img["file_name"]] = frame.read_bytes()
    labels[f"posetrack_data/annotations/train/{train_video}.json"] = _dumps(native)
    sources["train"].append(native)
    expected = {}
    for split, natives in sources.items():
        imgs, anns = [], []
        for nat in natives:
            keep = [i for i in nat["images"] if i.get("is_labeled", True)]
            ids = {i["id"] for i in keep}
            imgs += keep
            anns += [a for a in nat["annotations"] if a["image_id"] in ids]
        expected[split] = _counts(imgs, anns)
    files = {"posetrack18_images.tar": _tar(out / "posetrack18_images.tar", images),
             "posetrack18_v0.45_public_labels.tar.gz":
                 _tar(out / "posetrack18_v0.45_public_labels.tar.gz", labels)}
    return files, expected, {"sources": sources, "images": images}


def test_posetrack18_from_its_release_layout(real_fixtures, tmp_path, http_server,
                                             monkeypatch):
    files, expected, built = _posetrack_release(real_fixtures, tmp_path / "upstream")
    assert expected["val"]["persons"] > 0 and expected["train"]["persons"] > 0
    spec, base, converted = _round_trip("posetrack18", files, expected, http_server, tmp_path,
                                        monkeypatch)
    assert not http_server.hits  # registration-gated: both archives are manual
    root = spec.image_root("rgb", base.parent)
    for split, coco in converted.items():
        native = {i["id"]: i for nat in built["sources"][split] for i in nat["images"]}
        anns = {a["id"]: a for nat in built["sources"][split] for a in nat["annotations"]}
        for img in coco["images"]:
            rel = img["modality_paths"]["rgb"]
            assert rel == "posetrack18/posetrack_data/" + native[img["id"]]["file_name"]
            assert (root / rel).read_bytes() == built["images"]["posetrack_data/"
                                                                + native[img["id"]]["file_name"]]
            assert img["vid_id"] == native[img["id"]]["vid_id"]
        for ann in coco["annotations"]:
            assert ann["track_id"] == anns[ann["id"]]["track_id"]
            assert ann["bbox_head"] == pytest.approx(anns[ann["id"]]["bbox_head"])
    assert any("ignore_regions_x" in i for i in converted["val"]["images"])


# --------------------------------------------------------------------------- COCO


def _coco_release(real: Path, out: Path) -> tuple[dict[str, Path], dict, dict]:
    src = _need(real / "mmpose/tests/data/coco")
    val = json.loads((src / "test_coco.json").read_text())
    # the fixture has no train images: two val photos shipped as train images under other ids
    moved = {img["id"]: 900_000_000 + img["id"] for img in val["images"][:2]}
    train = {**val,
             "images": [{**i, "id": moved[i["id"]], "file_name": f"{moved[i['id']]:012d}.jpg"}
                        for i in val["images"] if i["id"] in moved],
             "annotations": [{**a, "id": 900_000_000 + a["id"], "image_id": moved[a["image_id"]]}
                             for a in val["annotations"] if a["image_id"] in moved]}
    ann_zip = {"annotations/person_keypoints_val2017.json":
               (src / "test_coco.json").read_bytes(),
               "annotations/person_keypoints_train2017.json": _dumps(train)}
    val_zip = {f"val2017/{i['file_name']}": (src / i["file_name"]).read_bytes()
               for i in val["images"]}
    by_id = {i["id"]: i for i in val["images"]}
    train_zip = {f"train2017/{i['file_name']}":
                 (src / by_id[i["id"] - 900_000_000]["file_name"]).read_bytes()
                 for i in train["images"]}
    files = {
        "annotations_trainval2017.zip": _zip(out / "annotations_trainval2017.zip", ann_zip),
        "val2017.zip": _zip(out / "val2017.zip", val_zip),
        "train2017.zip": _zip(out / "train2017.zip", train_zip),
        # the real detections (mmpose's subset of HRNet's file), placed by hand
        "COCO_val2017_detections_AP_H_56_person.json":
            _need(src / "test_coco_det_AP_H_56.json"),
    }
    expected = {"train": _coco_counts(train), "val": _coco_counts(val)}
    return files, expected, {"val": val, "train": train, "members": {**val_zip, **train_zip}}


def test_coco_from_its_release_layout(real_fixtures, tmp_path, http_server, monkeypatch):
    files, expected, built = _coco_release(real_fixtures, tmp_path / "upstream")
    spec, base, converted = _round_trip("coco", files, expected, http_server, tmp_path,
                                        monkeypatch)
    assert len(http_server.hits) == 3  # the three archives; the detections are manual
    root = spec.image_root("rgb", base.parent)
    for split, folder in (("val", "val2017"), ("train", "train2017")):
        native = {i["id"]: i for i in built[split]["images"]}
        for img in converted[split]["images"]:
            name = native[img["id"]]["file_name"]
            assert img["modality_paths"] == {"rgb": f"images/{folder}/{name}"}
            assert (root / img["file_name"]).read_bytes() == built["members"][f"{folder}/{name}"]
            assert (img["width"], img["height"]) == (native[img["id"]]["width"],
                                                     native[img["id"]]["height"])
    areas = {a["id"]: a["area"] for a in built["val"]["annotations"]}
    assert {a["id"]: a["area"] for a in converted["val"]["annotations"]} == pytest.approx(areas)


# --------------------------------------------------------------------------- LLVIP-Pose


def _llvip_annotations(names: list[str], first_id: int) -> dict:
    """Synthetic LLVIP-Pose annotations (the fixture has none): 1-2 persons per image, a few
    joints occluded (1) or unlabelled (0); the ears are never labelled, as in the release."""
    from benchmark.datasets.layouts import POSETRACK17

    images, anns = [], []
    for i, name in enumerate(names):
        images.append({"id": first_id + i, "file_name": name, "width": 1280, "height": 1024})
        for p in range(1 + i % 2):
            x0, y0 = 200 + 300 * p + 20 * i, 250 + 10 * i
            kp: list[float] = []
            for j in range(POSETRACK17.num_keypoints):
                if j in (3, 4) or (i + p + j) % 7 == 0:
                    kp += [0, 0, 0]
                else:
                    kp += [x0 + 7 * j, y0 + 25 * j, 1 if (i + j) % 5 == 0 else 2]
            anns.append({"id": 1000 * first_id + 10 * i + p, "image_id": first_id + i,
                         "category_id": 1, "bbox": [x0, y0, 130, 420], "area": 130 * 420,
                         "iscrowd": 0, "keypoints": kp, "num_keypoints": _labelled(kp)})
    return {"images": images, "annotations": anns,
            "categories": [POSETRACK17.coco_category(1)]}


def _llvip_release(real: Path, out: Path) -> tuple[dict[str, Path], dict, dict]:
    src = _need(real / "llvip/FusionGAN")
    names = sorted(p.name for p in (src / "Test_LLVIP_ir").glob("*.jpg"))
    assert len(names) >= 4
    train_names = {f"{10001 + k:06d}.jpg": n for k, n in enumerate(names[:3])}
    members: Members = {}
    for split, mapping in (("test", {n: n for n in names}), ("train", train_names)):
        for name, real_name in mapping.items():
            for sensor, folder in (("infrared", "Test_LLVIP_ir"), ("visible", "Test_LLVIP_vi")):
                members[f"LLVIP/{sensor}/{split}/{name}"] = (src / folder / real_name).read_bytes()
    train = _llvip_annotations(sorted(train_names), 1)
    test = _llvip_annotations(names, 100)
    keep = {i["id"] for i in test["images"][:4]}
    joints13 = [0, *range(5, 17)]
    ft = _subset(test, keep)
    ft["annotations"] = [{**a, "keypoints": kp, "num_keypoints": _labelled(kp)}
                         for a in ft["annotations"]
                         for kp in [[v for j in joints13 for v in a["keypoints"][3 * j:3 * j + 3]]]]
    dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.9}
            for a in test["annotations"]]
    assets = {"train_llvip.json": train, "test_llvip.json": test,
              "test_bbox_thermal_nms_50_llvip.json": dets,
              "test_bbox_rgb_nms_50_llvip.json": dets[::2],
              llvip_pose.FINETUNE_FILE: ft}
    files = {f: _write(out / f, _dumps(obj)) for f, obj in assets.items()}
    files["LLVIP.zip"] = _zip(out / "LLVIP.zip", members)
    expected = {"train": _coco_counts(train), "test": _coco_counts(test),
                "test_13kpts": _coco_counts(ft)}
    return files, expected, {"members": members, "sources": {"train": train, "test": test,
                                                             "test_13kpts": ft}}


def test_llvip_pose_from_its_release_layout(real_fixtures, tmp_path, http_server, monkeypatch):
    files, expected, built = _llvip_release(real_fixtures, tmp_path / "upstream")
    spec, base, converted = _round_trip("llvip_pose", files, expected, http_server, tmp_path,
                                        monkeypatch, mirror_env=True)
    assert len(http_server.hits) == 5  # the release assets, through MPBENCH_MIRROR
    for split, coco in converted.items():
        folder = "train" if split == "train" else "test"
        native = {i["id"]: i for i in built["sources"][split]["images"]}
        for img in coco["images"]:
            name = native[img["id"]]["file_name"]
            paths = img["modality_paths"]
            assert paths == {"thermal": f"images/LLVIP/infrared/{folder}/{name}",
                             "rgb": f"images/LLVIP/visible/{folder}/{name}"}
            # the same instant from both sensors: the real infrared and visible files
            assert (spec.image_root("thermal", base.parent) / paths["thermal"]).read_bytes() \
                == built["members"][f"LLVIP/infrared/{folder}/{name}"]
            assert (spec.image_root("rgb", base.parent) / paths["rgb"]).read_bytes() \
                == built["members"][f"LLVIP/visible/{folder}/{name}"]
    # the 13-joint file lands in the 17-joint layout, the four head/ear joints unlabelled
    src13 = {a["id"]: a for a in built["sources"]["test_13kpts"]["annotations"]}
    for ann in converted["test_13kpts"]["annotations"]:
        kp = ann["keypoints"]
        assert len(kp) == 51 and kp[3:15] == [0.0] * 12
        assert kp[0:3] + kp[15:] == pytest.approx(src13[ann["id"]]["keypoints"])


# --------------------------------------------------------------------------- MPII


def _mpii_release(real: Path, out: Path, *, val_persons: int | None = None
                  ) -> tuple[dict[str, Path], dict, dict]:
    """The MPII release: ``gt_valid.mat`` byte for byte, or, with ``val_persons``, its first
    ``val_persons`` persons (every variable of the file cut to them, rewritten by scipy)."""
    import numpy as np
    from PIL import Image
    from scipy.io import loadmat, savemat

    from benchmark.datasets.canonical import _outside_image

    src = _need(real / "mmpose/tests/data/mpii")
    mat_path = _need(real / "mpii/gt_valid.mat")
    records = json.loads((src / "test_mpii.json").read_text())
    photos = sorted(p.name for p in src.glob("*.jpg"))
    mat = loadmat(str(mat_path))
    if val_persons is not None:
        per_person = ("jnt_missing", "pos_pred_src", "pos_gt_src", "headboxes_src")
        mat = {k: (v[..., :val_persons] if k in per_person else v)
               for k, v in mat.items() if not k.startswith("__")}
        out.mkdir(parents=True, exist_ok=True)
        mat_path = out / "gt_valid.mat"
        savemat(str(mat_path), mat)
    missing = np.asarray(mat["jnt_missing"], dtype=bool)  # (16, N)
    pos = np.asarray(mat["pos_gt_src"], dtype=float)  # (16, 2, N), MATLAB 1-based
    n = missing.shape[1]
    # The release's photos are not in the fixtures: persons go to the sample photos in turn,
    # or, when their joints lie beyond that photo (the converter's validate() refuses
    # keypoints outside the image), to a blank canvas as large as MPII's largest frames.
    sizes = {name: Image.open(src / name).size for name in photos}
    canvas = "canvas_1920x1080.jpg"
    val = []  # mpii_val.json in the HRNet/MMPose form, same person order as gt_valid.mat
    for i in range(n):
        joints = np.where(missing[:, i, None], 0.0, pos[:, :, i])
        seen = joints[~missing[:, i]]
        center = seen.mean(axis=0) if len(seen) else np.array([100.0, 100.0])
        photo = photos[i % len(photos)]
        if _outside_image([v for xy in seen - 1.0 for v in (*xy, 2)], *sizes[photo]):
            photo = canvas
        val.append({"image": photo, "center": center.round(2).tolist(),
                    "scale": 1.5, "joints": joints.round(2).tolist(),
                    "joints_vis": (~missing[:, i]).astype(int).tolist()})
    images = {f"images/{name}": (src / name).read_bytes() for name in photos}
    if any(r["image"] == canvas for r in val):
        blank = io.BytesIO()
        Image.new("RGB", (1920, 1080), (128, 128, 128)).save(blank, "JPEG")
        images[f"images/{canvas}"] = blank.getvalue()
    files = {"mpii_human_pose_v1.tar.gz": _tar(out / "mpii_human_pose_v1.tar.gz", images),
             "mpii_train.json": src / "test_mpii.json",
             "mpii_val.json": _write(out / "mpii_val.json", _dumps(val)),
             "gt_valid.mat": mat_path}
    expected = {
        "train": {"images": len({r["image"] for r in records}), "persons": len(records),
                  "keypoints": sum(sum(1 for v in r["joints_vis"] if v > 0) for r in records)},
        "val": {"images": len({r["image"] for r in val}), "persons": n,
                "keypoints": int((~missing).sum())},
    }
    return files, expected, {"pos": pos, "missing": missing, "records": records,
                             "headboxes": np.asarray(mat["headboxes_src"], dtype=float)}


def test_mpii_from_its_release_layout(real_fixtures, tmp_path, http_server, monkeypatch):
    files, expected, built = _mpii_release(real_fixtures, tmp_path / "upstream")
    assert expected["val"]["persons"] == 2958
    spec, base, converted = _round_trip("mpii", files, expected, http_server, tmp_path,
                                        monkeypatch)
    assert len(http_server.hits) == 1  # the image tarball; the annotations are manual
    for coco in converted.values():
        for img in coco["images"]:
            assert img["modality_paths"]["rgb"].startswith("images/images/")
    # validation joints and head boxes come from gt_valid.mat, zero-based
    pos, missing, head = built["pos"], built["missing"], built["headboxes"]
    for i in (0, 1, len(converted["val"]["annotations"]) - 1):
        ann = converted["val"]["annotations"][i]
        kp = ann["keypoints"]
        for j in range(16):
            if missing[j, i]:
                assert kp[3 * j:3 * j + 3] == [0.0, 0.0, 0.0]
            else:
                assert kp[3 * j:3 * j + 2] == pytest.approx(pos[j, :, i] - 1.0)
        assert ann["head_box"] == pytest.approx([head[0, 0, i] - 1, head[0, 1, i] - 1,
                                                 head[1, 0, i] - 1, head[1, 1, i] - 1])
    # training joints from the JSON: MATLAB value - 1
    r0, a0 = built["records"][0], converted["train"]["annotations"][0]
    assert a0["keypoints"][0:2] == pytest.approx([r0["joints"][0][0] - 1,
                                                  r0["joints"][0][1] - 1])
