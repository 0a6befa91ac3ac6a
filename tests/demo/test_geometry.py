"""Annotations agree with the rendered pixels of every modality."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.datasets.demo.annotate import TOLERANCE
from benchmark.datasets.demo.paint_depth import noise_sigma_mm
from benchmark.datasets.demo.paint_rgb import paint_rgb
from benchmark.datasets.demo.raster import Raster, surface_along_rays
from benchmark.datasets.demo.render import image_streams
from benchmark.datasets.layouts import COCO17
from tests.demo.helpers import GeometryDataset, images_with_people, split_index

SEED = 3  # the geometry_dataset's seed
TORSO = [COCO17.index[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]


@pytest.fixture(scope="module")
def rendered(geometry_dataset: GeometryDataset) -> list:
    root, cocos = geometry_dataset
    return list(images_with_people(root, cocos, SEED))


def _pixel(kp: np.ndarray) -> tuple[int, int]:
    return int(np.floor(kp[1])), int(np.floor(kp[0]))


def test_annotations_are_the_rendered_scene(rendered: list) -> None:
    for _, kps, r, _ in rendered:
        assert len(kps) == len(r.scene.persons) == len(r.labels)
        for k, lab in zip(kps, r.labels, strict=True):
            np.testing.assert_allclose(k, lab.keypoints, atol=1e-9)


def test_keypoints_inside_bbox_and_bbox_inside_image(rendered: list) -> None:
    for im, kps, _, files in rendered:
        w, h = im["width"], im["height"]
        for k, ann in zip(kps, files["anns"], strict=True):
            x, y, bw, bh = ann["bbox"]
            assert 0 <= x and 0 <= y and x + bw <= w + 1e-6 and y + bh <= h + 1e-6
            assert bw > 0 and bh > 0
            lab = k[k[:, 2] > 0]
            assert np.all(lab[:, 0] >= x - 1e-6) and np.all(lab[:, 0] <= x + bw + 1e-6)
            assert np.all(lab[:, 1] >= y - 1e-6) and np.all(lab[:, 1] <= y + bh + 1e-6)


def test_unlabelled_keypoints_are_zero_and_out_of_frame(rendered: list) -> None:
    n_out = 0
    for im, kps, r, _ in rendered:
        cam = r.scene.camera
        for k, person in zip(kps, r.scene.persons, strict=True):
            proj = cam.project(person.body.keypoints)[:, :2]
            inside = ((proj[:, 0] >= 0) & (proj[:, 0] < im["width"]) & (proj[:, 1] >= 0)
                      & (proj[:, 1] < im["height"]))
            out = k[:, 2] == 0
            n_out += int(out.sum())
            assert np.all(k[out, :2] == 0)
            assert not np.any(inside[out])
            np.testing.assert_allclose(k[~out, :2], proj[~out], atol=0.006)
    assert n_out > 0, "the sample should contain people cut by the frame"


def test_area_is_the_visible_mask(rendered: list) -> None:
    for _, _, r, files in rendered:
        for pid, ann in enumerate(files["anns"]):
            mask = r.raster.owner == pid
            assert ann["area"] == mask.sum() > 0
            ys, xs = np.nonzero(mask)
            x, y, bw, bh = ann["bbox"]
            assert x <= xs.min() and xs.max() + 1 <= x + bw + 1e-6
            assert y <= ys.min() and ys.max() + 1 <= y + bh + 1e-6


def test_rgb_shows_a_person_at_visible_keypoints(rendered: list) -> None:
    """Compared with the same image rendered without people, visible keypoints changed."""
    changed, total = 0, 0
    for im, kps, r, files in rendered:
        split, index = split_index(im)
        rgb_rng = image_streams(SEED, split, index)[1]
        empty = Raster.empty(im["height"], im["width"])
        background = paint_rgb(r.scene, empty, rgb_rng).astype(int)
        diff = np.abs(files["rgb"].astype(int) - background).sum(axis=2)
        for k in kps:
            for kp in k[k[:, 2] == 2]:
                total += 1
                changed += diff[_pixel(kp)] > 24
    assert total > 200 and changed / total > 0.95


def test_thermal_is_warm_at_visible_torso_keypoints(rendered: list) -> None:
    above, total = 0, 0
    for _, kps, _, files in rendered:
        thermal = files["thermal"].astype(float)
        median = np.median(thermal)
        for k in kps:
            for kp in k[TORSO][k[TORSO, 2] == 2]:
                total += 1
                above += thermal[_pixel(kp)] > median + 8
    assert total > 50 and above / total > 0.95


def test_depth_at_visible_keypoints_is_the_persons_depth(rendered: list) -> None:
    """The depth file shows the keypoint's own surface (within the limb radius + noise).

    Pixel centres are up to 0.7 px from the keypoint, so at silhouettes a pixel may show what
    is beside the person: a small share of mismatches is allowed.
    """
    n_valid = at_keypoint = at_person = 0
    for _, kps, r, files in rendered:
        depth = files["depth"].astype(float)
        for k, person in zip(kps, r.scene.persons, strict=True):
            z_mm = person.body.keypoints[:, 2] * 1000
            tol_mm = TOLERANCE * person.body.height_m * 1000
            for j in np.nonzero(k[:, 2] == 2)[0]:
                d = depth[_pixel(k[j])]
                if d == 0:
                    continue  # a sensor hole
                n_valid += 1
                margin = 4 * noise_sigma_mm(d) + 1
                at_keypoint += z_mm[j] - tol_mm[j] - margin <= d <= z_mm[j] + margin
                at_person += abs(d - person.depth_m * 1000) < 1000
    assert n_valid > 200
    assert at_keypoint / n_valid > 0.95 and at_person / n_valid > 0.97


def test_occluded_keypoints_are_covered(rendered: list) -> None:
    """v=1: a nearer person covers the keypoint, or a nearer part of the same person."""
    by_other = by_self = pixel_ok = near_ok = file_ok = file_n = total = 0
    for _, kps, r, files in rendered:
        cam, depth = r.scene.camera, files["depth"].astype(float)
        for pid, (k, person) in enumerate(zip(kps, r.scene.persons, strict=True)):
            z = person.body.keypoints[:, 2]
            tol = TOLERANCE * person.body.height_m
            occluded = np.nonzero(k[:, 2] == 1)[0]
            # Exact line of sight: something nearer than the keypoint's own surface.
            uv = cam.project(person.body.keypoints[occluded])[:, :2]
            surface, owner = surface_along_rays(r.raster.primitives, uv)
            assert np.all((owner >= 0) & ((owner != pid) | (surface < z[occluded] - tol[occluded])))
            by_other += int(np.sum(owner != pid))
            by_self += int(np.sum(owner == pid))
            # The rendered pixels agree: the pixel (or, at silhouettes, a neighbour) is covered.
            for j in occluded:
                total += 1
                py, px = _pixel(k[j])
                win = np.s_[max(py - 1, 0):py + 2, max(px - 1, 0):px + 2]
                o, s = r.raster.owner, r.raster.depth
                cover = (o >= 0) & ((o != pid) | (s < z[j] - tol[j]))
                pixel_ok += bool(cover[py, px])
                near_ok += bool(cover[win].any())
                if depth[py, px] > 0:
                    file_n += 1
                    file_ok += depth[py, px] < z[j] * 1000 + 4 * noise_sigma_mm(z[j] * 1000)
    assert by_other > 5 and by_self > 20
    assert pixel_ok / total > 0.93 and near_ok / total > 0.99 and file_ok / file_n > 0.93
