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
    localrule: True
    shell:
        "mpbench data repro --dataset {wildcards.dataset} --stamp {output} > {log} 2>&1"
