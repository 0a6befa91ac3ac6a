"""Reading the datasets' native files: one place for the clear errors a converter needs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path, PurePosixPath, PureWindowsPath

from benchmark.errors import MpbenchError
from benchmark.fileio import read_json_checked

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


class NativeFormatError(MpbenchError):
    """A native dataset file is missing, unreadable or not in the expected format."""


def read_json(path: Path) -> object:
    """Parse a native JSON file: larger than the JSON size limit, nested too deeply or holding
    NaN/Infinity is refused (:func:`benchmark.fileio.read_json_checked`), naming the file."""
    if not path.is_file():
        raise NativeFormatError(f"{path}: file not found")
    try:
        return read_json_checked(path, "annotation")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NativeFormatError(f"{path}: not valid JSON ({exc})") from None


def read_coco(path: Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict) or not {"images", "annotations"} <= set(data):
        raise NativeFormatError(f"{path}: expected a COCO-style object with 'images' and "
                                f"'annotations'")
    return data


def image_path_problem(rel: object) -> str | None:
    """Why an image path of an annotation file cannot be joined to a data root: not a
    string, absolute, or with a ``..`` part (which could point outside the root); ``None``
    when it is a plain relative path."""
    if not isinstance(rel, str) or not rel:
        return f"image path {rel!r} is not a non-empty string"
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or \
            PureWindowsPath(rel).drive:
        return f"image path {rel!r} is absolute; it must be relative to the data root"
    if ".." in PurePosixPath(rel.replace("\\", "/")).parts:
        return f"image path {rel!r} has a '..' part; it must stay inside the data root"
    return None


def check_image_paths(coco: dict, source: str) -> None:
    """Refuse an annotation file whose ``file_name``/``modality_paths`` could reach outside
    the data root once joined to it, naming the image (before any file is read or written)."""
    for img in coco.get("images", []):
        if not isinstance(img, dict):
            continue
        paths = img.get("modality_paths")
        named = [("file_name", img.get("file_name"))] if "file_name" in img else []
        if isinstance(paths, dict):
            named += [(f"modality_paths.{m}", p) for m, p in paths.items()]
        for key, rel in named:
            problem = image_path_problem(rel)
            if problem is not None:
                raise NativeFormatError(f"{source}: image {img.get('id')!r} {key}: {problem}")


def find_file(root: Path, name: str) -> Path:
    """The one file called ``name`` anywhere under ``root`` (archives nest differently)."""
    hits = sorted(root.rglob(name))
    if not hits:
        raise NativeFormatError(f"{root}: no file named {name!r} (was the download stage run, "
                                f"and is the archive complete?)")
    return hits[0]


def index_images(root: Path) -> dict[str, str]:
    """``{file name: path relative to root}`` of every image under ``root``.

    Native annotation files name images by bare file name or by a path from a folder that
    depends on how the archive was packed; indexing by file name makes converters independent
    of that. A file name found twice would be ambiguous and is an error.
    """
    index: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            rel = path.relative_to(root).as_posix()
            if path.name in index:
                raise NativeFormatError(f"{root}: image name {path.name!r} found twice "
                                        f"({index[path.name]} and {rel})")
            index[path.name] = rel
    return index


def lookup(index: dict[str, str], file_name: str, source: Path, what: str) -> str:
    try:
        return index[Path(file_name).name]
    except KeyError:
        raise NativeFormatError(f"{source}: {what} refers to image {file_name!r}, which is "
                                f"not in the downloaded data") from None


@cache
def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header only (no decoding)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.width), int(img.height)
    except (OSError, ValueError) as exc:
        raise NativeFormatError(f"{path}: unreadable image ({exc})") from None
