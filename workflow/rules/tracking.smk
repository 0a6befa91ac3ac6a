# The MLflow store and experiment are created once, before parallel jobs open them
# (a brand-new SQLite store opened by many processes at once races on its schema migration).


rule tracking_init:
    output:
        TRACKING_STAMP,
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/tracking_init.log",
    params:
        experiment=EXPERIMENT,
    localrule: True
    shell:
        "mpbench tracking-init --experiment {params.experiment} --stamp {output} > {log} 2>&1"
