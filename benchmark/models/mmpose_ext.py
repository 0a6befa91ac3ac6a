"""Kept so that configs composed before the extensions moved to :mod:`benchmark.models.ext`
(their ``custom_imports`` name this module) still load."""

import benchmark.models.ext  # noqa: F401 - registers every extension
