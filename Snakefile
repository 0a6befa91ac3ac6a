# mpbench: datasets x modalities x models -> MLflow runs -> leaderboard tables.
# Thin entry point: the config is validated in rules/common.smk, rules live in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "configs/matrix.yaml"


# `--config benchmark=<name>` runs a named benchmark, configs/benchmarks/<name>.yaml, instead
# of the matrix above (`--configfile configs/benchmarks/<name>.yaml` does the same).
# Other --config values still apply on top of the named benchmark.
if config.get("benchmark"):
    from snakemake.utils import update_config

    from benchmark.workflow.matrix import named_benchmark

    config.update(named_benchmark(config["benchmark"]))
    update_config(config, workflow.config_settings.overwrite_config)


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
        PAPER_TABLES,
        REPORT,
