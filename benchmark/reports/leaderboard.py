"""The leaderboard: the cells' ``metrics.json`` files -> per-protocol Markdown, CSV and LaTeX.

The files are the workflow's DAG inputs of the ``leaderboard`` rule, so the tables show exactly
the scores of the cells' last evaluation (MLflow keeps the history; ``mpbench runs`` shows it).
Each dataset gets its own tables with its protocol's headline and statistics and a caption that
says what the numbers are: protocol, reference evaluator, annotations, box source, scale.

- ``leaderboard.md``: per dataset, an overview (rows: model and modality; one column per
  evaluation set and box source, the headline ± its bootstrap half-width), then a table of the
  protocol's statistics per evaluation set and box source.
- ``leaderboard.csv``: long format, one row per (cell, set, boxes, annotations, statistic),
  ready for ``pandas.read_csv``.
- ``leaderboard.tex``: per dataset one ``tabular`` with a column group per set and box source.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.fileio import write_text_atomic
from benchmark.reports.cell_metrics import CellMetrics, LeaderboardError, read_metrics

__all__ = ["PROTOCOL_TABLES", "CellMetrics", "Leaderboard", "LeaderboardError", "read_metrics"]

#: Per protocol: the statistics its tables show (headline first) and what they are.
PROTOCOL_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "coco": (("AP", "AP50", "AP75", "AR"),
             "OKS keypoint AP and AR (COCO protocol, pycocotools)"),
    "crowdpose": (("AP", "AP(E)", "AP(M)", "AP(H)"),
                  "OKS keypoint AP (CrowdPose protocol, xtcocotools keypoints_crowd); AP(E/M/H) "
                  "over the easy / medium / hard crowd-index images"),
    "mvor-pck": (("Mean", "Head", "Shoulder", "Hip", "Elbow", "Wrist"),
                 "PCK@0.2 on MVOR's 10 upper-body joints (MVOR's eval_pck_2dpose); Mean of the "
                 "five groups"),
    "mpii-pckh": (("Mean", "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"),
                  "PCKh@0.5 (HRNet/mmpose MPII evaluation); Mean over the 14 joints other than "
                  "pelvis and thorax"),
    "posetrack-map": (("Total", "Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"),
                      "per-joint AP (PoseTrack poseval); Total = mean of the joint APs"),
}


def _group_key(score: dict[str, Any]) -> tuple[str, str, str]:
    return score["set"], score["boxes"], score["annotations"]


def _group_title(group: tuple[str, str, str]) -> str:
    eval_set, boxes, annotations = group
    title = f"{eval_set} · {'GT boxes' if boxes == 'gt' else boxes}"
    return title + (" · QA annotations" if annotations != "official" else "")


@dataclass
class DatasetBoard:
    """Every cell of one dataset."""

    dataset: str
    protocol: str
    cells: list[CellMetrics]

    @property
    def stats(self) -> tuple[str, ...]:
        return PROTOCOL_TABLES[self.protocol][0]

    @property
    def headline(self) -> str:
        return self.cells[0].data["headline"]

    def groups(self) -> list[tuple[str, str, str]]:
        """(set, boxes, annotations) in a fixed order: the primary set first, then the
        spec's order of sets as the cells list them; official before QA annotations, GT boxes
        before detectors."""
        seen: list[tuple[str, str, str]] = []
        for cell in self.cells:
            for score in cell.data["scores"].values():
                if _group_key(score) not in seen:
                    seen.append(_group_key(score))
        set_order = list(dict.fromkeys(g[0] for g in seen))
        return sorted(seen, key=lambda g: (set_order.index(g[0]), g[2] != "official",
                                           g[1] != "gt", g[1]))

    def score(self, cell: CellMetrics, group: tuple[str, str, str]) -> dict[str, Any] | None:
        for score in cell.data["scores"].values():
            if _group_key(score) == group:
                return score
        return None

    def best(self, group: tuple[str, str, str], stat: str) -> float | None:
        """The column's highest value, when the column has two or more values to rank."""
        vals = [s["stats"][stat] for c in self.cells if (s := self.score(c, group))
                and _finite(s["stats"].get(stat))]
        return max(vals) if len(vals) > 1 else None

    def text(self, cell: CellMetrics, group: tuple[str, str, str], stat: str,
             bold: tuple[str, str], pm: str | None) -> str:
        score = self.score(cell, group)
        value = score["stats"].get(stat) if score else None
        if not _finite(value):
            return "–"
        out = f"{value * cell.factor:.1f}"
        interval = score["intervals"].get(stat)
        if pm is not None and interval and all(_finite(v) for v in interval):
            out += f"{pm}{(interval[1] - interval[0]) / 2 * cell.factor:.1f}"
        sd = (score.get("seed_std") or {}).get(stat)
        if pm is not None and _finite(sd):
            out += f" (sd {sd * cell.factor:.1f})"
        if value == self.best(group, stat):
            out = f"{bold[0]}{out}{bold[1]}"
        return out

    def published(self, cell: CellMetrics) -> tuple[str, str]:
        """The published value of the headline and reproduced - published, on the primary
        score (GT or detector boxes as the cell's primary set says)."""
        value = (cell.data.get("published") or {}).get(self.headline)
        score = cell.data["scores"].get(cell.data["primary"])
        ours = score["stats"].get(self.headline) if score else None
        if not _finite(value):
            return "–", "–"
        diff = f"{(ours - value) * cell.factor:+.1f}" if _finite(ours) else "–"
        return f"{value * cell.factor:.1f}", diff

    @property
    def has_published(self) -> bool:
        return any(c.data.get("published") for c in self.cells)

    @staticmethod
    def label(cell: CellMetrics) -> str:
        """The model column: the recipe, with its seeds for a replicate group."""
        reps = cell.data.get("replicates")
        seeds = f" (seeds {','.join(map(str, reps['seeds']))})" if reps else ""
        return cell.row[0] + seeds

    def caption(self) -> str:
        what = PROTOCOL_TABLES[self.protocol][1]
        scale = ("in percent (pycocotools' fractions x 100)"
                 if self.cells[0].data["scale"] == "fraction" else "in percent")
        boot = self.cells[0].data.get("bootstrap")
        ci = (f"± is the half-width of the 95 % bootstrap interval over images ({boot} "
              "resamples); " if boot else "")
        reps = ("A row with seeds is the mean over those replicates; sd is the across-seed "
                "standard deviation and ± the interval of the mean over images. "
                if any(c.data.get("replicates") for c in self.cells) else "")
        pub = ("published = the value the paper or model zoo gives for the primary score "
               "(labelled as published, not measured here); Δ = reproduced - published. "
               if self.has_published else "")
        return (f"{self.dataset}: {what}, {scale}, against the dataset's official annotations "
                "unless a column says QA. Columns: evaluation set · box source (GT boxes = the "
                f"annotated person boxes; det:<name> = detector boxes). {ci}{reps}{pub}"
                "**bold** = best in its column.")

    def markdown(self) -> list[str]:
        groups = self.groups()
        lines = [f"## {self.dataset} ({self.protocol}: {self.headline})", ""]
        pub = ["published", "Δ"] if self.has_published else []
        head = ["model", "modality", *(f"{_group_title(g)}" for g in groups), *pub]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for cell in self.cells:
            row = [self.label(cell), cell.row[1],
                   *(self.text(cell, g, self.headline, ("**", "**"), " ± ") for g in groups),
                   *(self.published(cell) if pub else ())]
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", self.caption(), ""]
        for g in groups:
            lines += [f"### {self.dataset} · {_group_title(g)}", ""]
            head = ["model", "modality", *self.stats]
            lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for cell in self.cells:
                if self.score(cell, g) is None:
                    continue
                row = [self.label(cell), cell.row[1],
                       *(self.text(cell, g, s, ("**", "**"), None) for s in self.stats)]
                lines.append("| " + " | ".join(row) + " |")
            lines.append("")
        return lines

    def latex(self) -> list[str]:
        groups = self.groups()
        n = len(self.stats)
        cols = "ll" + ("|" + "c" * n) * len(groups)
        top = " & ".join(["", "", *(rf"\multicolumn{{{n}}}{{c}}{{{_tex(_group_title(g))}}}"
                                     for g in groups)]) + r" \\"
        sub = " & ".join(["Model", "Modality", *(_tex(s) for _ in groups for s in self.stats)])
        body = []
        for cell in self.cells:
            vals = [self.text(cell, g, s, (r"\textbf{", "}"), None)
                    for g in groups for s in self.stats]
            body.append(" & ".join([_tex(self.label(cell)), _tex(cell.row[1]), *vals]) + r" \\")
        return [f"% {self.dataset}: {_tex_comment(self.caption())}",
                r"\begin{tabular}{" + cols + "}", r"\toprule", top, sub + r" \\", r"\midrule",
                *body, r"\bottomrule", r"\end{tabular}", ""]


@dataclass
class Leaderboard:
    boards: list[DatasetBoard]

    @classmethod
    def from_files(cls, paths: list[Path]) -> Leaderboard:
        from benchmark.reports.replicates import merge_replicates

        cells = sorted(merge_replicates(read_metrics(paths)),
                       key=lambda m: (m.dataset, m.row))
        boards: dict[str, DatasetBoard] = {}
        for cell in cells:
            protocol = cell.data["protocol"]
            if protocol not in PROTOCOL_TABLES:
                raise LeaderboardError(f"{cell.path}: unknown protocol {protocol!r}")
            board = boards.setdefault(cell.dataset, DatasetBoard(cell.dataset, protocol, []))
            if board.protocol != protocol:
                raise LeaderboardError(f"{cell.path}: protocol {protocol!r}, but other cells of "
                                       f"{cell.dataset} use {board.protocol!r}")
            board.cells.append(cell)
        return cls(list(boards.values()))

    def markdown(self) -> str:
        lines = ["# mpbench leaderboard", ""]
        for board in self.boards:
            lines += board.markdown()
        return "\n".join(lines)

    def latex(self) -> str:
        return "\n".join(line for board in self.boards for line in board.latex())

    def csv(self) -> str:
        buf = io.StringIO()
        fields = ["cell", "dataset", "modality", "model", "set", "split", "images", "boxes",
                  "annotations", "protocol", "statistic", "value", "ci95_low", "ci95_high",
                  "scale", "gt_file", "gt_sha256", "run_id", "seeds", "seed_sd", "published"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for board in self.boards:
            for cell in board.cells:
                d = cell.data
                for g in board.groups():
                    score = board.score(cell, g)
                    if score is None:
                        continue
                    for stat, value in score["stats"].items():
                        lo, hi = score["intervals"].get(stat, (None, None))
                        writer.writerow({
                            "cell": d["cell"], "dataset": d["dataset"], "modality": d["modality"],
                            "model": d["model"], "set": score["set"], "split": score["split"],
                            "images": score.get("images") or d["modality"],
                            "boxes": score["boxes"], "annotations": score["annotations"],
                            "protocol": d["protocol"], "statistic": stat, "value": _num(value),
                            "ci95_low": _num(lo), "ci95_high": _num(hi), "scale": d["scale"],
                            "gt_file": score["gt_file"], "gt_sha256": score["gt_sha256"],
                            "run_id": d.get("run_id", ""),
                            "seeds": " ".join(map(str, (d.get("replicates") or {}).get(
                                "seeds", []))),
                            "seed_sd": _num((score.get("seed_std") or {}).get(stat)),
                            "published": _num((d.get("published") or {}).get(stat))
                            if score["set"] == d["scores"][d["primary"]]["set"]
                            and score["boxes"] == d["scores"][d["primary"]]["boxes"] else ""})
        return buf.getvalue()

    def write(self, out_dir: Path, stem: str = "leaderboard") -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for ext, text in (("md", self.markdown()), ("csv", self.csv()), ("tex", self.latex())):
            paths.append(write_text_atomic(out_dir / f"{stem}.{ext}", text))
        return paths


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _num(v: float | None) -> str:
    return "" if v is None or not _finite(v) else repr(float(v))


def _tex(s: str) -> str:
    return s.replace("_", r"\_").replace("·", "/").replace("%", r"\%")


def _tex_comment(s: str) -> str:
    return s.replace("\n", " ")
