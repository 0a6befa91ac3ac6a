# One training job per trained cell. Re-running an interrupted job resumes from its newest
# checkpoint and logs into the same MLflow run. A finetune (init: {cell: ...}) depends on its
# upstream cell's training; an evaluate-only cell (train: false) fetches its published
# checkpoint instead (fetch_weights), with no training job.


rule train:
    input:
        data=dataset_stamp,
        tracking=TRACKING_STAMP,
        upstream=upstream_summary,
    output:
        "work_dirs/{cell}/train_summary.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/train/{cell}.log",
    params:
        cell=cell_args,
        experiment=EXPERIMENT,
        epochs=lambda wc: config["train"].get("epochs") or 0,
        seed=config["train"]["seed"],
        batch_size=lambda wc: config["train"].get("batch_size") or 0,
        ckpt_iters=config["train"].get("checkpoint_iters", 0),
        annotations=config["train"]["annotations"],
        flags=lambda wc: " ".join(
            (["--amp"] if config["train"].get("amp") else [])
            + ([] if config["train"].get("pretrained_backbone", True)
               else ["--no-pretrained-backbone"])
            + (["--input-size", "x".join(map(str, config["train"]["input_size"]))]
               if config["train"].get("input_size") else [])
            + (["--cfg-options", shlex.quote(json.dumps(config["train"]["cfg_options"]))]
               if config["train"].get("cfg_options") else [])),
    threads: res("train", "threads")
    resources:
        gpu=cell_res("train", "gpus"),
        mem_mb=cell_res("train", "mem_mb"),
        runtime=cell_res("train", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench train {params.cell}"
        " --experiment {params.experiment} --epochs {params.epochs} --seed {params.seed}"
        " --batch-size {params.batch_size} --checkpoint-iters {params.ckpt_iters}"
        " --annotations {params.annotations} {params.flags} > {log} 2>&1"


rule fetch_weights:
    input:
        data=dataset_stamp,
        tracking=TRACKING_STAMP,
    output:
        "work_dirs/{cell}/checkpoint_summary.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/fetch_weights/{cell}.log",
    params:
        cell=cell_args,
        experiment=EXPERIMENT,
    localrule: True
    shell:
        "mpbench train {params.cell} --experiment {params.experiment} > {log} 2>&1"
