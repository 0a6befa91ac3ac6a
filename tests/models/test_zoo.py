"""The MMPose model zoo read from the metafiles of the installed mmpose (1.3.2), and the
evaluate-only benchmark it writes.

Expected values are copied from the metafiles themselves (``hrnet_coco.yml``,
``hrnet_mpii.yml``, ``dekr/coco/hrnet_coco.yml``, ...); a small metafile tree in ``tmp_path``
covers the filter cases the real zoo has no clean example of.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from benchmark.errors import MpbenchError

pytest.importorskip("mmpose")

from benchmark.models import zoo  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MATRIX = REPO / "configs" / "matrix.yaml"
HRNET_COCO = "td-hm_hrnet-w32_8xb64-210e_coco-256x192"
HRNET_MPII = "td-hm_hrnet-w32_8xb64-210e_mpii-256x256"


def by_model(entries: list[zoo.ZooEntry]) -> dict[str, zoo.ZooEntry]:
    return {e.model: e for e in entries}


def test_coco_hrnet_entry_as_published() -> None:
    entry = by_model(zoo.zoo_entries("coco"))[f"mmpose.{HRNET_COCO}"]
    assert entry.name == HRNET_COCO
    assert entry.config == f"mmpose::body_2d_keypoint/topdown_heatmap/coco/{HRNET_COCO}.py"
    assert entry.weights == ("https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/"
                             f"topdown_heatmap/coco/{HRNET_COCO}-81c58e40_20220909.pth")
    assert entry.sha256_prefix == "81c58e40"
    assert entry.dataset == "coco"
    # COCO AP/AR are fractions in the metafile and in mpbench's coco protocol
    assert entry.published == {"AP": 0.746, "AP50": 0.904, "AP75": 0.819, "AR": 0.799,
                               "AR50": 0.942}
    assert entry.input_size == (192, 256)
    assert entry.estimator == "TopdownPoseEstimator"


def test_config_resolves_and_parses_with_mmengine() -> None:
    """``mmpose::...`` is resolved as mpbench resolves package configs, and mmengine's own
    parse gives the estimator read from the syntax tree."""
    from mmengine.config import Config

    from benchmark.models.detect import resolve_config_path

    entry = by_model(zoo.zoo_entries("coco"))[f"mmpose.{HRNET_COCO}"]
    cfg = Config.fromfile(str(resolve_config_path(entry.config)), import_custom_modules=False)
    assert cfg.model.type == entry.estimator
    assert tuple(cfg.codec.input_size) == entry.input_size


@pytest.mark.parametrize("rel", [
    "topdown_heatmap/coco/td-hm_hrnet-w32_fp16-8xb64-210e_coco-256x192.py",  # _base_ only
    "yoloxpose/coco/yoloxpose_m_8xb32-300e_coco-640.py",  # type after backbone=
    "yoloxpose/coco/yoloxpose_tiny_4xb64-300e_coco-416.py",  # _base_ + partial model dict
    "dekr/crowdpose/dekr_hrnet-w32_8xb10-300e_crowdpose-512x512.py",
])
def test_estimator_from_syntax_tree_matches_mmengine(rel: str) -> None:
    from mmengine.config import Config

    path = zoo.mmpose_config_root() / zoo.TASK / rel
    assert zoo.config_estimator(path) == Config.fromfile(
        str(path), import_custom_modules=False).model.type


def test_mpii_hrnet_pckh_in_percent() -> None:
    """MPII's metafile gives fractions (Mean 0.9); mpbench's mpii-pckh reports percent."""
    entry = by_model(zoo.zoo_entries("mpii"))[f"mmpose.{HRNET_MPII}"]
    assert entry.published == {"Mean": 90.0, "Mean@0.1": 33.4}
    assert entry.sha256_prefix == "6c4f923f"
    assert entry.input_size == (256, 256)


def test_weights_url_cleaned() -> None:
    """The metafile writes ``(https://...`` for this one."""
    entry = by_model(zoo.zoo_entries("coco"))["mmpose.td-hm_vipnas-mbv3_8xb64-210e_coco-256x192"]
    assert entry.weights == ("https://download.openmmlab.com/mmpose/v1/body_2d_keypoint/topdown_"
                             "heatmap/coco/td-hm_vipnas-mbv3_8xb64-210e_coco-256x192-e0987441_"
                             "20221010.pth")


def test_posetrack_groups_renamed_and_first_result_kept() -> None:
    entries = zoo.zoo_entries("posetrack18")
    assert len({e.model for e in entries}) == len(entries) == 5  # 4 HRNets listed twice
    hrnet = by_model(entries)["mmpose.td-hm_hrnet-w32_8xb64-20e_posetrack18-256x192"]
    assert hrnet.published == {"Head": 86.2, "Shoulder": 89.0, "Elbow": 84.5, "Wrist": 79.2,
                               "Hip": 82.3, "Knee": 82.5, "Ankle": 78.7, "Total": 83.4}


def test_crowdpose_and_underscore_sha_form() -> None:
    """DEKR's file names carry ``_<hex>-<date>``; CrowdPose has no spec in mpbench."""
    dekr = by_model(zoo.zoo_entries("crowdpose"))[
        "mmpose.dekr_hrnet-w32_8xb10-300e_crowdpose-512x512"]
    assert dekr.sha256_prefix == "147bae97"
    assert dekr.estimator == "BottomupPoseEstimator"
    assert dekr.published == {"AP": 0.663, "AP50": 0.857, "AP75": 0.714, "AP(E)": 0.74,
                              "AP(M)": 0.671, "AP(H)": 0.576}  # the metafile's "AP (L)"
    assert zoo.default_modality("crowdpose") == "rgb"


def test_stat_names_are_mpbench_protocol_stats() -> None:
    from benchmark.evaluation import mpii, posetrack
    from benchmark.evaluation.accumulate import COCO_KEYPOINT_STATS
    from benchmark.evaluation.coco import CROWD_STATS

    known = {"coco": {s[0] for s in COCO_KEYPOINT_STATS},
             "crowdpose": {s[0] for s in CROWD_STATS} | {"AP(E)", "AP(M)", "AP(H)"},
             "mpii-pckh": {g for g, _ in mpii.GROUPS} | {"Mean", "Mean@0.1"},
             "posetrack-map": {g for g, _ in posetrack.GROUPS} | {"Total"}}
    for ds in zoo.DATASETS.values():
        assert set(ds.stats.values()) <= known[ds.protocol]


def test_every_entry_is_well_formed() -> None:
    """Over the whole zoo: valid model names, and each metafile's numbers in the unit declared
    for its dataset (so the unit conversion is right for all, not just the examples)."""
    from benchmark.evaluation.protocols import get_protocol

    for name, ds in zoo.DATASETS.items():
        entries = zoo.zoo_entries(name, runnable=None)
        assert entries, name
        percent = get_protocol(ds.protocol).scale == "percent"
        for e in entries:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+", e.model) and e.model.startswith("mmpose.")
            assert e.published and all(0 <= v <= (100 if percent else 1) for v in
                                       e.published.values()), e
            if percent:
                assert max(e.published.values()) > 1, e
            assert e.sha256_prefix is None or re.fullmatch(r"[0-9a-f]{8}", e.sha256_prefix)
            assert e.weights is None or re.fullmatch(r"https://\S+\.pth", e.weights), e


def test_default_filter_drops_real_unrunnable_entries() -> None:
    everything = by_model(zoo.zoo_entries("coco", runnable=None))
    runnable = by_model(zoo.zoo_entries("coco"))
    edpose = everything["mmpose.edpose_res50_8xb2-50e_coco-800x1333"]
    assert edpose.sha256_prefix is None and edpose.weights  # no digest in its file name
    swin = everything["mmpose.swin_b_p4_w7_fpn_coco_256x192"]
    assert swin.estimator is None  # its Config is an MMPose 0.x path that does not exist
    assert edpose.model not in runnable and swin.model not in runnable
    assert set(runnable) < set(everything)
    assert all(e.runnable() for e in runnable.values())
    bottomup = zoo.zoo_entries("coco", runnable={"BottomupPoseEstimator"})
    assert {e.estimator for e in bottomup} == {"BottomupPoseEstimator"}
    assert "mmpose.dekr_hrnet-w32_8xb10-140e_coco-512x512" in by_model(bottomup)


def test_sorted_by_name() -> None:
    names = [e.name for e in zoo.zoo_entries("coco")]
    assert names == sorted(names, key=str.casefold)


def test_unknown_dataset_names_the_available_ones() -> None:
    with pytest.raises(MpbenchError, match="coco, crowdpose, exlpose, mpii, posetrack18"):
        zoo.zoo_entries("llvip_pose")


def _model(name: str, config: str, weights: str | None, dataset: str = "coco") -> dict:
    item = {"Config": f"configs/body_2d_keypoint/fake/{config}.py", "Name": name,
            "Results": [{"Dataset": dataset, "Metrics": {"AP": 0.5, "AP@0.5": 0.7, "AUC": 0.1},
                         "Task": "Body 2D Keypoint"}]}
    return item | ({"Weights": weights} if weights else {})


def test_filter_on_a_small_metafile_tree(tmp_path: Path) -> None:
    fake = tmp_path / zoo.TASK / "fake"
    fake.mkdir(parents=True)
    url = "https://example.org/{}-0123abcd_20240101.pth"
    models = [_model("Good", "good-256x192", url.format("good")),
              _model("inherits", "inherits-288", url.format("inherits")),
              _model("no-weights", "good-256x192", None),
              _model("lifter", "lifter", url.format("lifter")),
              _model("other-dataset", "good-256x192", url.format("x"), dataset="MPII")]
    (fake / "fake.yml").write_text(yaml.safe_dump({"Models": models}))
    (fake / "good-256x192.py").write_text(textwrap.dedent("""\
        _base_ = ['../../_base_/default_runtime.py']
        model = dict(type='TopdownPoseEstimator', backbone=dict(type='X'))
        """))
    (fake / "inherits-288.py").write_text("_base_ = './good-256x192.py'\nmodel = dict(x=1)\n")
    (fake / "lifter.py").write_text("model = dict(type='PoseLifter')\n")

    everything = zoo.zoo_entries("coco", runnable=None, root=tmp_path)
    assert [e.name for e in everything] == ["Good", "inherits", "lifter", "no-weights"]
    assert {e.name: e.estimator for e in everything}["inherits"] == "TopdownPoseEstimator"
    assert everything[0].published == {"AP": 0.5, "AP50": 0.7}  # AUC: no mpbench stat
    assert everything[1].input_size == (288, 288)
    kept = zoo.zoo_entries("coco", root=tmp_path)
    assert [e.name for e in kept] == ["Good", "inherits"]
    assert [e.name for e in zoo.zoo_entries("coco", runnable={"PoseLifter"}, root=tmp_path)
            ] == ["lifter"]


def test_benchmark_yaml_one_evaluate_only_entry_per_zoo_entry() -> None:
    entries = zoo.zoo_entries("coco")
    config = zoo.benchmark_yaml("coco", entries, base=MATRIX)
    base = yaml.safe_load(MATRIX.read_text())
    assert config["experiment"] == "zoo-coco"
    assert len(config["matrix"]) == len(entries)
    for key in ("detectors", "train", "evaluate", "compare", "resources"):
        assert config[key] == base[key]
    for item, e in zip(config["matrix"], entries):
        assert item == {"dataset": "coco", "modalities": ["rgb"], "models": [e.model],
                        "train": False, "init": {"url": e.weights, "sha256": e.sha256_prefix},
                        "published": e.published}
    assert zoo.benchmark_yaml("mpii", zoo.zoo_entries("mpii"), "mine", base=MATRIX,
                              modalities=["rgb", "lowlight"])["experiment"] == "mine"
    with pytest.raises(MpbenchError, match="edpose"):
        zoo.benchmark_yaml("coco", zoo.zoo_entries("coco", runnable=None), base=MATRIX)


def test_benchmark_validates_against_the_matrix_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for dataset in ("coco", "mpii", "posetrack18", "crowdpose"):
        jsonschema.validate(zoo.benchmark_yaml(dataset, zoo.zoo_entries(dataset), base=MATRIX),
                            schema)


def test_exlpose_defaults_to_lowlight_and_has_no_runnable_entry() -> None:
    """MMPose's ExLPose number is on the low-light LL-A images; its weights file name has no
    sha256 prefix, so no evaluate-only cell can be made of it."""
    assert zoo.default_modality("exlpose") == "lowlight"
    assert zoo.zoo_entries("exlpose") == []
    with pytest.raises(MpbenchError, match="no runnable"):
        zoo.benchmark_yaml("exlpose", [], base=MATRIX)


def test_write_benchmark_round_trips(tmp_path: Path) -> None:
    out = zoo.write_benchmark("mpii", tmp_path / "benchmarks" / "zoo-mpii.yaml", base=MATRIX)
    text = out.read_text()
    assert text.startswith("# Generated by `mpbench zoo --dataset mpii` from MMPose 1.3.2")
    assert yaml.safe_load(text) == zoo.benchmark_yaml("mpii", zoo.zoo_entries("mpii"),
                                                      base=MATRIX)


def test_describe_table() -> None:
    entries = [e for e in zoo.zoo_entries("coco") if e.name == HRNET_COCO]
    lines = zoo.describe(entries).splitlines()
    assert lines[0].split() == ["name", "estimator", "input(wxh)", "published", "weights"]
    assert lines[1].split() == [HRNET_COCO, "TopdownPoseEstimator", "192x256", "AP", "0.746",
                                f"{HRNET_COCO}-81c58e40_20220909.pth"]


def test_zoo_command_writes_a_benchmark_of_runnable_evaluate_only_cells(tmp_path) -> None:
    """`mpbench zoo --dataset mpii` as a user runs it: the table of entries, then a matrix
    file whose every cell is evaluate-only, of a family mpbench composes, and plans."""
    import subprocess
    import sys

    from benchmark.workflow.matrix import cells_from_config, load_config, model_top_down
    from tests.conftest import REPO

    out = tmp_path / "zoo-mpii.yaml"
    proc = subprocess.run([sys.executable, "-m", "benchmark.cli", "zoo", "--dataset", "mpii",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          check=True)
    assert "td-hm_hrnet-w32_8xb64-210e_mpii-256x256" in proc.stdout
    assert "30 runnable entries on mpii" in proc.stdout
    cells = cells_from_config(load_config(out), REPO)
    assert len(cells) == 30 and not any(c.train for c in cells)
    assert all(isinstance(model_top_down(c.model), bool) for c in cells)
