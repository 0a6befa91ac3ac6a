"""Dataset specs: one object per dataset holds every fact about it.

A spec names the keypoint layout (names, sigmas, flip pairs: see :mod:`layouts`), the imaging
modalities and where each lives, the splits, the evaluation protocol, the sources and the
license. MMPose metainfo, evaluation and QA all read from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmark.datasets.layouts import KeypointLayout


@dataclass(frozen=True)
class ModalitySpec:
    """One imaging modality of a dataset.

    ``root`` is relative to the dataset directory (``data/<dataset>``); image file names in the
    canonical annotation files are relative to it, and identical across aligned modalities so
    that one annotation file serves every modality.
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

    def image_root(self, modality: str, data_root: str | Path = "data") -> Path:
        return self.dataset_dir(data_root) / self.modality(modality).root
