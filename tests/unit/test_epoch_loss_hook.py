"""The per-epoch loss logged to MLflow survives a job stopped inside an epoch.

``MlflowEpochHook`` keeps the running loss sums of the epoch in progress; they travel in each
checkpoint (saved with torch and loaded back with the weights-only unpickler, as a resume
does). Driven here through the hook's MMEngine callbacks with a real MLflow store in tmp;
the training itself is exercised by the integration and SLURM tests.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mmpose")
pytest.importorskip("mlflow")

from benchmark.models.checkpoints import allow_mmengine_checkpoints  # noqa: E402
from benchmark.models.ext.hooks import MlflowEpochHook  # noqa: E402
from benchmark.tracking.runs import open_cell_run  # noqa: E402
from benchmark.tracking.store import init_store, tracking_uri  # noqa: E402

LOSSES = [0.9, 0.7, 0.4, 0.2]  # one epoch of four iterations


@pytest.fixture()
def run_id(tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    init_store("hook")
    return open_cell_run("demo/rgb/tiny_hrnet", "digest", experiment="hook")


def _runner(epoch: int) -> SimpleNamespace:
    return SimpleNamespace(epoch=epoch,
                           optim_wrapper=SimpleNamespace(get_lr=lambda: {"lr": [0.01]}))


def _iterate(hook: MlflowEpochHook, runner, losses: list[float]) -> None:
    for i, loss in enumerate(losses):
        hook.after_train_iter(runner, i, outputs={"loss": torch.tensor(loss)})


def _through_a_checkpoint(hook: MlflowEpochHook, runner, tmp_path) -> dict:
    """What Runner.save_checkpoint then Runner.resume do with the hook's state."""
    checkpoint: dict = {"meta": {"epoch": runner.epoch}}
    hook.before_save_checkpoint(runner, checkpoint)
    torch.save(checkpoint, tmp_path / "ckpt.pth")
    allow_mmengine_checkpoints()
    return torch.load(tmp_path / "ckpt.pth", weights_only=True)


def _logged(run_id: str) -> list[tuple[int, float]]:
    from mlflow.tracking import MlflowClient

    history = MlflowClient(tracking_uri()).get_metric_history(run_id, "train/loss")
    return sorted((m.step, m.value) for m in history)


@pytest.mark.parametrize("stop_after", [1, 2, 4], ids=["early", "mid-epoch", "last-iteration"])
def test_resumed_epoch_logs_the_uninterrupted_mean(run_id, tmp_path, stop_after) -> None:
    before = MlflowEpochHook(run_id)
    runner = _runner(epoch=0)
    before.before_train_epoch(runner)
    _iterate(before, runner, LOSSES[:stop_after])
    checkpoint = _through_a_checkpoint(before, runner, tmp_path)  # then the job is killed

    after = MlflowEpochHook(run_id)  # a new process resumes from the checkpoint
    after.after_load_checkpoint(runner, checkpoint)
    after.before_train_epoch(runner)
    _iterate(after, runner, LOSSES[stop_after:])  # none left when stopped at the last one
    after.after_train_epoch(runner)
    assert _logged(run_id) == [(1, pytest.approx(sum(LOSSES) / len(LOSSES), abs=1e-7))]


def test_state_of_a_finished_epoch_is_not_carried_into_the_next(run_id, tmp_path) -> None:
    hook = MlflowEpochHook(run_id)
    runner = _runner(epoch=0)
    hook.before_train_epoch(runner)
    _iterate(hook, runner, LOSSES)
    hook.after_train_epoch(runner)
    checkpoint = _through_a_checkpoint(hook, runner, tmp_path)  # epoch_1.pth, after the epoch

    resumed = MlflowEpochHook(run_id)
    resumed.after_load_checkpoint(runner, checkpoint)
    nxt = _runner(epoch=1)  # resume from an epoch checkpoint starts the next epoch
    resumed.before_train_epoch(nxt)
    _iterate(resumed, nxt, [0.1, 0.3])
    resumed.after_train_epoch(nxt)
    assert _logged(run_id) == [(1, pytest.approx(0.55, abs=1e-7)),
                               (2, pytest.approx(0.2, abs=1e-7))]
