# Predict on the dataset's evaluation split and score with benchmark.evaluation; metrics and a
# bootstrap interval go to the cell's MLflow run.


rule evaluate:
    input:
        "work_dirs/{dataset}/{modality}/{model}/train_summary.json",
    output:
        metrics="results/cells/{dataset}/{modality}/{model}/metrics.json",
        predictions="results/cells/{dataset}/{modality}/{model}/predictions.keypoints.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/evaluate/{dataset}/{modality}/{model}.log",
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res_per_attempt("evaluate", "mem_mb"),
        runtime=res_per_attempt("evaluate", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench evaluate --dataset {wildcards.dataset}"
        " --modality {wildcards.modality} --model {wildcards.model}"
        " --bootstrap {params.bootstrap} --seed {params.seed} > {log} 2>&1"
