"""Reading ``params.yaml``: the DVC parameters of the data stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: DVC params file not found (run from the repo root)")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def section(name: str, path: Path = PARAMS_FILE) -> dict[str, Any]:
    params = load_params(path)
    value = params.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{path}: section {name!r} must be a mapping")
    return value
