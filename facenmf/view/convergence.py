"""The error of fits against time and iterations."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .. import _validation as v
from ._common import DPI, finish, human

__all__ = ["convergence"]


def _history_of(item, i):
    hist = getattr(item, "history", item)
    if not (hasattr(hist, "seconds") and hasattr(hist, "error")):
        raise TypeError(f"histories: item {i} is {type(item).__name__}, expected a "
                        "Factorization or a History")
    seconds = np.asarray(hist.seconds, dtype=np.float64).ravel()
    error = np.asarray(hist.error, dtype=np.float64).ravel()
    if seconds.shape != error.shape or seconds.size == 0:
        raise ValueError(f"histories: item {i} has {seconds.size} times and {error.size} "
                         "errors; expected the same non-zero number")
    return seconds, error


def _minor_labels(mantissas):
    """Label log-axis minor ticks whose leading digit is in ``mantissas`` (0.2, 0.5, 2...)."""
    def label(y, _):
        if y <= 0:
            return ""
        lead = round(y / 10 ** math.floor(math.log10(y) + 1e-9), 6)
        return human(y) if lead in mantissas else ""
    return FuncFormatter(label)


def convergence(histories, *, labels=None, x="seconds", path=None):
    """Plot the relative error of fits against time and/or iterations (log-scale error).

    Parameters
    ----------
    histories : Factorization, History, or list of them
        Fits from :func:`facenmf.nmf` (their ``.history`` is used) or their histories.
    labels : list of str, optional
        One legend entry per run; default the solver name (with the init, and a number if
        needed to tell runs apart), or ``"run i"`` for a bare History.
    x : {"seconds", "iteration", "both"}
        Horizontal axis: wall-clock seconds, iteration number (0 is the initialization),
        or both side by side (left seconds, right iterations).
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One line per run, error on a log scale. For ``loss="kl"`` fits the curve is the
        relative KL divergence ``D(A || WH) / sum(A)`` (as in :class:`facenmf.History`); the
        axis label says so.

    Raises
    ------
    ValueError
        No runs, ``labels`` of the wrong length, unknown ``x``.
    TypeError
        An item that is neither a Factorization nor a History.

    Examples
    --------
    >>> import numpy as np, facenmf
    >>> A = np.random.default_rng(0).random((30, 20))
    >>> fits = [facenmf.nmf(A, 3, solver=s, tol=1e-3) for s in ("hals", "mu")]
    >>> fig = convergence(fits, x="both")
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['seconds', 'iteration']
    """
    if hasattr(histories, "history") or (hasattr(histories, "seconds")
                                         and hasattr(histories, "error")):
        histories = [histories]
    if isinstance(histories, (str, bytes)) or not hasattr(histories, "__iter__"):
        raise TypeError(f"histories: expected a list of Factorization or History, "
                        f"got {type(histories).__name__}")
    histories = list(histories)
    if not histories:
        raise ValueError("histories: expected at least one run, got an empty list")
    curves = [_history_of(item, i) for i, item in enumerate(histories)]
    v.check_choice("x", x, ("seconds", "iteration", "both"))
    if labels is None:
        labels = []
        for i, item in enumerate(histories):
            solver = getattr(item, "solver", None)
            labels.append(f"{solver} ({getattr(item, 'init', '?')})" if solver else f"run {i}")
        for name in set(labels):
            same = [i for i, lab in enumerate(labels) if lab == name]
            if len(same) > 1:
                for k, i in enumerate(same, 1):
                    labels[i] = f"{name} #{k}"
    else:
        if isinstance(labels, (str, bytes)):
            raise TypeError("labels: expected a list of str, got a single string")
        labels = [str(lab) for lab in labels]
        if len(labels) != len(curves):
            raise ValueError(f"labels: expected {len(curves)} labels (one per run), "
                             f"got {len(labels)}")
    losses = {getattr(item, "loss", "frobenius") for item in histories}
    ylabel = {frozenset({"frobenius"}): "relative error ‖A − WH‖ / ‖A‖",
              frozenset({"kl"}): "relative KL divergence D(A ‖ WH) / ΣA"}.get(
                  frozenset(losses), "error (relative Frobenius, or relative KL)")

    kinds = ["seconds", "iteration"] if x == "both" else [x]
    fig = Figure(figsize=(4.6 * len(kinds) + 0.4, 3.6), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False, sharey=True)[0]
    positive = np.concatenate([e[e > 0] for _, e in curves])
    span = positive.max() / positive.min() if positive.size else 1.0
    for i, (ax, kind) in enumerate(zip(axes, kinds)):
        for (seconds, error), label in zip(curves, labels):
            xs = seconds if kind == "seconds" else np.arange(error.size)
            keep = error > 0  # log scale: an exact fit's zero cannot be drawn
            ax.plot(xs[keep], error[keep], label=label, lw=1.5,
                    marker="." if error.size <= 40 else None, ms=4)
        ax.set_yscale("log")
        if span < 100:  # within two decades: plain numbers read better than 4×10⁻¹
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: human(y)))
            ax.yaxis.set_minor_formatter(_minor_labels((2, 3, 5) if span < 10 else (2, 5)))
        ax.set_xlabel("seconds" if kind == "seconds" else "iteration")
        if i == 0:
            ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"error against {'time' if kind == 'seconds' else 'iterations'}",
                     fontsize=10)
    axes[0].legend(fontsize="small")
    return finish(fig, path)
