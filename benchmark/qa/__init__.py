"""Annotation QA: a per-skeleton quality score, flags, safe fixes and a report.

LLVIP-Pose introduced an annotation-QA metric without publishing its code; this is mpbench's
own, documented in ``docs/qa.md``. It is layout-generic: names, flip pairs, skeleton links and
OKS sigmas all come from :mod:`benchmark.datasets.layouts`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmark.qa.config import QAConfig
    from benchmark.qa.data import QAInputError
    from benchmark.qa.outputs import write_report
    from benchmark.qa.pipeline import FLAGS, QAReport, run_qa

__all__ = ["FLAGS", "QAConfig", "QAInputError", "QAReport", "run_qa", "write_report"]

#: Where each public name lives: imported on first use, so that ``mpbench`` can register the
#: ``qa`` subcommand (``benchmark.qa.cli``) without loading the QA pipeline (pandas, scipy).
_LAZY = {"QAConfig": "config", "QAInputError": "data", "FLAGS": "pipeline",
         "QAReport": "pipeline", "run_qa": "pipeline", "write_report": "outputs"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
