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
                                 data_root: str | Path = "data") -> Path:
        """The per-modality view of a split (written by the preprocess stage): ``file_name``
        is the image's path under this modality's root; images without it are left out."""
        self.annotation_file(split, data_root)  # validates the split name
        self.modality(modality)
        return (self.dataset_dir(data_root) / "processed" / "annotations" / modality
                / f"{split}.json")

    def image_root(self, modality: str, data_root: str | Path = "data") -> Path:
        return self.dataset_dir(data_root) / self.modality(modality).root

    @property
    def sensor_modalities(self) -> list[str]:
        """Modalities recorded by a sensor (present in the raw data), in spec order."""
        return [n for n, m in self.modalities.items() if m.derived_from is None]

    @property
    def all_eval_splits(self) -> tuple[str, ...]:
        return (self.eval_split, *(s for s in self.eval_splits if s != self.eval_split))
