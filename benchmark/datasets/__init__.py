"""Dataset specs (single source of truth per dataset), download and conversion."""

from benchmark.datasets.registry import dataset_names, get_spec
from benchmark.datasets.spec import DatasetSpec, ModalitySpec

__all__ = ["DatasetSpec", "ModalitySpec", "dataset_names", "get_spec"]
