"""Snakemake obtains data through the DVC stages of ``dvc.yaml``.

``dvc repro`` holds a repository-wide lock and fails at once if another ``dvc`` process holds
it. Parallel Snakemake jobs therefore never call ``dvc`` directly: they call
:func:`repro_dataset`, which waits for an exclusive file lock first, so concurrent callers run
one after the other (the second usually finds everything up to date).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from benchmark.errors import MpbenchError

LOCK_FILE = Path(".dvc") / "tmp" / "mpbench-repro.lock"
STAGES = ("download", "convert", "qa", "preprocess")


class DataStageError(MpbenchError):
    pass


def _env() -> dict[str, str]:
    """Environment for ``dvc``: the current interpreter's bin dir first, so that stage
    commands (``mpbench ...``) resolve to this installation."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _dvc() -> list[str]:
    exe = Path(sys.executable).parent / "dvc"
    return [str(exe)] if exe.exists() else ["dvc"]


def repro_dataset(dataset: str, stamp: Path | None = None) -> dict:
    """Run ``dvc repro preprocess@<dataset>`` (and its upstream stages) under a lock."""
    if not Path("dvc.yaml").is_file():
        raise DataStageError("dvc.yaml not found: run from the repository root")
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            proc = subprocess.run([*_dvc(), "repro", f"preprocess@{dataset}"], env=_env())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    if proc.returncode != 0:
        raise DataStageError(
            f"`dvc repro preprocess@{dataset}` failed (exit {proc.returncode}); see the output "
            "above. Outputs of stages that completed are kept in the DVC cache.")
    info = {"dataset": dataset, "data_version": data_version(dataset)}
    if stamp is not None:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(stamp)
    return info


def data_version(dataset: str, lock_path: Path = Path("dvc.lock")) -> str:
    """A short digest of the dataset's DVC outputs (from ``dvc.lock``): the data version that
    every run logs, so that a number can be traced to the exact bytes it was computed on."""
    if not lock_path.is_file():
        return "unversioned"
    lock = yaml.safe_load(lock_path.read_text()) or {}
    stages = lock.get("stages", {})
    h = hashlib.sha256()
    found = False
    for stage in STAGES:
        entry = stages.get(f"{stage}@{dataset}")
        if not entry:
            continue
        found = True
        for out in sorted(entry.get("outs", []), key=lambda o: o["path"]):
            h.update(f"{out['path']}:{out.get('md5', '')}\n".encode())
    return h.hexdigest()[:12] if found else "unversioned"
