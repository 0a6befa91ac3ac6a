"""``write_report`` outputs and the overlay renderer."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from benchmark.datasets.layouts import COCO17
from benchmark.qa import run_qa, write_report
from benchmark.qa.overlays import render_skeleton
from tests.qa.synth import crowd, kpts_of, person, replace_kpts, swap_pair


def _corrupted() -> dict:
    data = crowd(4)
    kp = swap_pair(kpts_of(data, 2), "left_elbow", "right_elbow")
    return replace_kpts(data, 2, kp)


def _pyarrow_works() -> bool:
    try:
        import pyarrow  # noqa: F401
    except Exception:
        return False
    return True


def test_outputs_and_their_content(tmp_path: Path) -> None:
    report = run_qa(_corrupted(), COCO17, source="synthetic.json")
    write_report(report, tmp_path, worst=3)
    table = pd.read_csv(tmp_path / "skeletons.csv")
    assert table["ann_id"].tolist() == [1, 2, 3, 4]
    assert table.loc[1, "flags"] == "lr_swap" and table.loc[1, "fixed"] == "swapped_back"
    assert table.loc[1, "score"] < 1.0 and (table.drop(index=1)["score"] == 1.0).all()
    assert (tmp_path / "skeletons.parquet").is_file() == _pyarrow_works()
    fixes = [json.loads(x) for x in (tmp_path / "fixes.jsonl").read_text().splitlines()]
    assert [f["fix"] for f in fixes] == ["swapped_back"]
    corrected = json.loads((tmp_path / "corrected.json").read_text())
    assert kpts_of(corrected, 2).tolist() == kpts_of(crowd(4), 2).tolist()
    html = (tmp_path / "index.html").read_text()
    assert "synthetic.json" in html and "<td>lr_swap</td><td class=num>1</td>" in html
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(pngs) == 1  # only one skeleton scored below 1
    crop = cv2.imdecode(np.frombuffer(base64.b64decode(pngs[0]), np.uint8), cv2.IMREAD_COLOR)
    assert max(crop.shape[:2]) == 256
    assert (crop == (0, 0, 255)).all(-1).any()  # the red rings around the swapped elbows


def test_overlay_draws_on_the_image_when_it_exists() -> None:
    kp = person(150, 20, 200)
    image = np.full((300, 300, 3), 200, np.uint8)
    box = np.array([80.0, 10.0, 140.0, 210.0])
    on_image = render_skeleton(kp, COCO17, box, image, set())
    blank = render_skeleton(kp, COCO17, box, None, {"left_wrist"})
    assert on_image.shape == blank.shape
    assert (on_image == 200).all(-1).mean() > 0.5  # mostly the light grey picture
    assert (blank == 48).all(-1).mean() > 0.5  # mostly the dark canvas
    assert (blank == (0, 0, 255)).all(-1).any() and not (on_image == (0, 0, 255)).all(-1).any()
