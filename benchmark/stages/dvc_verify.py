"""Check the data stages' bytes against ``dvc.lock``, and repair what does not match.

DVC trusts its cache: an object that exists under the right name is never overwritten or
re-hashed, ``dvc checkout`` copies it into the workspace as it is, and ``dvc status`` answers
from its state database (the hash it *expected*), so a corrupted object or workspace file
reads "up to date" and every score computed from it is silently wrong (measured in the fault
matrix, ``docs/reliability.md``). DVC 3 has no ``fsck``. This module is one: it hashes every
file of every stage output recorded in ``dvc.lock``, in the cache and in the workspace, and
names each mismatch. ``repair`` deletes the bad files and re-runs the affected stages
(``dvc repro --force --single-item --no-run-cache``, upstream first), which re-derive the same
bytes: the stages are deterministic, and a download is checked against its published
checksums.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmark.stages.dvc import LOCK_FILE, STAGES, DataStageError, _dvc, _env

CACHE = Path(".dvc") / "cache" / "files" / "md5"


@dataclass(frozen=True)
class Mismatch:
    """One file whose bytes are not the ones ``dvc.lock`` records."""

    stage: str
    path: Path  # the workspace path of the file
    where: str  # "cache" or "workspace"
    problem: str  # "corrupted" (other bytes) or "unreadable listing"
    object: Path | None  # the cache object, for "cache"

    def __str__(self) -> str:
        if self.where == "cache":
            return (f"{self.object}: cache object of {self.path} (stage {self.stage}) is "
                    f"{self.problem}")
        return f"{self.path}: workspace file (stage {self.stage}) differs from dvc.lock"


def md5_of(path: Path) -> str:
    h = hashlib.md5()  # noqa: S324 - DVC's content address, not a security hash
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _object(root: Path, md5: str) -> Path:
    return root / CACHE / md5[:2] / md5[2:]


def _stage_order(name: str) -> tuple[int, str]:
    kind = name.split("@", 1)[0]
    return (STAGES.index(kind) if kind in STAGES else len(STAGES), name)


def _outputs(root: Path, dataset: str | None) -> Iterator[tuple[str, dict]]:
    lock_path = root / "dvc.lock"
    if not lock_path.is_file():
        raise DataStageError(f"{lock_path}: not found (nothing has been reproduced yet)")
    try:
        lock = yaml.safe_load(lock_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DataStageError(f"{lock_path}: not valid YAML ({exc})") from None
    for stage in sorted(lock.get("stages", {}), key=_stage_order):
        if dataset is None or stage.endswith(f"@{dataset}"):
            for out in lock["stages"][stage].get("outs", []):
                if out.get("md5"):
                    yield stage, out


def _files(root: Path, stage: str, out: dict) -> tuple[list[tuple[Path, str]], list[Mismatch]]:
    """(workspace path, md5) of every file of one output, from its listing when a folder."""
    path, md5 = root / out["path"], out["md5"]
    if not md5.endswith(".dir"):
        return [(path, md5)], []
    listing = _object(root, md5)
    if not listing.is_file():  # not cached: `dvc status` says so itself
        return [], []
    try:
        entries = json.loads(listing.read_bytes())
        files = [(path / e["relpath"], e["md5"]) for e in entries]
    except (ValueError, TypeError, KeyError):
        return [], [Mismatch(stage, path, "cache", "an unreadable listing", listing)]
    if md5_of(listing) != md5.removesuffix(".dir"):
        return files, [Mismatch(stage, path, "cache", "a corrupted listing", listing)]
    return files, []


def verify(root: Path = Path("."), dataset: str | None = None,
           progress: bool = True) -> list[Mismatch]:
    """Every cache object and workspace file of the recorded stage outputs whose md5 differs
    from ``dvc.lock`` (missing files are DVC's to report, not counted here)."""
    bad: list[Mismatch] = []
    for stage, out in _outputs(root, dataset):
        files, problems = _files(root, stage, out)
        bad += problems
        for path, md5 in files:
            obj = _object(root, md5)
            if obj.is_file() and md5_of(obj) != md5:
                bad.append(Mismatch(stage, path, "cache", "corrupted", obj))
            if path.is_file() and md5_of(path) != md5:
                bad.append(Mismatch(stage, path, "workspace", "corrupted", None))
        if progress:
            print(f"{stage}: {out['path']}: {len(files)} files checked", file=sys.stderr)
    return bad


def repair(bad: list[Mismatch], root: Path = Path(".")) -> list[str]:
    """Delete the mismatching cache objects and workspace files, then re-run each affected
    stage alone, upstream first, under the repro lock; the stages' names, in that order."""
    for m in bad:
        target = m.object if m.where == "cache" else m.path
        if target is not None and target.is_file():
            target.chmod(0o644)  # DVC keeps cache objects read-only
            target.unlink()
    stages = sorted({m.stage for m in bad}, key=_stage_order)
    lock = root / LOCK_FILE
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            for stage in stages:
                cmd = [*_dvc(), "repro", "--force", "--single-item", "--no-run-cache", stage]
                proc = subprocess.run(cmd, cwd=root, env=_env())
                if proc.returncode != 0:
                    raise DataStageError(f"`dvc {' '.join(cmd[1:])}` failed (exit "
                                         f"{proc.returncode}); see the output above")
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return stages
