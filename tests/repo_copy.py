"""A committed copy of the working tree for tests that run the real workflow (Snakemake, DVC).

The tests must not write into the repository (data, MLflow store, work dirs), and DVC and the
workflow read the git state, so they run in a fresh git repository holding exactly what a
clean clone of this working tree would (tracked + untracked files that git does not ignore).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

#: The demo dataset shrunk for pipeline tests: 16/4/8 images, one worker per stage.
MICRO_DEMO = {"n_train": 16, "n_val": 4, "n_test": 8, "workers": 1}


def micro_demo_params(params: dict[str, Any]) -> None:
    """``params.yaml`` edit: the micro demo data, preprocessed by one worker."""
    params["download"]["demo"] |= MICRO_DEMO
    params["preprocess"]["workers"] = 1


def committed_copy(dst: Path, *, params: Callable[[dict[str, Any]], None] | None = None,
                   files: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> Path:
    """Copy the working tree to ``dst`` (without the repo-relative paths in ``drop``), edit
    ``params.yaml`` with ``params``, write ``files`` (repo-relative path -> YAML-serialisable
    object), then ``git init`` and commit it all."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for rel in sorted(set(listed) - set(drop)):
        src = REPO / rel
        if src.is_file() or src.is_symlink():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel, follow_symlinks=False)
    if params is not None:
        values = yaml.safe_load((dst / "params.yaml").read_text())
        params(values)
        (dst / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    for rel, content in (files or {}).items():
        (dst / rel).write_text(yaml.safe_dump(content, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=dst, check=True, capture_output=True)
    return dst
