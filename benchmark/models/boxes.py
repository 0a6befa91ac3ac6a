"""Where a top-down cell's person boxes come from, per evaluation set: one identity per source.

A score's box source is ``gt`` (the annotation boxes) or ``det:<name>``: a released detection
file of the dataset (:class:`~benchmark.datasets.spec.ReleasedDetections`) or an MMDetection
detector named in the matrix file. Either way the boxes are materialised once per
(dataset, image modality, split, name) as a validated COCO detection file at
:func:`detection_file`, which the ``detections`` rule writes and the ``evaluate`` rule reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.datasets.spec import DatasetSpec, EvalSet

GT = "gt"
DETECTIONS_DIR = Path("results") / "detections"


def det_label(name: str) -> str:
    """The box source's name in a score (``det:<name>``)."""
    return f"det:{name}"


def detection_file(dataset: str, modality: str, split: str, name: str,
                   root: Path = DETECTIONS_DIR) -> Path:
    """The materialised detection file of (dataset, image modality, split, source)."""
    return root / dataset / modality / split / f"{name}.json"


@dataclass(frozen=True)
class BoxSource:
    """One detection source of one evaluation set of a cell."""

    name: str
    kind: str  # released | detector
    dataset: str
    modality: str  # whose images the boxes were detected on
    split: str

    @property
    def label(self) -> str:
        return det_label(self.name)

    @property
    def path(self) -> Path:
        return detection_file(self.dataset, self.modality, self.split, self.name)


def box_sources(spec: DatasetSpec, modality: str, eval_set: EvalSet,
                detectors: tuple[str, ...] = (), released: bool = True) -> list[BoxSource]:
    """The detection sources a cell of ``modality`` is scored with on ``eval_set``: the
    dataset's released files for those images (when ``released``), then the detectors."""
    images = eval_set.image_modality(modality)
    out = []
    if released:
        out += [BoxSource(d.name, "released", spec.name, images, eval_set.split)
                for d in spec.released_for(images, eval_set.split)]
    out += [BoxSource(name, "detector", spec.name, images, eval_set.split)
            for name in detectors]
    return out


def cell_box_sources(spec: DatasetSpec, modality: str, detectors: tuple[str, ...] = (),
                     released: bool = True) -> dict[str, list[BoxSource]]:
    """``{eval set name: its detection sources}`` for every evaluation set of a cell."""
    return {e.name: box_sources(spec, modality, e, detectors, released)
            for e in spec.eval_sets_of(modality)}


def materialise(spec: DatasetSpec, modality: str, split: str, name: str, out: Path, *,
                detector: dict | None = None, data_root: Path = Path("data"),
                device: str = "cpu") -> Path:
    """Write the validated detection file of one source at ``out``.

    A released file (the spec names ``name`` for these images) is checked against the
    official annotations of the split it was released for, then restricted to the images of
    ``split`` (a subset split such as LLVIP-Pose's 13-keypoint file); otherwise ``detector``
    (the matrix file's entry: ``config``, ``checkpoint`` and the options of
    :func:`benchmark.models.detect.detect_split`) is run over the split's images of
    ``modality``.
    """
    import json
    import sys

    from benchmark.datasets.detections import load_detections, write_detections
    from benchmark.errors import MpbenchError

    view = spec.modality_annotation_file(split, modality, data_root, variant="official")
    if not view.is_file():
        raise MpbenchError(f"{view}: missing; run `mpbench data repro --dataset {spec.name}`")
    released = [d for d in spec.released_for(modality, split) if d.name == name]
    if released:
        rel = released[0]
        source = spec.dataset_dir(data_root) / "raw" / rel.file
        full = spec.modality_annotation_file(rel.split, modality, data_root, variant="official")
        records = load_detections(source, full)
        keep = {img["id"] for img in json.loads(view.read_text())["images"]}
        write_detections([r for r in records if r["image_id"] in keep], out)
        return out
    if detector is None:
        raise MpbenchError(f"no detection source {name!r} for {spec.name}/{modality}/{split}: "
                           f"not a released file of the dataset "
                           f"({sorted({d.name for d in spec.released_detections})}) and no "
                           "detector of that name in the matrix file")
    from benchmark.models.compose import load_transform
    from benchmark.models.detect import detect_split

    options = {k: detector[k] for k in ("score_thr", "nms_iou", "max_per_image", "det_cat_id",
                                         "cfg_options") if detector.get(k) is not None}
    result = detect_split(detector["config"], detector.get("checkpoint"), view,
                          spec.image_root(modality, data_root), out,
                          modality_loader=load_transform(spec.modality(modality)),
                          device=device, **options)
    print(json.dumps(result), file=sys.stderr)
    return out
