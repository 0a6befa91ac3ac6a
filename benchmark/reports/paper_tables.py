"""The seed papers' tables, in their layouts, filled from the cells' ``metrics.json``.

Each paper compares a few things in one table: LLVIP-Pose its models on visible and thermal
images with ground-truth and detector boxes, ExLPose its methods on the lighting splits,
ORPose-Depth its PCK per joint group by input resolution, PoseWarper its per-joint mAP, the
top-down papers their COCO AP. :data:`TABLES` writes those layouts down once; every cell the
workflow scored on the table's dataset becomes a row (the models the paper's named benchmark
lists are rows too, ``n/a`` until they have run), so the tables regenerate with every run.

Published numbers sit in their own rows, labelled ``published`` with their source; they are
never mixed with measured values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmark.fileio import write_text_atomic
from benchmark.reports.cell_metrics import CellMetrics, read_metrics

NA = "n/a"


@dataclass(frozen=True)
class Column:
    """One column: a value of ``stat`` from the score of (modality, set, boxes)."""

    title: str
    stat: str
    eval_set: str | None = None  # None: the cell's primary set
    modality: str | None = None  # None: any modality (the row names it)
    boxes: str = "gt"


@dataclass(frozen=True)
class Published:
    row: str
    source: str
    values: dict[str, float]  # column title -> value (the paper's unit, percent)


@dataclass(frozen=True)
class PaperTable:
    name: str
    title: str
    dataset: str
    columns: tuple[Column, ...]
    #: rows are (model, modality) when True, else the model (columns name the modality)
    rows_by_modality: bool = True
    #: the models (``model`` or, by modality, ``model/modality``) the paper's named benchmark
    #: lists: rows even before they have run
    expected: tuple[str, ...] = ()
    published: tuple[Published, ...] = field(default_factory=tuple)
    note: str = ""
    #: further rows per (model, modality): (row suffix, box source) for the cells scored
    #: with that source, e.g. PoseWarper's propagated poses (``prop``)
    variants: tuple[tuple[str, str], ...] = ()


def _mvor_columns() -> tuple[Column, ...]:
    return tuple(Column(g, g) for g in ("Head", "Shoulder", "Hip", "Elbow", "Wrist", "Mean"))


def _joint_columns() -> tuple[Column, ...]:
    return tuple(Column(j, j) for j in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee",
                                        "Ankle", "Total"))


TABLES: tuple[PaperTable, ...] = (
    PaperTable(
        "llvip-pose", "LLVIP-Pose: AP on the test set, visible vs thermal", "llvip_pose",
        tuple(Column(f"{m} {b}", "AP", "test", m, box)
              for m in ("rgb", "thermal")
              for b, box in (("GT", "gt"), ("det", "det:llvip_nms50"))),
        rows_by_modality=False,
        expected=("hrnet_w48_udp", "vitpose_h", "simcc_r50", "rle_r50", "dekr_hrnet_w32",
                  "yoloxpose_s", "yoloxpose_l", "rtmo_l"),
        note="det = the released detector boxes (det:llvip_nms50); bottom-up and one-stage "
             "models find people themselves (their GT and det columns are the same run)."),
    PaperTable(
        "exlpose", "ExLPose: AP per method and lighting split", "exlpose",
        tuple(Column(t, "AP", s) for t, s in (
            ("LL-N", "test_ll_n"), ("LL-H", "test_ll_h"), ("LL-E", "test_ll_e"),
            ("LL-A", "test_ll_a"), ("WL", "test_wl"), ("A7M3", "test_ocn_a7m3"),
            ("RICOH3", "test_ocn_ricoh3"))),
        expected=("simplebaseline_r50", "simplebaseline_r50~wl-then-ll", "exlpose_lsbn_r50",
                  "exlpose_lsbn_lupi_r50"),
        published=(Published("HRNet-W32 (mmpose)", "MMPose model zoo, ExLPose LL-A",
                             {"LL-A": 40.1}),),
        note="Cells trained on well-lit images (rgb) are scored on the LL sets through their "
             "well-lit partners; WL and the OCN cameras exist for low-light cells only."),
    PaperTable(
        "orpose-depth", "ORPose-Depth (MVOR): PCK@0.2 per joint group and input", "mvor",
        _mvor_columns(),
        expected=tuple(f"{m}/{mod}" for m, mods in (
            ("depthpose", ("depth", "depth_80x60", "depth_64x48", "rgb")),
            ("depthpose_sr", ("depth_80x60", "depth_64x48"))) for mod in mods),
        published=(
            Published("DepthPose 80x60", "ORPose-Depth paper",
                      {"Head": 84.3, "Shoulder": 83.8, "Hip": 55.3, "Elbow": 69.9,
                       "Wrist": 43.3, "Mean": 67.3}),
            Published("DepthPose 64x48", "ORPose-Depth paper", {"Mean": 66.5}),
            Published("OpenPose (colour)", "ORPose-Depth paper", {"Mean": 57.1}),
            Published("AlphaPose (colour)", "ORPose-Depth paper", {"Mean": 76.2}),
            Published("RTPose (colour)", "ORPose-Depth paper", {"Mean": 73.8})),
        note="Rows: model and input (depth at full resolution, 80x60, 64x48; rgb = colour); "
             "depthpose_sr = DepthPose with its super-resolution branch (the paper's "
             "method), depthpose on low resolution = without SR (the mvor-depth "
             "benchmark)."),
    PaperTable(
        "posewarper", "PoseWarper (PoseTrack18 val): per-joint AP and Total", "posetrack18",
        _joint_columns(), expected=("hrnet_w48_384x288", "posewarper_hrnet_w48"),
        variants=((" propagation", "prop"),),
        note="Rows: frame-wise models and PoseWarper's temporal aggregation (+-2 frames) on "
             "the val set with GT boxes; 'propagation' rows: every 7th labelled frame's poses "
             "warped to the labelled frames within +-3, scored on those frames (the "
             "posetrack benchmark).",
        published=(
            Published("PoseWarper", "PoseWarper paper, PoseTrack18 val", {"Total": 79.7}),
            Published("PoseWarper (PoseTrack17 val)", "PoseWarper paper", {"Total": 81.2}),
            Published("propagation: PoseWarper (PoseTrack17 val)", "PoseWarper paper",
                      {"Total": 88.7}),
            Published("propagation: FlowNet2 (PoseTrack17 val)", "PoseWarper paper",
                      {"Total": 83.8}),
            Published("pseudo-labels: HRNet (PoseTrack17 val)", "PoseWarper paper",
                      {"Total": 79.3}))),
    PaperTable(
        "coco", "COCO val: keypoint AP and AR", "coco",
        tuple(Column(f"{s} {b}", s, None, None, box)
              for b, box in (("det", "det:hrnet_ap56"), ("GT", "gt"))
              for s in ("AP", "AP50", "AP75", "AR")),
        expected=("simplebaseline_r50", "hrnet_w32", "hrnet_w48", "simdr_hrnet_w32",
                  "simdr_hrnet_w48", "rle_hrnet_w48_384x288", "psa_hrnet_w48"),
        published=(Published("HRNet-W32 256x192", "HRNet paper (56.4 AP detector)",
                             {"AP det": 74.4}),
                   Published("HRNet-W48 256x192", "HRNet paper (56.4 AP detector)",
                             {"AP det": 75.1})),
        note="det = the 56.4 AP person detections (det:hrnet_ap56)."),
)


def _value(cell: CellMetrics, col: Column) -> float | None:
    eval_set = col.eval_set or cell.data["scores"][cell.data["primary"]]["set"]
    for score in cell.data["scores"].values():
        if (score["set"], score["boxes"], score["annotations"]) == (eval_set, col.boxes,
                                                                     "official"):
            value = score["stats"].get(col.stat)
            return None if value is None or value != value else value * cell.factor
    return None


def _fmt(value: float | None) -> str:
    return NA if value is None else f"{value:.1f}"


def table_rows(table: PaperTable, cells: list[CellMetrics]) -> list[tuple[str, list[str]]]:
    """The measured rows (label, cells' texts) then the published rows."""
    mine = [c for c in cells if c.dataset == table.dataset and "trained_on" not in c.data]
    rows: list[tuple[str, list[str]]] = []
    if table.rows_by_modality:
        keys = sorted({(c.data["model"], c.data["modality"]) for c in mine})
        models = {m for m, _ in keys}
        for entry in table.expected:  # "model" or "model/modality"
            model, _, modality = entry.partition("/")
            if (modality and (model, modality) not in keys) or (not modality
                                                               and model not in models):
                keys.append((model, modality or "-"))
        for model, modality in keys:
            found = [c for c in mine if (c.data["model"], c.data["modality"]) == (model,
                                                                                 modality)]
            values = [_value(found[0], col) if found else None for col in table.columns]
            rows.append((f"{model} ({modality})", [_fmt(v) for v in values]))
            for suffix, boxes in table.variants:
                if found and any(s["boxes"] == boxes for s in found[0].data["scores"].values()):
                    values = [_value(found[0], replace(col, boxes=boxes))
                              for col in table.columns]
                    rows.append((f"{model} ({modality}){suffix}", [_fmt(v) for v in values]))
    else:
        models = sorted({c.data["model"] for c in mine} | set(table.expected))
        for model in models:
            texts = []
            for col in table.columns:
                found = [c for c in mine if c.data["model"] == model
                         and c.data["modality"] == col.modality]
                texts.append(_fmt(_value(found[0], col) if found else None))
            rows.append((model, texts))
    for pub in table.published:
        rows.append((f"{pub.row} [published: {pub.source}]",
                     [f"{pub.values[c.title]:.1f}" if c.title in pub.values else ""
                      for c in table.columns]))
    return rows


def markdown(table: PaperTable, cells: list[CellMetrics]) -> str:
    head = ["", *(c.title for c in table.columns)]
    lines = [f"# {table.title}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([label, *texts]) + " |"
              for label, texts in table_rows(table, cells)]
    lines += ["", f"Measured values in percent from the cells' metrics.json (official "
                  f"annotations); {NA} = not run yet. Rows marked published are the papers' "
                  "numbers, not measured here. " + table.note, ""]
    return "\n".join(lines)


def latex(table: PaperTable, cells: list[CellMetrics]) -> str:
    def tex(s: str) -> str:
        return s.replace("_", r"\_").replace("%", r"\%")

    cols = "l" + "c" * len(table.columns)
    lines = [f"% {table.title} (generated by mpbench; published rows are the papers')",
             r"\begin{tabular}{" + cols + "}", r"\toprule",
             " & ".join(["", *(tex(c.title) for c in table.columns)]) + r" \\", r"\midrule"]
    lines += [" & ".join([tex(label), *texts]) + r" \\"
              for label, texts in table_rows(table, cells)]
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)


def write_paper_tables(metrics: list[Path], out_dir: Path) -> list[Path]:
    """``out_dir/<table>.md`` and ``.tex`` for every paper table."""
    cells = read_metrics(metrics) if metrics else []
    out = []
    for table in TABLES:
        out.append(write_text_atomic(out_dir / f"{table.name}.md", markdown(table, cells)))
        out.append(write_text_atomic(out_dir / f"{table.name}.tex", latex(table, cells)))
    return out
