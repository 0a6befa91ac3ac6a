"""Build of the package's native modules; everything else is declared in pyproject.toml.

``benchmark/evaluation/_records.c`` reads COCO results lists and ground-truth fields into
arrays; ``_kernels.c`` holds the inner loops of the PCK engines (see each file's header). Both
have pure numpy counterparts that give the same numbers. ``pip install -e .`` (``make
install``) compiles them with the C compiler the OpenMMLab stack already needs for mmcv.
``-ffp-contract=off``: no fused multiply-adds, so the arithmetic is numpy's, bit for bit.
"""

from setuptools import Extension, setup

FLAGS = ["-O3", "-ffp-contract=off"]

setup(ext_modules=[
    Extension(f"benchmark.evaluation.{name}", sources=[f"benchmark/evaluation/{name}.c"],
              depends=["benchmark/evaluation/_buffers.h"], extra_compile_args=FLAGS)
    for name in ("_records", "_kernels")
])
