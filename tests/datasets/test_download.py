"""The download layer against a real loopback HTTP server, and archive extraction of archives
built from the real fixture files (MVOR annotations, LLVIP thermal/visible pairs), read in
place from ``../shared/fixtures/real``."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from benchmark.datasets import archive as archive_mod
from benchmark.datasets import download as download_mod
from benchmark.datasets.archive import ArchiveError, extract_sources, safe_extract
from benchmark.datasets.download import (
    ChecksumError,
    DataError,
    DownloadError,
    FetchFailed,
    ManualFilesNeeded,
    PinError,
    PinStore,
    fetch,
    fetch_all,
    resolve_manual,
    sha256_file,
)
from benchmark.datasets.sources import Source
from benchmark.errors import MpbenchError
from tests.conftest import missing_fixture

FAST = {"backoff": 0.001, "timeout": 5, "progress": False}
LLVIP_NAMES = ("190001.jpg", "190002.jpg", "200002.jpg")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- archives from
# the real fixture files


@pytest.fixture(scope="session")
def mvor_json(real_fixtures: Path) -> Path:
    path = real_fixtures / "mvor" / "annotations" / "camma_mvor_2018.json"
    if not path.is_file():
        missing_fixture(f"MVOR annotation fixture missing: {path}")
    return path


@pytest.fixture(scope="session")
def llvip_dir(real_fixtures: Path) -> Path:
    path = real_fixtures / "llvip" / "FusionGAN"
    if not (path / "Test_LLVIP_ir").is_dir():
        missing_fixture(f"LLVIP fixture pairs missing: {path}")
    return path


@pytest.fixture(scope="session")
def mvor_zip(tmp_path_factory: pytest.TempPathFactory, mvor_json: Path) -> Path:
    """MVOR's annotations in the layout of the upstream repository's zip download."""
    out = tmp_path_factory.mktemp("arc") / "MVOR-master.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(mvor_json, "MVOR-master/annotations/camma_mvor_2018.json")
        zf.writestr("MVOR-master/README.md", b"# MVOR\n")
    return out


@pytest.fixture(scope="session")
def llvip_tgz(tmp_path_factory: pytest.TempPathFactory, llvip_dir: Path) -> Path:
    """A few registered LLVIP pairs in the upstream layout LLVIP/{infrared,visible}/test/."""
    out = tmp_path_factory.mktemp("arc") / "LLVIP.tar.gz"
    with tarfile.open(out, "w:gz", compresslevel=1) as tf:
        for name in LLVIP_NAMES:
            tf.add(llvip_dir / "Test_LLVIP_ir" / name, f"LLVIP/infrared/test/{name}")
            tf.add(llvip_dir / "Test_LLVIP_vi" / name, f"LLVIP/visible/test/{name}")
    return out


def assert_nothing_extracted(base: Path, target: Path) -> None:
    """No target, no staging folder left, nothing outside."""
    assert not target.exists() or not any(target.iterdir())
    assert not list(base.glob("*.extracting-*"))


# --------------------------------------------------------------------------- downloads


def test_download_success(http_server, tmp_path):
    data = os.urandom(300_000)
    url = http_server.add("/files/a.bin", data)
    path = fetch(Source("a.bin", url, sha256=sha(data), size=len(data)), tmp_path, **FAST)
    assert path == tmp_path / "a.bin"
    assert path.read_bytes() == data
    assert http_server.ranges("/files/a.bin") == [None]
    assert not (tmp_path / "a.bin.part").exists()
    assert (tmp_path / "a.bin.sha256").is_file()  # hash cache for the next run


def test_progress_bar_names_the_file(http_server, tmp_path, capsys):
    data = os.urandom(50_000)
    url = http_server.add("/p.bin", data)
    fetch(Source("p.bin", url, sha256=sha(data)), tmp_path, backoff=0.001, progress=True)
    assert "p.bin" in capsys.readouterr().err


def test_resume_after_cut_connection(http_server, tmp_path):
    data = os.urandom(1_500_000)
    url = http_server.add("/big.bin", data, cut_after=400_000)
    path = fetch(Source("big.bin", url, sha256=sha(data)), tmp_path, **FAST)
    assert path.read_bytes() == data
    hits = http_server.requests("/big.bin")
    assert [h.range for h in hits] == [None, "bytes=400000-"]
    assert [h.status for h in hits] == [200, 206]
    assert hits[0].sent == 400_000 and hits[1].sent == len(data) - 400_000  # only the rest


def test_stalled_connection_times_out_and_resumes(http_server, tmp_path):
    data = os.urandom(300_000)
    url = http_server.add("/slow.bin", data, cut_after=100_000, stall=1.0)
    path = fetch(Source("slow.bin", url, sha256=sha(data)), tmp_path, backoff=0.001,
                 timeout=0.2, progress=False)
    assert path.read_bytes() == data
    assert http_server.ranges("/slow.bin") == [None, "bytes=100000-"]


def test_resume_of_a_part_left_by_a_killed_run(http_server, tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "k.bin.part").write_bytes(data[:123_456])
    url = http_server.add("/k.bin", data)
    fetch(Source("k.bin", url, sha256=sha(data), size=len(data)), tmp_path, **FAST)
    assert (tmp_path / "k.bin").read_bytes() == data
    assert http_server.ranges("/k.bin") == ["bytes=123456-"]
    assert http_server.requests("/k.bin")[0].sent == len(data) - 123_456


def test_complete_part_answered_416_is_kept(http_server, tmp_path):
    """Size unknown, the part already holds everything: the server's 416 says so."""
    data = os.urandom(10_000)
    (tmp_path / "c.bin.part").write_bytes(data)
    url = http_server.add("/c.bin", data)
    fetch(Source("c.bin", url, sha256=sha(data)), tmp_path, **FAST)
    assert (tmp_path / "c.bin").read_bytes() == data
    assert [(h.range, h.status) for h in http_server.requests("/c.bin")] == [
        ("bytes=10000-", 416)]


def test_server_ignoring_range_restarts_from_zero(http_server, tmp_path):
    data = os.urandom(600_000)
    url = http_server.add("/nr.bin", data, cut_after=250_000, ignore_range=True)
    path = fetch(Source("nr.bin", url, sha256=sha(data)), tmp_path, **FAST)
    assert path.read_bytes() == data  # not the first 250 kB twice
    hits = http_server.requests("/nr.bin")
    assert [(h.range, h.status) for h in hits] == [(None, 200), ("bytes=250000-", 200)]


def test_wrong_checksum_is_not_kept(http_server, tmp_path):
    good, served = os.urandom(40_000), os.urandom(40_000)
    url = http_server.add("/w.bin", served)
    with pytest.raises(ChecksumError) as err:
        fetch(Source("w.bin", url, sha256=sha(good)), tmp_path, **FAST)
    msg = str(err.value)
    assert "w.bin" in msg and sha(good) in msg and sha(served) in msg and url in msg
    assert isinstance(err.value, DataError) and isinstance(err.value, MpbenchError)
    assert not (tmp_path / "w.bin").exists()
    assert not (tmp_path / "w.bin.part").exists()
    assert (tmp_path / "w.bin.bad").read_bytes() == served


def test_wrong_size_is_an_error(http_server, tmp_path):
    data = os.urandom(1000)
    url = http_server.add("/s.bin", data)
    with pytest.raises(ChecksumError, match=r"s\.bin.*1000 bytes, expected 999"):
        fetch(Source("s.bin", url, size=999), tmp_path, **FAST)
    assert not (tmp_path / "s.bin").exists()


def test_http_500_is_retried(http_server, tmp_path):
    data = os.urandom(20_000)
    url = http_server.add("/r.bin", data, fail_first=2)
    fetch(Source("r.bin", url, sha256=sha(data)), tmp_path, retries=5, **FAST)
    assert [h.status for h in http_server.requests("/r.bin")] == [500, 500, 200]
    assert (tmp_path / "r.bin").read_bytes() == data


def test_retries_are_bounded(http_server, tmp_path):
    url = http_server.add("/down.bin", b"x", fail_first=100)
    with pytest.raises(DownloadError, match=r"down\.bin.*failed 3 times.*HTTP 500"):
        fetch(Source("down.bin", url), tmp_path, retries=2, **FAST)
    assert http_server.count("/down.bin") == 3
    assert not (tmp_path / "down.bin").exists()


def test_404_is_not_retried(http_server, tmp_path):
    url = http_server.base_url + "/missing.bin"
    with pytest.raises(DownloadError, match=r"missing\.bin: HTTP 404"):
        fetch(Source("missing.bin", url), tmp_path, retries=5, **FAST)
    assert http_server.count("/missing.bin") == 1


def test_verified_file_is_not_downloaded_again(http_server, tmp_path, monkeypatch):
    data = os.urandom(80_000)
    url = http_server.add("/v.bin", data)
    src = Source("v.bin", url, sha256=sha(data), size=len(data))
    fetch(src, tmp_path, **FAST)
    assert http_server.count("/v.bin") == 1
    hashed = []
    real_hash = download_mod._hash_file
    monkeypatch.setattr(download_mod, "_hash_file",
                        lambda p, **kw: hashed.append(p) or real_hash(p, **kw))
    for _ in range(2):
        assert fetch(src, tmp_path, **FAST).read_bytes() == data
    assert http_server.count("/v.bin") == 1  # no request at all
    assert hashed == []  # the sidecar cache answered: no re-hash


def test_corrupted_final_file_is_replaced(http_server, tmp_path):
    data = os.urandom(30_000)
    url = http_server.add("/f.bin", data)
    src = Source("f.bin", url, sha256=sha(data))
    fetch(src, tmp_path, **FAST)
    (tmp_path / "f.bin").write_bytes(b"garbage")  # size+mtime change invalidate the cache
    fetch(src, tmp_path, **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert (tmp_path / "f.bin.bad").read_bytes() == b"garbage"
    assert http_server.count("/f.bin") == 2


def test_pin_recorded_then_enforced(http_server, tmp_path):
    lock = tmp_path / "datasets.lock"
    pins = PinStore(lock)
    first, changed = os.urandom(25_000), os.urandom(25_000)
    url = http_server.add("/nopub.zip", first)
    src = Source("nopub.zip", url)  # no published checksum
    dl = tmp_path / "downloads"
    fetch(src, dl, dataset="demo", pins=pins, **FAST)
    assert yaml.safe_load(lock.read_text()) == {
        "demo": {"nopub.zip": {"sha256": sha(first), "size": len(first)}}}
    assert pins.get("demo", "nopub.zip").sha256 == sha(first)

    (dl / "nopub.zip").unlink()
    http_server.add("/nopub.zip", changed)  # upstream silently changed the file
    with pytest.raises(ChecksumError) as err:
        fetch(src, dl, dataset="demo", pins=pins, **FAST)
    msg = str(err.value)
    assert sha(first) in msg and sha(changed) in msg and str(lock) in msg
    assert not (dl / "nopub.zip").exists()
    assert pins.get("demo", "nopub.zip").sha256 == sha(first)  # the pin is not overwritten


def test_published_checksum_beats_a_disagreeing_pin(http_server, tmp_path):
    data = os.urandom(1000)
    pins = PinStore(tmp_path / "datasets.lock")
    pins.record("demo", "p.bin", "0" * 64, 1000)
    url = http_server.add("/p.bin", data)
    with pytest.raises(PinError, match=r"p\.bin.*disagrees with the published sha256"):
        fetch(Source("p.bin", url, sha256=sha(data)), tmp_path, dataset="demo", pins=pins,
              **FAST)
    assert http_server.count("/p.bin") == 0


def test_malformed_pin_file_names_it(tmp_path):
    lock = tmp_path / "datasets.lock"
    lock.write_text("demo:\n  a.zip:\n    sha256: nothex\n    size: 3\n")
    with pytest.raises(PinError, match=r"datasets\.lock: demo\.a\.zip"):
        PinStore(lock).get("demo", "a.zip")


def test_mirror_directory(http_server, tmp_path, monkeypatch):
    data = os.urandom(70_000)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "m.bin").write_bytes(data)
    src = Source("m.bin", http_server.base_url + "/upstream/m.bin", sha256=sha(data))
    fetch(src, tmp_path / "a", mirror=str(mirror), **FAST)
    assert (tmp_path / "a" / "m.bin").read_bytes() == data
    monkeypatch.setenv("MPBENCH_MIRROR", str(mirror))
    fetch(src, tmp_path / "b", **FAST)
    assert (tmp_path / "b" / "m.bin").read_bytes() == data
    assert http_server.hits == []  # the upstream URL was never tried
    assert (mirror / "m.bin").read_bytes() == data  # the mirror is untouched


def test_mirror_directory_missing_file(http_server, tmp_path):
    src = Source("gone.bin", "https://example.invalid/gone.bin")
    with pytest.raises(DownloadError) as err:
        fetch(src, tmp_path / "dl", mirror=tmp_path, **FAST)
    assert str(tmp_path / "gone.bin") in str(err.value)


def test_mirror_directory_with_wrong_file(http_server, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "x.bin").write_bytes(b"stale")
    with pytest.raises(ChecksumError, match=str(mirror / "x.bin")):
        fetch(Source("x.bin", "https://example.invalid/x.bin", sha256=sha(b"fresh")),
              tmp_path / "dl", mirror=mirror, **FAST)
    assert not (tmp_path / "dl" / "x.bin").exists()
    assert (mirror / "x.bin").read_bytes() == b"stale"


def test_mirror_url(http_server, tmp_path, monkeypatch):
    data = os.urandom(60_000)
    http_server.add("/mirror/ds/m%201.bin", data)  # the name is URL-quoted
    src = Source("m 1.bin", http_server.base_url + "/upstream/m.bin", sha256=sha(data))
    fetch(src, tmp_path / "a", mirror=http_server.base_url + "/mirror/ds/", **FAST)
    monkeypatch.setenv("MPBENCH_MIRROR", http_server.base_url + "/mirror/ds")
    fetch(src, tmp_path / "b", **FAST)
    assert (tmp_path / "a" / "m 1.bin").read_bytes() == data
    assert (tmp_path / "b" / "m 1.bin").read_bytes() == data
    assert [h.path for h in http_server.hits] == ["/mirror/ds/m%201.bin"] * 2


# --------------------------------------------------------------------------- manual sources


def test_missing_manual_files_are_all_named(http_server, tmp_path, mvor_zip):
    data = os.urandom(5000)
    url = http_server.add("/auto.bin", data)
    sources = [
        Source("auto.bin", url, sha256=sha(data)),
        Source("MVOR-master.zip", manual="https://github.com/CAMMA-public/MVOR: click "
               "Code > Download ZIP"),
        Source("camma_mvor_dataset.zip", manual="fill in the form at https://camma.u-strasbg."
               "fr/datasets and use the link in the e-mail"),
    ]
    manual = tmp_path / "manual"
    with pytest.raises(ManualFilesNeeded) as err:
        fetch_all("mvor", sources, tmp_path / "downloads", manual, **FAST)
    msg = str(err.value)
    for s in sources[1:]:
        assert s.filename in msg and s.manual in msg
        assert str(manual.absolute() / s.filename) in msg
    assert "auto.bin" not in msg
    assert [p for _, p in err.value.missing] == [manual.absolute() / s.filename
                                                 for s in sources[1:]]
    # the automatic source was fetched before raising
    assert (tmp_path / "downloads" / "auto.bin").read_bytes() == data


def test_placed_manual_file_is_verified_and_used(http_server, tmp_path, mvor_zip):
    manual = tmp_path / "manual"
    manual.mkdir()
    shutil.copy(mvor_zip, manual / "MVOR-master.zip")
    src = Source("MVOR-master.zip", sha256=sha256_file(mvor_zip), manual="GitHub zip")
    paths = fetch_all("mvor", [src], tmp_path / "downloads", manual, **FAST)
    assert paths == {"MVOR-master.zip": manual.absolute() / "MVOR-master.zip"}
    assert resolve_manual(src, manual) == manual.absolute() / "MVOR-master.zip"


def test_wrong_manual_file_is_named(tmp_path, mvor_zip):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "MVOR-master.zip").write_bytes(b"an html error page")
    src = Source("MVOR-master.zip", sha256=sha256_file(mvor_zip), manual="GitHub: Code > ZIP")
    with pytest.raises(ChecksumError) as err:
        fetch_all("mvor", [src], tmp_path / "downloads", manual, **FAST)
    msg = str(err.value)
    assert str(manual.absolute() / "MVOR-master.zip") in msg and "GitHub: Code > ZIP" in msg
    assert sha256_file(mvor_zip) in msg


def test_manual_file_without_checksum_is_pinned(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "m.tar").write_bytes(b"first")
    pins = PinStore(tmp_path / "datasets.lock")
    src = Source("m.tar", manual="from the authors")
    resolve_manual(src, manual, dataset="ds", pins=pins)
    assert pins.get("ds", "m.tar").sha256 == sha(b"first")
    (manual / "m.tar").write_bytes(b"other")
    with pytest.raises(ChecksumError, match="m.tar"):
        resolve_manual(src, manual, dataset="ds", pins=pins)


def test_several_failures_are_reported_together(http_server, tmp_path):
    ok = os.urandom(100)
    sources = [Source("a.bin", http_server.base_url + "/nope-a"),
               Source("b.bin", http_server.add("/b.bin", ok), sha256=sha(ok)),
               Source("c.zip", manual="ask the authors")]
    with pytest.raises(FetchFailed) as err:
        fetch_all("ds", sources, tmp_path / "dl", tmp_path / "manual", **FAST)
    msg = str(err.value)
    assert "a.bin: HTTP 404" in msg and "c.zip" in msg and "ask the authors" in msg
    assert (tmp_path / "dl" / "b.bin").read_bytes() == ok  # one failure did not stop others


# --------------------------------------------------------------------------- extraction


def test_extract_zip_and_tar_with_marker(tmp_path, mvor_zip, llvip_tgz, mvor_json, llvip_dir,
                                         monkeypatch):
    raw = tmp_path / "raw"
    files = safe_extract(mvor_zip, raw, progress=False)
    assert (raw / "MVOR-master/annotations/camma_mvor_2018.json").read_bytes() == \
        mvor_json.read_bytes()
    assert sorted(files) == sorted([raw / "MVOR-master/README.md",
                                    raw / "MVOR-master/annotations/camma_mvor_2018.json"])
    safe_extract(llvip_tgz, raw, progress=False)  # a second archive merges into the same folder
    for name in LLVIP_NAMES:
        assert (raw / "LLVIP/infrared/test" / name).read_bytes() == \
            (llvip_dir / "Test_LLVIP_ir" / name).read_bytes()
        assert (raw / "LLVIP/visible/test" / name).read_bytes() == \
            (llvip_dir / "Test_LLVIP_vi" / name).read_bytes()
    assert (raw / "MVOR-master/README.md").is_file()
    markers = sorted(p.name for p in raw.glob(".extracted-*"))
    assert markers == sorted(f".extracted-{sha256_file(a)[:16]}" for a in (mvor_zip, llvip_tgz))
    assert not list(tmp_path.glob("*.extracting-*"))

    calls = []
    monkeypatch.setattr(archive_mod, "_extract_tar_member", lambda *a: calls.append(a))
    monkeypatch.setattr(archive_mod, "_extract_zip_member", lambda *a: calls.append(a))
    again = safe_extract(llvip_tgz, raw, progress=False)
    assert calls == []  # skipped thanks to the marker
    assert len(again) == 2 * len(LLVIP_NAMES)


def test_unmarked_target_is_extracted_again(tmp_path, llvip_tgz):
    raw = tmp_path / "raw"
    safe_extract(llvip_tgz, raw, progress=False)
    marker = next(raw.glob(".extracted-*"))
    victim = raw / "LLVIP/visible/test" / LLVIP_NAMES[0]
    victim.unlink()  # as if an earlier run had been killed half-way ...
    marker.unlink()  # ... before writing its marker
    safe_extract(llvip_tgz, raw, progress=False)
    assert victim.is_file() and marker.is_file()


def test_extract_sources_uses_extract_to(http_server, tmp_path, llvip_tgz):
    data = llvip_tgz.read_bytes()
    url = http_server.add("/LLVIP.tar.gz", data, cut_after=100_000)
    src = Source("LLVIP.tar.gz", url, sha256=sha(data), extract=True, extract_to="llvip")
    paths = fetch_all("llvip", [src], tmp_path / "downloads", tmp_path / "manual", **FAST)
    out = extract_sources([src], paths, tmp_path / "raw", progress=False)
    assert len(out["LLVIP.tar.gz"]) == 2 * len(LLVIP_NAMES)
    assert (tmp_path / "raw/llvip/LLVIP/infrared/test" / LLVIP_NAMES[0]).is_file()
    assert http_server.ranges("/LLVIP.tar.gz") == [None, "bytes=100000-"]


def test_zip_with_path_traversal_is_refused(tmp_path, mvor_json):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.write(mvor_json, "annotations/camma_mvor_2018.json")
        zf.writestr("../evil", b"pwned")
    base = tmp_path / "data"
    base.mkdir()
    with pytest.raises(ArchiveError, match=r"evil\.zip.*'\.\./evil'.*'\.\.'"):
        safe_extract(evil, base / "raw", progress=False)
    assert not (base / "evil").exists() and not (tmp_path / "evil").exists()
    assert_nothing_extracted(base, base / "raw")


def test_tar_with_absolute_member_is_refused(tmp_path, llvip_dir):
    outside = tmp_path / "outside.jpg"
    bad = tmp_path / "abs.tar"
    jpg = (llvip_dir / "Test_LLVIP_ir" / LLVIP_NAMES[0]).read_bytes()
    # TarInfo keeps the leading "/" that TarFile.add() would strip
    _tar_with(bad, [(tarfile.TarInfo("LLVIP/infrared/test/a.jpg"), jpg),
                    (tarfile.TarInfo(str(outside)), jpg)])
    base = tmp_path / "data"
    base.mkdir()
    with pytest.raises(ArchiveError, match="absolute path"):
        safe_extract(bad, base / "raw", progress=False)
    assert not outside.exists()
    assert_nothing_extracted(base, base / "raw")


def _tar_with(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_tar_symlink_escaping_is_refused(tmp_path):
    bad = _tar_with(tmp_path / "link.tar", [
        (tarfile.TarInfo("LLVIP/ok.txt"), b"ok"),
        (_link("LLVIP/out", "../../outside"), None),
        (tarfile.TarInfo("LLVIP/out/pwned.txt"), b"pwned"),
    ])
    base = tmp_path / "data"
    base.mkdir()
    with pytest.raises(ArchiveError, match=r"symlink 'LLVIP/out' -> '\.\./\.\./outside'"):
        safe_extract(bad, base / "raw", progress=False)
    assert not (tmp_path / "outside").exists()
    assert_nothing_extracted(base, base / "raw")


def test_tar_hardlink_escaping_is_refused(tmp_path):
    bad = _tar_with(tmp_path / "hard.tar", [(_link("x", "../../etc/passwd", tarfile.LNKTYPE),
                                             None)])
    with pytest.raises(ArchiveError, match="'..'"):
        safe_extract(bad, tmp_path / "raw", progress=False)
    assert_nothing_extracted(tmp_path, tmp_path / "raw")


def test_tar_symlink_chain_escaping_is_refused(tmp_path):
    """Each link looks harmless on paper; followed on disk, ``x`` leads out of the target."""
    d2 = tarfile.TarInfo("d2")
    d2.type = tarfile.DIRTYPE
    bad = _tar_with(tmp_path / "chain.tar", [
        (d2, None),
        (_link("d/l2", "../d2"), None),
        (_link("x", "d/l2/../.."), None),
        (tarfile.TarInfo("x/pwned.txt"), b"pwned"),
    ])
    base = tmp_path / "data"
    base.mkdir()
    with pytest.raises(ArchiveError, match="refused"):
        safe_extract(bad, base / "raw", progress=False)
    assert not (base / "pwned.txt").exists() and not (tmp_path / "pwned.txt").exists()
    assert_nothing_extracted(base, base / "raw")


def test_tar_device_file_is_refused(tmp_path):
    dev = tarfile.TarInfo("dev/null")
    dev.type = tarfile.CHRTYPE
    bad = _tar_with(tmp_path / "dev.tar", [(dev, None)])
    with pytest.raises(ArchiveError, match="device"):
        safe_extract(bad, tmp_path / "raw", progress=False)
    assert_nothing_extracted(tmp_path, tmp_path / "raw")


def test_zip_symlink_escaping_is_refused(tmp_path):
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        info = zipfile.ZipInfo("data/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../../outside")
    with pytest.raises(ArchiveError, match="symlink 'data/link'"):
        safe_extract(bad, tmp_path / "raw", progress=False)
    assert_nothing_extracted(tmp_path, tmp_path / "raw")


def test_inside_symlinks_are_kept(tmp_path):
    good = _tar_with(tmp_path / "ok.tar", [
        (tarfile.TarInfo("a/real.txt"), b"real"),
        (_link("a/alias.txt", "real.txt"), None),
    ])
    files = safe_extract(good, tmp_path / "raw", progress=False)
    assert (tmp_path / "raw/a/alias.txt").is_symlink()
    assert (tmp_path / "raw/a/alias.txt").read_bytes() == b"real"
    assert sorted(files) == [tmp_path / "raw/a/alias.txt", tmp_path / "raw/a/real.txt"]


def test_not_an_archive(tmp_path):
    junk = tmp_path / "page.html"
    junk.write_bytes(b"<html>login required</html>")
    with pytest.raises(ArchiveError, match=r"page\.html: not a zip or tar archive"):
        safe_extract(junk, tmp_path / "raw", progress=False)


def test_source_validation():
    with pytest.raises(ValueError, match="plain file name"):
        Source("../x.zip", "http://h/x.zip")
    with pytest.raises(ValueError, match="manual"):
        Source("x.zip")
    with pytest.raises(ValueError, match="hex digest"):
        Source("x.zip", "http://h/x.zip", sha256="abc")
    assert Source("x.zip", "http://h/x.zip", sha256="A" * 64).sha256 == "a" * 64
