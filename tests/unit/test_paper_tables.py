"""The seed papers' tables: their layouts, n/a for cells not run, measured values from the
cells' metrics.json, published rows apart."""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.reports.paper_tables import NA, TABLES, write_paper_tables


def _metrics(tmp: Path, dataset: str, modality: str, model: str,
             scores: dict[tuple[str, str], dict[str, float]]) -> Path:
    data = {"cell": f"{dataset}/{modality}/{model}", "dataset": dataset, "modality": modality,
            "model": model, "protocol": "coco", "headline": "AP", "scale": "fraction",
            "primary": next(iter(scores))[0],
            "scores": {f"{s}{'' if b == 'gt' else '/' + b}": {
                "set": s, "boxes": b, "annotations": "official", "stats": stats,
                "intervals": {}} for (s, b), stats in scores.items()}}
    path = tmp / f"{dataset}-{modality}-{model}.json"
    path.write_text(json.dumps(data))
    return path


def test_tables_render_with_na_before_anything_ran(tmp_path) -> None:
    written = write_paper_tables([], tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{t.name}.{ext}" for t in TABLES for ext in ("md", "tex"))
    llvip = (tmp_path / "llvip-pose.md").read_text()
    assert "| rgb GT | rgb det | thermal GT | thermal det |" in llvip
    assert f"| hrnet_w48_udp | {NA} | {NA} | {NA} | {NA} |" in llvip
    mvor = (tmp_path / "orpose-depth.md").read_text()
    assert ("| DepthPose 80x60 [published: ORPose-Depth paper] | 84.3 | 83.8 | 55.3 | 69.9 | "
            "43.3 | 67.3 |") in mvor
    assert "| OpenPose (colour) [published: ORPose-Depth paper] |  |  |  |  |  | 57.1 |" in mvor
    assert r"\begin{tabular}{lcccc}" in (tmp_path / "llvip-pose.tex").read_text()


def test_measured_cells_fill_their_columns(tmp_path) -> None:
    files = [
        _metrics(tmp_path, "llvip_pose", "thermal", "tiny_hrnet",
                 {("test", "gt"): {"AP": 0.5}, ("test", "det:llvip_nms50"): {"AP": 0.4},
                  ("test_13kpts", "gt"): {"AP": 0.9}}),
        _metrics(tmp_path, "exlpose", "lowlight", "hrnet_w32",
                 {("test_ll_a", "gt"): {"AP": 0.25}, ("test_wl", "gt"): {"AP": 0.125}}),
    ]
    write_paper_tables(files, tmp_path / "out")
    llvip = (tmp_path / "out" / "llvip-pose.md").read_text()
    assert f"| tiny_hrnet | {NA} | {NA} | 50.0 | 40.0 |" in llvip
    exl = (tmp_path / "out" / "exlpose.md").read_text()
    assert (f"| hrnet_w32 (lowlight) | {NA} | {NA} | {NA} | 25.0 | 12.5 | {NA} | {NA} |"
            in exl)
    assert f"| simplebaseline_r50 (-) | {NA} |" in exl  # expected, not run
    assert "| HRNet-W32 (mmpose) [published: MMPose model zoo, ExLPose LL-A] |  |  |  | 40.1 |" \
        in exl


def test_expected_cells_by_modality_and_propagation_rows(tmp_path) -> None:
    """ORPose-Depth lists each (model, input) of the mvor-depth benchmark before it runs;
    PoseWarper's table gives a cell scored on propagated poses a second row, and none to a
    cell without them."""
    joints = ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Total")
    files = [
        _metrics(tmp_path, "posetrack18", "rgb", "posewarper_hrnet_w48",
                 {("val", "gt"): {j: 0.5 for j in joints},
                  ("val", "prop"): {j: 0.75 for j in joints}}),
        _metrics(tmp_path, "posetrack18", "rgb", "hrnet_w48_384x288",
                 {("val", "gt"): {j: 0.25 for j in joints}}),
    ]
    for path in files:  # posetrack-map reports percent
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "scale": "percent"}))
    write_paper_tables(files, tmp_path / "out")
    pw = (tmp_path / "out" / "posewarper.md").read_text()
    assert "| posewarper_hrnet_w48 (rgb) | " + " | ".join(["0.5"] * 8) + " |" in pw
    assert "| posewarper_hrnet_w48 (rgb) propagation | " + " | ".join(["0.8"] * 8) + " |" in pw
    assert "| hrnet_w48_384x288 (rgb) | " + " | ".join(["0.2"] * 8) + " |" in pw
    assert "hrnet_w48_384x288 (rgb) propagation" not in pw
    mvor = (tmp_path / "out" / "orpose-depth.md").read_text()
    for row in ("depthpose (depth)", "depthpose (depth_80x60)", "depthpose_sr (depth_80x60)",
                "depthpose_sr (depth_64x48)", "depthpose (rgb)"):
        assert f"| {row} | {NA} | {NA} |" in mvor, row
