# Config validation (schema, then names) and the cell list. Runs before any job starts.
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from benchmark.workflow.matrix import MatrixError, cells_from_config, datasets_of


validate(config, schema="../schemas/config.schema.yaml")

try:
    CELLS = cells_from_config(config)
except MatrixError as exc:
    raise WorkflowError(f"invalid benchmark matrix: {exc}")

DATASETS = datasets_of(CELLS)
EXPERIMENT = config["experiment"]
TRACKING_STAMP = f"results/mlflow/{EXPERIMENT}.ready.json"
LEADERBOARD = expand("results/leaderboard.{ext}", ext=["md", "csv", "tex"])


wildcard_constraints:
    dataset=r"[A-Za-z0-9_\-]+",
    modality=r"[A-Za-z0-9_\-]+",
    model=r"[A-Za-z0-9_\-]+",


def cell_files(pattern):
    return [pattern.format(dataset=c.dataset, modality=c.modality, model=c.model)
            for c in CELLS]


def res(rule_name, key):
    return config["resources"][rule_name][key]


def res_per_attempt(rule_name, key):
    """The configured value times the attempt number: a job retried by Snakemake (`retries`
    in the SLURM profile) after running out of memory or time asks for more."""
    base = res(rule_name, key)
    return lambda wildcards, attempt: base * attempt
