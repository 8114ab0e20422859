"""facenmf.sklearn.NMF against scikit-learn's NMF with the same parameters, on ORL.

Usage::

    python scripts/bench_sklearn.py [--rank 49] [--solvers cd mu] [--repeat 3]
                                    [--blas-threads 1] [--shared ../shared/datasets]
                                    [--output BENCHMARKS.md]

``--output`` replaces this script's section of the file and keeps the others.

The drop-in use: ``X`` is ORL as scikit-learn sees it, 400 faces of 112x92 as rows (float32,
``load_faces("orl").A.T``, made C-contiguous before any clock starts). For each solver name,
both estimators are built with the same arguments, ``NMF(n_components=rank, solver=...,
random_state=0)``, every other parameter its default (init None = NNDSVDa, tol 1e-4,
max_iter 200: the two libraries read ``tol`` differently, see the estimator's docstring),
and ``fit_transform(X)`` is timed, best of ``--repeat``. Reported: seconds, ``n_iter_``,
``reconstruction_err_`` (scikit-learn's definition, ``||X - W H||_F``, on each one's own
factors), the error of each basis judged the same way (every face projected exactly onto
it, ``facenmf.project``, untimed) and how far ``fit_transform(X)`` is from
``transform(X)`` (max relative difference). One BLAS thread by default
(``threadpoolctl``), as the other benchmarks on this shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _report import write_section  # scripts/ is on sys.path when run
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import facenmf

ROOT = Path(__file__).resolve().parents[1]


def judged_error(X, components):
    """``||X - W C||_F`` with ``W`` the exact non-negative projection of X on ``C``."""
    H = facenmf.project(X.T, np.ascontiguousarray(components.T))
    R = X.T - components.T @ H
    return float(np.sqrt(np.einsum("ij,ij->", R, R, dtype=np.float64)))


def timed_fit(make, X, repeat):
    """Best wall time of ``make().fit_transform(X)`` over ``repeat`` runs; the last model
    and its output."""
    best, out = np.inf, None
    for _ in range(repeat):
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: reported below
            t = time.perf_counter()
            W = model.fit_transform(X)
            best = min(best, time.perf_counter() - t)
        out = (model, W)
    return best, out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="bench_sklearn.py", description=__doc__.split("\n")[0])
    p.add_argument("--rank", type=int, default=49)
    p.add_argument("--solvers", nargs="+", default=["cd", "mu"], choices=["cd", "mu"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--faces", type=int, default=None, help="use the first N faces only")
    p.add_argument("--blas-threads", type=int, default=1, help="0: OpenBLAS's own number")
    p.add_argument("--shared", type=Path, default=Path(os.environ.get(
        "FACENMF_DATA", ROOT.parent / "shared" / "datasets")))
    p.add_argument("--output", type=Path, default=None)
    args = p.parse_args(argv)

    import sklearn
    from sklearn.decomposition import NMF as SklearnNMF

    from facenmf.sklearn import NMF

    faces = facenmf.load_faces("orl", path=args.shared / "orl")
    X = np.ascontiguousarray(faces.A.T[:args.faces], dtype=np.float32)
    load_before = os.getloadavg()
    rows = []
    with threadpool_limits(limits=args.blas_threads or None, user_api="blas"):
        for solver in args.solvers:
            for name, cls in (("facenmf.sklearn.NMF", NMF), ("sklearn NMF", SklearnNMF)):
                secs, (model, W) = timed_fit(
                    lambda: cls(n_components=args.rank, solver=solver, random_state=0), X,
                    args.repeat)
                gap = float(np.abs(W - model.transform(X)).max() / np.abs(W).max())
                rows.append((solver, name, secs, model.n_iter_, model.reconstruction_err_,
                             judged_error(X, model.components_), gap))
                print(f"# {solver} {name}: {secs:.2f} s", file=sys.stderr)
    load_after = os.getloadavg()

    command = shlex.join(["python", "scripts/bench_sklearn.py", *argv])
    lines = [
        "## The scikit-learn estimator: `facenmf.sklearn.NMF` vs scikit-learn's `NMF`",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(shared: load average {load_before[0]:.1f} before the run, {load_after[0]:.1f} "
        f"after), {args.blas_threads or 'default'} BLAS thread(s); Python "
        f"{platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, facenmf {facenmf.__version__}.  ",
        f"Date: {time.strftime('%Y-%m-%d')}. Times: `fit_transform(X)`, best of "
        f"{args.repeat}, wall clock, in the same process.",
        "",
        f"ORL as scikit-learn sees it: X ({X.shape[0]} faces, {X.shape[1]} pixels), float32. "
        f"Both: `NMF(n_components={args.rank}, solver=..., random_state=0)`, every other "
        "parameter its default (tol 1e-4 and max_iter 200; each library reads tol its own "
        "way). `reconstruction_err_` is each one's own (scikit-learn's definition, "
        "`||X - W H||_F`); \"judged\" projects every face exactly onto each basis; the last "
        "column is `max|fit_transform(X) - transform(X)| / max|fit_transform(X)|`.",
        "",
        "| solver | estimator | seconds | n_iter_ | reconstruction_err_ | judged | "
        "fit_transform vs transform |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {s} | {n} | {t:.2f} | {i} | {e:.3f} | {j:.3f} | {g:.1e} |"
              for s, n, t, i, e, j, g in rows]
    lines.append("")
    for solver in args.solvers:
        ours, theirs = (r for r in rows if r[0] == solver)
        lines.append(f"- `solver={solver!r}`: facenmf {ours[2]:.2f} s ({ours[3]} iterations) "
                     f"to {ours[4]:.3f}, scikit-learn {theirs[2]:.2f} s ({theirs[3]}) to "
                     f"{theirs[4]:.3f}: {theirs[2] / ours[2]:.1f}x the time.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        write_section(args.output, "bench_sklearn.py", report)


if __name__ == "__main__":
    main()
