"""Resumable, verified downloads of dataset sources, manual sources and checksum pins.

Datasets are tens of GB served by university web servers that drop connections; clusters often
have no internet at all. Hence:

- **Resume.** A download is written to ``<file>.part``; after a cut connection, a timeout, an
  HTTP 5xx/408/429 or a short body, the next attempt asks for ``Range: bytes=<have>-`` and
  appends. A server answering ``200`` instead of ``206`` sends the whole file again, so the part
  is rewritten from byte 0; a ``416`` means the part already holds the whole file (if the
  server's total matches) or is stale (then it restarts from 0). Failures back off
  exponentially (``backoff * 2**k`` seconds); an attempt that received bytes resets the count,
  so a long download over a flaky link finishes. Other 4xx (404, 403, ...) fail at once.
- **Verify, then rename.** Size and sha256 are checked on the complete ``.part``, which is only
  then renamed into place: a final file is always a verified one. A mismatching file is moved
  to ``<file>.bad`` and the error names the file, both hashes and the URL.
- **Never twice.** An existing final file that verifies is not downloaded again. Its sha256 is
  cached in the sidecar ``<file>.sha256`` (JSON, keyed by size and mtime), so re-runs do not
  re-hash 50 GB archives.
- **Pins.** Where the provider publishes no checksum, the first verified download's sha256 and
  size are recorded in a :class:`PinStore` (``datasets.lock``, committed) and enforced from
  then on, so everybody benchmarks the same bytes. A published sha256 always wins; a pin that
  disagrees with it is an error.
- **Mirror.** ``mirror=`` or the environment variable ``MPBENCH_MIRROR`` replaces every
  automatic source's URL by ``<mirror>/<filename>``. The mirror is either a base URL
  (``http://host/path/``, ``https://...``) or a local folder (a path, or ``file://`` URL), e.g.
  a shared file system on a cluster without internet; files from a folder are hard-linked
  (copied when that is impossible), then verified like downloads. There is no fallback to the
  upstream URL: a file missing from the mirror is an error naming the path looked up. Manual
  sources are not looked up in the mirror. ``mirror=""`` disables the environment variable.
- **Manual sources** (registration-only data) are looked up in ``manual/<filename>`` and
  verified like downloads; :func:`fetch_all` names every missing one at once.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlparse
from urllib.request import Request, urlopen

import yaml
from tqdm import tqdm

from benchmark.datasets.sources import Source
from benchmark.errors import MpbenchError
from benchmark.fileio import write_text_atomic

#: Environment variable naming the mirror (base URL or local folder), see the module docstring.
MIRROR_ENV = "MPBENCH_MIRROR"
_CHUNK = 1 << 20
_USER_AGENT = "mpbench/0.1 (dataset download)"


class DataError(MpbenchError):
    """A dataset file could not be obtained or is not the expected one (the user's to fix)."""


class DownloadError(DataError):
    """A download failed: HTTP error, too many network failures, file missing from a mirror."""


class ChecksumError(DataError):
    """A file's size or sha256 differs from the published checksum or the pin."""


class PinError(DataError):
    """The pin file is malformed or disagrees with a published checksum."""


class ManualFilesNeeded(DataError):
    """Files the user must download by hand are missing; the message says what, where from, and
    the exact path to put each one at."""

    def __init__(self, missing: Sequence[tuple[Source, Path]], dataset: str = "") -> None:
        self.missing = list(missing)
        self.dataset = dataset
        who = f"dataset {dataset!r}: " if dataset else ""
        n = len(self.missing)
        lines = [f"{who}{n} file{'s' if n != 1 else ''} must be downloaded by hand "
                 "(registration or licence required):"]
        for source, path in self.missing:
            lines.append(f"  - {source.filename}: {source.manual}")
            lines.append(f"    put it at: {path}")
        lines.append("then run the download stage again.")
        super().__init__("\n".join(lines))


class FetchFailed(DataError):
    """Several sources of one dataset failed; ``errors`` holds each one's error."""

    def __init__(self, dataset: str, errors: Sequence[DataError]) -> None:
        self.errors = list(errors)
        body = "\n".join(f"- {e}" for e in self.errors)
        super().__init__(f"dataset {dataset!r}: {len(self.errors)} sources failed:\n{body}")


# --------------------------------------------------------------------------- hashing


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _hash_file(path: Path, *, progress: bool = False) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                                      desc=f"sha256 {path.name}", file=sys.stderr,
                                      disable=not progress or size < (64 << 20)) as bar:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            bar.update(len(chunk))
    return h.hexdigest()


def _remember_sha256(path: Path, digest: str, st: os.stat_result) -> None:
    record = {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        write_text_atomic(_sidecar(path), json.dumps(record) + "\n")
    except OSError:
        pass  # a read-only folder only costs a re-hash next time


def sha256_file(path: Path, *, progress: bool = False) -> str:
    """sha256 of ``path``, cached in ``<path>.sha256`` keyed by size and mtime.

    The cache makes verification of an already-downloaded multi-GB archive instant on every
    re-run; any change of the file (size or mtime) invalidates it.
    """
    path = Path(path)
    st = path.stat()
    try:
        cached = json.loads(_sidecar(path).read_text())
        if cached["size"] == st.st_size and cached["mtime_ns"] == st.st_mtime_ns:
            return str(cached["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    digest = _hash_file(path, progress=progress)
    _remember_sha256(path, digest, st)
    return digest



# --------------------------------------------------------------------------- pins


@dataclass(frozen=True)
class Pin:
    sha256: str
    size: int


class PinStore:
    """Checksums recorded at first download, for sources without a published sha256.

    A small YAML file (the project keeps it at ``datasets.lock`` and commits it), keyed by
    dataset then file name, sorted for stable diffs::

        llvip:
          LLVIP.zip:
            sha256: 0f3c...
            size: 3814961521

    Every write re-reads the file and replaces it atomically.
    """

    _HEADER = ("# Checksums pinned by mpbench at the first verified download of each file whose\n"
               "# provider publishes none; enforced from then on. Commit this file. To accept a\n"
               "# new upstream version, delete its entry and download again.\n")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict[str, Pin]]:
        if not self.path.exists():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise PinError(f"{self.path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise PinError(f"{self.path}: expected a mapping dataset -> file -> "
                           "{sha256, size}")
        pins: dict[str, dict[str, Pin]] = {}
        for dataset, files in data.items():
            if not isinstance(files, dict):
                raise PinError(f"{self.path}: {dataset}: expected a mapping file -> "
                               "{sha256, size}")
            for name, entry in files.items():
                try:
                    digest, size = str(entry["sha256"]).lower(), int(entry["size"])
                except (TypeError, KeyError, ValueError):
                    raise PinError(f"{self.path}: {dataset}.{name}: needs `sha256` and integer "
                                   "`size`") from None
                if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                    raise PinError(f"{self.path}: {dataset}.{name}: sha256 {digest!r} is not a "
                                   "64-digit hex digest")
                pins.setdefault(str(dataset), {})[str(name)] = Pin(digest, size)
        return pins

    def get(self, dataset: str, filename: str) -> Pin | None:
        return self.load().get(dataset, {}).get(filename)

    def record(self, dataset: str, filename: str, sha256: str, size: int) -> None:
        pins = self.load()
        pins.setdefault(dataset, {})[filename] = Pin(sha256, int(size))
        data = {d: {f: {"sha256": p.sha256, "size": p.size} for f, p in sorted(files.items())}
                for d, files in sorted(pins.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.path, self._HEADER + yaml.safe_dump(data, sort_keys=True))


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class _Expected:
    sha256: str | None
    size: int | None
    origin: str  # where the expectation comes from, for messages


def _expected(source: Source, dataset: str | None, pins: PinStore | None) -> _Expected:
    pin = pins.get(dataset, source.filename) if pins is not None and dataset else None
    if source.sha256:
        if pin is not None and pin.sha256 != source.sha256:
            raise PinError(
                f"{pins.path}: pin {dataset}/{source.filename} sha256 {pin.sha256} disagrees "
                f"with the published sha256 {source.sha256}; the published one wins: delete "
                f"the entry from {pins.path}")
        return _Expected(source.sha256, source.size, "published")
    if pin is not None:
        if source.size is not None and source.size != pin.size:
            raise PinError(f"{pins.path}: pin {dataset}/{source.filename} size {pin.size} "
                           f"disagrees with the published size {source.size}; delete the entry "
                           f"from {pins.path}")
        return _Expected(pin.sha256, pin.size, f"pinned in {pins.path}")
    return _Expected(None, source.size, "published")


def _verify(path: Path, exp: _Expected, *, where: str, hash_needed: bool,
            progress: bool) -> str | None:
    """Check size and sha256; return the sha256 when it was computed. ``where`` = origin."""
    size = path.stat().st_size
    if exp.size is not None and size != exp.size:
        raise ChecksumError(f"{path}: {size} bytes, expected {exp.size} ({exp.origin}); "
                            f"from {where}")
    if exp.sha256 is None and not hash_needed:
        return None
    actual = sha256_file(path, progress=progress)
    if exp.sha256 is not None and actual != exp.sha256:
        raise ChecksumError(f"{path}: sha256 mismatch: expected {exp.sha256} ({exp.origin}), "
                            f"got {actual}; from {where}")
    return actual


def _pin_if_new(pins: PinStore | None, dataset: str | None, source: Source, path: Path,
                digest: str | None) -> None:
    if pins is None or not dataset or source.sha256 or digest is None:
        return
    if pins.get(dataset, source.filename) is None:
        size = path.stat().st_size
        pins.record(dataset, source.filename, digest, size)
        _note(f"pinned {dataset}/{source.filename} (sha256 {digest}, {size} bytes) in "
              f"{pins.path}: no published checksum, this download's is enforced from now on; "
              "commit that file")


def _move_aside(path: Path) -> Path:
    bad = path.with_name(path.name.removesuffix(".part") + ".bad")
    os.replace(path, bad)
    _sidecar(path).unlink(missing_ok=True)
    return bad


def _note(message: str) -> None:
    print(f"mpbench: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- mirror


def locate(source: Source, mirror: str | os.PathLike | None = None) -> tuple[str | None,
                                                                            Path | None]:
    """Where ``source`` comes from: ``(url, None)`` or, for a folder mirror, ``(None, path)``.

    ``mirror=None`` reads ``MPBENCH_MIRROR``; ``mirror=""`` means no mirror.
    """
    base = os.environ.get(MIRROR_ENV, "") if mirror is None else os.fspath(mirror)
    if not base:
        return source.url, None
    if base.startswith(("http://", "https://")):
        return base.rstrip("/") + "/" + quote(source.filename), None
    if base.startswith("file://"):
        base = unquote(urlparse(base).path)
    return None, Path(base).expanduser() / source.filename


def _copy_from_folder(src: Path, part: Path, *, progress: bool) -> None:
    part.unlink(missing_ok=True)
    try:
        os.link(src, part)  # instant on the same file system; verification follows anyway
        return
    except OSError:
        pass
    size = src.stat().st_size
    with open(src, "rb") as fin, open(part, "wb") as fout, \
            tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=src.name,
                 file=sys.stderr, disable=not progress) as bar:
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
            bar.update(len(chunk))


# --------------------------------------------------------------------------- HTTP


class _Retry(Exception):
    """A transient failure; the ``.part`` is kept so the next attempt resumes."""

    def __init__(self, message: str, progressed: bool = False) -> None:
        super().__init__(message)
        self.progressed = progressed


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-199/1000`` -> (100, 1000); ``bytes */1000`` -> (None, 1000)."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = int(span.split("-")[0]) if span[:1].isdigit() else None
    return start, int(total) if total.isdigit() else None


def _http_attempt(url: str, part: Path, *, size: int | None, timeout: float, progress: bool,
                  label: str) -> None:
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if have and have == size:
        return  # complete already; verification decides whether it is right
    headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        resp = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:
            _, total = _content_range(exc.headers.get("Content-Range"))
            if total == have:
                return  # the part holds the whole file
            _note(f"{label}: server refused to resume at byte {have} (HTTP 416, size {total}); "
                  "downloading from the start")
            part.unlink()
            return _http_attempt(url, part, size=size, timeout=timeout, progress=progress,
                                 label=label)
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(f"{label}: HTTP {exc.code} {exc.reason} from {url}") from None
    except ValueError as exc:  # malformed URL
        raise DownloadError(f"{label}: cannot download {url!r}: {exc}") from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        raise _Retry(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from None

    with resp:
        length_header = resp.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if have and resp.status == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != have:
                part.unlink()
                raise _Retry(f"server resumed at byte {start}, not {have}; restarting")
            mode = "ab"
        else:
            if have:
                _note(f"{label}: server ignored the resume request (HTTP {resp.status}); "
                      "downloading from the start")
            have, mode, total = 0, "wb", None
        if total is None and length is not None:
            total = have + length
        if size is not None and total is not None and total != size:
            raise ChecksumError(f"{label}: {url} serves {total} bytes, expected {size}")
        received = 0
        with open(part, mode) as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, unit_divisor=1024,
                desc=label, file=sys.stderr, disable=not progress) as bar:
            while True:
                try:
                    chunk = resp.read1(_CHUNK)  # what has arrived: a stall loses nothing
                except (OSError, http.client.HTTPException) as exc:
                    raise _Retry(f"connection lost after {have + received} bytes: "
                                 f"{type(exc).__name__}", progressed=received > 0) from None
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if length is not None and received < length:
            raise _Retry(f"connection closed after {have + received} of {have + length} bytes",
                         progressed=received > 0)


def _http_download(url: str, part: Path, *, size: int | None, retries: int, backoff: float,
                   timeout: float, progress: bool, label: str) -> None:
    failures = 0
    while True:
        try:
            _http_attempt(url, part, size=size, timeout=timeout, progress=progress, label=label)
            return
        except _Retry as exc:
            failures = 1 if exc.progressed else failures + 1
            if failures > retries:
                kept = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"{label}: download from {url} failed {failures} times in a row; last error: "
                    f"{exc}. Run again to resume ({kept} bytes kept in {part})") from None
            delay = backoff * 2 ** (failures - 1)
            _note(f"{label}: {exc}; retry {failures}/{retries} in {delay:.3g} s")
            time.sleep(delay)


# --------------------------------------------------------------------------- public API


def fetch(source: Source, downloads_dir: str | Path, *, dataset: str | None = None,
          mirror: str | os.PathLike | None = None, pins: PinStore | None = None,
          retries: int = 5, backoff: float = 1.0, timeout: float = 60,
          progress: bool = True) -> Path:
    """Download ``source`` to ``downloads_dir/<filename>`` (verified) and return that path.

    ``dataset`` names the pins' section and is required with ``pins``. ``retries`` is the number
    of consecutive failed attempts tolerated after the first one; see the module docstring.
    """
    if source.is_manual:
        raise ValueError(f"{source.filename}: a manual source; use resolve_manual()")
    if pins is not None and not dataset:
        raise ValueError("fetch(): pins need the dataset name (dataset=...)")
    downloads_dir = Path(downloads_dir)
    downloads_dir.mkdir(parents=True, exist_ok=True)
    final = downloads_dir / source.filename
    exp = _expected(source, dataset, pins)
    url, local = locate(source, mirror)
    where = str(local) if local is not None else str(url)
    hash_needed = pins is not None and not source.sha256

    if final.exists():
        try:
            digest = _verify(final, exp, where=f"{final} (already downloaded)",
                             hash_needed=hash_needed, progress=progress)
        except ChecksumError as exc:
            bad = _move_aside(final)
            _note(f"{exc}; moved to {bad}, downloading again")
        else:
            _pin_if_new(pins, dataset, source, final, digest)
            return final

    part = final.with_name(final.name + ".part")
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"{source.filename}: not in the mirror folder {local.parent} "
                                f"(MPBENCH_MIRROR / mirror=): expected {local}; upstream: "
                                f"{source.url}")
        _copy_from_folder(local, part, progress=progress)
    else:
        assert url is not None
        _http_download(url, part, size=exp.size, retries=retries, backoff=backoff,
                       timeout=timeout, progress=progress, label=source.filename)

    st = part.stat()
    try:
        digest = _verify(part, exp, where=where, hash_needed=hash_needed, progress=progress)
    except ChecksumError as exc:
        bad = _move_aside(part)
        raise ChecksumError(f"{final}: {str(exc).removeprefix(f'{part}: ')}; the file was "
                            f"moved aside to {bad}") from None
    os.replace(part, final)
    if digest is not None:
        _remember_sha256(final, digest, st)  # rename keeps size and mtime: the cache is valid
    _pin_if_new(pins, dataset, source, final, digest)
    return final


def resolve_manual(source: Source, manual_dir: str | Path, *, dataset: str | None = None,
                   pins: PinStore | None = None, progress: bool = True) -> Path:
    """The verified path of a manual source placed by the user in ``manual_dir``.

    Raises :class:`ManualFilesNeeded` when it is missing and :class:`ChecksumError` when it is
    not the expected file (the file is left where it is: it is the user's).
    """
    if pins is not None and not dataset:
        raise ValueError("resolve_manual(): pins need the dataset name (dataset=...)")
    path = Path(manual_dir).absolute() / source.filename
    if not path.is_file():
        raise ManualFilesNeeded([(source, path)], dataset or "")
    exp = _expected(source, dataset, pins)
    try:
        digest = _verify(path, exp, where="placed by hand",
                         hash_needed=pins is not None and not source.sha256, progress=progress)
    except ChecksumError as exc:
        raise ChecksumError(f"{exc}. It is not the expected file: replace it with the one from "
                            f"{source.manual}") from None
    _pin_if_new(pins, dataset, source, path, digest)
    return path


def fetch_all(dataset_name: str, sources: Iterable[Source], downloads_dir: str | Path,
              manual_dir: str | Path, *, mirror: str | os.PathLike | None = None,
              pins: PinStore | None = None, retries: int = 5, backoff: float = 1.0,
              timeout: float = 60, progress: bool = True) -> dict[str, Path]:
    """Obtain every source of a dataset; return ``{filename: verified path}`` in source order.

    Order, chosen so that the user's time is not wasted:

    1. Every manual source is looked up (a stat, no hashing). If any is missing, the full
       :class:`ManualFilesNeeded` message is printed at once, so the user can start fetching
       those files while ...
    2. ... every automatic source is downloaded (one failing does not stop the others).
    3. Present manual files are verified (sha256 or pin).
    4. Then: missing manual files alone raise :class:`ManualFilesNeeded`; a single other error
       is raised as is; several problems raise :class:`FetchFailed` listing all of them.
    """
    sources = list(sources)
    names = [s.filename for s in sources]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"dataset {dataset_name!r}: duplicate source file names {dups}")
    manual_dir = Path(manual_dir).absolute()
    missing = [(s, manual_dir / s.filename) for s in sources
               if s.is_manual and not (manual_dir / s.filename).is_file()]
    if missing:
        _note(f"{ManualFilesNeeded(missing, dataset_name)}\n(downloading the other files first)")
    found: dict[str, Path] = {}
    errors: list[DataError] = []
    for s in sources:
        if not s.is_manual:
            try:
                found[s.filename] = fetch(s, downloads_dir, dataset=dataset_name, mirror=mirror,
                                          pins=pins, retries=retries, backoff=backoff,
                                          timeout=timeout, progress=progress)
            except DataError as exc:
                errors.append(exc)
    lacking = {s.filename for s, _ in missing}
    for s in sources:
        if s.is_manual and s.filename not in lacking:
            try:
                found[s.filename] = resolve_manual(s, manual_dir, dataset=dataset_name,
                                                   pins=pins, progress=progress)
            except DataError as exc:
                errors.append(exc)
    if missing:
        needed = ManualFilesNeeded(missing, dataset_name)
        if not errors:
            raise needed
        errors.append(needed)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FetchFailed(dataset_name, errors)
    return {n: found[n] for n in names}
