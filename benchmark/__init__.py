"""mpbench: a workflow-orchestrated benchmark for human pose estimation beyond visible light.

The package is organised by the stages a datum flows through:
``datasets`` (specs, download, convert) -> ``qa`` (annotation quality) -> ``modalities``
(derived imaging modalities) -> ``models`` (MMPose config composition, training, inference)
-> ``evaluation`` (reference-exact protocols) -> ``tracking`` (MLflow) -> ``reports`` (tables).
"""

import os

__version__ = "0.1.0"

# albumentations (RTMPose's transforms, imported with MMPose's datasets) asks PyPI for a newer
# version at import unless told not to: nothing may reach the network at import time.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
