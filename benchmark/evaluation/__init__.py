"""Reference-exact evaluation protocols for pose estimation, with bootstrap intervals.

``evaluate(protocol, gt, preds)`` returns an :class:`EvalResult`; ``compare`` gives the paired
bootstrap difference of two prediction sets. Protocols: ``coco``, ``crowdpose``, ``mvor-pck``,
``mpii-pckh``, ``posetrack-map`` (see ``docs/evaluation.md`` for every rule and stat name).
"""

from benchmark.datasets.mpii import mpii_mat_to_coco  # the .mat reader lives with MPII
from benchmark.evaluation.api import compare, evaluate, replicates
from benchmark.evaluation.errors import EvaluationInputError
from benchmark.evaluation.protocols import PROTOCOLS, get_protocol
from benchmark.evaluation.result import EvalResult

__all__ = ["PROTOCOLS", "EvalResult", "EvaluationInputError", "compare", "evaluate",
           "get_protocol", "mpii_mat_to_coco", "replicates"]
