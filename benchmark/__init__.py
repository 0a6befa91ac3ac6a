"""mpbench: a workflow-orchestrated benchmark for human pose estimation beyond visible light.

The package is organised by the stages a datum flows through:
``datasets`` (specs, download, convert) -> ``qa`` (annotation quality) -> ``modalities``
(derived imaging modalities) -> ``models`` (MMPose config composition, training, inference)
-> ``evaluation`` (reference-exact protocols) -> ``tracking`` (MLflow) -> ``reports`` (tables).
"""

__version__ = "0.1.0"
