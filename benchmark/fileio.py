"""Writing files so that a killed job never leaves a truncated one that a later step trusts,
and reading JSON inputs so that a hostile one is refused with a clear message."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmark.errors import MpbenchError


def write_text_atomic(path: Path, text: str) -> Path:
    """Write via a temporary sibling + rename, so readers never see a half-written file;
    creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


#: Largest JSON input read whole, 256 MiB (COCO's largest keypoint file, person_keypoints_
#: train2017.json, is 238 MB); parsing expands a file ~5-10x in memory, so a bigger input is
#: refused before it is read rather than exhausting memory. ``MPBENCH_MAX_JSON_BYTES`` overrides.
DEFAULT_MAX_JSON_BYTES = 256 << 20
MAX_JSON_ENV = "MPBENCH_MAX_JSON_BYTES"


class InputFileError(MpbenchError, ValueError):
    """An input file refused before or while parsing it (too large, too deeply nested, NaN)."""


def max_json_bytes() -> int:
    """The size limit of JSON inputs: ``MPBENCH_MAX_JSON_BYTES`` when set, else the default."""
    text = os.environ.get(MAX_JSON_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_JSON_BYTES
    try:
        value = int(text)
    except ValueError:
        raise InputFileError(f"{MAX_JSON_ENV}={text!r}: expected a number of bytes") from None
    if value <= 0:
        raise InputFileError(f"{MAX_JSON_ENV}={text!r}: must be positive")
    return value


def size_problem(path: str | Path, what: str, limit: int | None = None) -> str | None:
    """Why ``path`` is too large to read whole (``None`` when it is not, or cannot be
    stat-ed: the read then reports that)."""
    limit = max_json_bytes() if limit is None else limit
    try:
        size = os.stat(path).st_size
    except OSError:
        return None
    if size <= limit:
        return None
    return (f"{path}: {what} file is {size:,} bytes, above the {limit:,}-byte limit of JSON "
            f"inputs (refused rather than exhausting memory; set {MAX_JSON_ENV} to raise it)")


def nesting_problem(path: str | Path, what: str) -> str:
    """The message for a JSON text nested deeper than the parser's recursion limit."""
    return (f"{path}: {what} file is nested too deeply to parse (more than "
            f"~{sys.getrecursionlimit()} levels of lists/objects; not a COCO-style file)")


class _NonFinite(float):
    """A ``NaN``/``Infinity`` literal or an overflowing number, marked while parsing so that
    :func:`non_finite_path` can name where it is."""


def _mark_constant(text: str) -> float:
    return _NonFinite({"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}[text])


def _mark_float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(value)


def non_finite_path(data: Any) -> str | None:
    """JSON path (``annotations[3].keypoints[4]``) of the first value marked by
    :func:`loads_finite`, depth first; iterative, so deep documents cannot overflow it."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _NonFinite):
            return where or "<top level>"
        if isinstance(value, dict):
            items = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        stack.extend(reversed(items))
    return None


#: An exponent of three or more digits: the only way a JSON number overflows a double.
_BIG_EXPONENT = re.compile(r"[eE][+]?0*[0-9]{3}")


def loads_finite(text: str, path: str | Path, what: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` (which JSON does not have, but Python's
    json accepts) and numbers too large for a double, naming the field, and turns a too deeply
    nested text into :class:`InputFileError` instead of a ``RecursionError``. The float hook
    (slow) runs only when the text has an exponent that could overflow."""
    hook = _mark_float if _BIG_EXPONENT.search(text) else None
    try:
        data = json.loads(text, parse_constant=_mark_constant, parse_float=hook)
    except RecursionError:
        raise InputFileError(nesting_problem(path, what)) from None
    if "NaN" in text or "Infinity" in text or hook is not None:
        where = non_finite_path(data)
        if where is not None:
            raise InputFileError(f"{path}: {what} file has a non-finite number (NaN, Infinity "
                                 f"or beyond a double's range) at {where}; JSON has none")
    return data


def read_json_checked(path: str | Path, what: str, max_bytes: int | None = None) -> Any:
    """Read a JSON input whole, refusing it first when larger than ``max_bytes`` (default:
    :func:`max_json_bytes`), and parse it with :func:`loads_finite`.

    ``FileNotFoundError``, ``OSError``, ``UnicodeDecodeError`` and ``json.JSONDecodeError``
    propagate: each reader words those in its own terms.
    """
    problem = size_problem(path, what, max_bytes)
    if problem is not None:
        raise InputFileError(problem)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return loads_finite(text, path, what)
