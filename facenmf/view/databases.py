"""Figure of recognition across databases: the tuned NMF pipeline beside PCA and raw pixels."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._common import DPI, finish, suptitle

__all__ = ["database_results"]

# The tuned NMF pipeline, then the baselines (their metric tuned, and best in hindsight),
# then the best of the face NMF variants (when they were run).
_BARS = (("tuned", "tuned", "NMF, tuned", "tab:blue", None),
         ("pca", "tuned", "PCA, tuned metric", "tab:orange", None),
         ("pca", "best", "PCA, default settings, best metric in hindsight", "tab:orange",
          "//"),
         ("raw", "tuned", "raw pixels, tuned metric", "tab:green", None),
         ("raw", "best", "raw pixels, default settings, best metric in hindsight",
          "tab:green", "//"),
         (("nmfsc", "lnmf", "gnmf", "dnmf"), "best", "best NMF variant (NMFsc, LNMF, GNMF, "
          "DNMF), default settings, best metric in hindsight", "tab:purple", "//"))


def _value(results, method, kind, condition):
    methods = (method,) if isinstance(method, str) else method
    rows = [r for r in results if r["method"] in methods and r["condition"] == condition
            and ((r["metric"] == "tuned") == (kind == "tuned"))]
    if not rows:
        return np.nan, 0.0
    r = max(rows, key=lambda r: r["mean"])
    return 100 * r["mean"], 100 * r["std"]


def database_results(databases, *, path=None):
    """Accuracy per database and probe condition: grouped bars, one panel per database.

    Parameters
    ----------
    databases : list of dict
        As made by ``scripts/recognition_databases.py``: each with ``name``,
        ``image_shape``, ``spec`` (``train``, ``rank``, ``splits``) and ``results`` (the
        results of :func:`facenmf.recognition.evaluate` with ``tune=True``).
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per database; per condition the tuned NMF pipeline, PCA and raw pixels
        (their metric tuned; hatched: their default settings with the best metric in
        hindsight), ± std over the
        splits, the mean written above each bar; the legend above the panels.
    """
    if not databases:
        raise ValueError("databases: expected at least one database, got none")
    fig = Figure(figsize=(8.5, 2.9 * len(databases) + 0.8), layout="constrained", dpi=DPI)
    axes = fig.subplots(len(databases), 1, squeeze=False)[:, 0]
    width = 0.8 / len(_BARS)
    for ax, db in zip(axes, databases):
        results = db["results"]
        conditions = list(dict.fromkeys(r["condition"] for r in results))
        for i, (method, kind, label, colour, hatch) in enumerate(_BARS):
            vals = [_value(results, method, kind, c) for c in conditions]
            x = np.arange(len(conditions)) + (i - (len(_BARS) - 1) / 2) * width
            bars = ax.bar(x, [m for m, _ in vals], width, yerr=[s for _, s in vals],
                          capsize=2, color=colour, hatch=hatch, edgecolor="white",
                          linewidth=0.5, alpha=0.55 if hatch else 1.0, label=label)
            ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.0f}" for m, _ in vals],
                         fontsize=6.5, padding=1)
        ax.set_xticks(np.arange(len(conditions)), conditions, fontsize=8)
        ax.set_ylim(0, 112)
        ax.set_yticks([0, 25, 50, 75, 100])
        s = db["spec"]
        h, w = db["image_shape"]
        ax.set_title(f"{db['name']}: {h}x{w}, {s['train']} gallery faces per person, rank "
                     f"{s['rank']}, {s['splits']} splits", fontsize=9, loc="left")
        ax.set_ylabel("accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="lower center", bbox_to_anchor=(0.5, 1.12), ncols=3, fontsize=7.5,
                   frameon=False)
    suptitle(fig, "1-NN identification, occluded probes with the mask unknown; settings "
             "chosen on each split's gallery", 10)
    return finish(fig, path)
