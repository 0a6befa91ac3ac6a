"""The cells' MLflow runs -> an overview table (``mpbench runs``): what ``mlflow ui`` shows.

The leaderboard proper (:mod:`benchmark.reports.leaderboard`) is built from the cells'
``metrics.json`` files, the workflow's DAG inputs; this table reads the tracking store, the
browsing and provenance record, to show which run each cell's number comes from. Per cell only
the newest evaluated run counts (a retried or re-configured cell never yields two rows), and the
output order is fixed (models sorted, columns in matrix order) so that re-running produces
identical files.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.cells import Cell
from benchmark.fileio import write_text_atomic
from benchmark.tracking.runs import TAG_CELL, TAG_STATE, with_retry
from benchmark.tracking.store import DEFAULT_EXPERIMENT, sqlite_path, tracking_uri

CSV_METRICS = ("AP", "AP50", "AP75", "AR")
_log = logging.getLogger(__name__)


@dataclass
class CellResult:
    cell: Cell
    run_id: str
    headline: str
    metrics: dict[str, float] = field(default_factory=dict)
    #: "fraction" (OKS AP in [0, 1], shown in percent) or "percent" (PCK, mAP)
    scale: str = "fraction"
    start_time: int = 0

    @property
    def value(self) -> float:
        return self.metrics.get(self.headline, math.nan)

    @property
    def half_width(self) -> float | None:
        lo = self.metrics.get(f"{self.headline}_ci95_low")
        hi = self.metrics.get(f"{self.headline}_ci95_high")
        return None if lo is None or hi is None else (hi - lo) / 2


@dataclass
class _Run:
    """What the leaderboard needs of one evaluated run."""

    run_id: str
    start_time: int
    end_time: int | None
    tags: dict[str, str]
    metrics: dict[str, float]


def fetch_results(cells: list[Cell],
                  experiment: str = DEFAULT_EXPERIMENT) -> dict[Cell, CellResult]:
    """Newest evaluated run per requested cell, read in one pass over the experiment.

    "Newest" is the run whose evaluation finished last (``end_time``, set by
    :func:`benchmark.tracking.runs.finish_run`), then the newest start: a run reopened for a
    reverted config and evaluated again beats the run it replaced although it started earlier.
    Database-backed stores (the default SQLite, or PostgreSQL/MySQL given as
    ``MLFLOW_TRACKING_URI``) are read with three SQL queries (:func:`_evaluated_runs_sql`);
    MLflow's ``search_runs`` builds an ORM object per tag, param and metric row, ~3 s per 1000
    runs. Anything else (an ``mlflow server``) goes through ``search_runs``.
    """
    uri = tracking_uri()
    runs = _evaluated_runs_sql(uri, experiment)
    if runs is None:
        runs = _evaluated_runs_client(uri, experiment)
    wanted = {c.key: c for c in cells}
    out: dict[Cell, CellResult] = {}
    order: dict[Cell, tuple[int, int, str]] = {}
    for run in runs:
        cell = wanted.get(run.tags.get(TAG_CELL, ""))
        if cell is None:
            continue
        res = CellResult(cell, run.run_id, run.tags.get("mpbench.headline", "AP"),
                         run.metrics, run.tags.get("mpbench.scale", "fraction"),
                         run.start_time or 0)
        key = (run.end_time or res.start_time, res.start_time, res.run_id)
        if cell not in order or key > order[cell]:
            out[cell], order[cell] = res, key
    return out


def _evaluated_runs_client(uri: str, experiment: str) -> list[_Run]:
    """Active runs tagged evaluated, through ``MlflowClient.search_runs`` (any store)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = with_retry(client.get_experiment_by_name, experiment)
    if exp is None:
        return []
    out: list[_Run] = []
    token = None
    while True:
        page = with_retry(client.search_runs, [exp.experiment_id],
                          filter_string=f"tags.`{TAG_STATE}` = 'evaluated'",
                          max_results=5000, page_token=token)
        out += [_Run(r.info.run_id, r.info.start_time or 0, r.info.end_time,
                     dict(r.data.tags), dict(r.data.metrics)) for r in page]
        token = page.token
        if not token:
            return out


_SQL_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")
_LEADERBOARD_TAGS = (TAG_CELL, "mpbench.headline", "mpbench.scale")


def _evaluated_runs_sql(uri: str, experiment: str) -> list[_Run] | None:
    """The same as :func:`_evaluated_runs_client`, read with SQLAlchemy Core from MLflow's
    tables (``experiments``, ``runs``, ``tags``, ``latest_metrics``), without MLflow.

    None when the store is not a database URI, the SQLite file does not exist, or the query
    fails (e.g. a future schema): the caller then uses ``search_runs``.
    """
    scheme = uri.split(":", 1)[0].split("+", 1)[0]
    if scheme not in _SQL_SCHEMES:
        return None
    db = sqlite_path(uri)
    if scheme == "sqlite" and (db is None or not db.is_file()):
        return None
    try:
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        engine = sa.create_engine(uri, poolclass=NullPool)
    except Exception as exc:  # noqa: BLE001 - no SQLAlchemy or no driver for this database
        _log.debug("leaderboard: no SQL access to %s (%s)", uri, exc)
        return None
    # runs of the experiment that are active and tagged evaluated
    evaluated = ("SELECT r.run_uuid FROM runs r JOIN tags s ON s.run_uuid = r.run_uuid "
                 "WHERE r.experiment_id = :exp AND r.lifecycle_stage = 'active' "
                 "AND s.key = :state_key AND s.value = 'evaluated'")
    q_exp = sa.text("SELECT experiment_id FROM experiments WHERE name = :name")
    q_runs = sa.text(f"SELECT run_uuid, start_time, end_time FROM runs "
                     f"WHERE run_uuid IN ({evaluated})")
    q_tags = sa.text(f"SELECT run_uuid, key, value FROM tags WHERE key IN :keys "
                     f"AND run_uuid IN ({evaluated})").bindparams(
                         sa.bindparam("keys", expanding=True))
    q_metrics = sa.text(f"SELECT run_uuid, key, value, is_nan FROM latest_metrics "
                        f"WHERE run_uuid IN ({evaluated})")

    def read() -> list[_Run] | None:
        with engine.connect() as conn:
            exp_ids = conn.execute(q_exp, {"name": experiment}).scalars().all()
            if len(exp_ids) > 1:  # the same name in several workspaces: let MLflow resolve
                return None
            if not exp_ids:
                return []
            args = {"exp": exp_ids[0], "state_key": TAG_STATE}
            runs = {rid: _Run(rid, start or 0, end, {}, {})
                    for rid, start, end in conn.execute(q_runs, args)}
            for rid, key, value in conn.execute(q_tags, args | {"keys": _LEADERBOARD_TAGS}):
                runs[rid].tags[key] = value
            for rid, key, value, is_nan in conn.execute(q_metrics, args):
                runs[rid].metrics[key] = math.nan if is_nan else float(value)
            return list(runs.values())

    try:
        return with_retry(read)
    except sa.exc.SQLAlchemyError as exc:
        _log.warning("leaderboard: reading %s with SQL failed (%s); using search_runs",
                     uri, exc)
        return None
    finally:
        engine.dispose()


@dataclass
class RunsTable:
    models: list[str]
    columns: list[tuple[str, str]]  # (dataset, modality)
    results: dict[Cell, CellResult]

    @classmethod
    def build(cls, cells: list[Cell], results: dict[Cell, CellResult]) -> RunsTable:
        models = sorted({c.model for c in cells})
        columns = sorted({(c.dataset, c.modality) for c in cells})
        return cls(models, columns, results)

    def get(self, model: str, col: tuple[str, str]) -> CellResult | None:
        return self.results.get(Cell(col[0], col[1], model))

    def best(self, col: tuple[str, str]) -> float | None:
        vals = [r.value for m in self.models if (r := self.get(m, col)) and not math.isnan(r.value)]
        return max(vals) if vals else None

    def _cell_text(self, model: str, col: tuple[str, str], bold: tuple[str, str],
                   pm: str) -> str:
        r = self.get(model, col)
        if r is None or math.isnan(r.value):
            return "–"
        scale = 100.0 if r.scale == "fraction" else 1.0  # everything shown in percent
        text = f"{r.value * scale:.1f}"
        if r.half_width is not None:
            text += f"{pm}{r.half_width * scale:.1f}"
        best = self.best(col)
        if best is not None and r.value == best and len(self.models) > 1:
            text = f"{bold[0]}{text}{bold[1]}"
        return text

    def markdown(self) -> str:
        head = ["model", *(f"{d} / {m}" for d, m in self.columns)]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for model in self.models:
            row = [model, *(self._cell_text(model, c, ("**", "**"), " ± ") for c in self.columns)]
            lines.append("| " + " | ".join(row) + " |")
        note = ("Each run's headline statistic (its dataset protocol's: OKS AP, PCK Mean, "
                "PCKh Mean or mAP Total) in percent on the primary evaluation set with "
                "ground-truth boxes and official annotations; ± is the half-width of the 95 % "
                "bootstrap interval; **bold** = best in its column. The per-protocol tables "
                "are in leaderboard.md.")
        return "\n".join(["# mpbench runs (MLflow)", "", *lines, "", note, ""])

    def latex(self) -> str:
        cols = "l" + "c" * len(self.columns)
        head = " & ".join(["Model", *(f"{_tex(d)} / {_tex(m)}" for d, m in self.columns)])
        body = [" & ".join([_tex(m), *(self._cell_text(m, c, (r"\textbf{", "}"), r" $\pm$ ")
                                       for c in self.columns)]) + r" \\" for m in self.models]
        return "\n".join([r"\begin{tabular}{" + cols + "}", r"\toprule", head + r" \\",
                          r"\midrule", *body, r"\bottomrule", r"\end{tabular}", ""])

    def csv(self) -> str:
        buf = io.StringIO()
        fields = ["model", "dataset", "modality", "headline", *CSV_METRICS,
                  "headline_ci95_low", "headline_ci95_high", "best_in_column", "run_id"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for model in self.models:
            for col in self.columns:
                r = self.get(model, col)
                row = {"model": model, "dataset": col[0], "modality": col[1]}
                if r is not None:
                    row |= {"headline": r.headline, "run_id": r.run_id,
                            "best_in_column": r.value == self.best(col)}
                    row |= {k: _num(r.metrics.get(k)) for k in CSV_METRICS}
                    row["headline_ci95_low"] = _num(r.metrics.get(f"{r.headline}_ci95_low"))
                    row["headline_ci95_high"] = _num(r.metrics.get(f"{r.headline}_ci95_high"))
                writer.writerow(row)
        return buf.getvalue()

    def write(self, out_dir: Path, stem: str = "runs") -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for ext, text in (("md", self.markdown()), ("csv", self.csv()), ("tex", self.latex())):
            paths.append(write_text_atomic(out_dir / f"{stem}.{ext}", text))
        return paths


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def _tex(s: str) -> str:
    return s.replace("_", r"\_")
