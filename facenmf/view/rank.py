"""Held-out error against rank: the figure of :func:`facenmf.choose_rank`."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._common import DPI, finish

__all__ = ["rank_selection"]


def rank_selection(selection, *, path=None):
    """Held-out and training error against rank, with the chosen rank marked.

    Parameters
    ----------
    selection : facenmf.RankSelection
        The result of :func:`facenmf.choose_rank`.
    path : str or os.PathLike, optional
        Also save the figure there (format by extension).

    Returns
    -------
    matplotlib.figure.Figure
        The mean relative error on the held-out entries per rank with one standard error
        either side (over the repeats), each repeat's value as a dot, the error on the
        entries the fits saw for comparison (it only falls with rank), and the chosen rank.
    """
    if not all(hasattr(selection, a) for a in ("ranks", "errors", "train_errors", "rank")):
        raise TypeError(f"selection: expected a RankSelection (facenmf.choose_rank), got "
                        f"{type(selection).__name__}")
    ranks = np.asarray(selection.ranks)
    fig = Figure(figsize=(6.0, 3.8), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    mean, se = selection.mean, selection.se
    repeats = selection.errors.shape[1]
    for j in range(repeats):
        ax.plot(ranks, selection.errors[:, j], "o", color="tab:blue", alpha=0.35, ms=4,
                label="held-out entries, each repeat" if j == 0 else None)
    ax.errorbar(ranks, mean, yerr=se if repeats > 1 else None, color="tab:blue", lw=2,
                capsize=4, label="held-out entries, mean" + (" ± 1 s.e." if repeats > 1
                                                             else ""))
    ax.plot(ranks, selection.train_errors.mean(axis=1), "--", color="tab:grey",
            label="entries the fit saw (mean)")
    ax.axvline(selection.rank, color="tab:red", lw=1)
    best = list(ranks).index(selection.rank)
    last = best == len(ranks) - 1  # the label goes inside the axes
    ax.annotate(f"chosen: {selection.rank}\n(rule {selection.rule})",
                (selection.rank, mean[best]), xytext=(-8 if last else 8, 12),
                textcoords="offset points", ha="right" if last else "left",
                color="tab:red", fontsize=9)
    ax.set_xlabel("rank")
    ax.set_ylabel("relative error")
    ax.set_xticks(ranks)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"Choosing the rank: {100 * selection.holdout:g}% of the entries held out, "
                 f"{repeats} repeat{'s' if repeats > 1 else ''}", fontsize=10)
    return finish(fig, path)
