# Predict on every evaluation set of the cell's dataset, with ground-truth boxes and each
# detection source, and score against the official annotations (benchmark.models.evaluate);
# metrics go to metrics.json (the leaderboard's input) and the cell's MLflow run.


rule detections:
    input:
        "results/data/{dataset}.json",
    output:
        "results/detections/{dataset}/{modality}/{split}/{name}.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/detections/{dataset}/{modality}/{split}/{name}.log",
    params:
        detector=detector_args,
    threads: res("detections", "threads")
    resources:
        mem_mb=res_per_attempt("detections", "mem_mb"),
        runtime=res_per_attempt("detections", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench detections --dataset {wildcards.dataset}"
        " --modality {wildcards.modality} --split {wildcards.split} --name {wildcards.name}"
        " {params.detector} --out {output} > {log} 2>&1"


rule evaluate:
    input:
        summary="work_dirs/{dataset}/{modality}/{model}/train_summary.json",
        detections=detection_inputs,
    output:
        metrics="results/cells/{dataset}/{modality}/{model}/metrics.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/evaluate/{dataset}/{modality}/{model}.log",
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
        annotations=config["evaluate"]["annotations"],
        detectors=lambda wc: " ".join(f"--detector {d}" for d in CELL_DETECTORS[cell_of(wc)]),
        released=lambda wc: "" if config["evaluate"]["released_detections"]
        else "--no-released-detections",
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res_per_attempt("evaluate", "mem_mb"),
        runtime=res_per_attempt("evaluate", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench evaluate --dataset {wildcards.dataset}"
        " --modality {wildcards.modality} --model {wildcards.model}"
        " --bootstrap {params.bootstrap} --seed {params.seed}"
        " --annotations {params.annotations} {params.detectors} {params.released}"
        " > {log} 2>&1"


rule transfer:
    input:
        summary="work_dirs/{dataset}/{modality}/{model}/train_summary.json",
        data="results/data/{target}.json",
        detections=transfer_detection_inputs,
    output:
        metrics="results/transfer/{dataset}/{modality}/{model}/{target}/{target_modality}/metrics.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/transfer/{dataset}/{modality}/{model}/{target}/{target_modality}.log",
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
        released=lambda wc: "" if config["evaluate"]["released_detections"]
        else "--no-released-detections",
    threads: res("evaluate", "threads")
    resources:
        mem_mb=res_per_attempt("evaluate", "mem_mb"),
        runtime=res_per_attempt("evaluate", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench evaluate --dataset {wildcards.dataset}"
        " --modality {wildcards.modality} --model {wildcards.model}"
        " --on {wildcards.target}/{wildcards.target_modality}"
        " --bootstrap {params.bootstrap} --seed {params.seed} {params.released} > {log} 2>&1"
