"""The cell identity and its one codec: key, paths, wildcards, CLI flags, MLflow tags."""

from __future__ import annotations

import re

import pytest

from benchmark.cells import KEY_PATTERN, Cell, CellError, Init, model_config_path

URL = "https://download.example.org/td-hm_hrnet-w32-81c58e40_20220909.pth"


def test_plain_cell_key_is_unchanged_by_the_recipe_fields() -> None:
    cell = Cell("demo", "rgb", "tiny_hrnet")
    assert cell.key == "demo/rgb/tiny_hrnet" == cell.replicate_of
    assert str(cell.work_dir) == "work_dirs/demo/rgb/tiny_hrnet"
    assert str(cell.results_dir) == "results/cells/demo/rgb/tiny_hrnet"
    assert cell.summary_path.name == "train_summary.json"
    assert cell.cli_args() == ["--cell", "demo/rgb/tiny_hrnet"]


def test_recipe_fields_enter_the_key_and_round_trip() -> None:
    cell = Cell("coco", "gray", "hrnet_w32", Init("url", URL, "81C58E40"), seed=2)
    assert cell.key == "coco/gray/hrnet_w32~pre-81c58e40@s2"
    assert cell.replicate_of == "coco/gray/hrnet_w32~pre-81c58e40"
    assert re.fullmatch(KEY_PATTERN, cell.key)
    parsed = Cell.from_key(cell.key)
    assert parsed == cell and hash(parsed) == hash(cell)
    assert (parsed.model, parsed.seed, parsed.init.name) == ("hrnet_w32", 2, "pre-81c58e40")
    assert parsed.init.resolved is False
    again = Cell.from_cli(**_flags(cell.cli_args()))
    assert again.cli_args() == cell.cli_args() and again.init == cell.init
    assert cell.wildcards == {"cell": cell.key}
    assert cell.tags() == {
        "mpbench.dataset": "coco", "mpbench.modality": "gray", "mpbench.model": "hrnet_w32",
        "mpbench.recipe": "hrnet_w32~pre-81c58e40@s2", "mpbench.trained": "true",
        "mpbench.seed": "2", "mpbench.init": URL}


def _flags(args: list[str]) -> dict:
    out: dict = {"evaluate_only": "--evaluate-only" in args}
    pairs = [a for a in args if a != "--evaluate-only"]
    for flag, value in zip(pairs[::2], pairs[1::2]):
        out[{"--cell": "key"}.get(flag, flag.removeprefix("--").replace("-", "_"))] = value
    return out


def test_init_labels_say_where_weights_start() -> None:
    ft = Cell("llvip_pose", "thermal", "hrnet_w48_udp", Init("cell", "coco/gray/hrnet_w48_udp"))
    assert ft.key == "llvip_pose/thermal/hrnet_w48_udp~ft-coco-gray-hrnet_w48_udp"
    zoo = Cell("coco", "rgb", "mmpose.td-hm_hrnet-w32_8xb64-210e_coco-256x192",
               Init("url", URL, "81c58e40"), train=False)
    assert zoo.key.endswith("~ckpt-81c58e40") and zoo.summary_path.name == \
        "checkpoint_summary.json"
    assert "--evaluate-only" in zoo.cli_args()
    named = Cell("exlpose", "lowlight", "hrnet_w32", Init("cell", "exlpose/rgb/hrnet_w32",
                                                          name="wl-then-ll"))
    assert named.key == "exlpose/lowlight/hrnet_w32~wl-then-ll"


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Cell.from_key("demo/rgb"), "expected DATASET/MODALITY/MODEL"),
    (lambda: Cell.from_key("demo/rgb/net@seven"), "expected DATASET/MODALITY/MODEL"),
    (lambda: Cell("demo", "r gb", "net"), "cell modality 'r gb'"),
    (lambda: Init("url", URL, None), "sha256 None"),
    (lambda: Init("url", URL, "81c58e4"), "first 8 or more hex digits"),
    (lambda: Init("url", "ftp://x/y.pth", "81c58e40"), "http(s)://"),
    (lambda: Init("cell", "coco/rgb"), "expected DATASET/MODALITY/MODEL"),
    (lambda: Cell("coco", "rgb", "net", train=False), "evaluate-only cell"),
    (lambda: Cell.from_cli("coco/rgb/net~other", init_url=URL, init_sha256="81c58e40"),
     "its init flags give the cell coco/rgb/net~pre-81c58e40"),
])
def test_malformed_cells_are_refused_with_the_reason(make, message) -> None:
    with pytest.raises(CellError, match=re.escape(message)):
        make()


def test_mmpose_model_names_resolve_to_the_configs_mmpose_ships() -> None:
    pytest.importorskip("mmpose")
    path = model_config_path("mmpose.td-hm_hrnet-w32_8xb64-210e_coco-256x192")
    assert path.is_file() and path.parts[-4:-1] == ("body_2d_keypoint", "topdown_heatmap",
                                                    "coco")
    assert not model_config_path("mmpose.no-such-config").is_file()
