"""Figures of recognition experiments: accuracies, accuracy against rank, nearest faces."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .. import _validation as v
from ._common import DPI, GREY, bare, finish, grey_limit, suptitle

__all__ = ["accuracy_vs_rank", "nearest_faces", "recognition_results"]

_METHOD_COLOURS = {"nmf": "tab:blue", "snmf": "tab:purple", "pca": "tab:orange",
                   "raw": "tab:green"}
#: Line style and marker of each probe condition in accuracy_vs_rank, in order.
_CONDITION_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"),
                     ((0, (5, 1, 1, 1, 1, 1)), "v"), ((0, (1, 3)), "P"))


def _condition_text(condition, mask, sep=" "):
    return condition + (f"{sep}({mask} mask)" if mask else "")


def _protocol_text(report):
    """``"2 splits of 5 training faces per identity"`` or ``"10 leave-one-out folds"``."""
    p = report.protocol
    n = p["splits"]
    what = ("split" if p["name"] == "split" else "leave-one-out fold") + ("s" if n != 1 else "")
    return f"{n} {what}" + (f" of {p['train_per_identity']} training faces per identity"
                            if p.get("train_per_identity") else "")


def _results_of(name, report):
    results = getattr(report, "results", None)
    if not isinstance(results, list) or not results:
        raise ValueError(f"{name}: expected a RecognitionReport with results, got "
                         f"{type(report).__name__}" + (" without results" if
                                                       isinstance(results, list) else ""))
    return results


def recognition_results(report, *, path=None):
    """Accuracy of each method under each probe condition, as grouped bars with ± std.

    Parameters
    ----------
    report : facenmf.recognition.RecognitionReport
        Results of :func:`facenmf.recognition.evaluate`.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric; bars per method, grouped by condition; the mean accuracy
        written on each bar. The legend (one colour per method) sits above the panels,
        outside them, so it covers no bar; the title is wrapped to the figure's width.
    """
    results = _results_of("report", report)
    metrics = list(dict.fromkeys(r["metric"] for r in results))
    methods = list(dict.fromkeys(r["method"] for r in results))
    conditions = list(dict.fromkeys((r["condition"], r["mask"]) for r in results))
    fig = Figure(figsize=(max(4.5, 1.2 * len(conditions) * len(methods) ** 0.5 + 2),
                          3.2 * len(metrics) + 0.5), layout="constrained", dpi=DPI)
    axes = fig.subplots(len(metrics), 1, squeeze=False)[:, 0]
    width = 0.8 / len(methods)
    for ax, metric in zip(axes, metrics):
        for i, method in enumerate(methods):
            means, stds = [], []
            for cond in conditions:
                r = next((r for r in results if r["metric"] == metric and r["method"] == method
                          and (r["condition"], r["mask"]) == cond), None)
                means.append(np.nan if r is None else 100 * r["mean"])
                stds.append(0 if r is None else 100 * r["std"])
            x = np.arange(len(conditions)) + (i - (len(methods) - 1) / 2) * width
            bars = ax.bar(x, means, width, yerr=stds, capsize=2, label=method.upper(),
                          color=_METHOD_COLOURS.get(method))
            ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.1f}" for m in means],
                         fontsize=7, padding=2)
        ax.set_xticks(np.arange(len(conditions)),
                      [_condition_text(c, m, "\n") for c, m in conditions], fontsize=8)
        ax.set_ylim(0, 110)
        ax.set_ylabel(f"accuracy (%), {metric}")
        ax.grid(axis="y", alpha=0.3)
    # Above the first panel, outside it (the layout makes room): it covers no bar.
    axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(methods),
                   fontsize=8, frameon=False, borderaxespad=0.3)
    suptitle(fig, f"1-NN identification, rank {report.rank}, {_protocol_text(report)}", 10)
    return finish(fig, path)


def accuracy_vs_rank(rows, *, path=None):
    """Mean accuracy (± std) against rank: a panel per metric, a line per method and condition.

    Parameters
    ----------
    rows : list of (int, RecognitionReport)
        As returned by :func:`facenmf.recognition.accuracy_vs_rank`; every metric of the
        reports is drawn.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric (titled with it, a shared accuracy axis); in each, one colour
        per method and one line style and marker per probe condition, the measured ranks
        as ticks; the legend on the right, outside the panels.

    Raises
    ------
    ValueError
        No rows, or a report without results.
    """
    rows = sorted(rows, key=lambda r: r[0])
    if not rows:
        raise ValueError("rows: expected at least one (rank, report) pair, got none")
    for i, (_, rep) in enumerate(rows):
        _results_of(f"rows[{i}]", rep)
    everything = [r for _, rep in rows for r in rep.results]
    metrics = list(dict.fromkeys(r["metric"] for r in everything))
    keys = list(dict.fromkeys((r["method"], r["condition"], r["mask"]) for r in everything))
    conditions = list(dict.fromkeys((c, m) for _, c, m in keys))
    ranks = [rank for rank, _ in rows]
    fig = Figure(figsize=(4.2 * len(metrics) + 2.3, max(3.8, 0.19 * len(keys) + 1.2)),
                 layout="constrained", dpi=DPI)
    axes = fig.subplots(1, len(metrics), squeeze=False, sharey=True)[0]
    for ax, metric in zip(axes, metrics):
        for method, cond, mask in keys:
            means, stds = [], []
            for _, rep in rows:
                r = next((r for r in rep.results if (r["method"], r["condition"], r["mask"],
                                                     r["metric"]) == (method, cond, mask, metric)),
                         None)
                means.append(np.nan if r is None else 100 * r["mean"])
                stds.append(np.nan if r is None else 100 * r["std"])
            if np.isnan(means).all():
                continue
            ls, marker = _CONDITION_STYLES[conditions.index((cond, mask))
                                           % len(_CONDITION_STYLES)]
            ax.errorbar(ranks, means, yerr=stds, ls=ls, marker=marker, ms=4, capsize=2,
                        lw=1.4, color=_METHOD_COLOURS.get(method),
                        label=f"{method.upper()}, {_condition_text(cond, mask)}")
        ax.set_title(f"{metric} metric", fontsize=10)
        ax.set_xlabel("rank (basis images / eigenfaces)")
        ax.set_xticks(ranks, [str(r) for r in ranks])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%), 1-NN")
    axes[0].set_ylim(0, 102)
    labelled = {}
    for ax in axes:  # every line once, even one missing from the first panel
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labelled.setdefault(label, handle)
    # Beside the last panel, outside it (the layout makes room, below the title).
    axes[-1].legend(list(labelled.values()), list(labelled), loc="upper left",
                    bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=7)
    suptitle(fig, f"Accuracy against rank, {_protocol_text(rows[0][1])}", 10)
    return finish(fig, path)


def nearest_faces(faces, report, *, n=None, path=None):
    """Sample probes (as the recognizer saw them) and each method's nearest gallery face,
    under every probe condition of the report.

    Parameters
    ----------
    faces : FaceSet
        The faces the report was computed on.
    report : facenmf.recognition.RecognitionReport
        Its ``examples`` (from the first split) are drawn.
    n : int, optional
        Probes shown per condition, spread evenly over the split; the same probes under
        each condition. Default 6 for one condition, else 3.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        A group of rows per probe condition, headed by its name; in each, one row per
        probe: the probe, then per method its nearest gallery face, titled right (✓) or
        wrong (✗, in red). The title names the metric the neighbours were found by.
    """
    ex = getattr(report, "examples", None) or {}
    groups = ex.get("conditions")
    if not groups:
        raise ValueError("report: expected a RecognitionReport with examples (from "
                         "facenmf.recognition.evaluate), found none")
    n = v.check_int("n", n, low=1, allow_none=True)
    if n is None:
        n = 6 if len(groups) == 1 else 3
    methods = list(groups[0]["nearest"])
    n_probes = len(ex["probe_index"])
    # Probes spread over the split (different identities), not its first n.
    picks = np.unique(np.linspace(0, n_probes - 1, min(n, n_probes)).round().astype(int))
    n = len(picks)
    shape = faces.image_shape
    A = np.asarray(faces.A)
    labels = faces.labels
    lim = grey_limit(A[:, :1])
    size = 1.3 * max(1.0, shape[1] / shape[0])
    head = 0.3 if len(groups) > 1 else 0.0  # room for each group's heading
    fig = Figure(figsize=(max(size * (1 + len(methods)), 4.0),
                          len(groups) * (1.45 * n + head) + 0.55),
                 layout="constrained", dpi=DPI)
    panels = fig.subfigures(len(groups), 1, squeeze=False)[:, 0] if len(groups) > 1 else [fig]
    for panel, group in zip(panels, groups):
        axes = panel.subplots(n, 1 + len(methods), squeeze=False)
        for i, p in enumerate(picks):
            ax = axes[i, 0]
            ax.imshow(group["probes"][:, p].reshape(shape), cmap=GREY, vmin=0, vmax=lim)
            bare(ax)
            ax.set_ylabel(f"probe ({labels[ex['probe_index'][p]]})", fontsize=8)
            for c, method in enumerate(methods, start=1):
                g = group["nearest"][method][p]
                ax = axes[i, c]
                ax.imshow(A[:, g].reshape(shape), cmap=GREY, vmin=0, vmax=lim)
                bare(ax)
                ok = bool(group["correct"][method][p])
                ax.set_title(f"{method.upper()}: {labels[g]} {'✓' if ok else '✗'}",
                             fontsize=8, color="black" if ok else "tab:red")
        if len(groups) > 1:
            panel.suptitle(f"probes: {_condition_text(group['condition'], group['mask'])}",
                           fontsize=9, fontweight="bold")
    what = (f"probes {_condition_text(groups[0]['condition'], groups[0]['mask'])}, "
            if len(groups) == 1 else "")
    suptitle(fig, f"Nearest gallery face of each method by {ex['metric']} distance, {what}"
                   f"rank {report.rank}, first split", 10)
    return finish(fig, path)
