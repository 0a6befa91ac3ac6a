"""Fixtures of the model tests: the loopback HTTP server of the download tests (init URLs),
and the tiny HRNet of the CPU demo model as the small backbone of method tests."""

from tests.conftest import REPO
from tests.datasets.conftest import _loopback_server, http_server  # noqa: F401


def tiny_hrnet_extra() -> dict:
    """The stage settings of ``configs/models/tiny_hrnet.py``'s HRNet (widths 16/32/64/128,
    one block per branch): read from the config, so the tests follow it."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(REPO / "configs/models/tiny_hrnet.py"),
                          import_custom_modules=False)
    return cfg.model.backbone.extra.to_dict()
