# Leaderboard tables from the MLflow runs (not from the metrics files, which only order the DAG).


rule leaderboard:
    input:
        cell_files("results/cells/{dataset}/{modality}/{model}/metrics.json"),
    output:
        LEADERBOARD,
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/leaderboard.log",
    params:
        experiment=EXPERIMENT,
        cells=" ".join(f"--cell {c.key}" for c in CELLS),
    localrule: True
    shell:
        "mpbench leaderboard --experiment {params.experiment} {params.cells}"
        " --out-dir results > {log} 2>&1"
