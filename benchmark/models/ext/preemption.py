"""Preemption-safe, deterministic training (registered with MMEngine/MMPose).

A cluster job can be stopped at any iteration: a time limit, a preemption, a bad node. Three
pieces make a re-run continue exactly where the job stopped, so that an interrupted and resumed
cell ends with the same weights and metrics as an uninterrupted one (same seed, CPU):

- ``PreemptionCheckpointHook`` writes ``iter_<n>.pth`` every ``interval`` iterations and at
  once when the job receives a warning signal, ``SIGURG`` or ``SIGUSR1`` (the SLURM profile
  asks for ``--signal=URG@120``: SIGURG is ignored by default, so the Snakemake and shell
  processes between SLURM and the training survive it, where SIGUSR1 would kill them), or
  ``SIGTERM`` (what SLURM sends at the time limit, on preemption and on ``scancel``). After
  SIGTERM it exits with status 143 once the checkpoint is written; after a warning it goes on.
  Older ``iter_*.pth`` are removed once a newer one is complete.
- ``ResumableEpochBasedTrainLoop`` + ``ResumableSampler``: MMEngine's epoch loop restarts a
  resumed epoch at its first batch; these skip the batches that the checkpoint already
  trained on, in the same shuffled order (the order depends on seed and epoch only).
- ``SeededCocoDataset``: the random augmentation of a sample is drawn from a generator seeded
  by (seed, epoch, sample index), not from a global stream whose state a checkpoint does not
  hold. The draws are therefore the same whether the epoch ran in one go or was resumed, and
  whichever worker process loads the sample.

On a GPU, cuDNN's nondeterministic kernels make two uninterrupted runs differ slightly already;
resumed runs differ from uninterrupted ones by the same amount, no more (``docs/cluster.md``).
"""

from __future__ import annotations

import itertools
import random
import signal
from pathlib import Path

import numpy as np
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from mmpose.datasets import CocoDataset
from mmpose.registry import DATA_SAMPLERS, DATASETS, HOOKS, LOOPS

#: Exit status after a checkpoint written on SIGTERM (128 + 15, what a shell reports).
EXIT_ON_TERM = 143
#: Warning signals (checkpoint, go on) and the stop signal (checkpoint, exit).
WATCHED = (signal.SIGURG, signal.SIGUSR1, signal.SIGTERM)


@DATA_SAMPLERS.register_module()
class ResumableSampler(DefaultSampler):
    """``DefaultSampler`` that can leave out the first samples of the next epoch it yields."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._skip = 0

    def skip_once(self, n: int) -> None:
        self._skip = max(0, int(n))

    def __iter__(self):
        skip, self._skip = self._skip, 0
        return itertools.islice(super().__iter__(), skip, None)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """Epoch loop that continues a resumed epoch after its last trained batch."""

    def run_epoch(self) -> None:
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        done = self._iter - self._epoch * len(self.dataloader)
        if done > 0:
            sampler = self.dataloader.sampler
            if not isinstance(sampler, ResumableSampler):
                raise TypeError("resuming inside an epoch needs train_dataloader.sampler of "
                                f"type ResumableSampler, got {type(sampler).__name__}")
            sampler.skip_once(done * self.dataloader.batch_size)
            self.runner.logger.info(f"resuming epoch {self._epoch + 1} after batch {done}")
        for idx, data_batch in enumerate(self.dataloader, start=max(done, 0)):
            self.run_iter(idx, data_batch)
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1


@DATASETS.register_module()
class SeededCocoDataset(CocoDataset):
    """``CocoDataset`` whose augmentation draws depend on (seed, epoch, index) only."""

    def __init__(self, *args, aug_seed: int = 0, **kwargs) -> None:
        self.aug_seed = int(aug_seed)
        self.epoch = 0
        super().__init__(*args, **kwargs)

    def prepare_data(self, idx):
        state = np.random.SeedSequence([self.aug_seed, self.epoch, int(idx)]).generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[1]))
        return super().prepare_data(idx)


@HOOKS.register_module()
class PreemptionCheckpointHook(Hook):
    """Checkpoint every ``interval`` iterations (0: only on a signal) and on SIGURG, SIGUSR1
    (warnings: go on) and SIGTERM (exit after the checkpoint)."""

    priority = "VERY_LOW"  # after the loggers and the MLflow hook have seen the iteration

    def __init__(self, interval: int = 0) -> None:
        self.interval = int(interval)
        self._signal: int | None = None
        self._previous: dict[int, object] = {}

    def _on_signal(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self._signal = signum

    def before_train(self, runner) -> None:
        for sig in WATCHED:
            try:
                self._previous[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread: no handlers, interval saving only
                runner.logger.warning("not in the main thread: signal checkpoints disabled")
                break

    def after_train(self, runner) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def before_train_epoch(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if hasattr(dataset, "epoch"):
            dataset.epoch = runner.epoch  # workers are forked after this: they see it

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        done = runner.iter + 1
        received, self._signal = self._signal, None
        if not received and not (self.interval and done % self.interval == 0):
            return
        name = f"iter_{done}.pth"
        runner.save_checkpoint(runner.work_dir, name, by_epoch=False)
        for old in Path(runner.work_dir).glob("iter_*.pth"):
            if old.name != name:
                old.unlink(missing_ok=True)
        if received is not None:
            runner.logger.warning(f"signal {signal.Signals(received).name}: saved {name}")
        if received == signal.SIGTERM:
            raise SystemExit(EXIT_ON_TERM)
