"""``write_report``: the QA outputs on disk, in formats the rest of the pipeline reads.

``skeletons.csv`` (and ``skeletons.parquet`` when a working pyarrow is installed: the table is
small, so parquet is a convenience, never a requirement), ``corrected.json``, ``fixes.jsonl``
and the self-contained ``index.html``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.qa.html_page import render_html
from benchmark.qa.pipeline import QAReport


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _write_parquet(table: pd.DataFrame, path: Path) -> bool:
    """Write parquet if pyarrow works here; mixed-type object columns become strings."""
    try:
        import pyarrow  # noqa: F401
    except Exception:  # an ABI-mismatched pyarrow raises ImportError or worse
        return False
    out = table.copy()
    for col in out.select_dtypes(include="object").columns:
        out[col] = out[col].map(lambda v: "" if v is None else str(v))
    out.to_parquet(path, index=False)
    return True


def write_report(report: QAReport, out_dir: Path, *, images_root: Path | None = None,
                 worst: int = 24) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report.table.to_csv(out_dir / "skeletons.csv", index=False)
    _write_parquet(report.table, out_dir / "skeletons.parquet")
    with open(out_dir / "corrected.json", "w", encoding="utf-8") as fh:
        json.dump(report.corrected, fh, default=_json_default)
    with open(out_dir / "fixes.jsonl", "w", encoding="utf-8") as fh:
        for fix in report.fixes:
            fh.write(json.dumps(fix, default=_json_default) + "\n")
    html = render_html(report, Path(images_root) if images_root else None, worst)
    (out_dir / "index.html").write_text(html, encoding="utf-8")
