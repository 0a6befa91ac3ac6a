"""The benchmark matrix: expansion into cells and errors that name the offending key."""

from __future__ import annotations

import pytest

from benchmark.workflow.matrix import Cell, MatrixError, cells_from_config, load_config
from tests.conftest import REPO


def test_default_matrix_lists_every_demo_modality() -> None:
    cells = cells_from_config(load_config(REPO / "configs" / "matrix.yaml"), REPO)
    assert [c.modality for c in cells] == ["depth", "depth_lowres", "lowlight", "rgb", "thermal"]
    assert {c.model for c in cells} == {"tiny_hrnet"}
    assert cells[0].key == "demo/depth/tiny_hrnet"


def test_cells_are_deduplicated_and_sorted() -> None:
    cfg = {"matrix": [{"dataset": "demo", "modalities": ["thermal", "rgb"],
                       "models": ["tiny_hrnet"]},
                      {"dataset": "demo", "modalities": ["rgb"], "models": ["tiny_hrnet"]}]}
    assert cells_from_config(cfg, REPO) == [Cell("demo", "rgb", "tiny_hrnet"),
                                            Cell("demo", "thermal", "tiny_hrnet")]


@pytest.mark.parametrize("entry, message", [
    ({"dataset": "nope", "modalities": ["rgb"], "models": ["tiny_hrnet"]},
     "matrix[0].dataset: unknown dataset 'nope'"),
    ({"dataset": "demo", "modalities": ["rgb", "sonar"], "models": ["tiny_hrnet"]},
     "matrix[0].modalities[1]: dataset 'demo' has no modality 'sonar'"),
    ({"dataset": "demo", "modalities": ["rgb"], "models": ["missing_net"]},
     "matrix[0].models[0]: no model config configs/models/missing_net.py"),
    ({"dataset": "demo", "models": ["tiny_hrnet"]}, "matrix[0].modalities: missing"),
])
def test_bad_matrix_names_the_key(entry: dict, message: str) -> None:
    with pytest.raises(MatrixError) as err:
        cells_from_config({"matrix": [entry]}, REPO)
    assert message in str(err.value)


def test_unreadable_matrix_file_names_the_file(tmp_path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("matrix: [unclosed")
    with pytest.raises(MatrixError, match="m.yaml: not valid YAML"):
        load_config(bad)


def test_transfer_targets_are_checked_like_entries() -> None:
    from benchmark.workflow.matrix import transfers

    base = {"experiment": "x", "matrix": [{"dataset": "demo", "modalities": ["rgb"],
                                            "models": ["tiny_hrnet"],
                                            "transfer": [{"dataset": "mvor",
                                                          "modalities": ["sonar"]}]}]}
    with pytest.raises(MatrixError, match=r"matrix\[0\]\.transfer\[0\]\.modalities\[0\]: "
                                          r"dataset 'mvor' has no modality 'sonar'"):
        cells_from_config(base, root=REPO)
    base["matrix"][0]["transfer"][0]["modalities"] = ["depth"]
    cells = cells_from_config(base, root=REPO)
    assert transfers(base) == [(cells[0], "mvor", "depth")]
