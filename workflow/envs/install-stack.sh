#!/usr/bin/env bash
# Install mpbench's pinned stack into the Python environment whose interpreter is $1
# (default: python on PATH). The one place the install steps are written down: used by
# `make install` (for .venv) and by the conda environment's post-deploy script
# (snakemake --sdm conda). Idempotent: steps whose result is present are skipped quickly.
set -euo pipefail
PY=${1:-python}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
REQ=$HERE/requirements
LOCK=(-c "$REQ/constraints.txt" -c "$REQ/lock.txt")
pip=("$PY" -m pip)

"${pip[@]}" install -q --upgrade "pip<25"
"${pip[@]}" install -q "${LOCK[@]}" -r "$REQ/torch.txt"
# mmcv has no wheel with compiled ops on PyPI: build it (about 12 min on 2 cores; pip caches
# the wheel, so another environment on the same machine takes seconds). --no-deps: its
# dependency mmengine would pull opencv-python beside opencv-python-headless; the real
# dependencies come with openmmlab.txt below.
if ! "$PY" -c "import mmcv._ext" 2>/dev/null; then
  MMCV_WITH_OPS=1 MAX_JOBS=$(nproc) "${pip[@]}" install --no-build-isolation --no-deps \
    "${LOCK[@]}" "mmcv==2.1.0"
fi
"${pip[@]}" install -q "${LOCK[@]}" -r "$REQ/openmmlab.txt" -r "$REQ/tools.txt"
# --no-deps: mmpose/mmdet require chumpy (does not build); mmengine requires opencv-python
# (would sit beside opencv-python-headless and pull numpy>=2). Their real deps are above.
"${pip[@]}" install -q --no-deps "${LOCK[@]}" \
  "mmengine==0.10.7" "mmpose==1.3.2" "mmdet==3.3.0"
# The families' extra dependencies (ViTPose: mmpretrain, RTMPose: albumentations 1.x).
"${pip[@]}" install -q "${LOCK[@]}" -r "$REQ/families.txt"
"${pip[@]}" install -q --no-deps "${LOCK[@]}" "mmpretrain==1.2.0"
# model-index 0.1.11 (imported by `import mmpretrain`) installs its own test suite as a
# top-level `tests` package in site-packages. It shadows mpbench's tests/ wherever the
# repository is not first on sys.path (forkserver workers of tests/tracking): remove it.
"$PY" - <<'PYEOF'
import importlib.metadata as md, pathlib, shutil
stray = pathlib.Path(md.distribution("model-index").locate_file("tests"))
if (stray / "test_yml_head.py").is_file():
    shutil.rmtree(stray)
    print(f"removed model-index's stray test package {stray}")
PYEOF
"${pip[@]}" install -q --no-deps -r "$REQ/slurm-plugin.txt"
"${pip[@]}" install -q --no-deps --no-build-isolation -e "$HERE"
NO_ALBUMENTATIONS_UPDATE=1 "$PY" -c "import mmcv._ext, mmpose.models, mmdet, mmpretrain, albumentations, mlflow, snakemake, dvc; print('mpbench stack ok')"
