"""The self-contained ``index.html``: counts per flag and the worst skeletons, drawn.

Everything is inline (CSS, base64 PNGs) so the page can be attached to an issue, archived as
a DVC/MLflow artefact or mailed, and still show what it showed.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.qa.overlays import ImageCache, png_data_uri, render_skeleton
from benchmark.qa.pipeline import FLAGS, QAReport

FLAG_HELP: dict[str, str] = {
    "lr_swap": "some left/right pairs disagree with the rest of the body",
    "lr_swap_body": "the whole body is mirrored against a visible face",
    "limb_length": "a limb far too long (or collapsed) for this person's scale",
    "pose_outlier": "a joint far from where the rest of the skeleton predicts it",
    "outside_image": "a labelled keypoint lies outside the image",
    "outside_box": "a labelled keypoint lies well outside the person's box",
    "duplicate": "a second annotation of a person already annotated in this image",
    "vis_v0_with_coords": "v=0 (unlabelled) but the coordinates are not (0, 0)",
    "vis_labelled_at_origin": "v>0 but the keypoint sits at (0, 0)",
    "vis_invalid": "visibility outside {0, 1, 2}",
    "coords_invalid": "non-finite coordinates",
    "num_keypoints_mismatch": "num_keypoints disagrees with the visibility flags",
    "modality_disagreement": "the aligned modality's annotation of this person differs",
    "modality_unmatched": "no annotation of this person in the aligned modality",
}

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.9em}
th{background:#f0f0f0}.num{text-align:right}
.grid{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:260px;border:1px solid #ddd;padding:4px}
figcaption{font-size:.8em;word-wrap:break-word}
.flags{color:#b00}.fixed{color:#060}
"""


def _flagged_joints(row: pd.Series, report: QAReport) -> set[str]:
    names: set[str] = set()
    for col in ("outside_image_joints", "outside_box_joints", "vis_issue_joints"):
        value = row.get(col)
        if isinstance(value, str) and value:
            names.update(value.split(","))
    if "pose_outlier" in row["flags"].split(";") and row.get("pose_worst"):
        names.add(row["pose_worst"])
    for link in str(row.get("limb_flagged") or "").split(","):
        names.update(n for n in link.split("-") if n)
    for pair in str(row.get("swap_pairs") or "").split(";"):
        if pair:
            names.update({f"left_{pair}", f"right_{pair}", pair})
    return names & set(report.layout.keypoints)


def _figure(row: pd.Series, idx: int, report: QAReport, images: ImageCache) -> str:
    sk = report.skeletons
    assert sk is not None
    image = images.get(sk.image_files[idx])
    crop = render_skeleton(sk.kpts[idx], report.layout, sk.bbox[idx], image,
                           _flagged_joints(row, report))
    where = "image" if image is not None else "blank canvas"
    return (f'<figure><img src="{png_data_uri(crop)}" alt="annotation {escape(str(row.ann_id))}">'
            f"<figcaption>ann {escape(str(row.ann_id))} · image {escape(str(row.image_id))} · "
            f"score {row.score:.2f} ({where})<br><span class=flags>"
            f"{escape(row['flags'].replace(';', ', '))}</span><br><span class=fixed>"
            f"{escape(row['fixed'].replace(';', ', '))}</span></figcaption></figure>")


def _counts_table(report: QAReport) -> str:
    counts = report.summary["flag_counts"]
    rows = "".join(f"<tr><td>{f}</td><td class=num>{counts.get(f, 0)}</td>"
                   f"<td>{escape(FLAG_HELP[f])}</td></tr>" for f in FLAGS)
    fixes = "".join(f"<tr><td>{escape(k)}</td><td class=num>{v}</td></tr>"
                    for k, v in report.summary["fix_counts"].items()) or \
        "<tr><td colspan=2>no fixes</td></tr>"
    return (f"<table><tr><th>flag</th><th>skeletons</th><th>meaning</th></tr>{rows}</table>"
            f"<h2>Automatic fixes</h2><table><tr><th>fix</th><th>count</th></tr>{fixes}</table>")


def render_html(report: QAReport, images_root: Path | None, worst: int) -> str:
    table = report.table
    order = np.argsort(table["score"].to_numpy(), kind="stable")
    picked = [i for i in order if table["score"].iat[i] < 1.0 or table["flags"].iat[i]][:worst]
    images = ImageCache(images_root)
    figures = "".join(_figure(table.iloc[i], int(i), report, images) for i in picked)
    s = report.summary
    limbs = report.limb_stats.to_html(index=False, float_format=lambda x: f"{x:.3f}",
                                      border=0)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Annotation QA: {escape(report.source)}</title>
<style>{_CSS}</style></head><body>
<h1>Annotation QA</h1>
<p><b>{escape(report.source)}</b> · layout {escape(report.layout.name)} ·
{s['annotations']} annotations, {s['skeletons']} with keypoints, {s['flagged']} flagged ·
mean score {s['mean_score']:.3f} · threshold {report.config.threshold}</p>
<h2>Flags</h2>{_counts_table(report)}
<h2>Worst {len(picked)} skeletons</h2>
<p>Orange = left, blue = right, green = centre; red rings mark the joints a flag concerns;
hollow joints are occluded (v=1).</p>
<div class=grid>{figures or '<p>No skeleton scored below 1.</p>'}</div>
<h2>Limb statistics</h2>{limbs}
</body></html>
"""
