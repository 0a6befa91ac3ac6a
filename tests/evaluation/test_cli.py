"""``mpbench eval`` / ``eval-compare`` through a root parser, as the lead CLI registers them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from benchmark.evaluation import evaluate
from benchmark.evaluation.cli import register


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mpbench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_eval_prints_a_table(xtcoco_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = xtcoco_dir / "example_coco_val.json", xtcoco_dir / "example_coco_preds.json"
    assert run(["eval", "--protocol", "coco", "--gt", str(gt), "--pred", str(pred),
                "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    ap = evaluate("coco", gt, pred).stats["AP"]
    assert "* AP" in out and f"{ap:.3f}" in out and "ARl" in out and "[" in out


def test_eval_json_has_every_statistic(xtcoco_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    gt = xtcoco_dir / "example_crowdpose_val.json"
    pred = xtcoco_dir / "example_crowdpose_preds.json"
    assert run(["eval", "--protocol", "crowdpose", "--gt", str(gt), "--pred", str(pred),
                "--json", "--bootstrap", "10", "--seed", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = evaluate("crowdpose", gt, pred, bootstrap=10, seed=5).to_dict()
    assert out == json.loads(json.dumps(ref))
    assert out["headline"] == "AP" and set(out["stats"]) >= {"AP(E)", "AP(M)", "AP(H)"}


def test_eval_compare(xtcoco_dir: Path, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    gt, pred = xtcoco_dir / "example_coco_val.json", xtcoco_dir / "example_coco_preds.json"
    worse = json.loads(pred.read_text())
    for p in worse:
        p["keypoints"] = [v + 4.0 if i % 3 != 2 else v for i, v in enumerate(p["keypoints"])]
    worse_path = tmp_path / "worse.json"
    worse_path.write_text(json.dumps(worse))
    argv = ["eval-compare", "--protocol", "coco", "--gt", str(gt), "--pred", str(pred),
            "--pred", str(worse_path), "--bootstrap", "50"]
    assert run(argv) == 0
    assert "B - A" in capsys.readouterr().out
    assert run([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["difference"] < 0 and out["pred_b"] == str(worse_path)


def test_bad_input_is_an_error_line_and_exit_2(xtcoco_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    gt = xtcoco_dir / "example_coco_val.json"
    bad = tmp_path / "bad.json"
    bad.write_text('[{"image_id": 785, "category_id": 1, "keypoints": [1, 2], "score": 1}]')
    assert run(["eval", "--protocol", "coco", "--gt", str(gt), "--pred", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(bad) in err and "Traceback" not in err
    assert run(["eval-compare", "--protocol", "coco", "--gt", str(gt), "--pred",
                str(bad)]) == 2
    assert "exactly twice" in capsys.readouterr().err


def test_help_and_argument_checks(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("eval", "eval-compare"):
        with pytest.raises(SystemExit) as exc:
            run([command, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "--protocol" in text and "posetrack-map" in text and "--bootstrap" in text
    with pytest.raises(SystemExit):
        run(["eval", "--protocol", "coco", "--gt", "g", "--pred", "p", "--bootstrap", "-1"])


def test_pred_layout_option(real_fixtures: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    """``--pred-layout`` reaches evaluate and compare; a layout the protocol does not accept
    is an error line naming the accepted ones."""
    gt = real_fixtures / "mvor/annotations/camma_mvor_2018.json"
    ann = next(a for a in json.loads(gt.read_text())["annotations"]
               if a["only_bbox"] == 0 and any(a["keypoints"]))
    pred = tmp_path / "native.json"
    pred.write_text(json.dumps([{"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
                                 "keypoints": ann["keypoints"]}]))
    base = ["--protocol", "mvor-pck", "--gt", str(gt), "--json"]
    assert run(["eval", *base, "--pred", str(pred), "--pred-layout", "mvor10"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["details"]["pred_layout"] == "mvor10" and out["value"] > 0
    assert run(["eval", *base, "--pred", str(pred), "--pred-layout", "coco17"]) == 2
    err = capsys.readouterr().err
    assert "expected 51 (coco17, given as pred_layout)" in err and "30 values (mvor10)" in err
    assert run(["eval", *base, "--pred", str(pred), "--pred-layout", "mpii16"]) == 2
    assert "mvor-pck scores predictions in mvor10 or coco17, not mpii16" in capsys.readouterr().err
    assert run(["eval-compare", *base, "--pred", str(pred), "--pred", str(pred),
                "--pred-layout", "mvor10", "--bootstrap", "5"]) == 0
    assert json.loads(capsys.readouterr().out)["pred_layouts"] == ["mvor10", "mvor10"]
