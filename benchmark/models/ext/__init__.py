"""MMPose/MMEngine extensions mpbench registers; importing this package registers them all
(the configs' ``custom_imports`` name it).

- :mod:`.transforms`: ``LoadModalityImage`` reads any modality (8-bit colour, 8/16-bit single
  channel, 16-bit depth in millimetres, low-resolution depth) as the 3-channel uint8 image in
  the annotation frame that the rest of MMPose's top-down pipeline expects.
- :mod:`.hooks`: ``MlflowEpochHook`` logs every epoch's mean training loss and learning rate to
  the cell's MLflow run.
- :mod:`.preemption`: iteration/signal checkpoints and exact mid-epoch resume (loop, sampler,
  seeded dataset, checkpoint hook).
- :mod:`.psa`: ``PolarizedSelfAttention`` (Liu et al. 2021, sequential/parallel) and
  ``PSAHRNet``, an HRNet backbone with PSA inside the BASIC residual blocks of stages 2-4.
- :mod:`.exlpose`: ExLPose's method (Lee et al. 2023): lighting-specific BatchNorm, the LUPI
  loss, ``ExLPoseEstimator`` and the paired low-light/well-lit transforms.
- :mod:`.paf`: part affinity fields (OpenPose's codec and greedy decoding), for DepthPose.
- :mod:`.depth_sr`: DepthPose's x8 super-resolution branch for low-resolution depth.
- :mod:`.posewarper`: PoseWarper (Bertasius et al. 2019): ``PoseWarperEstimator`` on MMPose's
  ``PoseWarperNeck``, the supporting-frame transforms and pose propagation between frames.
- :mod:`.depthpose`: DepthPose (ORPose-Depth): VGG trunk, OpenPose's multi-stage PAF head,
  the estimator with the SR reconstruction loss, ``PairAsChannels``.

New families' registered modules (heads, necks, estimators) go in further modules here.
"""

from benchmark.models.ext import (  # noqa: F401 - registration
    depth_sr,
    depthpose,
    exlpose,
    hooks,
    paf,
    posewarper,
    preemption,
    psa,
    transforms,
)
