"""The generator is a pure function of its arguments (except workers/progress)."""

from __future__ import annotations

from pathlib import Path

from benchmark.datasets.demo.generate import generate
from tests.demo.helpers import SmallDataset, read_tree


def test_same_seed_gives_byte_identical_files(small_dataset: SmallDataset, tmp_path: Path) -> None:
    first, summary = small_dataset
    again = generate(tmp_path / "again", seed=0, n_train=4, n_val=1, n_test=1, progress=False)
    a, b = read_tree(first), read_tree(tmp_path / "again")
    assert sorted(a) == sorted(b)
    assert len(a) == 6 * 3 + 3  # 6 images x 3 modalities + 3 annotation files
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]
    assert {k: v for k, v in again.items() if k != "out_dir"} == \
        {k: v for k, v in summary.items() if k != "out_dir"}


def test_worker_count_does_not_change_output(small_dataset: SmallDataset, tmp_path: Path) -> None:
    first, _ = small_dataset
    generate(tmp_path / "pool", seed=0, n_train=4, n_val=1, n_test=1, workers=2, progress=False)
    assert read_tree(first) == read_tree(tmp_path / "pool")


def test_other_seed_differs(small_dataset: SmallDataset, tmp_path: Path) -> None:
    first, _ = small_dataset
    generate(tmp_path / "seed1", seed=1, n_train=4, n_val=1, n_test=1, progress=False)
    a, b = read_tree(first), read_tree(tmp_path / "seed1")
    assert sorted(a) == sorted(b)  # same layout...
    images = [k for k in a if k.endswith(".png")]
    assert all(a[k] != b[k] for k in images)  # ...but every image differs


def test_images_do_not_depend_on_split_sizes(small_dataset: SmallDataset, tmp_path: Path) -> None:
    """Image i of a split is the same whatever the other splits' sizes (per-image seeds)."""
    first, _ = small_dataset
    generate(tmp_path / "bigger", seed=0, n_train=2, n_val=3, n_test=0, progress=False)
    a, b = read_tree(first), read_tree(tmp_path / "bigger")
    for name in ("rgb/train/000001.png", "depth/train/000002.png", "thermal/val/100001.png"):
        assert a[name] == b[name]
