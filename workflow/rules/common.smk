# Config validation (schema, then names) and the cell list. Runs before any job starts.
import json
import shlex

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from benchmark.datasets import get_spec
from benchmark.models.boxes import cell_box_sources
from benchmark.reports.paper_tables import TABLES as _PAPER_TABLES
from benchmark.models.boxes import box_sources
from benchmark.cells import KEY_PATTERN
from benchmark.errors import MpbenchError
from benchmark.workflow.matrix import (
    cell_detectors,
    cell_resources,
    datasets_of,
    entries_of,
    entry_option,
    model_top_down,
    transfers,
)


validate(config, schema="../schemas/config.schema.yaml")

try:
    ENTRIES = entries_of(config)
    CELLS = sorted(ENTRIES)
    # Every model config is read here (family, resources), so that a broken one stops the
    # workflow before any job starts, naming the file.
    RESOURCES = {c: cell_resources(config, ENTRIES, c) for c in CELLS}
    TOP_DOWN = {c.model: model_top_down(c.model) for c in CELLS}
except MpbenchError as exc:
    raise WorkflowError(f"invalid benchmark matrix: {exc}")
CELL = {c.key: c for c in CELLS}

TRANSFERS = transfers(config)
DATASETS = sorted({*datasets_of(CELLS), *(t for _, t, _ in TRANSFERS)})
EXPERIMENT = config["experiment"]
PAPER_TABLE_NAMES = [t.name for t in _PAPER_TABLES]
TRACKING_STAMP = f"results/mlflow/{EXPERIMENT}.ready.json"
LEADERBOARD = expand("results/leaderboard.{ext}", ext=["md", "csv", "tex"])
PAPER_TABLES = expand("results/paper/{name}.{ext}", name=PAPER_TABLE_NAMES, ext=["md", "tex"])
CELL_DETECTORS = cell_detectors(config)
# Datasets with a model evaluated on two or more modalities: their paired comparisons.
COMPARED = sorted({c.dataset for c in CELLS
                   if sum(d.dataset == c.dataset and d.model == c.model for d in CELLS) > 1})
COMPARISONS = expand("results/compare/{dataset}.{ext}", dataset=COMPARED, ext=["md", "csv"])
REPORT = "results/report/index.html"


wildcard_constraints:
    cell=KEY_PATTERN,
    dataset=r"[A-Za-z0-9_\-]+",
    modality=r"[A-Za-z0-9_\-]+",
    split=r"[A-Za-z0-9_\-]+",
    target=r"[A-Za-z0-9_\-]+",
    target_modality=r"[A-Za-z0-9_\-]+",
    name=r"[A-Za-z0-9_\-]+",


def cell_files(pattern, cells=None):
    return [pattern.format(**c.wildcards) for c in (CELLS if cells is None else cells)]


def cell_of(wildcards):
    return CELL[wildcards.cell]


def cell_args(wildcards):
    """The cell's command-line flags (key and recipe: benchmark.cells.Cell.cli_args)."""
    return shlex.join(cell_of(wildcards).cli_args())


def dataset_stamp(wildcards):
    return f"results/data/{cell_of(wildcards).dataset}.json"


def upstream_summary(wildcards):
    """A finetune's training starts from its upstream cell's checkpoint: a DAG edge."""
    init = cell_of(wildcards).init
    return [str(CELL[init.source].summary_path)] if init and init.kind == "cell" else []


def summary_of(wildcards):
    return str(cell_of(wildcards).summary_path)


TRAINED = [c for c in CELLS if c.train]
EVALUATE_ONLY = [c for c in CELLS if not c.train]


def detection_inputs(wildcards):
    """The detection files a cell's evaluation reads: every released file and configured
    detector of every evaluation set (benchmark.models.boxes, one source of truth)."""
    cell = cell_of(wildcards)
    if not TOP_DOWN[cell.model]:
        return []  # bottom-up and one-stage models find the people themselves
    sources = cell_box_sources(get_spec(cell.dataset), cell.modality, CELL_DETECTORS[cell],
                               config["evaluate"]["released_detections"])
    return sorted({str(s.path) for group in sources.values() for s in group})


TRANSFER_METRICS = [f"{c.transfer_dir(dataset, modality)}/metrics.json"
                    for c, dataset, modality in TRANSFERS]


def transfer_detection_inputs(wildcards):
    """The released detection files of the target's evaluation sets (a cross-dataset score
    uses the target's released boxes, not the source entry's detectors)."""
    if not config["evaluate"]["released_detections"]:
        return []
    spec = get_spec(wildcards.target)
    return sorted({str(s.path) for e in spec.eval_sets_of(wildcards.target_modality)
                   for s in box_sources(spec, wildcards.target_modality, e)})


def published_args(wildcards):
    """The published values of a cell's primary score (matrix entry `published`)."""
    values = entry_option(config, ENTRIES, cell_of(wildcards), "published")
    return f"--published {shlex.quote(json.dumps(values))}" if values else ""


def detector_args(wildcards):
    """The detections rule's option for a detector: its matrix-file entry as JSON (empty for a
    released file of the dataset)."""
    entry = (config.get("detectors") or {}).get(wildcards.name)
    return "" if entry is None else f"--detector {shlex.quote(json.dumps(entry))}"


def res(rule_name, key):
    return config["resources"][rule_name][key]


def res_per_attempt(rule_name, key):
    """The configured value times the attempt number: a job retried by Snakemake (`retries`
    in the SLURM profile) after running out of memory or time asks for more."""
    base = res(rule_name, key)
    return lambda wildcards, attempt: base * attempt


def cell_res(rule_name, key):
    """A cell job's resource from its model's family and size (or the matrix entry's
    override), times the attempt number for mem_mb and runtime (see res_per_attempt)."""
    def get(wildcards, attempt=1):
        value = RESOURCES[cell_of(wildcards)][rule_name][key]
        return value * attempt if key in ("mem_mb", "runtime") else value
    return get
