"""MLflow tracking: the store, one run per benchmark cell, robust logging."""

from benchmark.tracking.store import (
    DEFAULT_EXPERIMENT,
    default_tracking_uri,
    init_store,
    tracking_uri,
)

__all__ = ["DEFAULT_EXPERIMENT", "default_tracking_uri", "init_store", "tracking_uri"]
