# The leaderboard (per-protocol tables) and the paired modality comparisons are built from the
# cells' metrics.json files, their DAG inputs; MLflow stays the browsing and provenance store.


rule leaderboard:
    input:
        cell_files("results/cells/{cell}/metrics.json"),
        TRANSFER_METRICS,
    output:
        LEADERBOARD,
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/leaderboard.log",
    params:
        metrics=lambda wc, input: " ".join(f"--metrics {f}" for f in input),
    localrule: True
    shell:
        "mpbench leaderboard {params.metrics} --out-dir results > {log} 2>&1"


rule compare_modalities:
    input:
        lambda wc: cell_files("results/cells/{cell}/metrics.json",
                              [c for c in CELLS if c.dataset == wc.dataset]),
    output:
        md="results/compare/{dataset}.md",
        csv="results/compare/{dataset}.csv",
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/compare/{dataset}.log",
    params:
        metrics=lambda wc, input: " ".join(f"--metrics {f}" for f in input),
        bootstrap=config["compare"]["bootstrap"],
        seed=config["compare"]["seed"],
    localrule: True
    shell:
        "mpbench compare-modalities {params.metrics} --dataset {wildcards.dataset}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --out-dir results/compare"
        " > {log} 2>&1"


rule paper_tables:
    input:
        cell_files("results/cells/{cell}/metrics.json"),
    output:
        PAPER_TABLES,
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/paper_tables.log",
    params:
        metrics=lambda wc, input: " ".join(f"--metrics {f}" for f in input),
    localrule: True
    shell:
        "mpbench paper-tables {params.metrics} --out-dir results/paper > {log} 2>&1"


rule report:
    # The self-contained HTML report and the robustness curves (benchmark.reports.html).
    input:
        metrics=cell_files("results/cells/{cell}/metrics.json"),
        compare=COMPARISONS,
        paper=PAPER_TABLES,
    output:
        html=REPORT,
        curves=directory("results/curves"),
    conda:
        "../envs/mpbench.yaml"
    log:
        "logs/report.log",
    params:
        metrics=lambda wc, input: " ".join(f"--metrics {f}" for f in input.metrics),
        bootstrap=config["evaluate"]["bootstrap"],
        seed=config["evaluate"]["seed"],
    localrule: True
    shell:
        "mpbench report {params.metrics} --out {output.html} --curves-dir {output.curves}"
        " --compare-dir results/compare --paper-dir results/paper"
        " --bootstrap {params.bootstrap} --seed {params.seed} > {log} 2>&1"
