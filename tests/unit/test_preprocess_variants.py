"""The preprocess stage's variants: COCO augmentation variants, the spec-driven low-light
ladder, 80x60 / 64x48 depth, 8- and 16-bit thermal, and the per-modality annotation views."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmark.datasets import mvor
from benchmark.datasets.layouts import COCO17
from benchmark.datasets.spec import DatasetSpec, ModalitySpec
from benchmark.modalities.augment import VARIANTS, augment_variant
from benchmark.modalities.derive import derive_modality
from benchmark.stages.preprocess import derive_dataset_modalities, derived_path, write_views


def _photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx * 3, yy * 4, (xx + yy) * 2], axis=2) + rng.integers(0, 20, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def test_augment_variants_are_what_they_say() -> None:
    img = _photo()
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    gray = augment_variant(img, "gray", rng())
    assert gray.shape == img.shape and (gray[..., 0] == gray[..., 2]).all()
    assert np.array_equal(gray[..., 0], cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    hgi = augment_variant(img, "hsv_gray_invert", rng())
    assert (hgi[..., 0] == hgi[..., 1]).all()
    # inversion: bright becomes dark (the jitter scales value by at most 1.4)
    assert hgi.mean() > 255 - 1.4 * gray.mean() - 1
    hi = augment_variant(img, "hsv_invert", rng())
    assert not (hi[..., 0] == hi[..., 1]).all()
    assert abs(float(hi.mean()) - (255 - float(img.mean()))) < 0.45 * 255
    # deterministic for a generator state
    for v in VARIANTS:
        assert np.array_equal(augment_variant(img, v, rng()), augment_variant(img, v, rng()))
    with pytest.raises(ValueError, match="unknown augmentation variant"):
        augment_variant(img, "sepia", rng())


def test_gray_p50_grays_about_half_the_images(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "src.png"), _photo())
    grayed = 0
    for image_id in range(200):
        derive_modality("augment", tmp_path / "src.png", tmp_path / "out.png", rng_seed=0,
                        variant="gray_p50", image_id=image_id)
        out = cv2.imread(str(tmp_path / "out.png"))
        grayed += int((out[..., 0] == out[..., 2]).all())
    assert 80 <= grayed <= 120  # Binomial(200, 0.5): 5 sigma


def test_depth_lowres_sizes_of_the_orpose_depth_study(tmp_path: Path) -> None:
    depth = np.full((480, 640), 2500, np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), depth)
    for factor, shape in ((8, (60, 80)), (10, (48, 64))):
        meta = derive_modality("depth_lowres", tmp_path / "d.png", tmp_path / f"{factor}.png",
                               factor=factor)
        out = cv2.imread(str(tmp_path / f"{factor}.png"), cv2.IMREAD_UNCHANGED)
        assert out.shape == shape and out.dtype == np.uint16 and (out == 2500).all()
        assert meta["factor"] == factor
    assert [m.downsample for m in mvor.SPEC.modalities.values() if m.derived_from] == [8, 10]


@pytest.mark.parametrize("dtype,scale", [(np.uint8, 1), (np.uint16, 100)])
def test_thermal_normalisation_of_8_and_16_bit(tmp_path: Path, dtype, scale: int) -> None:
    rng = np.random.default_rng(0)
    raw = (rng.integers(50, 150, (40, 50)) * scale + (7000 if dtype == np.uint16 else 0))
    raw = raw.astype(dtype)
    raw[0, 0] = np.iinfo(dtype).max  # a hot outlier must not squash the body range
    cv2.imwrite(str(tmp_path / "t.png"), raw)
    derive_modality("thermal", tmp_path / "t.png", tmp_path / "n.png", mode="percentile")
    out = cv2.imread(str(tmp_path / "n.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint8 and out.shape == raw.shape
    assert out.min() == 0 and out.max() == 255
    assert 100 < float(np.median(out)) < 155  # the bulk spans the range, not squashed


def test_lowlight_level_parameters_come_from_the_spec(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "s.png"), _photo())
    default = derive_modality("lowlight", tmp_path / "s.png", tmp_path / "a.png",
                              level="hard", image_id=1)
    darker = derive_modality("lowlight", tmp_path / "s.png", tmp_path / "b.png",
                             level="hard", image_id=1, exposure=1 / 1000)
    assert default["level"] == "hard" and darker["level"] == "hard*"
    a = cv2.imread(str(tmp_path / "a.png")).mean()
    b = cv2.imread(str(tmp_path / "b.png")).mean()
    assert b < 0.5 * a


def _paired_dataset(tmp_path: Path) -> tuple[DatasetSpec, Path]:
    """Two sensors at different paths (like MVOR colour/depth), one image with rgb only."""
    base = tmp_path / "data" / "toy"
    spec = DatasetSpec(
        name="toy", layout=COCO17,
        modalities={"rgb": ModalitySpec("rgb", "rgb", root="raw"),
                    "thermal": ModalitySpec("thermal", "thermal", root="raw", channels=1),
                    "gray": ModalitySpec("gray", "augment", root="processed/gray",
                                         derived_from="rgb", params={"variant": "gray"})},
        splits=("train", "test"), train_split="train", eval_split="test", protocol="coco",
        license="test", citation="test")
    images = []
    for i in range(3):
        paths = {"rgb": f"cam/color/{i}.jpg"}
        if i < 2:
            paths["thermal"] = f"cam/ir/{i}.png"
        for mod, rel in paths.items():
            (base / "raw" / rel).parent.mkdir(parents=True, exist_ok=True)
            img = _photo(seed=i) if mod == "rgb" else _photo(seed=i)[..., 0]
            cv2.imwrite(str(base / "raw" / rel), img)
        images.append({"id": i + 1, "file_name": paths["rgb"], "width": 64, "height": 48,
                       "modality_paths": paths})
    kp = [10.0, 10.0, 2] * 17
    for split, ids in (("train", [1, 3]), ("test", [2])):
        coco = {"images": [im for im in images if im["id"] in ids],
                "annotations": [{"id": 100 + i, "image_id": i, "category_id": 1,
                                 "keypoints": kp, "num_keypoints": 17} for i in ids],
                "categories": [COCO17.coco_category()]}
        (base / "converted/annotations").mkdir(parents=True, exist_ok=True)
        (base / "converted/annotations" / f"{split}.json").write_text(json.dumps(coco))
        # QA moved a keypoint of the first person: the QA view differs from the official one
        fixed = json.loads(json.dumps(coco))
        fixed["annotations"][0]["keypoints"][0] = 11.0
        (base / "qa/annotations").mkdir(parents=True, exist_ok=True)
        (base / "qa/annotations" / f"{split}.json").write_text(json.dumps(fixed))
    return spec, base


def test_views_give_each_modality_its_own_file_names(tmp_path: Path) -> None:
    spec, base = _paired_dataset(tmp_path)
    processed = base / "processed"
    assert derive_dataset_modalities(spec, base, processed) == {"gray": 3}
    assert (processed / "gray" / derived_path("cam/color/0.jpg")).is_file()
    write_views(spec, base, processed)
    view = lambda m, s: json.loads(  # noqa: E731
        (processed / "annotations" / m / f"{s}.json").read_text())
    assert [i["file_name"] for i in view("rgb", "train")["images"]] == \
        ["cam/color/0.jpg", "cam/color/2.jpg"]
    assert [i["file_name"] for i in view("gray", "train")["images"]] == \
        ["cam/color/0.png", "cam/color/2.png"]
    # image 3 has no thermal frame: left out together with its person; ids stay paired
    th = view("thermal", "train")
    assert [i["id"] for i in th["images"]] == [1] and [a["image_id"] for a in
                                                      th["annotations"]] == [1]
    assert view("thermal", "test")["images"][0]["file_name"] == "cam/ir/1.png"
    # the official views hold the released (converted) annotations, without the QA edit
    official = json.loads((processed / "annotations_official/thermal/train.json").read_text())
    assert official["images"] == th["images"]
    assert official["annotations"][0]["keypoints"][0] == 10.0
    assert th["annotations"][0]["keypoints"][0] == 11.0
