# mpbench: datasets x modalities x models -> MLflow runs -> leaderboard tables.
# Thin entry point: the config is validated in rules/common.smk, rules live in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "configs/matrix.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        LEADERBOARD,
        COMPARISONS,
