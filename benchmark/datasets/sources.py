"""What a dataset is made of on the internet: one :class:`Source` per file to obtain.

A dataset spec lists its sources; :mod:`benchmark.datasets.download` fetches (or, for manual
sources, locates) and verifies them, and :mod:`benchmark.datasets.archive` unpacks the archives
into the dataset's ``raw/`` folder. Keeping the description separate from the machinery lets a
spec stay a plain, importable table of facts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One file of a dataset.

    ``url=None`` marks a *manual* source: a file behind a registration form or licence click
    that the user downloads and places in ``manual/<filename>``; ``manual`` tells them where to
    get it. Automatic sources are stored as ``downloads/<filename>``.

    ``sha256`` is the published checksum, if the provider publishes one; otherwise the first
    verified download is pinned in ``datasets.lock`` and enforced from then on (see
    :class:`benchmark.datasets.download.PinStore`).
    """

    filename: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    #: An archive (.zip, .tar, .tar.gz/.tgz, .tar.bz2, .tar.xz) to unpack into the raw folder.
    extract: bool = False
    #: Sub-folder of the raw folder to unpack into ("" = the raw folder itself).
    extract_to: str = ""
    #: For manual sources: where to get the file (page/URL and what to click).
    manual: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        # A filename is joined onto download/manual/mirror folders: it must stay a plain name.
        if (not self.filename or "/" in self.filename or "\\" in self.filename
                or self.filename in (".", "..")):
            raise ValueError(f"Source filename {self.filename!r}: must be a plain file name")
        if self.sha256 is not None:
            digest = self.sha256.lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"Source {self.filename}: sha256 {self.sha256!r} is not a "
                                 "64-digit hex digest")
            object.__setattr__(self, "sha256", digest)
        if self.size is not None and self.size < 0:
            raise ValueError(f"Source {self.filename}: negative size {self.size}")
        if self.extract_to.startswith(("/", "\\")) or ".." in self.extract_to.split("/"):
            raise ValueError(f"Source {self.filename}: extract_to {self.extract_to!r} must be a "
                             "relative folder inside the raw folder")
        if self.url is None and not self.manual:
            raise ValueError(f"Source {self.filename}: a manual source (url=None) needs "
                             "`manual` instructions saying where to get it")

    @property
    def is_manual(self) -> bool:
        """True when the user must obtain the file themselves (no download URL)."""
        return self.url is None
