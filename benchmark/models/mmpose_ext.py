"""MMPose/MMEngine extensions mpbench registers (imported through ``custom_imports``).

- ``LoadModalityImage``: reads any modality (8-bit colour, 8/16-bit single channel, 16-bit
  depth in millimetres, low-resolution depth) as the 3-channel uint8 image in the annotation
  frame that the rest of MMPose's top-down pipeline expects.
- ``MlflowEpochHook``: logs the mean training loss (and learning rate) of every epoch to the
  cell's MLflow run.
- :mod:`benchmark.models.preemption`: iteration/signal checkpoints and exact mid-epoch resume.
"""

from __future__ import annotations

import cv2
from mmcv.transforms import BaseTransform
from mmengine.hooks import Hook
from mmpose.registry import HOOKS, TRANSFORMS

import benchmark.models.preemption  # noqa: F401 - registers the preemption-safe loop/hooks
from benchmark.modalities.inputs import to_network_input


@TRANSFORMS.register_module()
class LoadModalityImage(BaseTransform):
    """Load ``results['img_path']`` and convert it to the network input of its modality."""

    def __init__(self, kind: str = "rgb", value_range: list[float] | None = None,
                 upsample: int = 1) -> None:
        self.kind = kind
        self.value_range = tuple(value_range) if value_range else None
        self.upsample = int(upsample)

    def transform(self, results: dict) -> dict:
        path = results["img_path"]
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FileNotFoundError(f"{path}: image missing or unreadable ({self.kind})")
        img = to_network_input(raw, self.kind, value_range=self.value_range,
                               upsample=self.upsample)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(kind={self.kind!r}, value_range={self.value_range}, "
                f"upsample={self.upsample})")


@HOOKS.register_module()
class MlflowEpochHook(Hook):
    """Log per-epoch mean loss to MLflow, with the 1-based epoch as the step.

    A resumed training continues at the next epoch, so the loss curve of an interrupted cell
    has no duplicate steps. The running sums of the epoch in progress travel in every
    checkpoint (``CHECKPOINT_KEY``): a job stopped inside an epoch, even after the epoch's last
    iteration but before the epoch ended, logs on resume the same epoch mean as an
    uninterrupted run, instead of a partial mean or none at all.
    """

    priority = "LOW"  # before PreemptionCheckpointHook: a checkpoint includes this iteration
    CHECKPOINT_KEY = "mpbench_epoch_loss"

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._sums: dict[str, float] = {}
        self._count = 0
        self._restored: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[self.CHECKPOINT_KEY] = {"epoch": int(runner.epoch), "count": self._count,
                                           "sums": dict(self._sums)}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._restored = checkpoint.get(self.CHECKPOINT_KEY)

    def before_train_epoch(self, runner) -> None:
        state, self._restored = self._restored, None
        if state is not None and state["epoch"] == runner.epoch:  # resumed inside this epoch
            self._sums, self._count = dict(state["sums"]), int(state["count"])
        else:
            self._sums, self._count = {}, 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not outputs:
            return
        self._count += 1
        for key, value in outputs.items():
            if key.startswith("loss") or key.startswith("acc"):
                self._sums[key] = self._sums.get(key, 0.0) + float(value)

    def after_train_epoch(self, runner) -> None:
        from benchmark.tracking.runs import log_metrics

        if not self._count:
            return
        metrics = {f"train/{k}": v / self._count for k, v in self._sums.items()}
        lrs = runner.optim_wrapper.get_lr().get("lr")
        if lrs:
            metrics["train/lr"] = float(lrs[0])
        log_metrics(self.run_id, metrics, step=runner.epoch + 1)

