# mpbench: the two commands of the README are `make demo` and `make test`.
# Each installs what it needs (idempotent: a second run only checks a stamp).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
export MLFLOW_DISABLE_TELEMETRY := true
export NO_ALBUMENTATIONS_UPDATE := 1
export PATH := $(abspath $(BIN)):$(PATH)

REQ := requirements/constraints.txt requirements/lock.txt requirements/torch.txt requirements/openmmlab.txt \
       requirements/tools.txt requirements/families.txt requirements/slurm-plugin.txt pyproject.toml \
       workflow/envs/install-stack.sh setup.py \
       benchmark/evaluation/_records.c benchmark/evaluation/_kernels.c \
       benchmark/evaluation/_buffers.h
STAMP := $(VENV)/.mpbench-install-$(shell cat $(REQ) 2>/dev/null | sha256sum | cut -c1-12)
# Debian packages the tests need: git (the pipeline tests copy the repo into a git repo),
# slurm-wlm and munge (tests/slurm starts a single-node SLURM cluster; installed when root),
# chromium (the HTML report's browser test, tests/reports).
APT_PACKAGES ?= git slurm-wlm munge chromium

.PHONY: install demo test lint bench mutation clean-demo help
help:
	@echo "make demo   - install, then run the whole benchmark on the bundled demo data"
	@echo "make test   - install, then run lint and the test suite"
	@echo "make install - create $(VENV) with the pinned stack (idempotent)"
	@echo "make mutation - mutation-testing sample (MUTATION_SAMPLE per module; not in make test)"

install: $(STAMP)

$(STAMP): $(REQ)
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required: mmcv 2.1.0 / mmpose 1.3.2)"; exit 1; }
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	 if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	bash workflow/envs/install-stack.sh $(BIN)/python
	@mkdir -p $${XDG_CONFIG_HOME:-$$HOME/.config}/snakemake
	@link=$${XDG_CONFIG_HOME:-$$HOME/.config}/snakemake/slurm; \
	 if [ ! -e $$link ] || [ -L $$link ]; then ln -sfn $(abspath workflow/profiles/slurm) $$link; \
	   echo "linked $$link -> workflow/profiles/slurm (snakemake --profile slurm)"; \
	 else echo "note: $$link exists and is not a link; use --profile workflow/profiles/slurm"; fi
	rm -f $(VENV)/.mpbench-install-*
	touch $@

demo: install
	$(BIN)/snakemake --profile workflow/profiles/local
	@echo; cat results/leaderboard.md; for f in results/compare/*.md; do echo; cat "$$f"; done
	@echo; echo "Report (charts, per-joint heatmaps, best/worst images, curves): results/report/index.html"
	@u=$$($(BIN)/mpbench mlflow-url) && printf "\nMLflow: run \"mlflow ui --backend-store-uri sqlite:///results/mlflow/mlflow.db\" and open %s\n" $$u || true

test: install
	$(BIN)/ruff check benchmark tests benchmarks
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_eval.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_process.py

# Mutation testing (not part of `make test`): a seeded sample of MUTATION_SAMPLE mutants per
# module; report in benchmarks/results/mutation/. `make mutation MUTATION_ARGS=--allow-dirty`
# runs on uncommitted changes.
MUTATION_SAMPLE ?= 4
MUTATION_SEED ?= 1
mutation: install
	$(BIN)/python benchmarks/mutation.py --sample $(MUTATION_SAMPLE) --seed $(MUTATION_SEED) $(MUTATION_ARGS)

clean-demo:
	rm -rf work_dirs results/cells results/data results/mlflow results/leaderboard.* logs .snakemake
