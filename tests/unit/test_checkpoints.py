"""MMEngine checkpoints load under torch's weights_only unpickler; nothing else is allowed."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mmengine")

from mmengine.logging import MessageHub  # noqa: E402

from benchmark.models.checkpoints import allow_mmengine_checkpoints, is_valid_checkpoint  # noqa: E402
from benchmark.models.train import newest_valid_checkpoint  # noqa: E402


def _mmengine_like_checkpoint(path, epoch: int) -> None:
    """What MMEngine's Runner.save_checkpoint stores: weights, numpy in meta, message hub."""
    hub = MessageHub.get_instance(f"ckpt-test-{epoch}")
    hub.update_scalar("train/loss", np.float64(0.5))
    hub.update_info("iter", np.int64(3))
    torch.save({"meta": {"epoch": epoch, "seed": np.int64(0), "hist": np.arange(3.0),
                         "dtype": np.dtype("float32")},
                "state_dict": {"w": torch.ones(2)},
                "message_hub": hub.state_dict()}, path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class _CallsFetchedMethod:
    """Reaches a method through the allowed ``getattr`` and tries to call it."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer

        return (HistoryBuffer.update, (None, 1.0))


def test_getattr_fetched_callables_cannot_be_called(tmp_path) -> None:
    path = tmp_path / "evil2.pth"
    with open(path, "wb") as fh:
        pickle.dump({"state_dict": _CallsFetchedMethod()}, fh, protocol=2)
    assert b"getattr" in path.read_bytes()
    allow_mmengine_checkpoints()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path) -> None:
    path = tmp_path / "epoch_1.pth"
    _mmengine_like_checkpoint(path, 1)
    allow_mmengine_checkpoints()
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["meta"]["hist"].tolist() == [0.0, 1.0, 2.0]
    assert float(ckpt["message_hub"]["log_scalars"]["train/loss"].current()) == 0.5


def test_other_globals_are_still_refused(tmp_path) -> None:
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"state_dict": _Evil()}, fh)
    allow_mmengine_checkpoints()
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    assert not is_valid_checkpoint(str(path))


def test_truncated_checkpoint_is_skipped_for_resume(tmp_path) -> None:
    _mmengine_like_checkpoint(tmp_path / "epoch_1.pth", 1)
    _mmengine_like_checkpoint(tmp_path / "epoch_2.pth", 2)
    data = (tmp_path / "epoch_2.pth").read_bytes()
    (tmp_path / "epoch_2.pth").write_bytes(data[: len(data) // 2])  # killed while writing
    assert not is_valid_checkpoint(str(tmp_path / "epoch_2.pth"))
    assert newest_valid_checkpoint(tmp_path) == tmp_path / "epoch_1.pth"


def _checkpoint_at(path, iteration: int) -> None:
    """An MMEngine-like checkpoint whose ``meta.iter`` (what resume compares) is ``iteration``."""
    torch.save({"meta": {"epoch": iteration // 100, "iter": iteration},
                "state_dict": {"w": torch.full((2,), float(iteration))}}, path)


def test_resume_picks_the_newest_of_several_valid_checkpoints(tmp_path) -> None:
    """With several loadable checkpoints the one with the most iterations wins, whatever the
    file names sort as (epoch_10 < epoch_2 as text) and whichever pattern (epoch/iter) holds
    it; a truncated newer file is skipped, not taken and not a reason to fall back further."""
    for name, iteration in (("epoch_2.pth", 200), ("epoch_10.pth", 1000),
                            ("iter_1100.pth", 1100), ("iter_50.pth", 50)):
        _checkpoint_at(tmp_path / name, iteration)
    _checkpoint_at(tmp_path / "epoch_12.pth", 1200)
    data = (tmp_path / "epoch_12.pth").read_bytes()
    (tmp_path / "epoch_12.pth").write_bytes(data[: len(data) // 2])  # killed while writing
    assert newest_valid_checkpoint(tmp_path) == tmp_path / "iter_1100.pth"
    (tmp_path / "iter_1100.pth").unlink()
    assert newest_valid_checkpoint(tmp_path) == tmp_path / "epoch_10.pth"


class _DictWithStateDict:
    """Unpickles (fully) into a dict that looks like a checkpoint, through ``builtins.dict``,
    a global the weights-only unpickler does not allow."""

    def __reduce__(self):
        return (dict, ([("state_dict", {"w": 1}), ("meta", {"iter": 7})],))


def test_checkpoint_checks_load_weights_only(tmp_path) -> None:
    """A file that is a valid checkpoint only to the full (code-running) unpickler is refused
    by both checks: they must load with ``weights_only=True``."""
    from benchmark.models.checkpoints import checkpoint_progress

    path = tmp_path / "epoch_9.pth"
    torch.save(_DictWithStateDict(), path)
    assert torch.load(path, weights_only=False)["state_dict"] == {"w": 1}
    assert not is_valid_checkpoint(str(path))
    assert checkpoint_progress(str(path)) is None
