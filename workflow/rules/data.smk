# Data comes from the DVC stages of dvc.yaml (download -> qa -> preprocess per dataset).
# `mpbench data repro` serialises dvc calls with a lock, so parallel jobs never collide on
# DVC's repository lock, and records the data version (from dvc.lock) in the stamp.


rule data:
    input:
        "dvc.yaml",
        "params.yaml",
    output:
        "results/data/{dataset}.json",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/data/{dataset}.log",
    threads: res("data", "threads")
    resources:
        mem_mb=res_per_attempt("data", "mem_mb"),
        runtime=res_per_attempt("data", "runtime"),
    localrule: res("data", "local")
    shell:
        "mpbench data repro --dataset {wildcards.dataset} --stamp {output} > {log} 2>&1"
