"""Build of the package's one native module; everything else is declared in pyproject.toml.

``benchmark/evaluation/_records.c`` reads COCO results lists into arrays (see its header and
``benchmark/evaluation/inputs.py``). ``pip install -e .`` (``make install``) compiles it with
the C compiler the OpenMMLab stack already needs for mmcv.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("benchmark.evaluation._records",
                             sources=["benchmark/evaluation/_records.c"],
                             extra_compile_args=["-O3"])])
