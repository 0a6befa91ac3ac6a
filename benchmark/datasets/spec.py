"""Dataset specs: one object per dataset holds every fact about it.

A spec names the keypoint layout (names, sigmas, flip pairs: see :mod:`layouts`), the imaging
modalities and where each lives, the splits, the evaluation protocol, the sources and the
license. MMPose metainfo, evaluation and QA all read from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.datasets.layouts import KeypointLayout
from benchmark.datasets.sources import Source

#: Which annotations a per-modality view holds: QA-corrected or as released.
ANNOTATION_VARIANTS = ("qa", "official")
#: Folder of each variant's views under ``processed/``.
VIEW_DIRS = {"qa": "annotations", "official": "annotations_official"}


@dataclass(frozen=True)
class ModalitySpec:
    """One imaging modality of a dataset.

    ``root`` is relative to the dataset directory (``data/<dataset>``). Every image record of
    the canonical annotation files carries ``modality_paths``: for each modality that has the
    image, its path relative to that modality's root (aligned modalities of one instant share
    the image id). The preprocess stage writes one annotation view per modality whose
    ``file_name`` is that path (``processed/annotations/<modality>/<split>.json``).
    ``params`` are the derivation parameters of a derived modality (e.g. the low-light level,
    the augmentation variant, the thermal normalisation mode).
    """

    name: str
    kind: str  # rgb | gray | thermal | lowlight | depth
    root: str
    bit_depth: int = 8
    channels: int = 3
    #: For depth: the metric range (mm) mapped onto the network input.
    value_range: tuple[float, float] | None = None
    #: Factor by which the stored image is smaller than the annotation frame (low-res depth).
    downsample: int = 1
    derived_from: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    #: The splits this modality has images in (None: every split); e.g. ExLPose-OC was
    #: captured without a well-lit partner, so ExLPose's ``rgb`` has no OC splits.
    splits: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReleasedDetections:
    """A person-detection file the dataset (or a reference codebase) releases for one split.

    Top-down models are scored with these boxes besides the ground-truth ones, as the papers
    do. ``file`` is a source's file name (placed in ``raw/`` by the download stage);
    ``modalities`` are those whose images the boxes were detected on.
    """

    name: str
    split: str
    file: str
    modalities: tuple[str, ...]
    #: Further splits whose images are a subset of ``split``'s (LLVIP-Pose's 13-keypoint file):
    #: the file is checked against ``split`` and its boxes restricted to their images.
    subsets: tuple[str, ...] = ()

    def serves(self, split: str) -> bool:
        return split == self.split or split in self.subsets


@dataclass(frozen=True)
class EvalSet:
    """One set a cell is scored on: a split's annotations with one modality's images.

    Usually the cell's own modality (``images`` None); a cross-modality set scores the model
    on another sensor's images of the same instants with the same annotations, as ExLPose's WL
    test does (the well-lit partners of the LL-A images, LL-A annotations).
    """

    name: str
    split: str
    images: str | None = None

    def image_modality(self, cell_modality: str) -> str:
        return self.images or cell_modality


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    layout: KeypointLayout
    modalities: dict[str, ModalitySpec]
    splits: tuple[str, ...]
    train_split: str
    eval_split: str
    protocol: str
    license: str
    citation: str
    description: str = ""
    #: Canonical annotation files per split, relative to the dataset directory.
    annotation_pattern: str = "qa/annotations/{split}.json"
    manual_instructions: str = ""
    #: What the download stage fetches (or asks the user to place): see :mod:`sources`.
    sources: tuple[Source, ...] = ()
    #: ``raw dir -> {split: canonical COCO dict}``: the native-to-canonical step (convert stage).
    converter: Callable[[Path], dict[str, dict]] | None = None
    #: Further evaluation splits (e.g. ExLPose's LL-N/H/E/A and OCN test sets).
    eval_splits: tuple[str, ...] = ()
    #: Published sizes per split, ``{split: (images, persons)}``: checked after conversion.
    expected_counts: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    homepage: str = ""
    #: Cross-modality evaluation sets scored for every cell whose modality differs from the
    #: set's images (see :class:`EvalSet`).
    cross_eval: tuple[EvalSet, ...] = ()
    #: Released detector boxes (see :class:`ReleasedDetections`).
    released_detections: tuple[ReleasedDetections, ...] = ()
    extra: dict = field(default_factory=dict)

    def modality(self, name: str) -> ModalitySpec:
        try:
            return self.modalities[name]
        except KeyError:
            raise KeyError(
                f"dataset {self.name!r} has no modality {name!r}; "
                f"it has {sorted(self.modalities)}") from None

    def dataset_dir(self, data_root: str | Path = "data") -> Path:
        return Path(data_root) / self.name

    def annotation_file(self, split: str, data_root: str | Path = "data") -> Path:
        if split not in self.splits:
            raise KeyError(f"dataset {self.name!r} has no split {split!r}; it has {self.splits}")
        return self.dataset_dir(data_root) / self.annotation_pattern.format(split=split)

    def modality_annotation_file(self, split: str, modality: str,
                                 data_root: str | Path = "data", variant: str = "qa") -> Path:
        """The per-modality view of a split (written by the preprocess stage): ``file_name``
        is the image's path under this modality's root; images without it are left out.

        ``variant`` says which annotations the view holds: ``qa`` (the QA-corrected ones that
        cells train on by default) or ``official`` (the dataset's released annotations, only
        converted to the canonical form: what test scores are computed against, so that they
        compare with published numbers).
        """
        self.annotation_file(split, data_root)  # validates the split name
        self.modality(modality)
        if variant not in ANNOTATION_VARIANTS:
            raise KeyError(f"unknown annotation variant {variant!r}; known: "
                           f"{list(ANNOTATION_VARIANTS)}")
        return (self.dataset_dir(data_root) / "processed" / VIEW_DIRS[variant] / modality
                / f"{split}.json")

    def image_root(self, modality: str, data_root: str | Path = "data") -> Path:
        return self.dataset_dir(data_root) / self.modality(modality).root

    @property
    def sensor_modalities(self) -> list[str]:
        """Modalities recorded by a sensor (present in the raw data), in spec order."""
        return [n for n, m in self.modalities.items() if m.derived_from is None]

    @property
    def all_eval_splits(self) -> tuple[str, ...]:
        """Every split a cell is scored on; the first (``eval_split``) is the primary one,
        whose headline the leaderboard's overview shows."""
        return (self.eval_split, *(s for s in self.eval_splits if s != self.eval_split))

    def eval_splits_of(self, modality: str) -> tuple[str, ...]:
        """The evaluation splits that have images in ``modality`` (primary first)."""
        mod = self.modality(modality)
        while mod.splits is None and mod.derived_from is not None:
            mod = self.modality(mod.derived_from)
        return tuple(s for s in self.all_eval_splits if mod.splits is None or s in mod.splits)

    def eval_sets_of(self, modality: str) -> tuple[EvalSet, ...]:
        """Every set a cell of ``modality`` is scored on: its own evaluation splits (primary
        first), then the cross-modality sets whose images are another modality's."""
        own = tuple(EvalSet(s, s) for s in self.eval_splits_of(modality))
        cross = tuple(e for e in self.cross_eval
                      if e.images != modality and e.split in self.eval_splits_of(e.images))
        return own + cross

    def released_for(self, modality: str, split: str) -> list[ReleasedDetections]:
        """The released detection files for the images of (modality, split)."""
        return [d for d in self.released_detections
                if d.serves(split) and modality in d.modalities]
