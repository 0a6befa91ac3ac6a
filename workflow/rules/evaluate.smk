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
        summary=summary_of,
        detections=detection_inputs,
    output:
        metrics="results/cells/{cell}/metrics.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/evaluate/{cell}.log",
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
        annotations=config["evaluate"]["annotations"],
        detectors=lambda wc: " ".join(f"--detector {d}" for d in CELL_DETECTORS[cell_of(wc)]),
        released=lambda wc: "" if config["evaluate"]["released_detections"]
        else "--no-released-detections",
        cell=cell_args,
        published=published_args,
    threads: res("evaluate", "threads")
    resources:
        gpu=cell_res("evaluate", "gpus"),
        mem_mb=cell_res("evaluate", "mem_mb"),
        runtime=cell_res("evaluate", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench evaluate {params.cell} {params.published}"
        " --bootstrap {params.bootstrap} --seed {params.seed}"
        " --annotations {params.annotations} {params.detectors} {params.released}"
        " > {log} 2>&1"


rule transfer:
    input:
        summary=summary_of,
        data="results/data/{target}.json",
        detections=transfer_detection_inputs,
    output:
        metrics="results/transfer/{cell}/{target}/{target_modality}/metrics.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/transfer/{cell}/{target}/{target_modality}.log",
    params:
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
        released=lambda wc: "" if config["evaluate"]["released_detections"]
        else "--no-released-detections",
        cell=cell_args,
    threads: res("evaluate", "threads")
    resources:
        gpu=cell_res("evaluate", "gpus"),
        mem_mb=cell_res("evaluate", "mem_mb"),
        runtime=cell_res("evaluate", "runtime"),
    shell:
        "MPBENCH_THREADS={threads} mpbench evaluate {params.cell}"
        " --on {wildcards.target}/{wildcards.target_modality}"
        " --bootstrap {params.bootstrap} --seed {params.seed} {params.released} > {log} 2>&1"
