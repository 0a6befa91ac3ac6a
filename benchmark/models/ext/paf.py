"""Part affinity fields (PAF): OpenPose's bottom-up codec, for ORPose-Depth's DepthPose.

After Cao et al., "Realtime Multi-Person 2D Pose Estimation using Part Affinity Fields"
(CVPR 2017), which DepthPose (Srivastav et al., "Human Pose Estimation on Privacy-Preserving
Low-Resolution Depth Images", MICCAI 2019) trains on depth. MMPose 1.3.2 has no PAF codec.

- **encode**: per keypoint a Gaussian heatmap (the max over people); per limb (a, b) two
  channels holding the unit vector from a to b on the pixels within ``paf_width`` of the
  segment, averaged where people overlap.
- **decode** (OpenPose's greedy association): keypoint candidates are local maxima above
  ``peak_thr`` (0.1), refined to sub-pixel by the 3x3 centroid; each limb's candidate pairs are
  scored by sampling the PAF at ``samples`` (10) points along the segment, kept when more than
  ``min_above`` (80 %) of the samples exceed ``paf_thr`` (0.05) and the score (mean alignment
  plus a length penalty) is positive; pairs are taken greedily by score, each candidate once;
  connections are merged into people, and people with fewer than ``min_parts`` (3) keypoints or
  a mean score below ``min_score`` (0.2) are dropped.
"""

from __future__ import annotations

import numpy as np
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS


@KEYPOINT_CODECS.register_module()
class PartAffinityFieldLabel(BaseKeypointCodec):
    """Keypoint heatmaps + limb fields (see the module docstring).

    ``encode`` returns the keypoint ``heatmaps`` (K channels), the limb ``pafs`` (2 per limb:
    x, y) and per-person ``keypoint_weights``; the mapping tables below have MMPose's
    ``PackPoseInputs`` put the first two into ``gt_fields`` for :class:`PAFHead`.

    Args:
        input_size: (w, h) of the network input.
        heatmap_size: (w, h) of the heatmaps and fields.
        limbs: (a, b) keypoint index pairs (the dataset's skeleton).
        sigma: Gaussian sigma of the heatmaps, in heatmap pixels.
        paf_width: half-width of a limb's field, in heatmap pixels.
    """

    field_mapping_table = dict(heatmaps="heatmaps", pafs="pafs")
    label_mapping_table = dict(keypoint_weights="keypoint_weights")

    def __init__(self, input_size: tuple[int, int], heatmap_size: tuple[int, int],
                 limbs: list[tuple[int, int]], sigma: float = 2.0, paf_width: float = 1.0,
                 peak_thr: float = 0.1, paf_thr: float = 0.05, samples: int = 10,
                 min_above: float = 0.8, min_parts: int = 3, min_score: float = 0.2) -> None:
        super().__init__()
        self.input_size, self.heatmap_size = tuple(input_size), tuple(heatmap_size)
        self.limbs = [tuple(int(i) for i in limb) for limb in limbs]
        self.sigma, self.paf_width = float(sigma), float(paf_width)
        self.peak_thr, self.paf_thr, self.samples = peak_thr, paf_thr, int(samples)
        self.min_above, self.min_parts, self.min_score = min_above, min_parts, min_score
        self.scale = np.array(input_size, np.float32) / np.array(heatmap_size, np.float32)

    # -- encode ---------------------------------------------------------------------------
    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None
               ) -> dict:
        n, k, _ = keypoints.shape
        vis = np.ones((n, k), np.float32) if keypoints_visible is None else \
            (np.asarray(keypoints_visible) > 0).astype(np.float32)
        w, h = self.heatmap_size
        kp = keypoints / self.scale
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        heatmaps = np.zeros((k, h, w), np.float32)
        for person in range(n):
            for j in range(k):
                if vis[person, j]:
                    x, y = kp[person, j]
                    g = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * self.sigma ** 2))
                    heatmaps[j] = np.maximum(heatmaps[j], g)
        pafs = np.zeros((2 * len(self.limbs), h, w), np.float32)
        for li, (a, b) in enumerate(self.limbs):
            count = np.zeros((h, w), np.float32)
            for person in range(n):
                if not (vis[person, a] and vis[person, b]):
                    continue
                pa, pb = kp[person, a], kp[person, b]
                d = pb - pa
                length = float(np.hypot(*d))
                if length < 1e-6:
                    continue
                u = d / length
                rx, ry = xs - pa[0], ys - pa[1]
                along = rx * u[0] + ry * u[1]
                across = np.abs(rx * u[1] - ry * u[0])
                on = (along >= 0) & (along <= length) & (across <= self.paf_width)
                pafs[2 * li][on] += u[0]
                pafs[2 * li + 1][on] += u[1]
                count[on] += 1
            nz = count > 0
            pafs[2 * li][nz] /= count[nz]
            pafs[2 * li + 1][nz] /= count[nz]
        return {"heatmaps": heatmaps, "pafs": pafs,
                "keypoint_weights": vis}

    # -- decode ---------------------------------------------------------------------------
    def _peaks(self, heatmap: np.ndarray) -> list[tuple[float, float, float]]:
        h, w = heatmap.shape
        padded = np.pad(heatmap, 1, constant_values=-np.inf)
        # strictly above the neighbours before it in raster order, at least equal to those
        # after: one peak per plateau (an upsampled map has tied 2x2 maxima)
        before = np.stack([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)
                           if (dy, dx) < (1, 1)])
        after = np.stack([padded[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)
                          if (dy, dx) > (1, 1)])
        is_peak = ((heatmap > self.peak_thr) & (heatmap > before.max(axis=0))
                   & (heatmap >= after.max(axis=0)))
        out = []
        for y, x in zip(*np.nonzero(is_peak), strict=True):
            y0, y1, x0, x1 = max(0, y - 1), min(h, y + 2), max(0, x - 1), min(w, x + 2)
            patch = heatmap[y0:y1, x0:x1]
            gy, gx = np.mgrid[y0:y1, x0:x1]
            total = patch.sum()
            out.append((float((gx * patch).sum() / total), float((gy * patch).sum() / total),
                        float(heatmap[y, x])))
        return out

    def _connections(self, paf: np.ndarray, cand_a: list, cand_b: list) -> list:
        h, w = paf.shape[1:]
        scored = []
        for ia, (xa, ya, _) in enumerate(cand_a):
            for ib, (xb, yb, _) in enumerate(cand_b):
                d = np.array([xb - xa, yb - ya])
                length = float(np.hypot(*d))
                if length < 1e-6:
                    continue
                u = d / length
                t = np.linspace(0, 1, self.samples)
                px = np.clip(np.round(xa + t * d[0]).astype(int), 0, w - 1)
                py = np.clip(np.round(ya + t * d[1]).astype(int), 0, h - 1)
                align = paf[0, py, px] * u[0] + paf[1, py, px] * u[1]
                score = float(align.mean() + min(0.5 * h / length - 1, 0))
                if (align > self.paf_thr).mean() > self.min_above and score > 0:
                    scored.append((score, ia, ib))
        scored.sort(reverse=True)
        used_a, used_b, out = set(), set(), []
        for score, ia, ib in scored:
            if ia not in used_a and ib not in used_b:
                used_a.add(ia)
                used_b.add(ib)
                out.append((ia, ib, score))
        return out

    def decode(self, heatmaps: np.ndarray, pafs: np.ndarray, scale: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints (N, K, 2) in input pixels, scores (N, K)) of the people found.

        ``scale``: input pixels per map pixel; by default the codec's input / heatmap size.
        DepthPose decodes maps already upsampled to the input size (``scale=1``)."""
        k = heatmaps.shape[0]
        cands = [self._peaks(heatmaps[j]) for j in range(k)]
        people: list[dict] = []  # {"parts": {joint: candidate index}, "score": float}
        for li, (a, b) in enumerate(self.limbs):
            for ia, ib, score in self._connections(pafs[2 * li:2 * li + 2], cands[a],
                                                   cands[b]):
                owners = [p for p in people if p["parts"].get(a) == ia
                          or p["parts"].get(b) == ib]
                if not owners:
                    people.append({"parts": {a: ia, b: ib},
                                   "score": score + cands[a][ia][2] + cands[b][ib][2]})
                elif len(owners) == 1:
                    p = owners[0]
                    for joint, idx in ((a, ia), (b, ib)):
                        if joint not in p["parts"]:
                            p["parts"][joint] = idx
                            p["score"] += cands[joint][idx][2]
                    p["score"] += score
                else:
                    p, q = owners
                    if not set(p["parts"]) & set(q["parts"]):  # disjoint: the limb joins them
                        p["parts"].update(q["parts"])
                        p["score"] += q["score"] + score
                        people.remove(q)
        kept = [p for p in people if len(p["parts"]) >= self.min_parts
                and p["score"] / len(p["parts"]) >= self.min_score]
        keypoints = np.zeros((len(kept), k, 2), np.float32)
        scores = np.zeros((len(kept), k), np.float32)
        for n, p in enumerate(kept):
            for joint, idx in p["parts"].items():
                x, y, s = cands[joint][idx]
                keypoints[n, joint] = (x, y)
                scores[n, joint] = s
        return keypoints * (self.scale if scale is None else scale), scores
