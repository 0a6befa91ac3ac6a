"""Loading and validating ground truth and predictions.

Every protocol reads the same two inputs: the dataset's COCO-style ground truth and a COCO
results list (``{image_id, category_id, keypoints: [x, y, score] * K, score}``). They are checked
here, once, so that a malformed file fails with one sentence naming the file and the problem
instead of a traceback from inside pycocotools or a silently wrong number.

Validation has a fast path (a few C-level passes over the list) because a 100k-prediction file
must not cost more to check than to evaluate; only when the fast path sees a problem does a
per-record pass run to find and describe it. For the numpy protocols (PCK, PCKh, PoseTrack AP)
the fast path is also the conversion: every keypoint list goes into one float array in a single
pass that rejects wrong lengths and non-numbers by itself.

That pass is native code when the package was installed (``_records.c``, built by
``pip install -e .``): reading a Python float costs ~2-3 ns there against 13-16 ns for the
fastest pure-Python way (``struct``), which was most of these engines' time. Without the
module (a source tree used without installing) the same arrays come from ``struct``; the
native functions accept a subset of what the Python path accepts and produce the same doubles,
and whatever they refuse goes through the Python path, so results never depend on the build.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import struct
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

try:  # the fast JSON parser of read_json; json (same results) when absent
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

from benchmark.evaluation import native
from benchmark.evaluation.errors import EvaluationInputError
from benchmark.fileio import nesting_problem, size_problem

#: Keys every prediction must carry (COCO keypoint results format).
PREDICTION_KEYS = ("image_id", "category_id", "keypoints", "score")

#: How far outside its image a coordinate may lie, as a fraction of the image's side: a
#: ground-truth keypoint or box corner beyond ``[-t * w, (1 + t) * w]`` (``h`` for y) is
#: refused, and so is a prediction value beyond ``(1 + t)`` times the largest image side.
#: Generous on purpose (people cut by the frame are annotated slightly outside it); what it
#: catches is garbage: negative pixels far off the image, ``1e12``.
COORDINATE_TOLERANCE = 1.0


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while bulk-creating objects.

    Building 100k small containers triggers many full collections that traverse every
    prediction list again (measured: several times the cost of the work itself); nothing
    created here is cyclic, so pausing is safe.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pack_rows(rows: Sequence[Sequence[Any]], width: int) -> np.ndarray:
    """``(len(rows), width)`` float64 array from equal-length lists of numbers.

    One C-level pass, and a check at the same time: ints, floats and bools are taken as
    numbers, while a row of another length or a value that is not a number (a string, ``None``,
    a list) raises ``ValueError`` (``np.array`` would silently parse the string ``"1"``). NaN
    and infinities pass; callers that reject them test the array. The array is read-only.
    """
    n = len(rows)
    if not n:
        return np.zeros((0, width))
    if native.records is not None and type(rows) is list:
        out = np.empty((n, width))
        if native.records.fill_rows(rows, width, out) < 0:
            out.flags.writeable = False
            return out
        # a row it refuses: the struct path raises the ValueError that describes it
    pack = struct.Struct(f"={width}d").pack
    try:
        with paused_gc():
            buf = b"".join(itertools.starmap(pack, rows))
    except (struct.error, TypeError, OverflowError) as exc:
        raise ValueError(str(exc)) from None
    return np.frombuffer(buf, dtype=np.float64).reshape(n, width)


class Column(NamedTuple):
    """One field of :func:`read_table`."""

    rows: np.ndarray  # (N, width), zeros where absent
    present: np.ndarray  # (N,) bool
    boxes: np.ndarray | None  # (N, 4) :func:`present_boxes` of the rows, when asked for


def read_table(records: list[dict], index_key: str, index: dict[Any, int],
               fields: dict[str, int], boxes: Collection[str] = ()
               ) -> tuple[np.ndarray, dict[str, Column]] | None:
    """Read fields of a list of dicts into arrays, in one pass over the records.

    Returns ``index[record[index_key]]`` per record (-1 when the key is missing or the value is
    not in ``index``) and a :class:`Column` for each ``key: width`` of ``fields``: a list or
    tuple of ``width`` numbers (or, for width 1, a bare number) is present; a missing key or an
    empty list is absent (zeros). Keys named in ``boxes`` (keypoint fields) also get the box of
    their points not at (0, 0). ``None`` when a record is not a dict or holds any other value
    (``None`` included): callers then take their per-record path, which decides what that
    value means and names the problem if there is one.
    """
    n = len(records)
    if native.records is not None:
        pos = np.empty(n, dtype=np.int64)
        cols = {key: (np.empty((n, width)), np.empty(n, dtype=np.int64),
                      np.empty((n, 4)) if key in boxes else None)
                for key, width in fields.items()}
        specs = [(key, width, *cols[key]) for key, width in fields.items()]
        if native.records.table(records, index_key, index, pos, specs) >= 0:
            return None
        return pos, {key: Column(rows, has.astype(bool), box)
                     for key, (rows, has, box) in cols.items()}
    if not all(isinstance(r, dict) for r in records):
        return None
    pos = np.array([_position(index, r, index_key) for r in records], dtype=np.int64)
    out: dict[str, Column] = {}
    for key, width in fields.items():
        values = [r.get(key, ()) for r in records]
        if width == 1:
            values = [[v] if isinstance(v, (int, float)) else v for v in values]
        if not all(isinstance(v, (list, tuple)) for v in values):
            return None
        has = np.array([len(v) > 0 for v in values], dtype=bool)
        try:
            rows = pack_rows([v if len(v) else (0,) * width for v in values], width)
        except ValueError:
            return None
        box = present_boxes(rows.reshape(n, width // 3, 3)) if key in boxes else None
        out[key] = Column(rows, has, box)
    return pos, out


def _position(index: dict[Any, int], record: dict, key: str) -> int:
    try:
        return index.get(record[key], -1)
    except (KeyError, TypeError):  # no such key, or an unhashable value
        return -1


def present_boxes(kp: np.ndarray) -> np.ndarray:
    """``(N, K, >=2)`` keypoints -> ``(N, 4)`` ``x1, y1, x2, y2`` of the points not at (0, 0)
    (the results format's "absent"), NaN for a row without any such point."""
    x, y = kp[:, :, 0], kp[:, :, 1]
    absent = (x == 0) & (y == 0)
    box = np.stack([np.where(absent, np.inf, x).min(axis=1, initial=np.inf),
                    np.where(absent, np.inf, y).min(axis=1, initial=np.inf),
                    np.where(absent, -np.inf, x).max(axis=1, initial=-np.inf),
                    np.where(absent, -np.inf, y).max(axis=1, initial=-np.inf)], axis=1)
    box[absent.all(axis=1)] = np.nan
    return box


def take_rows(rows: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``rows[order]``, without the copy when ``order`` is ``0..N-1`` (files are usually
    sorted by image already)."""
    if len(order) == len(rows) and np.array_equal(order, np.arange(len(order))):
        return rows
    return np.take(rows, order, axis=0)


def bad_row(rows: Sequence[Any], width: int) -> int:
    """Index of the first row :func:`pack_rows` rejects (-1 if none); the slow path for
    error messages."""
    pack = struct.Struct(f"={width}d").pack
    for i, row in enumerate(rows):
        try:
            pack(*row)
        except (struct.error, TypeError, OverflowError):
            return i
    return -1


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys, in linear time.

    numpy's stable sort is a radix sort only for types of 16 bits or fewer; larger
    non-negative keys are sorted here by 16-bit digits, least significant first (each pass
    stable), which is ~10x faster than the merge sort numpy uses for int64.
    """
    keys = np.asarray(keys)
    if not len(keys) or keys.dtype.kind not in "iu" or keys.min() < 0:
        return np.argsort(keys, kind="stable")
    top = int(keys.max())
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while top >> shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def keypoint_problem(ann: dict, k: int) -> str:
    """What is wrong with a GT annotation's ``keypoints`` (for an error message)."""
    kps = ann.get("keypoints")
    where = f"annotation id {ann.get('id')!r}"
    if not isinstance(kps, (list, tuple)):
        return f"{where} has 'keypoints' of type {type(kps).__name__}, expected a list"
    if len(kps) != 3 * k:
        return f"{where} has {len(kps)} keypoint values, expected {3 * k}"
    return f"{where} has a non-numeric keypoint value"


#: ``bytes.translate`` table of :func:`_may_hold_wide_int`: digits -> ``0``, ``.`` kept, any
#: other byte -> space.
_DIGIT_RUNS = bytes(48 if 48 <= b <= 57 else b if b == 46 else 32 for b in range(256))
_WIDE_INT = b"0" * 19  # 19 digits: the shortest integer outside orjson's int64/uint64 range


def _may_hold_wide_int(raw: bytes) -> bool:
    """Whether a JSON text may hold an integer outside 64 bits (which orjson reads as a float,
    json as an int): a run of 19 digits not after a ``.`` or another digit. Fractions never
    match; an exponent or a string may, which only costs the slower parse. 64 KiB at a time
    (overlapping by the needle's length - 1), so that the marked copy stays in the cache: ~1 ns
    per byte, against ~4 for orjson's parse."""
    needle, step = b" " + _WIDE_INT, 1 << 16
    if raw[:19].translate(_DIGIT_RUNS) == _WIDE_INT:
        return True
    return any(needle in raw[max(start - 19, 0):start + step].translate(_DIGIT_RUNS)
               for start in range(0, len(raw), step))


def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file, turning every I/O or syntax failure into an input error.

    orjson parses when installed (5x faster than json on a results list): it gives the same
    objects as json (same floats, same last-wins duplicate keys) for every text it accepts,
    except integers outside 64 bits, which it reads as floats. Texts that may hold one, and
    every text orjson refuses (json's ``NaN``/``Infinity`` literals, ``1e400``, lone surrogate
    escapes, invalid UTF-8 or JSON), are read by json as before: json decides what is accepted
    and words every error. A file above the JSON size limit (``MPBENCH_MAX_JSON_BYTES``,
    :mod:`benchmark.fileio`) is refused before it is read, and one nested deeper than the
    parser can follow is an input error, not a ``RecursionError``. NaN passes here: the
    record checks refuse it naming the record and field.
    """
    problem = size_problem(path, what)
    if problem is not None:
        raise EvaluationInputError(problem)
    try:
        if orjson is not None:
            with open(path, "rb") as f:
                raw = f.read()
            if not _may_hold_wide_int(raw):
                try:
                    with paused_gc():  # nothing in a JSON document is cyclic
                        return orjson.loads(raw)
                except orjson.JSONDecodeError:
                    pass
            del raw
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except RecursionError:
        raise EvaluationInputError(nesting_problem(path, what)) from None
    except FileNotFoundError:
        raise EvaluationInputError(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvaluationInputError(f"{path}: cannot read {what} file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise EvaluationInputError(f"{path}: {what} file is not valid JSON ({exc})") from None


@dataclass(frozen=True)
class GroundTruth:
    """A COCO-style ground-truth dict and where it came from (for error messages)."""

    data: dict
    source: str

    @cached_property
    def images(self) -> list[dict]:
        return self.data["images"]

    @cached_property
    def annotations(self) -> list[dict]:
        return self.data["annotations"]

    @cached_property
    def _image_ids_and_index(self) -> tuple[list[Any], dict[Any, int]]:
        if native.records is not None:
            both = native.records.index_of(self.images, "id")
            if both is not None:
                return both
        ids = [img["id"] for img in self.images]
        return ids, {iid: i for i, iid in enumerate(ids)}

    @property
    def image_ids(self) -> list[Any]:
        """Image ids in file order (the order of every per-image result)."""
        return self._image_ids_and_index[0]

    @property
    def image_index(self) -> dict[Any, int]:
        """Position of each image id in ``images`` (the last one, for a repeated id)."""
        return self._image_ids_and_index[1]

    @cached_property
    def annotations_by_image(self) -> list[list[dict]]:
        """Annotations per image (image file order, annotation file order within an image).

        Annotations of images that the ``images`` list does not name are left out, as every
        reference evaluator does.
        """
        out: list[list[dict]] = [[] for _ in self.image_ids]
        index = self.image_index
        for ann in self.annotations:
            pos = index.get(ann.get("image_id"))
            if pos is not None:
                out[pos].append(ann)
        return out

    def image_positions_of(self, ids: Sequence[Any], missing: int | None = None) -> np.ndarray:
        """Position in ``images`` of each id (C-level dict look-ups); an unknown id gives
        ``missing``, or raises ``KeyError`` when ``missing`` is None."""
        if missing is None:
            get = self.image_index.__getitem__
            return np.fromiter(map(get, ids), dtype=np.int64, count=len(ids))
        return np.fromiter(map(self.image_index.get, ids, itertools.repeat(missing)),
                           dtype=np.int64, count=len(ids))

    def annotation_table(self, fields: dict[str, int], boxes: Collection[str] = ()
                         ) -> dict[str, Column] | None:
        """Fields of every annotation as arrays in file order (:func:`read_table`), read in the
        same pass as the annotations' image positions; ``None`` when some value needs the
        caller's per-record path."""
        table = read_table(self.annotations, "image_id", self.image_index, fields, boxes)
        if table is None:
            return None
        self.__dict__.setdefault("annotation_image_pos", table[0])  # the cached_property below
        return table[1]

    @cached_property
    def annotation_image_pos(self) -> np.ndarray:
        """``(A,)`` image position of every annotation, in file order; -1 when ``images`` does
        not name its image."""
        table = read_table(self.annotations, "image_id", self.image_index, {})
        if table is not None:
            return table[0]
        return self.image_positions_of([a["image_id"] for a in self.annotations], missing=-1)

    @cached_property
    def annotation_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(annotation index, image position)`` of every annotation whose image the ``images``
        list names, sorted by image position and then file order (``annotations_by_image``
        flattened, as arrays)."""
        pos = self.annotation_image_pos
        order = stable_argsort(pos + 1)
        order = order[pos[order] >= 0]
        return order, pos[order]

    @cached_property
    def keypoint_names(self) -> list[str] | None:
        """The keypoint names of the first category that lists them, if any."""
        for cat in self.data.get("categories", []):
            if isinstance(cat, dict) and cat.get("keypoints"):
                return list(cat["keypoints"])
        return None

    def num_keypoints(self) -> int:
        """K from the categories, else from the first annotation with keypoints."""
        if self.keypoint_names is not None:
            return len(self.keypoint_names)
        for ann in self.annotations:
            if ann.get("keypoints"):
                return len(ann["keypoints"]) // 3
        raise self.error("no category lists keypoints and no annotation has keypoints")

    def error(self, problem: str) -> EvaluationInputError:
        return EvaluationInputError(f"{self.source}: ground truth: {problem}")

    @cached_property
    def image_sizes(self) -> np.ndarray:
        """``(I, 2)`` width, height of each image in file order; NaN where not a number."""
        return np.array([[_number_or_nan(img.get("width")), _number_or_nan(img.get("height"))]
                         for img in self.images], dtype=np.float64).reshape(-1, 2)

    @cached_property
    def coordinate_limit(self) -> float:
        """Largest magnitude a prediction's keypoint value may have (see
        :data:`COORDINATE_TOLERANCE`); infinite when no image has a size."""
        sizes = self.image_sizes
        if not len(sizes) or np.isnan(sizes).all():
            return math.inf
        return float((1 + COORDINATE_TOLERANCE) * np.nanmax(sizes))


def load_ground_truth(gt: str | Path | dict | GroundTruth) -> GroundTruth:
    """Read (if a path) and check the top-level shape of a COCO-style ground truth.

    A file's image and annotation ids must be unique; a dict passed by code may repeat them
    on purpose (a bootstrap resample materialised with its duplicated images)."""
    if isinstance(gt, GroundTruth):
        return gt
    gt_arg = gt
    if isinstance(gt, dict):
        data, source = gt, "<ground-truth dict>"
    else:
        data, source = read_json(gt, "ground-truth"), str(gt)
    if not isinstance(data, dict):
        raise EvaluationInputError(
            f"{source}: ground truth must be a COCO-style JSON object, got {type(data).__name__}")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise EvaluationInputError(f"{source}: ground truth has no '{key}' list")
    for what, key in (("image", "id"), ("annotation", "image_id")):
        records = data[what + "s"]
        if _all_have(records, key):  # C-level pass; the loop below only names the culprit
            continue
        for i, rec in enumerate(records):
            if not isinstance(rec, dict) or key not in rec:
                raise EvaluationInputError(
                    f"{source}: ground truth {what} at index {i} has no '{key}'")
    gt = GroundTruth(data, source)
    if not isinstance(gt_arg, dict):  # a file: a user's input
        _check_unique_ids(gt)
    _check_annotation_values(gt)
    return gt


def _number_or_nan(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else math.nan


def _first_duplicate(values: list[Any]) -> Any:
    """The first value seen twice (``None`` when all differ); a C-level ``set`` first, the
    loop only on the error path."""
    try:
        if len(set(values)) == len(values):
            return None
    except TypeError:  # an unhashable id: the protocols report it
        return None
    seen: set = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _check_unique_ids(gt: GroundTruth) -> None:
    """Duplicate image or annotation ids make every per-image result ambiguous (the last
    image of an id silently wins): refused, naming the id."""
    dup = _first_duplicate(gt.image_ids)
    if dup is not None:
        raise gt.error(f"image id {dup!r} appears more than once in 'images'")
    ids = [a["id"] for a in gt.annotations if "id" in a]
    dup = _first_duplicate(ids)
    if dup is not None:
        raise gt.error(f"annotation id {dup!r} appears more than once in 'annotations'")


def _check_annotation_values(gt: GroundTruth) -> None:
    """Ground-truth keypoints and boxes must be finite and lie in their image (within
    :data:`COORDINATE_TOLERANCE`); one vectorised pass, skipped when some value is not a
    list of numbers (the protocols' own checks describe those)."""
    try:
        k = gt.num_keypoints()
    except EvaluationInputError:
        return
    table = read_table(gt.annotations, "image_id", gt.image_index,
                       {"keypoints": 3 * k, "bbox": 4})
    if table is None:
        return
    pos, cols = table
    for key, col in cols.items():
        bad = np.flatnonzero(col.present & ~np.isfinite(col.rows).all(axis=1))
        if len(bad):
            ann = gt.annotations[bad[0]]
            raise gt.error(f"annotation id {ann.get('id')!r} has a non-finite value "
                           f"(NaN or infinity) in '{key}'")
    size = np.where(pos[:, None] >= 0, gt.image_sizes[np.maximum(pos, 0)], np.nan) \
        if len(gt.image_sizes) else np.full((len(pos), 2), np.nan)
    kp = cols["keypoints"].rows.reshape(len(pos), k, 3)
    labelled = (kp[:, :, 2] > 0) | (kp[:, :, 0] != 0) | (kp[:, :, 1] != 0)
    box = cols["bbox"].rows
    corners = np.stack([box[:, :2], box[:, :2] + box[:, 2:]], axis=1)  # (A, 2, 2)
    for key, xy, use in (("keypoints", kp[:, :, :2], labelled),
                         ("bbox", corners, np.repeat(cols["bbox"].present[:, None], 2, 1))):
        _raise_outside(gt, key, xy, use, size)


def _raise_outside(gt: GroundTruth, key: str, xy: np.ndarray, use: np.ndarray,
                   size: np.ndarray) -> None:
    """Raise for the first annotation with a used point of ``xy`` ``(A, P, 2)`` outside its
    image's ``size`` ``(A, 2)`` by more than the tolerance (unknown sizes: not checked)."""
    t = COORDINATE_TOLERANCE
    with np.errstate(invalid="ignore"):
        out = ((xy < -t * size[:, None, :]) | (xy > (1 + t) * size[:, None, :])).any(axis=2)
    out &= use
    bad = np.flatnonzero(out.any(axis=1))
    if not len(bad):
        return
    a = bad[0]
    j = int(np.flatnonzero(out[a])[0])
    ann = gt.annotations[a]
    w, h = size[a]
    what = f"keypoint {j}" if key == "keypoints" else ("bbox corner" if j else "bbox origin")
    raise gt.error(f"annotation id {ann.get('id')!r} has {what} at "
                   f"({xy[a, j, 0]:g}, {xy[a, j, 1]:g}), outside its {w:g}x{h:g} image "
                   f"(more than {t:g}x its size beyond an edge; negative or enormous coordinates?)")


def _all_have(records: list, key: str) -> bool:
    """Whether every record is a dict holding ``key`` (without a Python-level loop)."""
    if native.records is not None:
        return native.records.all_have(records, key) < 0
    return (all(isinstance(r, dict) for r in records)
            and all(map(dict.__contains__, records, itertools.repeat(key))))


@dataclass(frozen=True)
class Predictions:
    """Validated predictions in file order; arrays are built only when a protocol needs them
    (or during validation, when the protocol asked for ``arrays``)."""

    records: list[dict]
    scores: np.ndarray
    num_keypoints: int
    source: str
    packed: np.ndarray | None = field(default=None, repr=False)  # (N, K, 3) from validation
    image_pos: np.ndarray | None = field(default=None, repr=False)  # (N,) GT image position
    ids: tuple[Any, ...] | None = field(default=None, repr=False)  # image ids, if read already
    boxes: np.ndarray | None = field(default=None, repr=False)  # (N, 4) from validation

    def __len__(self) -> int:
        return len(self.records)

    @cached_property
    def image_ids(self) -> tuple[Any, ...]:
        """Each prediction's ``image_id``, in file order."""
        if self.ids is not None:
            return self.ids
        return tuple([r["image_id"] for r in self.records])

    @cached_property
    def keypoints(self) -> np.ndarray:
        """``(N, K, 3)`` float array of ``x, y, score`` per keypoint (read-only)."""
        if self.packed is not None:
            return self.packed
        k = self.num_keypoints
        try:
            flat = pack_rows([r["keypoints"] for r in self.records], 3 * k)
        except ValueError:  # validated, so only exotic numbers (e.g. huge ints) get here
            flat = np.array([r["keypoints"] for r in self.records], dtype=np.float64)
        return flat.reshape(len(self.records), k, 3)

    @cached_property
    def present_boxes(self) -> np.ndarray:
        """``(N, 4)`` box of each prediction's keypoints that are not at (0, 0)
        (:func:`present_boxes`)."""
        if self.boxes is not None:
            return self.boxes
        return present_boxes(self.keypoints)

    def image_positions(self, gt: GroundTruth) -> np.ndarray:
        """``(N,)`` position of each prediction's image in the GT ``images`` list."""
        if self.image_pos is not None:
            return self.image_pos
        return gt.image_positions_of(self.image_ids)

    def stripped(self, copy: bool = True) -> list[dict]:
        """Dicts holding only the results-format keys.

        Engines such as pycocotools write ``id``/``area``/``bbox`` into the dicts they get and
        would read a stray ``bbox`` key as the detection's area; fresh dicts keep the caller's
        objects untouched and every prediction's area derived from its keypoints. An engine
        that only reads (hotcoco) may take ``copy=False``: the caller's own dicts are passed
        when they hold exactly those keys (saves building 100k dicts).
        """
        if not copy and set(map(len, self.records)) <= {len(PREDICTION_KEYS)}:
            return self.records
        with paused_gc():
            return [{"image_id": r["image_id"], "category_id": r["category_id"],
                     "keypoints": r["keypoints"], "score": r["score"]} for r in self.records]

    def by_image(self, n_images: int, image_index: dict[Any, int]) -> list[list[int]]:
        """Prediction indices per ground-truth image position, in file order."""
        out: list[list[int]] = [[] for _ in range(n_images)]
        for i, iid in enumerate(self.image_ids):
            out[image_index[iid]].append(i)
        return out


def read_predictions(preds: str | Path | list) -> tuple[list, str]:
    """The results list (read if a path) and its name for messages; an error unless a list."""
    if isinstance(preds, list):
        data, source = preds, "<predictions list>"
    else:
        data, source = read_json(preds, "predictions"), str(preds)
    if not isinstance(data, list):
        raise EvaluationInputError(
            f"{source}: predictions must be a JSON list of objects in COCO results format, "
            f"got {type(data).__name__}")
    return data, source


def load_predictions(preds: str | Path | list, gt: GroundTruth, num_keypoints: int,
                     category_ids: set[Any] | None = None, *, arrays: bool = False,
                     boxes: bool = False, source: str | None = None) -> Predictions:
    """Read (if a path) and validate a COCO keypoint results list against ``gt``.

    ``category_ids``, when given, is the set of categories the protocol evaluates; predictions of
    other categories are an error (pycocotools would drop them silently). ``arrays`` builds the
    keypoint array and the image positions while validating (the numpy protocols need them),
    and with ``boxes`` the keypoint boxes (:attr:`Predictions.present_boxes`) in the same pass.
    ``source`` names a list already read by :func:`read_predictions` (whose layout was decided
    from it), for messages.
    """
    if source is not None and isinstance(preds, list):
        data = preds
    else:
        data, source = read_predictions(preds)
    if arrays:
        packed = _fast_arrays(data, gt, num_keypoints, category_ids, boxes)
        if packed is not None:
            scores, kps, image_pos, box = packed
            return Predictions(data, scores, num_keypoints, source, kps, image_pos, boxes=box)
    fields = _fast_fields(data, gt, num_keypoints, category_ids)
    if fields is None:
        _raise_first_problem(data, source, gt, num_keypoints, category_ids)
        # The bulk check is conservative (a keypoint sum may overflow); the records are fine.
        fields = (tuple(r["image_id"] for r in data),
                  np.array([r["score"] for r in data], dtype=np.float64))
    image_ids, scores = fields
    return Predictions(data, scores, num_keypoints, source, ids=image_ids)


def _fast_fields(data: list, gt: GroundTruth, k: int, category_ids: set[Any] | None
                 ) -> tuple[tuple, np.ndarray] | None:
    """All checks in bulk; ``None`` when anything is wrong (the slow pass then says what)."""
    if not data:
        return (), np.zeros(0)
    try:
        with paused_gc():
            image_ids = tuple([r["image_id"] for r in data])
            cat_ids = [r["category_id"] for r in data]
            kps = [r["keypoints"] for r in data]
            if set(map(len, kps)) != {3 * k}:
                return None
            if not math.isfinite(sum(map(sum, kps))):  # NaN/inf anywhere propagates
                return None
            limit = gt.coordinate_limit
            if max(map(max, kps), default=0) > limit or -min(map(min, kps), default=0) > limit:
                return None
            score_arr = pack_rows([[r["score"] for r in data]], len(data))[0]
            if not np.isfinite(score_arr).all():
                return None
            if not set(image_ids) <= gt.image_index.keys():
                return None
            if category_ids is not None and not set(cat_ids) <= category_ids:
                return None
    except (KeyError, TypeError, ValueError, OverflowError):  # an int too big for a float
        return None
    return image_ids, score_arr


def _fast_arrays(data: list, gt: GroundTruth, k: int, category_ids: set[Any] | None,
                 want_boxes: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                            np.ndarray | None] | None:
    """The checks of :func:`_fast_fields`, producing the scores, the keypoints ``(N, K, 3)``,
    the image positions and, natively and when wanted, the keypoint boxes (else they are
    computed when first asked for): ``None`` when anything is wrong (the slow pass then says
    what)."""
    n = len(data)
    boxes = None
    if native.records is not None:
        kps, scores = np.empty((n, 3 * k)), np.empty(n)
        image_pos = np.empty(n, dtype=np.int64)
        boxes = np.empty((n, 4)) if want_boxes else None
        cats = None if category_ids is None else set(category_ids)
        bad = native.records.gather(data, 3 * k, gt.image_index, cats, kps, scores, image_pos,
                                    boxes)
        if bad >= 0:
            return None  # a record it refuses: the slow pass describes it (or takes it)
        if boxes is not None:
            boxes.flags.writeable = False
    else:
        try:
            with paused_gc():
                kps = pack_rows([r["keypoints"] for r in data], 3 * k)
                scores = pack_rows([[r["score"] for r in data]], n)[0]
                image_pos = gt.image_positions_of([r["image_id"] for r in data])
                if (category_ids is not None
                        and not {r["category_id"] for r in data} <= category_ids):
                    return None
        except (KeyError, TypeError, ValueError):
            return None
        if not (np.isfinite(kps).all() and np.isfinite(scores).all()):
            return None
    if n and np.abs(kps).max() > gt.coordinate_limit:
        return None  # enormous coordinates: the slow pass names the record
    for a in (kps, scores, image_pos):
        a.flags.writeable = False
    return scores, kps.reshape(n, k, 3), image_pos, boxes


def _record_problem(rec: Any, gt: GroundTruth, k: int, category_ids: set[Any] | None
                    ) -> str | None:
    """What is wrong with one prediction, or ``None``."""
    if not isinstance(rec, dict):
        return f"is a {type(rec).__name__}, not an object"
    missing = [key for key in PREDICTION_KEYS if key not in rec]
    if missing:
        return "lacks key(s) " + ", ".join(repr(m) for m in missing)
    kps = rec["keypoints"]
    if not isinstance(kps, (list, tuple)):
        return f"has 'keypoints' of type {type(kps).__name__}, expected a list"
    if len(kps) != 3 * k:
        return (f"has {len(kps)} keypoint values, expected {3 * k} "
                f"({k} keypoints x [x, y, score]); wrong keypoint layout?")
    if not all(isinstance(v, (int, float)) for v in kps):
        return "has a non-numeric keypoint value"
    if not all(_finite(v) for v in kps):
        return "has a non-finite keypoint value (NaN, infinity or a number too large for a double)"
    limit = gt.coordinate_limit
    far = next((v for v in kps if abs(v) > limit), None)
    if far is not None:
        return (f"has keypoint value {far:g}, beyond +-{limit:g} ({1 + COORDINATE_TOLERANCE:g}x "
                f"the largest image side of the ground truth; enormous coordinates?)")
    score = rec["score"]
    if not isinstance(score, (int, float)) or not _finite(score):
        return f"has a non-numeric or non-finite score {score!r}"
    try:
        known = rec["image_id"] in gt.image_index
    except TypeError:
        known = False
    if not known:
        return f"has image_id {rec['image_id']!r}, which is not an image of the ground truth"
    if category_ids is not None and rec["category_id"] not in category_ids:
        return (f"has category_id {rec['category_id']!r}; the ground truth's categories are "
                f"{sorted(category_ids, key=str)}")
    return None


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _raise_first_problem(data: list, source: str, gt: GroundTruth, k: int,
                         category_ids: set[Any] | None) -> None:
    """Raise an error describing the first malformed prediction (and how many there are)."""
    first: tuple[int, str] | None = None
    n_bad = 0
    for i, rec in enumerate(data):
        problem = _record_problem(rec, gt, k, category_ids)
        if problem is not None:
            n_bad += 1
            if first is None:
                first = (i, problem)
    if first is not None:
        i, problem = first
        more = f" ({n_bad} of {len(data)} predictions are malformed)" if n_bad > 1 else ""
        raise EvaluationInputError(f"{source}: prediction at index {i} {problem}{more}")
