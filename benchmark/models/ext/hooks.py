"""Training hooks mpbench registers with MMEngine (the preemption hook lives with the rest of
exact resume, in :mod:`benchmark.models.ext.preemption`)."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmpose.registry import HOOKS


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
                value = value.detach() if hasattr(value, "detach") else value
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
