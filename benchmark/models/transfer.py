"""Cross-dataset scores: a cell's model scored on another dataset's evaluation sets.

A COCO-trained model on LLVIP-Pose or MVOR, a CrowdPose-layout ExLPose model on MVOR: the model
predicts its own dataset's joints, the target dataset's protocol scores the target's joints.
The two meet through the joint correspondences of :mod:`benchmark.datasets.layouts` (joints
shared by name), never an index list written here:

- where the target protocol accepts the source layout itself (``mvor-pck`` scores COCO-17
  predictions with MVOR's own mapping: mid-eyes head, mid-shoulders neck), the predictions are
  scored as they are;
- the OKS protocols (``coco``, ``crowdpose``) score on the *shared* joints: predictions and
  ground truth both go to the target layout restricted to them
  (:func:`~benchmark.datasets.layouts.shared_layout`), with its sigmas: what pycocotools gives
  on the shared-joint files;
- ``mpii-pckh`` and ``posetrack-map`` need their own layout: predictions are written in it
  with the joints the source lacks absent, and those joints are unlabelled in the ground
  truth, so that they are neither hits nor misses (both protocols leave unlabelled joints out
  of their denominators);
- ``mvor-pck`` counts an unlabelled ground-truth joint as wrong, so from a layout it does not
  accept (MVOR-10, COCO-17) its Mean would be scored on joints the model cannot predict: such
  a transfer is refused, naming the layouts it takes.

The converted ground truth is written beside the score and named (with its sha256) in the
metrics, like every other score's ground truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from benchmark.datasets.layouts import KeypointLayout, shared_joints, shared_layout, sub_layout
from benchmark.fileio import write_text_atomic

OKS_PROTOCOLS = ("coco", "crowdpose")


@dataclass(frozen=True)
class TransferScoring:
    """How predictions of ``source`` are scored on a ground truth of ``target``."""

    source: KeypointLayout
    target: KeypointLayout
    protocol: str

    @property
    def native(self) -> bool:
        """The target protocol accepts the source layout itself."""
        from benchmark.evaluation import get_protocol

        accepted = get_protocol(self.protocol).layouts.layouts
        return any(lay.keypoints == self.source.keypoints for lay in accepted)

    @property
    def layout(self) -> KeypointLayout:
        """The layout scores are computed in."""
        if self.native:
            return self.target
        if self.protocol in OKS_PROTOCOLS:
            return shared_layout(self.source, self.target)
        return self.target

    @property
    def joints(self) -> tuple[str, ...]:
        """The target joints the score covers."""
        if self.native:
            return self.target.keypoints
        return shared_joints(self.source, self.target)

    def prepare(self, gt_file: Path, pred_file: Path, out_dir: Path, stem: str
                ) -> tuple[Path, Path, str | None, list[float]]:
        """``(ground truth, predictions, pred_layout, sigmas)`` to score, converted and
        written under ``out_dir`` where needed."""
        from benchmark.evaluation.layout_map import convert_ground_truth, convert_predictions

        if self.native:
            return gt_file, pred_file, self.source.name, list(self.target.sigmas)
        if not self.joints:
            raise ValueError(f"{self.source.name} and {self.target.name} share no joint")
        if self.protocol == "mvor-pck":
            raise ValueError(f"mvor-pck scores MVOR-10 or COCO-17 predictions, not "
                             f"{self.source.name}: it counts an unlabelled joint as wrong, so "
                             "joints the model lacks would lower every score")
        layout = self.layout
        # unshared target joints: unlabelled in the ground truth (their own layout kept for
        # the PCK/mAP protocols, which need it), or dropped with the OKS protocols
        gt_layout = layout if self.protocol in OKS_PROTOCOLS else self.target
        keep = sub_layout(self.target, self.joints)
        gt = convert_ground_truth(json.loads(gt_file.read_text()), self.target, keep)
        if gt_layout is not keep:
            gt = convert_ground_truth(gt, keep, gt_layout)
        preds = convert_predictions(json.loads(pred_file.read_text()), self.source, gt_layout)
        gt_out = write_text_atomic(out_dir / f"{stem}.gt.json", json.dumps(gt))
        pred_out = write_text_atomic(out_dir / f"{stem}.keypoints.json", json.dumps(preds))
        return gt_out, pred_out, None, list(gt_layout.sigmas)
