"""The report's charts as inline SVG, drawn by matplotlib (no JavaScript, no network).

Each function returns an ``<svg>`` string (the XML prolog and DOCTYPE removed) that the page
embeds directly; matplotlib's SVG keeps text as paths, so the page renders the same without
fonts. Missing values (NaN) are drawn as gaps, never as zeros.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np

#: One colour per modality, stable across charts (matplotlib's tab10 order).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "svg.hashsalt": "mpbench",
                         "font.size": 9})
    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    return re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.S)


def grouped_bars(models: Sequence[str], groups: Sequence[str], values: np.ndarray,
                 low: np.ndarray, high: np.ndarray, ylabel: str, title: str) -> str:
    """Bars per model (x), one per group (modality), with interval whiskers.

    ``values``/``low``/``high``: models x groups (NaN: not run)."""
    plt = _pyplot()
    n, g = len(models), len(groups)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * n * max(g, 1) * 0.5 + 2), 3.0))
    width = 0.8 / max(g, 1)
    x = np.arange(n)
    for j, group in enumerate(groups):
        v = values[:, j]
        err = np.vstack([v - low[:, j], high[:, j] - v])
        err = np.where(np.isfinite(err), np.maximum(err, 0), 0)
        ax.bar(x + (j - (g - 1) / 2) * width, np.nan_to_num(v, nan=0.0), width,
               label=group, color=PALETTE[j % len(PALETTE)],
               yerr=err, capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_xticks(x, models, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=min(g, 5), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: np.ndarray, title: str,
            label: str) -> str:
    """A rows x cols heatmap in [0, 1] with the values written in the cells."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(cols) + 2), 0.4 * len(rows) + 1.4))
    masked = np.ma.masked_invalid(values)
    im = ax.imshow(masked, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, label=label, fraction=0.03)
    ax.set_title(title)
    return _svg(fig)


def scatter(a: np.ndarray, b: np.ndarray, xlabel: str, ylabel: str, title: str) -> str:
    """Per-image scores of two modalities, with the diagonal (equal scores)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.plot([0, 1], [0, 1], color="#999", linewidth=0.8)
    ax.scatter(a, b, s=8, alpha=0.6, color=PALETTE[0])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def curves(levels: Sequence[str], series: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
           ylabel: str, title: str) -> str:
    """A headline against an ordered ladder of conditions, one line per model, with the
    interval as a band."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    x = np.arange(len(levels))
    for i, (name, (v, lo, hi)) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(x, v, marker="o", color=colour, label=name)
        ax.fill_between(x, lo, hi, color=colour, alpha=0.15, linewidth=0)
    ax.set_xticks(x, levels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
