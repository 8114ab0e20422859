"""Image quality against bytes per face, one line per codec setting."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ._common import DPI, finish

__all__ = ["rate_distortion"]

_RD_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_RD_LINES = ("-", "--", ":", "-.")


def rate_distortion(rows, path=None, *, xlabel="bytes per face", title=None):
    """Plot image quality (PSNR, and SSIM) against bytes per face, one line per codec setting.

    Parameters
    ----------
    rows : iterable of dict
        One dict per measured point, with ``"method"`` (str, e.g. ``"facenmf"``,
        ``"PCA"``, ``"JPEG"``), ``"bytes_per_face"`` (> 0), ``"psnr"`` (dB, finite) and
        optionally ``"ssim"``, ``"rank"`` (int or None) and ``"label"`` (short text written
        beside the point, e.g. ``"q50"``). Points of the same method and rank are joined
        in order of bytes.
    path : str or os.PathLike, optional
        Also save the figure there as a PNG.
    xlabel : str
        Label of the (logarithmic) x axis: say which bytes are counted.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        PSNR against bytes per face, and SSIM beside it when every row has ``"ssim"``; one
        colour per method, one marker and line style per rank; the legend on the right.

    Raises
    ------
    ValueError
        No rows, a row without the required keys, non-positive bytes or a non-finite PSNR.
    TypeError
        ``rows`` not an iterable of dicts.

    Examples
    --------
    >>> rows = [{"method": "JPEG", "bytes_per_face": b, "psnr": p, "ssim": s, "label": q}
    ...         for b, p, s, q in ((900, 28.0, 0.80, "q10"), (1500, 32.0, 0.90, "q30"))]
    >>> rows += [{"method": "facenmf", "rank": 49, "bytes_per_face": b, "psnr": p, "ssim": s}
    ...          for b, p, s in ((30, 25.0, 0.70), (45, 25.5, 0.72))]
    >>> fig = rate_distortion(rows)
    >>> len(fig.axes)
    2
    """
    if isinstance(rows, (str, bytes, dict)) or not hasattr(rows, "__iter__"):
        raise TypeError(f"rows: expected an iterable of dicts, got {type(rows).__name__}")
    rows = list(rows)
    if not rows:
        raise ValueError("rows: expected at least one measured point, got none")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise TypeError(f"rows[{i}]: expected a dict, got {type(row).__name__}")
        missing = [k for k in ("method", "bytes_per_face", "psnr") if k not in row]
        if missing:
            raise ValueError(f"rows[{i}]: expected keys method, bytes_per_face and psnr; "
                             f"missing {', '.join(missing)}")
        if not (np.isfinite(row["bytes_per_face"]) and row["bytes_per_face"] > 0):
            raise ValueError(f"rows[{i}]: expected bytes_per_face > 0, got "
                             f"{row['bytes_per_face']!r}")
        if not np.isfinite(row["psnr"]):
            raise ValueError(f"rows[{i}]: expected a finite psnr, got {row['psnr']!r}")
    with_ssim = all(row.get("ssim") is not None for row in rows)

    methods = list(dict.fromkeys(str(row["method"]) for row in rows))
    ranks = sorted({row.get("rank") for row in rows if row.get("rank") is not None})
    colours = colormaps["tab10"].colors
    series = {}
    for row in rows:
        series.setdefault((str(row["method"]), row.get("rank")), []).append(row)

    panels = [("psnr", "PSNR (dB)")] + ([("ssim", "SSIM")] if with_ssim else [])
    fig = Figure(figsize=(5.2 * len(panels) + 1.6, 4.4), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, ylabel) in zip(axes, panels):
        for (method, rank), points in series.items():
            points = sorted(points, key=lambda r: r["bytes_per_face"])
            k = ranks.index(rank) if rank is not None else None
            ax.plot([p["bytes_per_face"] for p in points], [p[key] for p in points],
                    color=colours[methods.index(method) % len(colours)],
                    marker=_RD_MARKERS[k % len(_RD_MARKERS)] if k is not None else ".",
                    ls=_RD_LINES[k % len(_RD_LINES)] if k is not None else "-",
                    lw=1.4, ms=5, label=method + (f", rank {rank}" if rank is not None else ""))
            for p in points:
                if p.get("label"):
                    ax.annotate(str(p["label"]), (p["bytes_per_face"], p[key]),
                                textcoords="offset points", xytext=(3, -9), fontsize=6.5,
                                color="0.3")
        ax.set_xscale("log")
        ax.margins(x=0.08)  # room for the point labels at the ends
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(
            lambda x, _: f"{x:,.0f}" if x > 0 and round(x / 10 ** math.floor(
                math.log10(x) + 1e-9)) in (2, 5) else ""))
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    if title:
        fig.suptitle(title, fontsize=10)
    return finish(fig, path)
