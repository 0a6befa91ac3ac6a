# One training job per cell. Re-running an interrupted job resumes from its newest checkpoint
# and logs into the same MLflow run.


rule train:
    input:
        data="results/data/{dataset}.json",
        tracking=TRACKING_STAMP,
    output:
        "work_dirs/{dataset}/{modality}/{model}/train_summary.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/train/{dataset}/{modality}/{model}.log",
    params:
        experiment=EXPERIMENT,
        epochs=lambda wc: config["train"].get("epochs") or 0,
        seed=config["train"]["seed"],
        batch_size=lambda wc: config["train"].get("batch_size") or 0,
        ckpt_iters=config["train"].get("checkpoint_iters", 0),
        annotations=config["train"]["annotations"],
    threads: res("train", "threads")
    resources:
        mem_mb=res_per_attempt("train", "mem_mb"),
        runtime=res_per_attempt("train", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench train --dataset {wildcards.dataset}"
        " --modality {wildcards.modality} --model {wildcards.model}"
        " --experiment {params.experiment} --epochs {params.epochs} --seed {params.seed}"
        " --batch-size {params.batch_size} --checkpoint-iters {params.ckpt_iters}"
        " --annotations {params.annotations} > {log} 2>&1"
