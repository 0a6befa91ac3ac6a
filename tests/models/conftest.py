"""Fixtures of the model tests: the loopback HTTP server of the download tests (init URLs)."""

from tests.datasets.conftest import _loopback_server, http_server  # noqa: F401
