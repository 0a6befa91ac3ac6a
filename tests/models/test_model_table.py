"""``mpbench models --table``: the measured rows, the FLOP handles mpbench adds, and the
generated docs/models.md staying in step with configs/models/.

Only small models are built (tiny_hrnet, SimCC R50, RLE R50, HRNet-W32: a few seconds each);
HRNet-W32's count is checked against the figure in the shared notes (7.69 GFLOPs).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

pytest.importorskip("mmpose")

import torch  # noqa: E402

from benchmark.reports import model_table as mt  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "models.md"


@pytest.fixture(scope="module")
def rows() -> dict[str, mt.ModelRow]:
    return {r.name: r for r in mt.model_rows(["tiny_hrnet", "simcc_r50", "rle_r50"])}


def test_rows_describe_the_configs(rows: dict[str, mt.ModelRow]) -> None:
    tiny = rows["tiny_hrnet"]
    assert (tiny.dataset, tiny.family, tiny.estimator) == ("demo", "topdown_heatmap",
                                                            "TopdownPoseEstimator")
    assert (tiny.backbone, tiny.head, tiny.input_size) == ("HRNet", "HeatmapHead", (64, 96))
    assert tiny.size == "own" and tiny.resources == {"gpus": 1, "mem_mb": 4000, "runtime": 60}
    assert (tiny.max_epochs, tiny.batch, tiny.optimizer, tiny.lr) == (16, "1xb16", "Adam", 3e-3)
    simcc, rle = rows["simcc_r50"], rows["rle_r50"]
    assert (simcc.family, simcc.head, simcc.batch, simcc.size) == ("simcc", "SimCCHead",
                                                                   "8xb64", "m")
    assert (rle.family, rle.head, rle.max_epochs) == ("regression", "RLEHead", 210)
    for row in rows.values():
        assert row.gflops is not None and row.gflops > 0, row.flops_note


def test_params_equal_the_built_model(rows: dict[str, mt.ModelRow]) -> None:
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    from benchmark.cells import Cell
    from benchmark.models.compose import compose

    init_default_scope("mmpose")
    cfg = compose(Cell("coco", "rgb", "simcc_r50"), overrides={"pretrained_backbone": False},
                  repo_root=REPO)
    model = MODELS.build(cfg.model)
    assert rows["simcc_r50"].params == sum(p.numel() for p in model.parameters())


def test_hrnet_w32_gflops_as_in_the_notes() -> None:
    (row,) = mt.model_rows(["hrnet_w32"])
    assert round(row.gflops, 2) == 7.69
    assert round(row.params / 1e6, 2) == 28.54


def test_attention_is_counted() -> None:
    """mmengine has no handle for scaled_dot_product_attention (ViTPose's attention)."""

    class Attention(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q = x.reshape(1, 2, 6, 4)  # batch, heads, tokens, dim
            return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    class Estimator(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = Attention()

        def forward(self, x, data_samples=None, mode="tensor"):
            return self.attn(x)

    gflops, note = mt.count_gflops(Estimator(), 4, 4)  # 3x4x4 = 48 = 2x6x4
    assert gflops * 1e9 == pytest.approx(2 * 6 * 6 * (4 + 4))
    assert "attention" in note


def test_uncountable_model_gives_none_and_a_reason() -> None:
    class Broken(torch.nn.Module):
        def forward(self, x, data_samples=None, mode="tensor"):
            raise RuntimeError("no tensor forward")

    gflops, note = mt.count_gflops(Broken(), 8, 8)
    assert gflops is None and "no tensor forward" in note


def test_render_lists_rows_resources_and_published(rows: dict[str, mt.ModelRow]) -> None:
    text = mt.render_markdown(list(rows.values()))
    assert "`mpbench models --table`" in text and "do not edit by hand" in text
    for name in rows:
        assert f"| `{name}` |" in text
    assert "## Resources by family and size" in text
    assert "resources: {train: {gpus, mem_mb, runtime}}" in text
    assert "| h | 1 | 64 | 120 |" in text  # size classes from benchmark.models.families
    assert "| `hrnet_w32` | COCO val AP (person detector 56.4 AP) | 74.4 (published) |" in text
    n_published = sum(len(v) for v in mt.PUBLISHED.values())
    assert text.count("(published) |") == n_published


def test_docs_file_lists_every_config() -> None:
    """docs/models.md is generated: a config added without regenerating it fails here."""
    text = DOC.read_text()
    missing = [n for n in mt.config_names() if f"| `{n}` |" not in text]
    assert not missing, f"{DOC} is stale; run `mpbench models --table` ({missing})"


def test_cli_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    mt.register(parser.add_subparsers())
    out = tmp_path / "models.md"
    args = parser.parse_args(["models", "--table", "--out", str(out), "--model", "tiny_hrnet"])
    assert args.func(args) == 0
    assert str(out) in capsys.readouterr().out
    assert "| `tiny_hrnet` | topdown_heatmap |" in out.read_text()


def test_docs_size_table_is_what_each_family_requests() -> None:
    """The size table of docs/models.md is what a user reads before booking GPUs: each size's
    GPUs, memory and runtime must be what the workflow requests for a model of that size
    (``matrix.model_resources``, what the SLURM job asks for; memory exact in MB, runtime
    exact in minutes), for every size class."""
    from benchmark.workflow.matrix import model_resources

    table = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("xs", "s", "m", "l", "h"):
            table[cells[0]] = (int(cells[1]), float(cells[2]), float(cells[3]), cells[4])
    assert set(table) == {"xs", "s", "m", "l", "h"}
    for size, (gpus, mem_gb, hours, models) in table.items():
        if not models:
            continue
        model = models.split(",")[0].strip(" `")
        res = model_resources(model)
        assert (res["gpus"], res["mem_mb"], res["runtime"]) == (
            gpus, round(mem_gb * 1000), round(hours * 60)), (size, model)
