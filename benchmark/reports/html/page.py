"""``results/report/index.html``: the whole benchmark on one self-contained page.

Sections (each with an ``id`` the browser test looks for): the leaderboard per dataset
(sortable, with 95 % intervals), bar charts per model grouped by modality, a model x joint
heatmap per dataset, the paired modality comparisons with a per-image scatter, robustness
curves, the annotation-QA gallery, each cell's best and worst images, and the paper tables.

Everything is inline: matplotlib SVG charts, JPEG data URIs, one small script that sorts the
tables. The page makes no network request, so it can be archived, mailed or attached to an
MLflow run and still show what it showed.
"""

from __future__ import annotations

import csv
from html import escape
from pathlib import Path

import numpy as np

from benchmark.reports.cell_metrics import CellMetrics
from benchmark.reports.curves import Curve
from benchmark.reports.html import charts
from benchmark.reports.html.gallery import Thumb, best_and_worst, qa_gallery
from benchmark.reports.html.instances import match, per_image, per_joint

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222}
nav a{margin-right:1em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1.2em;font-size:.85em}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}
th{background:#f0f0f0}table.sortable th{cursor:pointer}table.sortable th:after{content:" \\2195";
color:#999}td.num{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.charts svg{max-width:100%;height:auto}
.grid{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;border:1px solid #ddd;padding:3px}
figcaption{font-size:.75em;max-width:220px}.muted{color:#777}
"""

#: Sorts a table by the clicked column: numbers by ``data-value``, text otherwise; a second
#: click reverses. Rows without a value (n/a) sort last.
_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute("data-value");
        if (v === null) { return cell.textContent.trim(); }
        return v === "" ? null : parseFloat(v);
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null) { return 1; } if (y === null) { return -1; }
        var c = (typeof x === "number" && typeof y === "number") ? x - y
          : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:
        return '<td class=num data-value="">n/a</td>'
    return f'<td class=num data-value="{value:.6g}">{value:.{digits}f}</td>'


def _scaled(cell: CellMetrics, score: dict, stat: str) -> tuple:
    f = cell.factor
    v = score["stats"].get(stat)
    lo, hi = score.get("intervals", {}).get(stat, (None, None))
    return tuple(None if x is None or x != x else x * f for x in (v, lo, hi))


def leaderboard(dataset: str, cells: list[CellMetrics]) -> str:
    stat = cells[0].data["headline"]
    rows = []
    for c in sorted(cells, key=lambda c: c.data["cell"]):
        for _, s in sorted(c.data["scores"].items()):
            if s["annotations"] != "official":
                continue
            v, lo, hi = _scaled(c, s, stat)
            boxes = "GT" if s["boxes"] == "gt" else s["boxes"]
            rows.append(f"<tr><td>{escape(c.data['model'])}</td>"
                        f"<td>{escape(c.data['modality'])}</td><td>{escape(s['set'])}</td>"
                        f"<td>{escape(boxes)}</td>{_num(v)}{_num(lo)}{_num(hi)}</tr>")
    return (f'<table class=sortable data-dataset="{escape(dataset)}"><thead><tr><th>model</th>'
            f"<th>modality</th><th>set</th><th>boxes</th><th>{escape(stat)}</th>"
            f"<th>95% low</th><th>95% high</th></tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>")


def bars(dataset: str, cells: list[CellMetrics]) -> str:
    stat = cells[0].data["headline"]
    models = sorted({c.data["model"] for c in cells})
    mods = sorted({c.data["modality"] for c in cells})
    shape = (len(models), len(mods))
    v, lo, hi = (np.full(shape, np.nan) for _ in range(3))
    for c in cells:
        i, j = models.index(c.data["model"]), mods.index(c.data["modality"])
        vals = _scaled(c, c.data["scores"][c.data["primary"]], stat)
        v[i, j], lo[i, j], hi[i, j] = (np.nan if x is None else x for x in vals)
    return charts.grouped_bars(models, mods, v, lo, hi, stat,
                               f"{dataset}: {stat} (primary set, GT boxes)")


def joints(dataset: str, cells: list[CellMetrics]) -> str:
    import json

    from benchmark.datasets import get_spec

    layout = get_spec(dataset).layout
    rows, values = [], []
    for c in sorted(cells, key=lambda c: c.data["cell"]):
        s = c.data["scores"][c.data["primary"]]
        gt = json.loads(Path(s["gt_file"]).read_text())
        preds = json.loads(Path(s["predictions"]).read_text())
        rows.append(f"{c.data['model']} · {c.data['modality']}")
        values.append(per_joint(match(gt, preds, layout.sigmas), layout.num_keypoints))
    return charts.heatmap(rows, list(layout.keypoints), np.array(values),
                          f"{dataset}: per-joint keypoint similarity (OKS term)",
                          "mean similarity")


def comparisons(dataset: str, cells: list[CellMetrics], compare_dir: Path) -> str:
    import json

    from benchmark.datasets import get_spec

    path = compare_dir / f"{dataset}.csv"
    if not path.is_file():
        return "<p class=muted>No paired comparison (one modality per model).</p>"
    rows = list(csv.DictReader(path.open()))
    body = "".join(
        f"<tr><td>{escape(r['model'])}</td><td>{escape(r['set'])}</td><td>{escape(r['a'])}"
        f"</td><td>{escape(r['b'])}</td>{_num(_f(r['value_a']))}{_num(_f(r['value_b']))}"
        f"{_num(_f(r['difference']))}{_num(_f(r['ci95_low']))}{_num(_f(r['ci95_high']))}"
        f"{_num(_f(r.get('p_value')), 3)}</tr>" for r in rows)
    table = ("<table class=sortable><thead><tr><th>model</th><th>set</th><th>A</th><th>B</th>"
             "<th>A value</th><th>B value</th><th>B - A</th><th>95% low</th><th>95% high</th>"
             f"<th>p</th></tr></thead><tbody>{body}</tbody></table>")
    layout = get_spec(dataset).layout
    scatters = []
    by_key = {(c.data["model"], c.data["modality"]): c for c in cells}
    primary = {r["set"] for r in rows} & {cells[0].data["scores"][cells[0].data["primary"]]
                                          ["set"]}
    for r in rows:
        if r["set"] not in primary:
            continue
        a, b = by_key.get((r["model"], r["a"])), by_key.get((r["model"], r["b"]))
        if a is None or b is None:
            continue
        per = []
        for c in (a, b):
            s = c.data["scores"][c.data["primary"]]
            per.append(per_image(match(json.loads(Path(s["gt_file"]).read_text()),
                                       json.loads(Path(s["predictions"]).read_text()),
                                       layout.sigmas)))
        shared = sorted(set(per[0]) & set(per[1]))
        scatters.append(charts.scatter(np.array([per[0][i] for i in shared]),
                                       np.array([per[1][i] for i in shared]),
                                       f"{r['a']} (mean OKS per image)", f"{r['b']}",
                                       f"{r['model']}: {r['a']} vs {r['b']}"))
    return table + f"<div class=charts>{''.join(scatters)}</div>"


def _f(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def curves_section(curves: list[Curve]) -> str:
    if not curves:
        return "<p class=muted>No ladder of conditions in these cells.</p>"
    out = []
    for curve in curves:
        series = {}
        for model in curve.models:
            pts = {p.level: p for p in curve.points if p.model == model}
            arr = [[getattr(pts[lv], k) if lv in pts and getattr(pts[lv], k) is not None
                    else np.nan for lv in curve.levels] for k in ("value", "low", "high")]
            series[model] = tuple(np.array(a, float) for a in arr)
        out.append(charts.curves(curve.levels, series, curve.statistic,
                                 f"{curve.dataset}: {curve.ladder.replace('_', ' ')}"))
    return f"<div class=charts>{''.join(out)}</div>"


def _figures(thumbs: list[Thumb]) -> str:
    return "".join(f'<figure><img src="{t.uri}" alt="{escape(t.caption)}">'
                   f"<figcaption>{escape(t.caption)}</figcaption></figure>" for t in thumbs)


def paper_tables(paper_dir: Path) -> str:
    out = []
    for md in sorted(paper_dir.glob("*.md")):
        lines = md.read_text().splitlines()
        title = lines[0].lstrip("# ") if lines else md.stem
        rows = [ln for ln in lines if ln.startswith("|") and not ln.startswith("|---")]
        if not rows:
            continue
        cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
        head = "".join(f"<th>{escape(c)}</th>" for c in cells[0])
        body = "".join("<tr>" + "".join(
            (f'<td class=num data-value="{c}">{c}</td>' if _f(c) is not None
             else f"<td>{escape(c)}</td>") for c in row) + "</tr>" for row in cells[1:])
        note = next((ln for ln in lines[1:] if ln and not ln.startswith(("|", "#"))), "")
        out.append(f'<h3 id="paper-{escape(md.stem)}">{escape(title)}</h3><table '
                   f"class=sortable><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
                   f"</table><p class=muted>{escape(note)}</p>")
    return "".join(out) or "<p class=muted>No paper table yet.</p>"


def render(cells: list[CellMetrics], curves: list[Curve], *, compare_dir: Path,
           paper_dir: Path, data_root: Path, title: str = "mpbench report") -> str:
    mine = [c for c in cells if "trained_on" not in c.data]
    datasets = sorted({c.dataset for c in mine})
    by_ds = {d: [c for c in mine if c.dataset == d] for d in datasets}
    board = "".join(f"<h3>{escape(d)} ({escape(by_ds[d][0].data['protocol'])})</h3>"
                    + leaderboard(d, by_ds[d]) for d in datasets)
    bar = "".join(bars(d, by_ds[d]) for d in datasets)
    joint = "".join(joints(d, by_ds[d]) for d in datasets)
    comp = "".join(f"<h3>{escape(d)}</h3>" + comparisons(d, by_ds[d], compare_dir)
                   for d in datasets)
    qa = []
    for d in datasets:
        split, thumbs = qa_gallery(d, data_root)
        qa.append(f"<h3>{escape(d)}{f' · {escape(split)}' if split else ''}</h3>"
                  + (f"<div class=grid>{_figures(thumbs)}</div>" if thumbs
                     else "<p class=muted>No flagged skeleton (or no QA report).</p>"))
    strips = "".join(f"<h3>{escape(c.data['cell'])}</h3><div class=grid>"
                     f"{_figures(best_and_worst(c, data_root))}</div>"
                     for c in sorted(mine, key=lambda c: c.data["cell"]))
    sections = [("leaderboard", "Leaderboard", board),
                ("bars", "Models by modality", f"<div class=charts>{bar}</div>"),
                ("joints", "Per-joint accuracy", f"<div class=charts>{joint}</div>"),
                ("compare", "Paired modality comparisons", comp),
                ("curves", "Robustness curves", curves_section(curves)),
                ("qa", "Annotation QA", "".join(qa)),
                ("qualitative", "Best and worst predictions",
                 "<p class=muted>Ground truth green, predictions orange, on each cell's own "
                 f"modality.</p>{strips}"),
                ("paper", "Paper tables", paper_tables(paper_dir))]
    nav = "".join(f'<a href="#{i}">{t}</a>' for i, t, _ in sections)
    body = "".join(f'<section id="{i}"><h2>{t}</h2>{html}</section>' for i, t, html in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f"{escape(title)}</title><style>{_CSS}</style></head><body><h1>{escape(title)}"
            f"</h1><p class=muted>{len(mine)} cells on {len(datasets)} dataset(s), from the "
            f"cells' metrics.json. Values in the protocols' units (AP in "
            f"percent); intervals are 95 % bootstrap intervals over images.</p><nav>{nav}</nav>"
            f"{body}<script>{_JS}</script></body></html>\n")
