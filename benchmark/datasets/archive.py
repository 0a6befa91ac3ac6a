"""Safe, restartable extraction of dataset archives (zip, tar, tar.gz/bz2/xz).

Archives come from third parties, so nothing in one may write outside the target folder: every
member is checked *before* anything is written, and an archive with a member that has an
absolute path, a ``..`` component, a symbolic or hard link pointing outside the target, or a
device file/FIFO is refused as a whole with an :class:`ArchiveError` naming the member. Tar
members are additionally extracted through Python's ``'data'`` filter; for both formats each
member's destination is re-checked with ``realpath`` (a chain of in-archive links cannot
escape either).

Extraction goes into a staging sibling ``<target>.extracting-<sha256 prefix>``; only when every
member is out are the entries moved into the target (merged with what is already there, as
several archives may share one raw folder) and the marker ``<target>/.extracted-<sha256
prefix>`` written (JSON: archive name, sha256, extracted files). A re-run finds the marker and
skips the work; an interrupted run leaves no marker, so its target is never taken as complete
and the next run extracts again (a failed run removes its staging folder).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import stat
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from benchmark.datasets.download import DataError, sha256_file
from benchmark.datasets.sources import Source
from benchmark.fileio import write_text_atomic

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")


class ArchiveError(DataError):
    """An archive is unreadable, of an unknown kind, or holds a member that would escape."""


@dataclass(frozen=True)
class _Member:
    name: str  # normalised relative POSIX path inside the target
    kind: str  # file | dir | symlink | hardlink
    link: str  # symlink target as stored / hardlink target (normalised); "" otherwise
    ref: zipfile.ZipInfo | tarfile.TarInfo


def archive_kind(path: Path) -> str:
    """``"zip"`` or ``"tar"``, from the suffix, else from the content."""
    name = path.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    raise ArchiveError(f"{path}: not a zip or tar archive (.zip, .tar, .tar.gz/.tgz, "
                       ".tar.bz2, .tar.xz)")


def _clean_name(archive: Path, raw: str) -> str:
    """Relative POSIX path of a member; refuses absolute paths and ``..`` components."""
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":" and raw[0].isalpha()):
        raise ArchiveError(f"{archive}: refused: member {raw!r} has an absolute path")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive}: refused: member {raw!r} contains '..' (would escape "
                           "the target folder)")
    return "/".join(parts)


def _check_symlink(archive: Path, name: str, target: str) -> None:
    if not target or target.startswith(("/", "\\")):
        raise ArchiveError(f"{archive}: refused: symlink {name!r} -> {target!r} points "
                           "outside the target folder (absolute)")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise ArchiveError(f"{archive}: refused: symlink {name!r} -> {target!r} points "
                           "outside the target folder")


def _scan_zip(archive: Path, zf: zipfile.ZipFile) -> list[_Member]:
    members = []
    for info in zf.infolist():
        name = _clean_name(archive, info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            link = zf.read(info).decode("utf-8", "surrogateescape")
            _check_symlink(archive, name, link)
            members.append(_Member(name, "symlink", link, info))
        elif mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                       or stat.S_ISSOCK(mode)):
            raise ArchiveError(f"{archive}: refused: member {info.filename!r} is a device "
                               "file/FIFO/socket")
        elif name:
            members.append(_Member(name, "dir" if info.is_dir() else "file", "", info))
    return members


def _scan_tar(archive: Path, tf: tarfile.TarFile) -> list[_Member]:
    members = []
    for info in tf.getmembers():
        name = _clean_name(archive, info.name)
        if info.issym():
            _check_symlink(archive, name, info.linkname)
            members.append(_Member(name, "symlink", info.linkname, info))
        elif info.islnk():
            link = _clean_name(archive, info.linkname)
            if not link:
                raise ArchiveError(f"{archive}: refused: hard link {info.name!r} -> "
                                   f"{info.linkname!r} points outside the target folder")
            members.append(_Member(name, "hardlink", link, info))
        elif info.isdir():
            if name:
                members.append(_Member(name, "dir", "", info))
        elif info.isreg():
            members.append(_Member(name, "file", "", info))
        else:
            raise ArchiveError(f"{archive}: refused: member {info.name!r} is a device "
                               "file/FIFO (not a regular file, folder or link)")
    return members


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _destination(archive: Path, staging: Path, member: _Member) -> Path:
    """``staging/name``, after checking that it really lies inside the staging folder: an
    earlier in-archive symlink could otherwise redirect the write (or a folder creation). Names
    hold no ``..``, so the not-yet-existing tail of the path cannot escape."""
    dest = staging / member.name
    if not _inside(os.path.realpath(dest), os.path.realpath(staging)):
        raise ArchiveError(f"{archive}: refused: member {member.name!r} would be written "
                           "through a link outside the target folder")
    return dest


def _extract_zip_member(archive: Path, zf: zipfile.ZipFile, staging: Path, m: _Member) -> None:
    dest = _destination(archive, staging, m)
    if m.kind == "dir":
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_symlink() or dest.is_file():
        dest.unlink()  # never write through a link left by an earlier duplicate member
    if m.kind == "symlink":
        os.symlink(m.link, dest)
        return
    with zf.open(m.ref) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)


def _extract_tar_member(archive: Path, tf: tarfile.TarFile, staging: Path, m: _Member) -> None:
    _destination(archive, staging, m).parent.mkdir(parents=True, exist_ok=True)
    # Folders keep default permissions: a read-only folder member would block its own files.
    kwargs: dict = {"set_attrs": m.kind != "dir"}
    if _HAS_DATA_FILTER:
        kwargs["filter"] = "data"
    try:
        tf.extract(m.ref, staging, **kwargs)
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{archive}: refused: member {m.ref.name!r}: {exc}") from None


def _check_links(archive: Path, staging: Path) -> None:
    root = os.path.realpath(staging)
    for folder, dirs, files in os.walk(staging):
        for entry in dirs + files:
            path = os.path.join(folder, entry)
            if os.path.islink(path) and not _inside(os.path.realpath(path), root):
                rel = os.path.relpath(path, staging)
                raise ArchiveError(f"{archive}: refused: link {rel!r} resolves outside the "
                                   "target folder")


def _merge_move(src: Path, dst: Path) -> None:
    """Move the entries of ``src`` into ``dst``, merging folders, replacing files."""
    for entry in os.scandir(src):
        s, d = Path(entry.path), dst / entry.name
        if entry.is_dir(follow_symlinks=False) and d.is_dir() and not d.is_symlink():
            _merge_move(s, d)
            continue
        if d.is_symlink() or d.is_file():
            d.unlink()
        elif d.is_dir():
            shutil.rmtree(d)
        os.replace(s, d)


def _marker(target: Path, digest: str) -> Path:
    return target / f".extracted-{digest[:16]}"


def _completed(target: Path, digest: str) -> list[Path] | None:
    """The files of a completed extraction of this archive into ``target``, or None."""
    try:
        record = json.loads(_marker(target, digest).read_text())
        if record["sha256"] != digest:
            return None
        files = [target / f for f in record["files"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if all(os.path.lexists(f) for f in files) else None


def safe_extract(archive: str | Path, target: str | Path, *, progress: bool = True) -> list[Path]:
    """Extract ``archive`` into ``target``; return the extracted files (and links).

    Skips the work when ``target`` holds this archive's completion marker and all its files;
    see the module docstring for what is refused and why.
    """
    archive, target = Path(archive), Path(target).absolute()
    if not archive.is_file():
        raise ArchiveError(f"{archive}: archive not found")
    digest = sha256_file(archive, progress=progress)
    done = _completed(target, digest)
    if done is not None:
        return done
    kind = archive_kind(archive)
    staging = target.with_name(f"{target.name}.extracting-{digest[:16]}")
    try:
        opened = zipfile.ZipFile(archive) if kind == "zip" else tarfile.open(archive, "r:*")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise ArchiveError(f"{archive}: cannot read the {kind} archive: {exc}") from None
    with opened as arc:
        try:
            members = _scan_zip(archive, arc) if kind == "zip" else _scan_tar(archive, arc)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise ArchiveError(f"{archive}: corrupt {kind} archive: {exc}") from None
        if staging.exists():
            shutil.rmtree(staging)  # left by an interrupted run
        staging.mkdir(parents=True)
        try:
            for m in tqdm(members, desc=f"extract {archive.name}", unit="file",
                          file=sys.stderr, disable=not progress):
                if kind == "zip":
                    _extract_zip_member(archive, arc, staging, m)
                else:
                    _extract_tar_member(archive, arc, staging, m)
            _check_links(archive, staging)
            target.mkdir(parents=True, exist_ok=True)
            _merge_move(staging, target)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"{archive}: corrupt {kind} archive: {exc}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    files = [m.name for m in members if m.kind != "dir"]
    write_text_atomic(_marker(target, digest), json.dumps(
        {"archive": archive.name, "sha256": digest, "files": files}, indent=1) + "\n")
    return [target / f for f in files]


def extract_sources(sources: Iterable[Source], paths: Mapping[str, Path], raw_dir: str | Path,
                    *, progress: bool = True) -> dict[str, list[Path]]:
    """Extract every ``extract=True`` source (``paths`` as returned by ``fetch_all``) into
    ``raw_dir/<extract_to>``; return the extracted files per source file name."""
    raw_dir = Path(raw_dir)
    return {s.filename: safe_extract(paths[s.filename], raw_dir / s.extract_to,
                                     progress=progress)
            for s in sources if s.extract}
