"""MMPose dataset metainfo files, generated from the dataset specs.

MMPose derives flip indices from the *iteration order* of ``keypoint_info``; an inline dict in
a cell config does not survive ``Config.dump`` (its integer keys come back sorted as strings:
0, 1, 10, 11, ...), which silently scrambles flip testing of a reloaded config. Cell configs
therefore reference ``configs/_base_/datasets/<dataset>.py`` with ``from_file``; those files
are generated here from the spec (the single source of truth) and a test fails when a
committed file differs from what the spec generates.

Regenerate with ``python -m benchmark.models.metainfo``.
"""

from __future__ import annotations

import pprint
import sys
from pathlib import Path

from benchmark.datasets import dataset_names, get_spec
from benchmark.errors import MpbenchError

META_DIR = Path("configs") / "_base_" / "datasets"
HEADER = ("# Generated from benchmark/datasets ({name} spec) by `python -m "
          "benchmark.models.metainfo`.\n# Do not edit: tests/unit/test_compose.py checks it "
          "matches the spec.\n")


def render(name: str) -> str:
    meta = get_spec(name).layout.mmpose_metainfo(name)
    body = pprint.pformat(meta, sort_dicts=False, width=96)
    return HEADER.format(name=name) + f"dataset_info = {body}\n"


def metainfo_file(name: str, root: Path | None = None) -> Path:
    return (root or Path.cwd()) / META_DIR / f"{name}.py"


def check(name: str, root: Path | None = None) -> Path:
    """Return the metainfo file of ``name``; fail if it is missing or differs from the spec."""
    path = metainfo_file(name, root)
    if not path.is_file() or path.read_text() != render(name):
        raise MpbenchError(f"{path}: missing or out of date with the {name!r} dataset spec; "
                           "regenerate with `python -m benchmark.models.metainfo`")
    return path


def write_all(root: Path | None = None) -> list[Path]:
    paths = []
    for name in dataset_names():
        path = metainfo_file(name, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(name))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(p, file=sys.stderr)
