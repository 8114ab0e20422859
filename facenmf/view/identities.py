"""Per-identity results of a recognition experiment: the confusion matrix and each person's
accuracy."""

from __future__ import annotations

import re

import numpy as np
from matplotlib.figure import Figure

from ._common import DPI, finish

__all__ = ["confusion_matrix", "identity_accuracy"]


def _rows(report, condition):
    if not hasattr(report, "results") or not hasattr(report, "identities"):
        raise TypeError(f"report: expected a RecognitionReport (recognition.evaluate), got "
                        f"{type(report).__name__}")
    rows = [r for r in report.results if r["condition"] == condition and "confusion" in r]
    if not rows:
        known = sorted({r["condition"] for r in report.results})
        raise ValueError(f"condition: expected one of {known}, got {condition!r}")
    return rows


def _pick(rows, method, metric):
    """The row of ``method`` (default: the tuned NMF pipeline, else the first) and ``metric``
    (default: the method's best)."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    if method is None:
        method = "tuned" if "tuned" in methods else methods[0]
    mine = [r for r in rows if r["method"] == method]
    if not mine:
        raise ValueError(f"method: expected one of {methods}, got {method!r}")
    if metric is not None:
        mine = [r for r in mine if r["metric"] == metric]
        if not mine:
            raise ValueError(f"metric: {method!r} has no results with metric {metric!r}")
    return max(mine, key=lambda r: r["mean"])


def _natural(names):
    """The order of ``names`` with their numbers compared as numbers (s2 before s10)."""
    def key(i):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", names[i])]
    return sorted(range(len(names)), key=key)


def _label_size(n):
    """Points of the names of ``n`` identities along an axis: 7, smaller from about 47 on
    (the figures give each name about 0.15 inch at 50), never below 5.5."""
    return float(np.clip(330 / max(n, 1), 5.5, 7))


def _ticks(ax, names, axis):
    """Every identity's name when they fit, else every n-th."""
    n = len(names)
    step = max(1, int(np.ceil(n / 50)))
    pos = np.arange(0, n, step)
    size = _label_size(n)
    if axis == "x":
        ax.set_xticks(pos, [names[i] for i in pos], rotation=90, fontsize=size)
    else:
        ax.set_yticks(pos, [names[i] for i in pos], fontsize=size)


def confusion_matrix(report, *, method=None, condition="clean", metric=None, path=None):
    """The confusion matrix of one method, metric and probe condition, over all splits.

    Parameters
    ----------
    report : facenmf.recognition.RecognitionReport
    method : str, optional
        Default: ``"tuned"`` (the NMF pipeline with settings chosen on the gallery) when
        the report has it, else its first method.
    condition : str
        Probe condition ("clean", "block:0.25", ...).
    metric : str, optional
        Default: the method's most accurate metric.
    path : str or os.PathLike, optional
        Also save the figure there.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: each identity's probes; columns: who they were taken for; each row as the
        fraction of that identity's probes (the diagonal is its accuracy). Off-diagonal
        cells that are not empty are outlined, so that rare mistakes stay visible.
    """
    row = _pick(_rows(report, condition), method, metric)
    order = _natural(list(report.identities))
    C = np.zeros((len(order), len(order)))
    for i, j, count in row["confusion"]:  # the sparse counts [i, j, count]
        C[i, j] += count
    C = C[np.ix_(order, order)]
    names = [report.identities[i] for i in order]
    totals = C.sum(axis=1, keepdims=True)
    F = np.divide(C, totals, out=np.zeros_like(C), where=totals > 0)
    n = len(names)
    side = min(9.0, max(4.0, 0.16 * n + 2.5))
    fig = Figure(figsize=(side + 1.0, side), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(F, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    wrong_r, wrong_c = np.nonzero((C > 0) & ~np.eye(n, dtype=bool))
    ax.scatter(wrong_c, wrong_r, s=max(4, 900 / n), facecolors="none", edgecolors="tab:red",
               linewidths=0.8, marker="s", label="mistakes")
    _ticks(ax, names, "x")
    _ticks(ax, names, "y")
    ax.set_xlabel("taken for")
    ax.set_ylabel("identity of the probe")
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the identity's probes")
    mistakes = int(C.sum() - np.trace(C))
    ax.set_title(f"{row['method']} ({row['metric']}), {condition} probes: "
                 f"{100 * row['mean']:.1f}% over {row['splits']} splits, "
                 f"{mistakes} of {int(C.sum())} probes mistaken", fontsize=9)
    return finish(fig, path)


def identity_accuracy(report, *, condition="clean", methods=None, path=None):
    """Each identity's accuracy, per method (its best metric), over all splits.

    Parameters
    ----------
    report : facenmf.recognition.RecognitionReport
    condition : str
    methods : sequence of str, optional
        Default: every method in the report (the tuned rows included).
    path : str or os.PathLike, optional

    Returns
    -------
    matplotlib.figure.Figure
        One row of dots per method, identities along x sorted by the first method's
        accuracy (hardest first), so that the people every method finds hard stand out.
    """
    rows = _rows(report, condition)
    wanted = methods or list(dict.fromkeys(r["method"] for r in rows))
    picked = [_pick(rows, m, None) for m in wanted]
    names = list(report.identities)
    acc = np.array([[np.nan if a is None else a for a in r["per_identity"]] for r in picked])
    order = np.argsort(np.nan_to_num(acc[0], nan=2.0), kind="stable")
    n = len(names)
    fig = Figure(figsize=(min(12.0, max(5.0, 0.18 * n + 2)), 3.6), dpi=DPI,
                 layout="constrained")
    ax = fig.subplots()
    x = np.arange(n)
    for i, (r, a) in enumerate(zip(picked, acc)):
        offset = (i - (len(picked) - 1) / 2) * min(0.15, 0.8 / len(picked))
        ax.plot(x + offset, 100 * a[order], "o", ms=4,
                label=f"{r['method']} ({r['metric']}): {100 * r['mean']:.1f}%")
    ax.set_xticks(x, [names[i] for i in order], rotation=90, fontsize=_label_size(n))
    ax.set_ylabel("accuracy (%)")
    ax.set_xlabel("identity (hardest for the first method first)")
    ax.set_ylim(-3, 103)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(f"Accuracy per identity, {condition} probes, over "
                 f"{picked[0]['splits']} splits", fontsize=9)
    return finish(fig, path)
