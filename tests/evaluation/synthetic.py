"""Seeded synthetic benchmarks for the PCK/PCKh/mAP protocols, any size, no real files.

Each generator returns ground truth and predictions in the formats the protocols read, built
to exercise every rule the oracles in :mod:`tests.evaluation.references` restate: missing and
unlabelled joints, several predictions per person, false positives, images without persons,
exact and near score ties, predictions in file order unrelated to image order, ignore regions
(with joints exactly on their edges). ``tests/evaluation/test_synthetic.py`` runs them small
against the oracles; ``benchmarks/bench_eval.py`` runs them large for timing.

Coordinates are multiples of 1/64 so that every shift and difference below is exact.
"""

from __future__ import annotations

import numpy as np

from benchmark.datasets.layouts import COCO17, MPII16, MVOR10, POSETRACK17


def _q(values: np.ndarray) -> np.ndarray:
    """Round to multiples of 1/64 (exact binary fractions)."""
    return np.round(np.asarray(values, dtype=np.float64) * 64) / 64


def _counts_to_owner(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


# ---------------------------------------------------------------------------- MVOR

#: An upper-body template in MVOR10 order (unit scale, y down), around the person's centre.
_MVOR_TEMPLATE = np.array([[0.0, -0.9], [0.0, -0.6], [0.25, -0.55], [-0.25, -0.55],
                           [0.18, 0.2], [-0.18, 0.2], [0.35, -0.2], [-0.35, -0.2],
                           [0.4, 0.1], [-0.4, 0.1]])


def mvor_dataset(n_images: int, seed: int = 0, max_persons: int = 5,
                 preds_per_person: tuple[int, int] = (2, 3), max_false_positives: int = 2
                 ) -> tuple[dict, list[dict]]:
    """MVOR-style ground truth (10 joints, ``only_bbox``) and COCO-17 predictions.

    Images hold 0..``max_persons`` persons; ~3 % are ``only_bbox``, ~1 % have no labelled
    joint, ~15 % of joints are unlabelled (0, 0), a few labelled joints lie on x = 0. Each
    person gets ``preds_per_person`` jittered predictions whose head is given by the nose, both
    eyes, both ears or one eye, with ~10 % joints missing; each image gets up to
    ``max_false_positives`` random persons. Scores are rounded to 2 decimals (exact ties) and
    ~5 % are nudged by 3e-7 (ties within the reference's 1e-6). File order is shuffled.
    """
    rng = np.random.default_rng(seed)
    image_ids = rng.permutation(np.arange(1, n_images + 1) * 7)  # ids not in file order
    n_per = rng.integers(0, max_persons + 1, n_images)
    owner = _counts_to_owner(n_per)
    g = len(owner)
    centre = np.column_stack([rng.uniform(40, 600, g), rng.uniform(40, 440, g)])
    scale = rng.uniform(30, 220, g)
    joints = centre[:, None] + _MVOR_TEMPLATE[None] * scale[:, None, None] \
        + rng.normal(0, 0.04, (g, 10, 2)) * scale[:, None, None]
    joints = _q(joints)
    labelled = rng.random((g, 10)) > 0.15
    labelled[rng.random(g) < 0.01] = False
    on_axis = rng.random((g, 10)) < 0.005
    joints[on_axis, 0] = 0.0  # labelled at x = 0 (only (0, 0) is absent)
    gt_kp = np.concatenate([np.where(labelled[..., None], joints, 0.0),
                            np.where(labelled, rng.choice([1.0, 2.0], (g, 10)), 0.0)[..., None]],
                           axis=2)
    only_bbox = (rng.random(g) < 0.03).astype(int)
    strip = (only_bbox == 1) & (rng.random(g) < 0.5)
    gt_kp[strip] = 0.0
    images = [{"id": int(i), "file_name": f"{int(i)}.png", "width": 640, "height": 480}
              for i in image_ids]
    annotations = [{"id": a + 1, "image_id": int(image_ids[owner[a]]), "category_id": 1,
                    "only_bbox": int(only_bbox[a]), "keypoints": gt_kp[a].ravel().tolist()}
                   for a in range(g)]

    # predictions of the persons
    n_pred = rng.integers(preds_per_person[0], preds_per_person[1] + 1, g)
    src = _counts_to_owner(n_pred)
    p = len(src)
    noise = rng.normal(0, 1, (p, 10, 2)) * (scale[src] * rng.uniform(0.01, 0.2, p))[:, None, None]
    mv = _q(joints[src] + noise)
    kp = np.zeros((p, 17, 3))
    c = COCO17.index
    for name in MVOR10.keypoints[2:]:
        kp[:, c[name], :2] = mv[:, MVOR10.index[name]]
    head, half = mv[:, MVOR10.index["head"]], _q(0.08 * scale[src])[:, None]
    style = rng.integers(0, 4, p)
    for s, pairs in ((0, (("nose", 0.0),)), (1, (("left_eye", 1.0), ("right_eye", -1.0))),
                     (2, (("left_ear", 1.5), ("right_ear", -1.5))), (3, (("right_eye", 0.5),))):
        for name, sign in pairs:
            kp[style == s, c[name], :2] = head[style == s] + sign * half[style == s] * [1, 0]
    kp[:, :, 2] = np.round(rng.uniform(0.05, 1, (p, 17)), 2)
    present = (kp[:, :, :2] != 0).any(axis=2) & (rng.random((p, 17)) > 0.1)
    kp[~present] = 0.0
    score = np.round(rng.uniform(0, 1, p), 2) + (rng.random(p) < 0.05) * 3e-7
    pred_image = owner[src]

    # false positives, on every image (also those without persons)
    n_fp = rng.integers(0, max_false_positives + 1, n_images)
    fp_image = _counts_to_owner(n_fp)
    f = len(fp_image)
    fp_kp = np.zeros((f, 17, 3))
    fp_kp[:, :, 0] = _q(rng.uniform(0, 640, (f, 1)) + rng.normal(0, 40, (f, 17)))
    fp_kp[:, :, 1] = _q(rng.uniform(0, 480, (f, 1)) + rng.normal(0, 60, (f, 17)))
    fp_kp[:, :, 2] = rng.uniform(0, 1, (f, 17))
    fp_kp[rng.random((f, 17)) < 0.2] = 0.0
    fp_kp[rng.random(f) < 0.02] = 0.0  # a prediction without any joint
    fp_score = np.round(rng.uniform(0, 1, f), 2)

    all_kp = np.concatenate([kp, fp_kp])
    all_image = image_ids[np.concatenate([pred_image, fp_image])]
    all_score = np.concatenate([score, fp_score])
    order = rng.permutation(len(all_kp))
    preds = [{"image_id": int(all_image[i]), "category_id": 1,
              "keypoints": all_kp[i].ravel().tolist(), "score": float(all_score[i])}
             for i in order]
    gt = {"images": images, "annotations": annotations,
          "categories": [MVOR10.coco_category(1)]}
    return gt, preds


# ---------------------------------------------------------------------------- MPII

#: A full-body template in MPII16 order (unit = head size, y down).
_MPII_TEMPLATE = np.array([[-0.8, 7.5], [-0.8, 5.2], [-0.7, 3.0], [0.7, 3.0], [0.8, 5.2],
                           [0.8, 7.5], [0.0, 3.0], [0.0, 0.9], [0.0, 0.5], [0.0, -0.6],
                           [-1.6, 2.8], [-1.5, 1.9], [-1.1, 0.9], [1.1, 0.9], [1.5, 1.9],
                           [1.6, 2.8]])


def mpii_dataset(n_persons: int, seed: int = 0) -> tuple[dict, list[dict], dict]:
    """Single-person images as in ``gt_valid.mat``: canonical JSON (zero-based pixels,
    ``head_box``), one prediction per person, and the same data as the ``.mat`` arrays HRNet
    reads (1-based; ``pred``/``gt`` (16, 2, N), ``missing`` (16, N), ``headboxes`` (2, 2, N)).

    ~8 % of joints are missing, ~0.5 % are labelled at .mat (0, 0) (like person 2763), the
    prediction error spans 0 .. ~1 head size, with a few exact threshold distances.
    """
    rng = np.random.default_rng(seed)
    n = n_persons
    head = rng.uniform(12, 90, n)
    centre = np.column_stack([rng.uniform(100, 1180, n), rng.uniform(100, 620, n)])
    gt = _q(centre[:, None] + _MPII_TEMPLATE[None] * head[:, None, None]
            + rng.normal(0, 0.3, (n, 16, 2)) * head[:, None, None])
    missing = rng.random((n, 16)) < 0.08
    at_origin = ~missing & (rng.random((n, 16)) < 0.005)
    gt[at_origin] = 0.0  # .mat (0, 0), zero-based (-1, -1), not missing: counted
    top = centre + _MPII_TEMPLATE[9] * head[:, None]
    w = _q(head * rng.uniform(0.8, 1.0, n) / 0.6)
    box = _q(np.column_stack([top[:, 0] - w / 2, top[:, 1] - w / 2,
                              top[:, 0] + w / 2, top[:, 1] + w * 0.6]))  # 1-based corners
    norm = 0.6 * np.hypot(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    err = norm[:, None] * rng.uniform(0, 0.9, (n, 16)) * (rng.random((n, 1)) < 0.95)
    angle = rng.uniform(0, 2 * np.pi, (n, 16))
    pred = _q(gt + np.stack([err * np.cos(angle), err * np.sin(angle)], axis=2))
    exact = rng.random((n, 16)) < 0.01  # (3, 4, 5) triangles: error exactly 5 px
    pred[exact] = gt[exact] + [3.0, 4.0]
    images = [{"id": i + 1, "file_name": "", "mat_index": i} for i in range(n)]
    kp = np.concatenate([gt - 1, np.full((n, 16, 1), 2.0)], axis=2)
    kp[missing] = 0.0
    annotations = [{"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                    "keypoints": kp[i].ravel().tolist(),
                    "num_keypoints": int((~missing[i]).sum()),
                    "head_box": (box[i] - 1).tolist()} for i in range(n)]
    pred_kp = np.concatenate([pred - 1, np.ones((n, 16, 1))], axis=2)
    preds = [{"image_id": i + 1, "category_id": 1, "score": 1.0,
              "keypoints": pred_kp[i].ravel().tolist()} for i in range(n)]
    mat = {"pred": pred.transpose(1, 2, 0), "gt": gt.transpose(1, 2, 0),
           "missing": missing.T.astype(np.uint8),
           "headboxes": box.reshape(n, 2, 2).transpose(1, 2, 0)}
    gt_dict = {"images": images, "annotations": annotations,
               "categories": [MPII16.coco_category(1)]}
    return gt_dict, preds, mat


# ---------------------------------------------------------------------------- PoseTrack

#: A full-body template in POSETRACK17 order (unit = head size, y down).
_PT_TEMPLATE = np.array([[0.0, 0.0], [0.0, 0.6], [0.0, -0.7], [0.4, -0.1], [-0.4, -0.1],
                         [1.1, 1.0], [-1.1, 1.0], [1.5, 2.0], [-1.5, 2.0], [1.6, 2.9],
                         [-1.6, 2.9], [0.7, 3.1], [-0.7, 3.1], [0.8, 5.2], [-0.8, 5.2],
                         [0.8, 7.4], [-0.8, 7.4]])


def posetrack_dataset(n_frames: int, seed: int = 0, max_persons: int = 8,
                      region_rate: float = 0.7) -> tuple[dict, list[dict]]:
    """PoseTrack18-style frames (``bbox_head``, ``ignore_regions_x/y``) and predictions.

    Shaped like the PoseTrack18 sample (4.7 persons per frame, ignore regions on every frame,
    polygons of 13-152 vertices): 1..``max_persons`` persons per frame, ~10 % of frames
    without a person (their predictions are dropped), ``region_rate`` of frames with 1-3
    ignore regions (axis-aligned rectangles around a person's joint, half of them passing
    exactly through it, or random star-shaped polygons of 3-40 vertices); ears are never
    annotated; ~20 % of GT joints are unannotated. Persons get 1-3 predictions (jittered
    around the PCKh threshold, joints dropped, some absent joints at (0, 0) with a score),
    frames get false positives; joint scores come from a small set (many exact ties).
    """
    rng = np.random.default_rng(seed)
    k = POSETRACK17.num_keypoints
    idx = POSETRACK17.index
    frame_ids = np.arange(n_frames) + 10_000_000_000 + 1000 * rng.integers(0, 50, n_frames)
    frame_ids = np.unique(frame_ids)
    n_frames = len(frame_ids)
    n_per = np.where(rng.random(n_frames) < 0.1, 0, rng.integers(1, max_persons + 1, n_frames))
    owner = _counts_to_owner(n_per)
    g = len(owner)
    head = rng.uniform(10, 60, g)
    centre = np.column_stack([rng.uniform(50, 1870, g), rng.uniform(50, 700, g)])
    joints = _q(centre[:, None] + _PT_TEMPLATE[None] * head[:, None, None]
                + rng.normal(0, 0.25, (g, k, 2)) * head[:, None, None])
    annotated = rng.random((g, k)) > 0.2
    annotated[:, [idx["left_ear"], idx["right_ear"]]] = False
    gt_kp = np.concatenate([joints, annotated[..., None].astype(float)], axis=2)
    gt_kp[~annotated] = 0.0
    bbox_head = _q(np.column_stack([centre - head[:, None] * [0.5, 1.2],
                                    head * rng.uniform(0.7, 1.0, g), head * 1.3]))

    images = []
    for f, fid in enumerate(frame_ids):
        img = {"id": int(fid), "file_name": f"images/val/{int(fid)}.jpg", "is_labeled": True}
        if rng.random() < region_rate:
            xs, ys = [], []
            members = np.flatnonzero(owner == f)
            for _ in range(int(rng.integers(1, 4))):
                if len(members) and rng.random() < 0.7:
                    a = int(rng.choice(members))
                    j = int(rng.integers(0, k))
                    x, y = joints[a, j]
                    h = float(_q(head[a] * rng.uniform(0.3, 2.0)))
                    if rng.random() < 0.5:  # the joint lies on the left edge
                        x0, x1, y0, y1 = x, x + 2 * h, y - h, y + h
                    else:
                        x0, x1, y0, y1 = x - h, x + h, y - h, y + h
                    xs.append([x0, x1, x1, x0])
                    ys.append([y0, y0, y1, y1])
                else:
                    nv = int(rng.integers(3, 41))
                    cx, cy = rng.uniform(0, 1920), rng.uniform(0, 1080)
                    ang = np.sort(rng.uniform(0, 2 * np.pi, nv))
                    r = rng.uniform(20, 300, nv)
                    xs.append(_q(cx + r * np.cos(ang)).tolist())
                    ys.append(_q(cy + r * np.sin(ang)).tolist())
            img["ignore_regions_x"] = [[float(v) for v in x] for x in xs]
            img["ignore_regions_y"] = [[float(v) for v in y] for y in ys]
        images.append(img)
    order = rng.permutation(n_frames)  # GT file order differs from id order
    images = [images[i] for i in order]
    annotations = [{"id": a + 1, "image_id": int(frame_ids[owner[a]]), "category_id": 1,
                    "track_id": a, "bbox_head": bbox_head[a].tolist(),
                    "keypoints": gt_kp[a].ravel().tolist(),
                    "num_keypoints": int(annotated[a].sum())} for a in range(g)]

    n_pred = rng.integers(1, 4, g)
    src = _counts_to_owner(n_pred)
    p = len(src)
    norm = 0.6 * np.hypot(bbox_head[src, 2], bbox_head[src, 3])
    err = norm[:, None] * rng.uniform(0, 1.0, (p, 1)) * rng.uniform(0, 1.2, (p, k))
    angle = rng.uniform(0, 2 * np.pi, (p, k))
    kp = np.zeros((p, k, 3))
    kp[:, :, :2] = _q(joints[src] + np.stack([err * np.cos(angle), err * np.sin(angle)], 2))
    kp[:, :, 2] = rng.choice([0.25, 0.5, 0.75, 0.9, 1.0], (p, k))
    kp[rng.random((p, k)) < 0.15] = 0.0
    origin = rng.random((p, k)) < 0.01
    kp[origin, :2] = 0.0  # at (0, 0) with a score: still a predicted joint
    n_fp = rng.integers(0, 3, n_frames)
    fp_frame = _counts_to_owner(n_fp)
    f = len(fp_frame)
    fp = np.zeros((f, k, 3))
    fp[:, :, 0] = _q(rng.uniform(0, 1920, (f, 1)) + rng.normal(0, 60, (f, k)))
    fp[:, :, 1] = _q(rng.uniform(0, 1080, (f, 1)) + rng.normal(0, 90, (f, k)))
    fp[:, :, 2] = rng.choice([0.1, 0.25, 0.5], (f, k))
    all_kp = np.concatenate([kp, fp])
    all_frame = frame_ids[np.concatenate([owner[src], fp_frame])]
    shuffle = rng.permutation(len(all_kp))
    preds = [{"image_id": int(all_frame[i]), "category_id": 1, "score": 1.0,
              "keypoints": all_kp[i].ravel().tolist()} for i in shuffle]
    gt = {"images": images, "annotations": annotations,
          "categories": [POSETRACK17.coco_category(1)]}
    return gt, preds
