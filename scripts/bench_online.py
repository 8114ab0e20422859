"""Online fits: facenmf.nmf_online against scikit-learn's MiniBatchNMF, in one run.

Usage::

    python scripts/bench_online.py [--faces 200000] [--rank 64] [--batch-size 1024]
                                   [--repeat 3] [--blas-threads 0 1]
                                   [--shared ../shared/datasets] [--output BENCHMARKS.md]

``--output`` replaces this script's section of the file and keeps the others.

The faces: ORL loaded at 32x32 (``facenmf.load_faces(orl, size=(32, 32))``), then ``--faces``
faces drawn from its 400 with random flips, shifts of up to 3 px and brightness 0.8-1.2
(``augmented_faces`` of scripts/benchmark.py), float32, in memory: ``A`` (1024, faces).

Every basis is judged the same way: the relative error ``||A - W project(A, W)||_F / ||A||_F``
of all the faces projected exactly (NNLS) onto it; that evaluation is never timed.

1. scikit-learn ``MiniBatchNMF(n_components=rank, random_state=0).fit(X)``, everything else
   its defaults (batch_size 1024, init nndsvda on all of X, forget_factor 0.7, early stop),
   ``X = A.T`` prepared before the clock starts. Its error is the target.
2. For each coding of facenmf (``"hals"``, the default, and ``"nnls"``): a scouting run of
   ``nmf_online`` over column views of ``A`` in batches of ``--batch-size`` (default:
   MiniBatchNMF's own batch size) keeps every basis; the smallest number of batches ``N``
   whose basis reaches the target is found by doubling, then bisection. Then
   ``nmf_online(batches, rank, random_state=0, coding=..., max_batches=N)`` is timed from
   call to return (validation of each batch, the initial basis, N updates) and its basis
   judged again; and one whole pass (every batch) is timed and judged.

Every fit runs under each ``--blas-threads`` limit in turn (default: OpenBLAS's own number
of threads, then 1; ``threadpoolctl``): on a shared machine a multi-threaded BLAS call waits
for a core another process holds, and small products (a batch's) suffer most.

Times are the best of ``--repeat`` runs (scikit-learn's too; a fit whose runs total under a
second is run again until they do, at most 100 times), wall clock, in one process.
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
from benchmark import augmented_faces
from threadpoolctl import threadpool_limits  # installed with scikit-learn

import facenmf

ROOT = Path(__file__).resolve().parents[1]
SHAPE = (32, 32)
CHUNK = 20_000  # faces projected at a time when judging a basis
CODINGS = ("hals", "nnls")  # nmf_online's choices of coding=


def exact_error(A, W):
    """||A - W project(A, W)||_F / ||A||_F over all faces, chunk by chunk, sums in float64."""
    W = np.ascontiguousarray(W, dtype=np.float32)
    res = total = 0.0
    for s in range(0, A.shape[1], CHUNK):
        Ac = A[:, s:s + CHUNK]
        R = Ac - W @ facenmf.project(Ac, W)
        res += float(np.einsum("ij,ij->", R, R, dtype=np.float64))
        total += float(np.einsum("ij,ij->", Ac, Ac, dtype=np.float64))
    return float(np.sqrt(res / total))


def faces_seen(n_steps, batch_size, n_faces):
    """Faces in n_steps batches of batch_size cycling over n_faces (the last one short)."""
    per_pass = -(-n_faces // batch_size)
    passes, rest = divmod(n_steps, per_pass)
    return passes * n_faces + min(rest * batch_size, n_faces)


def best_of(repeat, fn, at_least=1.0):
    """Minimum wall time over `repeat` runs, more while they total under `at_least`
    seconds (a fit of a few milliseconds is timed over many runs), and the last result."""
    best, out, total, runs = np.inf, None, 0.0, 0
    while runs < repeat or (total < at_least and runs < 100):
        t = time.perf_counter()
        out = fn()
        secs = time.perf_counter() - t
        best, total, runs = min(best, secs), total + secs, runs + 1
    return best, out


def sklearn_fit(X, rank, repeat):
    from sklearn.decomposition import MiniBatchNMF

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its ConvergenceWarning, if any
            return MiniBatchNMF(n_components=rank, random_state=0).fit(X)

    return best_of(repeat, fit)


def batches_needed(errors_of, n_batches, target):
    """Smallest N found by doubling then bisection with errors_of(N) <= target, or None."""
    cache = {}

    def ok(n):
        if n not in cache:
            cache[n] = errors_of(n)
        return cache[n] <= target

    lo, hi = 0, 1  # ok(lo) is False (lo == 0: no batch yet)
    while not ok(hi):
        if hi == n_batches:
            return None, cache
        lo, hi = hi, min(2 * hi, n_batches)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi, cache


def bench_coding(A, batches, rank, coding, target, repeat):
    snapshots = []

    def keep(it, W, H, err):
        snapshots.append(W.copy())

    facenmf.nmf_online(batches, rank, random_state=0, coding=coding, callback=keep)
    n, judged = batches_needed(lambda k: exact_error(A, snapshots[k - 1]), len(batches),
                               target)
    del snapshots[:]
    rows = []
    if n is not None:
        secs, fit = best_of(repeat, lambda: facenmf.nmf_online(
            batches, rank, random_state=0, coding=coding, max_batches=n))
        rows.append((f"facenmf `nmf_online`, coding {coding!r}, to the target", secs,
                     fit.n_iter, fit.n_faces, exact_error(A, fit.W)))
    secs, fit = best_of(repeat, lambda: facenmf.nmf_online(batches, rank, random_state=0,
                                                           coding=coding))
    rows.append((f"facenmf `nmf_online`, coding {coding!r}, one pass", secs, fit.n_iter,
                 fit.n_faces, exact_error(A, fit.W)))
    return n, judged, rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=int, default=200_000, help="faces made from ORL")
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1024,
                        help="faces per batch of the stream (default: MiniBatchNMF's)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each fit")
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("FACENMF_DATA",
                                                    ROOT.parent / "shared" / "datasets")))
    parser.add_argument("--blas-threads", type=int, nargs="+", default=[0, 1],
                        help="BLAS thread limits to measure at, each in turn (0: the "
                             "library's default)")
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    orl = args.shared / "orl"
    if not (orl / "s1" / "1.pgm").is_file():
        parser.exit(2, f"bench_online.py: error: ORL faces not found at {orl} "
                       "(--shared or FACENMF_DATA names the folder that holds orl/)\n")

    import sklearn

    load_before = os.getloadavg()
    t = time.perf_counter()
    base = facenmf.load_faces(orl, size=SHAPE).A
    A = augmented_faces(base, SHAPE, args.faces, seed=0)
    make_secs = time.perf_counter() - t
    X = np.ascontiguousarray(A.T)
    print(f"# {A.shape[1]} faces of {SHAPE[0]}x{SHAPE[1]} in {make_secs:.1f} s", file=sys.stderr)

    bs = args.batch_size
    batches = [A[:, s:s + bs] for s in range(0, A.shape[1], bs)]
    settings = []  # (threads, sklearn model, its seconds, target, rows, found)
    for threads in args.blas_threads:
        with threadpool_limits(limits=threads or None, user_api="blas"):
            sk_secs, sk = sklearn_fit(X, args.rank, args.repeat)
            target = exact_error(A, sk.components_.T)
            print(f"# {threads or 'default'} BLAS threads: MiniBatchNMF {sk_secs:.2f} s, "
                  f"error {target:.5f}", file=sys.stderr)
            rows = [("scikit-learn `MiniBatchNMF` (defaults)", sk_secs, sk.n_steps_,
                     faces_seen(sk.n_steps_, sk.batch_size, A.shape[1]), target)]
            found = {}
            for coding in CODINGS:
                n, judged, coding_rows = bench_coding(A, batches, args.rank, coding, target,
                                                      args.repeat)
                found[coding] = (n, judged)
                rows += coding_rows
                print(f"#   coding {coding}: target after {n} batches; {coding_rows}",
                      file=sys.stderr)
        settings.append((threads, sk, sk_secs, target, rows, found))
    del X
    load_after = os.getloadavg()

    command = shlex.join(["python", "scripts/bench_online.py", *argv])
    sk = settings[0][1]
    lines = [
        "## Online fits: facenmf `nmf_online` vs scikit-learn `MiniBatchNMF`",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"(shared: load average {load_before[0]:.1f} before the run, {load_after[0]:.1f} "
        f"after); Python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, facenmf {facenmf.__version__}.  ",
        f"Date: {time.strftime('%Y-%m-%d')}. Times: best of {args.repeat} "
        f"run{'s' if args.repeat > 1 else ''} (a fit whose runs total under a second: "
        "repeated until they do), wall clock, in the same process.",
        "",
        f"{A.shape[1]:,} faces of {SHAPE[0]}x{SHAPE[1]} made from ORL (random flips, shifts up "
        f"to 3 px, brightness 0.8-1.2), float32, in memory; rank {args.rank}; the stream is "
        f"column views of `A` in batches of {bs} faces ("
        + ("MiniBatchNMF's batch size" if bs == sk.batch_size else
           f"MiniBatchNMF's are of {sk.batch_size}") + "). Error: "
        "`||A - W project(A, W)||_F / ||A||_F` over all faces, each basis projected exactly "
        "(not timed). scikit-learn: `MiniBatchNMF(n_components="
        f"{args.rank}, random_state=0).fit(A.T)`, every other setting its default. facenmf: "
        f"`nmf_online(batches, {args.rank}, random_state=0, coding=...)`, every other setting "
        "its default, timed from call to return; \"to the target\" stops it with "
        "`max_batches=N`, N the fewest batches whose basis reaches scikit-learn's error "
        "(found on a scouting run by doubling, then bisection). Each BLAS thread setting "
        "(`threadpoolctl.threadpool_limits`; \"default\": OpenBLAS's own) runs every fit.",
        "",
        "| BLAS threads | method | seconds | batches | faces seen | rel. error |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for threads, _, _, _, rows, _ in settings:
        lines += [f"| {threads or 'default'} | {m} | {s:.3f} | {b} | {f:,} | {e:.5f} |"
                  for m, s, b, f, e in rows]
    for threads, _, sk_secs, target, rows, found in settings:
        lines += ["", f"{threads or 'Default'} BLAS thread{'s' if threads != 1 else ''}:", ""]
        for coding in CODINGS:
            n, judged = found[coding]
            to_target = [r for r in rows if r[0].endswith("to the target")
                         and repr(coding) in r[0]]
            tried = ", ".join(f"{k}: {e:.5f}" for k, e in sorted(judged.items()))
            if n is None or not to_target:
                lines.append(f"- coding {coding!r}: scikit-learn's error {target:.5f} **not "
                             f"reached** in one pass (bases judged after N batches: {tried}).")
                continue
            secs, err = to_target[0][1], to_target[0][4]
            lines.append(f"- coding {coding!r}: scikit-learn's error {target:.5f} reached after "
                         f"{n} batch{'es' if n > 1 else ''} (judged: {tried}); timed run "
                         f"{secs:.3f} s to error {err:.5f}"
                         f"{'' if err <= target else ' (above the target: not reached)'}: "
                         f"**{sk_secs / secs:.0f}x** faster than scikit-learn's "
                         f"{sk_secs:.2f} s (target: at least 5x).")
        one = {c: next(r for r in rows if r[0].endswith("one pass") and repr(c) in r[0])
               for c in CODINGS}
        lines.append(f"- One pass over all {A.shape[1]:,} faces: coding 'hals' "
                     f"{one['hals'][1]:.3f} s to error {one['hals'][4]:.5f}, coding 'nnls' "
                     f"{one['nnls'][1]:.3f} s to {one['nnls'][4]:.5f}; scikit-learn "
                     f"{sk_secs:.2f} s to {target:.5f}.")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        write_section(args.output, "bench_online.py", report)


if __name__ == "__main__":
    main()
