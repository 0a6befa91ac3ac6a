#!/usr/bin/env bash
# Run by Snakemake inside the freshly created conda env (snakemake --sdm conda).
set -euo pipefail
bash "$(dirname "$0")/install-stack.sh" "$CONDA_PREFIX/bin/python"
