"""MMPose's model zoo as mpbench evaluate-only cells, read from the metafiles MMPose ships.

Why: a published checkpoint scored by mpbench's own protocol, beside the number MMPose
published for it, checks the whole evaluation path (conversion, model config, protocol) at once
and gives baselines without training. The metafiles (``.mim/configs/**/*.yml`` in the mmpose
package) are the only machine-readable list of those checkpoints and their results.

Quirks of MMPose 1.3.2's ``body_2d_keypoint`` metafiles, handled here:

- a few ``Name`` values are not the config's stem (``topdown_heatmap_scnet50_coco_384x288``;
  CrowdPose's RTMPose-m entry is named ``rtmpose-t_..._coco-256x192``): the mpbench model name
  is ``mmpose.<config stem>``, the name only labels the entry;
- some ``Config`` paths do not exist (MMPose 0.x paths, a ``--`` typo): their estimator cannot
  be read, so the default filter drops them;
- the sha256 prefix is ``-<8 hex>_<date>.pth`` in most file names, ``_<8 hex>-<date>.pth``
  in DEKR/CID's and absent in a few (ED-Pose, ExLPose): those keep ``sha256_prefix=None``;
- one ``Weights`` has a stray ``(`` before its URL (ViPNAS-MobileNetV3 on COCO);
- PoseTrack18's HRNets are listed twice (ground-truth boxes, then detector boxes);
- units differ: COCO, CrowdPose, ExLPose and MPII give fractions, PoseTrack18 percentages.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml

from benchmark.errors import MpbenchError
from benchmark.evaluation.protocols import get_protocol

MMPOSE_VERSION = "1.3.2"  # the metafiles the mappings below were written against
TASK = "body_2d_keypoint"
#: Estimators mpbench's predict/evaluate path runs (top-down with boxes, bottom-up on images).
RUNNABLE_ESTIMATORS = frozenset({"TopdownPoseEstimator", "BottomupPoseEstimator"})
MODEL_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_URL = re.compile(r"(?:https?|file)://[^\s()'\"]+")  # vipnas-mbv3's Weights starts with "("
_SHA_PREFIX = re.compile(r"[-_]([0-9a-fA-F]{8})[-_]\d{8}\.pth$")
#: ``-<H>x<W>`` or square ``-<N>`` ending a config stem, or before ``-merge``/``-combine``.
_INPUT_SIZE = re.compile(r"-(\d+)(?:x(\d+))?(?:-[A-Za-z]+)?$")

#: Metafile metric -> mpbench stat of the COCO-style protocols (``COCO_KEYPOINT_STATS``).
#: ``AP@0.75``/``AR@0.5`` map one to one; there is nothing unmapped.
_COCO_STATS = {"AP": "AP", "AP@0.5": "AP50", "AP@0.75": "AP75", "AR": "AR", "AR@0.5": "AR50"}


@dataclass(frozen=True)
class ZooDataset:
    """How one metafile ``Dataset`` maps onto mpbench: a metric left out of ``stats`` is not
    put in ``published`` (it has no mpbench stat to compare with)."""

    spelling: str  # the metafile's ``Results[].Dataset`` (matched case-insensitively)
    protocol: str  # the mpbench protocol whose stat names and unit ``published`` uses
    scale: Literal["fraction", "percent"]  # unit of the metafile's numbers
    stats: Mapping[str, str]  # metafile metric -> mpbench stat name
    #: the modality the published numbers were measured on, where not the spec's rgb one
    modality: str | None = None


DATASETS: dict[str, ZooDataset] = {
    "coco": ZooDataset("COCO", "coco", "fraction", _COCO_STATS),
    # xtcocotools' crowd-index split is easy/medium/hard; CrowdPose has no "large" area
    # (use_area=False), so the ``AP (L)`` that RTMPose/RTMO/DEKR's metafiles print under the
    # third split column (always below AP (M)) can only be AP(H).
    "crowdpose": ZooDataset("CrowdPose", "crowdpose", "fraction", _COCO_STATS | {
        "AP (E)": "AP(E)", "AP (M)": "AP(M)", "AP (H)": "AP(H)", "AP (L)": "AP(H)"}),
    # mpbench scores ExLPose with the crowdpose protocol (same stat names); MMPose's number
    # is on the low-light LL-A test images, i.e. mpbench's ``lowlight`` modality.
    "exlpose": ZooDataset("ExLPose", "crowdpose", "fraction", _COCO_STATS, "lowlight"),
    # MMPose's PCKh@0.5 mean and its mean at 0.1, both of which mpbench computes.
    "mpii": ZooDataset("MPII", "mpii-pckh", "fraction", {"Mean": "Mean", "Mean@0.1": "Mean@0.1"}),
    # poseval's groups, abbreviated in the metafiles.
    "posetrack18": ZooDataset("PoseTrack18", "posetrack-map", "percent", {
        "Head": "Head", "Shou": "Shoulder", "Elb": "Elbow", "Wri": "Wrist", "Hip": "Hip",
        "Knee": "Knee", "Ankl": "Ankle", "Total": "Total"}),
}


@dataclass(frozen=True)
class ZooEntry:
    """One published checkpoint with its result on one dataset."""

    name: str  # the metafile's Name
    config: str  # ``mmpose::body_2d_keypoint/...py``
    model: str  # ``mmpose.<config stem>``: the mpbench model name
    weights: str | None
    sha256_prefix: str | None  # 8 lower-case hex digits from the weights file name
    dataset: str  # the mpbench dataset name
    published: dict[str, float] = field(hash=False)  # mpbench stat -> value, protocol's unit
    input_size: tuple[int, int] | None  # (w, h) from the config name
    estimator: str | None  # the config's model.type (None: config missing or unreadable)

    def runnable(self, estimators: Iterable[str] = RUNNABLE_ESTIMATORS) -> bool:
        """Can be an evaluate-only cell: a known estimator and weights with a digest (a cell's
        ``init`` needs a sha256 to check the download against)."""
        return (self.estimator in set(estimators) and self.weights is not None
                and self.sha256_prefix is not None)


def zoo_dataset(dataset: str) -> ZooDataset:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise MpbenchError(f"no MMPose zoo results for dataset {dataset!r}; available: "
                           f"{', '.join(sorted(DATASETS))}") from None


def mmpose_config_root() -> Path:
    """``<mmpose>/.mim/configs`` (what ``mmpose::`` resolves to), found without importing
    mmpose (which imports torch)."""
    spec = importlib.util.find_spec("mmpose")
    if spec is None or spec.origin is None:
        raise MpbenchError("mmpose is not installed: the model zoo is read from its metafiles")
    return Path(spec.origin).parent / ".mim" / "configs"


@functools.cache
def _metafile_models(root: Path) -> tuple[dict[str, Any], ...]:
    """Every ``Models`` item of the task's metafiles under ``root``, in path order (cached:
    the metafiles are package data)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    out: list[dict[str, Any]] = []
    for path in sorted((root / TASK).rglob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        out += [m for m in data.get("Models") or [] if isinstance(m, dict)]
    return tuple(out)


@functools.cache
def config_estimator(path: Path) -> str | None:
    """The ``model.type`` of a config: its own ``model = dict(type=...)``, else its ``_base_``
    files'. Read from the syntax tree: 1.3 ms a config against 13 ms for ``Config.fromfile``
    (0.1 s against 2 s for COCO's zoo), and it also reads new-style configs (ED-Pose's
    ``type=BottomupPoseEstimator``) that fromfile cannot load from the installed package."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    own: str | None = None
    bases: list[str] = []
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        if node.targets[0].id == "model" and isinstance(node.value, ast.Call):
            for kw in node.value.keywords:
                if kw.arg == "type" and isinstance(kw.value, ast.Constant | ast.Name):
                    own = kw.value.id if isinstance(kw.value, ast.Name) else str(kw.value.value)
        elif node.targets[0].id == "_base_":
            bases = [v.value for v in getattr(node.value, "elts", [node.value])
                     if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    if own is not None:
        return own
    for base in bases:  # mmengine forbids a key in two bases, so any order gives the same
        if "::" not in base and (found := config_estimator((path.parent / base).resolve())):
            return found
    return None


def input_size(stem: str) -> tuple[int, int] | None:
    """(w, h) from MMPose's ``-<H>x<W>`` (or square ``-<N>``) config-name suffix."""
    match = _INPUT_SIZE.search(stem)
    if not match:
        return None
    h = int(match[1])
    return (int(match[2]) if match[2] else h, h)


def sha256_prefix(weights: str | None) -> str | None:
    match = _SHA_PREFIX.search(weights.rsplit("/", 1)[-1]) if weights else None
    return match[1].lower() if match else None


def _published(metrics: Mapping[str, Any], ds: ZooDataset) -> dict[str, float]:
    """The metrics mpbench also computes, renamed and converted to the protocol's unit."""
    target = get_protocol(ds.protocol).scale
    factor = {("fraction", "percent"): 100.0, ("percent", "fraction"): 0.01}.get(
        (ds.scale, target), 1.0)
    return {ds.stats[k]: round(float(v) * factor, 6) for k, v in metrics.items()
            if k in ds.stats and isinstance(v, int | float)}


def _entry(item: Mapping[str, Any], metrics: Mapping[str, Any], dataset: str,
           root: Path) -> ZooEntry:
    rel = PurePosixPath(str(item.get("Config", "")).removeprefix("configs/"))
    model = f"mmpose.{rel.stem}"
    if not MODEL_NAME.fullmatch(model):
        raise MpbenchError(f"MMPose zoo entry {item.get('Name')!r}: config stem {rel.stem!r} "
                           "is not a valid mpbench model name")
    url = _URL.search(str(item.get("Weights") or ""))
    weights = url[0] if url else None
    return ZooEntry(
        name=str(item.get("Name", rel.stem)), config=f"mmpose::{rel}", model=model,
        weights=weights, sha256_prefix=sha256_prefix(weights), dataset=dataset,
        published=_published(metrics, DATASETS[dataset]), input_size=input_size(rel.stem),
        estimator=config_estimator(root / rel))


def zoo_entries(dataset: str, *, runnable: Iterable[str] | None = RUNNABLE_ESTIMATORS,
                root: Path | None = None) -> list[ZooEntry]:
    """The zoo's ``body_2d_keypoint`` checkpoints with results on ``dataset``, by name
    (case-insensitive).

    ``runnable``: keep only entries whose estimator is one of these and whose weights carry a
    sha256 prefix (see :meth:`ZooEntry.runnable`); None keeps every entry. ``root``: the
    configs folder holding ``body_2d_keypoint/**/*.yml`` (default: the installed mmpose's).
    """
    ds = zoo_dataset(dataset)
    root = Path(root) if root is not None else mmpose_config_root()
    keep = None if runnable is None else frozenset(runnable)
    out: dict[tuple[str, str | None], ZooEntry] = {}
    for item in _metafile_models(root):
        metrics = next((r.get("Metrics") or {} for r in item.get("Results") or []
                        if str(r.get("Dataset", "")).casefold() == ds.spelling.casefold()),
                       None)
        if metrics is not None:
            entry = _entry(item, metrics, dataset, root)
            if keep is None or entry.runnable(keep):
                # A checkpoint listed twice is one cell; the first result is kept (PoseTrack18's
                # HRNets: ground-truth boxes first, then a detector's boxes).
                out.setdefault((entry.model, entry.weights), entry)
    return sorted(out.values(), key=lambda e: (e.name.casefold(), e.name, e.model))


def default_modality(dataset: str) -> str:
    """The modality zoo cells run on: the one the published numbers were measured on, i.e.
    the dataset's recorded rgb images unless :data:`DATASETS` says otherwise; ``rgb`` for a
    dataset mpbench has no spec for."""
    from benchmark.datasets import get_spec

    ds = zoo_dataset(dataset)
    try:
        spec = get_spec(dataset)
    except KeyError:
        return ds.modality or "rgb"
    if ds.modality:
        return spec.modality(ds.modality).name
    rgb = [n for n, m in spec.modalities.items() if m.kind == "rgb" and m.derived_from is None]
    return (rgb or spec.sensor_modalities or list(spec.modalities))[0]


def benchmark_yaml(dataset: str, entries: Sequence[ZooEntry], experiment: str | None = None,
                   *, modalities: Sequence[str] | None = None,
                   base: Path | None = None) -> dict[str, Any]:
    """A named-benchmark matrix of evaluate-only cells, one matrix entry per zoo entry.

    The top-level options (detectors, train, evaluate, compare, resources) are copied from
    ``base`` (default ``configs/matrix.yaml`` under the working directory, the repository
    root as for every mpbench command) so the zoo cells run with the repository's settings.
    """
    from benchmark.workflow.matrix import load_config

    zoo_dataset(dataset)
    if not entries:
        raise MpbenchError(f"no runnable MMPose zoo entries for dataset {dataset!r}")
    for e in entries:
        if e.dataset != dataset or not (e.weights and e.sha256_prefix):
            raise MpbenchError(f"zoo entry {e.name!r} ({e.dataset}): not an evaluate-only cell "
                               f"of {dataset!r} (needs weights with a sha256 prefix)")
    mods = list(modalities) if modalities else [default_modality(dataset)]
    config = load_config(base if base is not None else Path("configs") / "matrix.yaml")
    rest = {k: copy.deepcopy(v) for k, v in config.items()
            if k not in ("experiment", "matrix", "benchmark")}
    matrix = [{"dataset": dataset, "modalities": list(mods), "models": [e.model],
               "train": False, "init": {"url": e.weights, "sha256": e.sha256_prefix},
               "published": dict(e.published)} for e in entries]
    return {"experiment": experiment or f"zoo-{dataset}", "matrix": matrix} | rest


def write_benchmark(dataset: str, out: Path, modalities: Sequence[str] | None = None, *,
                    entries: Sequence[ZooEntry] | None = None, experiment: str | None = None,
                    base: Path | None = None) -> Path:
    """Write :func:`benchmark_yaml` of the dataset's runnable zoo entries to ``out``."""
    entries = zoo_entries(dataset) if entries is None else entries
    config = benchmark_yaml(dataset, entries, experiment, modalities=modalities, base=base)
    ds = DATASETS[dataset]
    try:
        version = metadata.version("mmpose")
    except metadata.PackageNotFoundError:
        version = MMPOSE_VERSION
    header = (f"# Generated by `mpbench zoo --dataset {dataset}` from MMPose "
              f"{version}'s metafiles: {len(entries)} evaluate-only cells.\n"
              f"# published: MMPose's numbers as {ds.protocol} stats, in its unit "
              f"({get_protocol(ds.protocol).scale}). Regenerate rather than edit.\n")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + yaml.safe_dump(config, sort_keys=False, default_flow_style=None,
                                           width=1000))
    return out


def describe(entries: Sequence[ZooEntry]) -> str:
    """The table ``mpbench zoo`` prints: name, estimator, input size, published headline and
    weights file name."""
    rows = [("name", "estimator", "input(wxh)", "published", "weights")]
    for e in entries:
        headline = get_protocol(DATASETS[e.dataset].protocol).headline
        value = e.published.get(headline)
        rows.append((e.name, e.estimator or "?",
                     "x".join(map(str, e.input_size)) if e.input_size else "?",
                     f"{headline} {value:g}" if value is not None else "-",
                     e.weights.rsplit("/", 1)[-1] if e.weights else "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]]).rstrip()
                     for r in rows)
