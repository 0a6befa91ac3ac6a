"""Annotation QA: a per-skeleton quality score, flags, safe fixes and a report.

LLVIP-Pose introduced an annotation-QA metric without publishing its code; this is mpbench's
own, documented in ``docs/qa.md``. It is layout-generic: names, flip pairs, skeleton links and
OKS sigmas all come from :mod:`benchmark.datasets.layouts`.
"""

from benchmark.qa.config import QAConfig
from benchmark.qa.data import QAInputError
from benchmark.qa.pipeline import FLAGS, QAReport, run_qa
from benchmark.qa.report import write_report

__all__ = ["FLAGS", "QAConfig", "QAInputError", "QAReport", "run_qa", "write_report"]
