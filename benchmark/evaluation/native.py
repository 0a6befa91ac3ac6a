"""The compiled helpers of the evaluation engines, when they were built.

``_records`` (reading results lists and ground-truth fields into arrays) and ``_kernels`` (the
inner loops of ``mvor-pck`` and ``mpii-pckh``) are C extensions that ``pip install -e .``
(``make install``) compiles; see ``setup.py``. Each function has a numpy counterpart giving the
same numbers, used when a module is missing (a source tree run without installing) or set to
``None`` here (the tests run every engine both ways). Callers read these attributes at call
time for that reason.
"""

from __future__ import annotations

from types import ModuleType

records: ModuleType | None
kernels: ModuleType | None

try:
    from benchmark.evaluation import _records as records
except ImportError:  # not built
    records = None

try:
    from benchmark.evaluation import _kernels as kernels
except ImportError:  # not built
    kernels = None
