"""facenmf against scikit-learn (and nimfa where installed), in one run on the same data.

Usage::

    python scripts/benchmark.py [--shared ../shared/datasets] [--repeat 3] [--output BENCHMARKS.md]

``--output`` replaces this script's section of the file and keeps the others.
``--losses`` runs only the KL and regularized fits of issue 14 (CBCL: facenmf's KL solvers
to the divergence of scikit-learn's ``mu`` with ``beta_loss="kullback-leibler"``; ORL:
facenmf's HALS with ``alpha_W = alpha_H = 0.01``, ``l1_ratio = 0.5`` to the penalized
objective of scikit-learn's ``cd`` with them) and writes its own section. ``--masked`` runs
only the masked HALS iteration against unmasked ones and ``choose_rank`` on ORL (its own
section too).

For each data set (ORL 10304x400, CBCL 361x2429 when present, and a synthetic matrix) at
rank 49 and each dtype, it prints seconds, iterations and final relative error of:
scikit-learn ``NMF`` with its defaults (solver ``cd`` and ``mu``, init nndsvda, tol 1e-4,
max_iter 200), nimfa, and facenmf's solvers; then the time facenmf's default solver takes
to reach the error scikit-learn ``cd`` reaches, and the ratio of the two. It also times one
HALS outer iteration with a single inner sweep per factor against the two large products
``A Hᵀ`` and ``Wᵀ A``, and the projection of 10,000 faces onto a fixed rank-49 basis against
scikit-learn's ``transform`` (same basis, objective compared). Times are the minimum over
``--repeat`` runs. Needs the ``bench`` extra: ``pip install '.[bench]'``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _report import write_section  # scripts/ is on sys.path when run

import facenmf
from facenmf.nmf import SOLVERS, initialize

RANK = 49
NOTES = set()  # problems met while running peers, reported under the tables
ROOT = Path(__file__).resolve().parents[1]


def rel_error(A, W, H):
    A64 = A.astype(np.float64)
    return float(np.linalg.norm(A64 - W.astype(np.float64) @ H.astype(np.float64))
                 / np.linalg.norm(A64))


def read_pgm_faces(files):
    from PIL import Image

    return np.stack([np.asarray(Image.open(f), dtype=np.float32).ravel() / 255 for f in files],
                    axis=1)


def load_datasets(shared: Path):
    data = {}
    orl = shared / "orl"
    if (orl / "s1" / "1.pgm").is_file():
        data["ORL"] = read_pgm_faces(
            [orl / f"s{i}" / f"{j}.pgm" for i in range(1, 41) for j in range(1, 11)])
    else:
        print(f"# ORL not found at {orl}: skipped", file=sys.stderr)
    cbcl = sorted((shared / "cbcl" / "face").glob("*.pgm"))
    if cbcl:
        data["CBCL"] = read_pgm_faces(cbcl)
    else:
        print(f"# CBCL not found at {shared / 'cbcl'}: skipped", file=sys.stderr)
    rng = np.random.default_rng(0)
    synth = rng.random((2000, RANK)) ** 4 @ rng.random((RANK, 1000))
    synth += 0.05 * synth.mean() * rng.random(synth.shape)
    data["synthetic"] = (synth / synth.max()).astype(np.float32)
    return data


def best_of(repeat, fn):
    """Minimum wall time over `repeat` runs and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def bench_fits(name, A, repeat, rows):
    """Fit table rows; returns {dtype: (sklearn cd seconds, target error)}."""
    from sklearn.decomposition import NMF as SkNMF

    targets = {}
    for dtype in (np.float32, np.float64):
        Ad = A.astype(dtype)
        X = np.ascontiguousarray(Ad.T)
        dt = np.dtype(dtype).name
        for sk_solver in ("cd", "mu"):
            def sk_fit():
                model = SkNMF(RANK, init="nndsvda", solver=sk_solver, tol=1e-4, max_iter=200,
                              random_state=0)
                Wsk = model.fit_transform(X)
                return model, Wsk
            secs, (model, Wsk) = best_of(repeat, quiet(sk_fit))
            err = rel_error(X, Wsk, model.components_)
            rows.append((name, dt, f"scikit-learn {sk_solver} (defaults)", secs, model.n_iter_, err))
            if sk_solver == "cd":
                targets[dt] = (secs, err)
        try:
            import nimfa
        except ImportError:
            nimfa = None
        if nimfa is not None:
            def nimfa_fit():
                fit = nimfa.Nmf(Ad.astype(np.float64), rank=RANK, seed="nndsvd", max_iter=200,
                                update="euclidean", objective="fro")()
                return fit
            try:
                secs, nf = best_of(1, quiet(nimfa_fit))
                err = rel_error(Ad, np.asarray(nf.basis()), np.asarray(nf.coef()))
                rows.append((name, dt, "nimfa Nmf (euclidean MU, nndsvd, 200 it)", secs, nf.n_iter, err))
            except Exception as exc:  # nimfa is old; report rather than crash
                NOTES.add(f"nimfa {nimfa.__version__ if hasattr(nimfa, '__version__') else ''} "
                          f"could not run here: {exc}")
                print(f"# nimfa failed on {name}: {exc}", file=sys.stderr)
        for solver, kw in (("hals", {}), ("mu", {"max_iter": 200}), ("anls", {"time_limit": 10})):
            secs, f = best_of(repeat if solver != "anls" else 1,
                              quiet(lambda: facenmf.nmf(Ad, RANK, solver=solver, dtype=dtype, **kw)))
            label = f"facenmf {solver} (defaults{', max_iter 200' if solver == 'mu' else ''}"
            label += ", time_limit 10 s)" if solver == "anls" else ")"
            rows.append((name, dt, label, secs, f.n_iter, rel_error(Ad, f.W, f.H)))
    return targets


def time_to_target(A, dtype, target, repeat, limit):
    """Wall time of facenmf's default fit stopped as soon as its error <= target."""
    Ad = A.astype(dtype)

    def run():
        return facenmf.nmf(Ad, RANK, dtype=dtype, tol=0, max_iter=100000, time_limit=limit,
                           callback=lambda it, W, H, err: False if err <= target else None)

    secs, f = best_of(repeat, quiet(run))
    return secs, f, rel_error(Ad, f.W, f.H)


def bench_iteration(A, repeat=30):
    """Median time of one HALS outer iteration (one sweep per factor) vs the two products."""
    A = A.astype(np.float32)
    W, H = initialize(A, RANK, "nndsvda", None, np.float32)
    state = SOLVERS["hals"](A, W, H, alpha=0.0, extrapolate=False)  # plain HALS
    for _ in range(3):
        state.step()
    it_times, prod_times = [], []
    for _ in range(repeat):  # interleaved so that machine noise hits both alike
        t = time.perf_counter()
        state.step()
        it_times.append(time.perf_counter() - t)
        Wt, Hc = state.Wt, state.H
        t = time.perf_counter()
        np.dot(Hc, A.T)
        np.dot(Wt, A)
        prod_times.append(time.perf_counter() - t)
    return float(np.median(it_times)), float(np.median(prod_times))


def augmented_faces(A, shape, n, seed=0):
    """n realistic faces from A's columns: random flips, shifts of up to 3 px, brightness."""
    rng = np.random.default_rng(seed)
    h, w = shape
    idx = rng.integers(0, A.shape[1], n)
    out = np.empty((A.shape[0], n), np.float32)
    for j, i in enumerate(idx):
        img = A[:, i].reshape(h, w)
        if rng.random() < 0.5:
            img = img[:, ::-1]
        img = np.roll(img, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
        out[:, j] = np.clip(img * rng.uniform(0.8, 1.2), 0, 1).ravel()
    return out


def bench_projection(A, shape, repeat):
    from sklearn.decomposition import NMF as SkNMF

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = SkNMF(RANK, init="nndsvda", solver="cd", max_iter=200, random_state=0).fit(A.T)
    faces = augmented_faces(A, shape, 10_000)
    X = np.ascontiguousarray(faces.T)
    basis = sk.components_.T.astype(np.float32)
    t_sk, H_sk = best_of(1, quiet(lambda: sk.transform(X)))
    t_us, H_us = best_of(repeat, lambda: facenmf.project(faces, basis))

    def obj(H):
        return 0.5 * float(np.sum((faces.astype(np.float64) - basis @ H.astype(np.float64)) ** 2))
    return t_sk, t_us, obj(H_sk.T), obj(H_us)


# -- issue 14: the KL loss and regularized Frobenius (section "benchmark.py losses") -------
KL_CONFIGS = (("mu", None), ("klcd", None), ("klcd", {"warm_start": 10}))
REG = dict(alpha_W=0.01, alpha_H=0.01, l1_ratio=0.5)


def sk_objective(X, W_sk, H_sk, beta, alpha_W, alpha_H, l1_ratio):
    """scikit-learn's documented objective of its factors (its orientation), in float64."""
    from sklearn.decomposition._nmf import _beta_divergence

    X, W_sk, H_sk = (x.astype(np.float64) for x in (X, W_sk, H_sk))
    n_samples, n_features = X.shape
    return (_beta_divergence(X, W_sk, H_sk, beta)
            + alpha_W * n_features * (l1_ratio * W_sk.sum() + 0.5 * (1 - l1_ratio) * (W_sk ** 2).sum())
            + alpha_H * n_samples * (l1_ratio * H_sk.sum() + 0.5 * (1 - l1_ratio) * (H_sk ** 2).sum()))


def bench_kl(A, repeat):
    """scikit-learn mu with beta_loss='kullback-leibler' and its defaults, then the time each
    facenmf KL configuration takes to reach its relative divergence D(A||WH)/sum(A)."""
    from sklearn.decomposition import NMF as SkNMF

    X = np.ascontiguousarray(A.T)
    sum_A = float(A.sum(dtype=np.float64))

    def sk_fit():
        model = SkNMF(RANK, solver="mu", beta_loss="kullback-leibler", random_state=0)
        return model, model.fit_transform(X)
    sk_secs, (model, W_sk) = best_of(repeat, quiet(sk_fit))
    target = sk_objective(X, W_sk, model.components_, 1, 0, 0, 0) / sum_A
    rows = []
    for solver, options in KL_CONFIGS:
        def run():
            return facenmf.nmf(A, RANK, solver=solver, loss="kl", solver_options=options,
                               tol=0, max_iter=100000, time_limit=10 * sk_secs,
                               callback=lambda it, W, H, err: err > target)
        secs, f = best_of(repeat, quiet(run))
        rows.append((solver, options, secs, f.n_iter, f.error, f.error <= target))
    return sk_secs, model.n_iter_, target, rows


def bench_regularized(A, repeat):
    """scikit-learn cd with alpha_W = alpha_H = 0.01, l1_ratio 0.5 and its defaults, then the
    time facenmf's HALS with the same penalties takes to reach its penalized objective (the
    same objective: both alphas are equal, so the transposition's swap of alpha_W and
    alpha_H changes nothing; n_pixels and n_faces scale them as scikit-learn's n_features and
    n_samples do)."""
    from sklearn.decomposition import NMF as SkNMF

    X = np.ascontiguousarray(A.T)
    norm_sq = float(np.einsum("ij,ij->", A, A, dtype=np.float64))

    def sk_fit():
        model = SkNMF(RANK, solver="cd", random_state=0, **REG)
        return model, model.fit_transform(X)
    sk_secs, (model, W_sk) = best_of(repeat, quiet(sk_fit))
    target = sk_objective(X, W_sk, model.components_, 2, REG["alpha_H"], REG["alpha_W"],
                          REG["l1_ratio"])
    n, m = A.shape
    a, r = REG["alpha_W"], REG["l1_ratio"]

    def objective(W, H, err):  # the penalized objective from the fit's own error: cheap
        W, H = W.astype(np.float64), H.astype(np.float64)
        return (0.5 * err ** 2 * norm_sq
                + a * m * (r * W.sum() + 0.5 * (1 - r) * (W ** 2).sum())
                + REG["alpha_H"] * n * (r * H.sum() + 0.5 * (1 - r) * (H ** 2).sum()))

    def run():
        return facenmf.nmf(A, RANK, tol=0, max_iter=100000, time_limit=10 * sk_secs,
                           callback=lambda it, W, H, err: objective(W, H, err) > target, **REG)
    secs, f = best_of(repeat, quiet(run))
    return sk_secs, model.n_iter_, target, secs, f.n_iter, f.objective


def losses_report(data, repeat):
    """The section of issue 14's targets: KL on CBCL, regularized Frobenius on ORL."""
    lines = ["## KL and regularized fits: facenmf vs scikit-learn (issue 14)", "",
             f"Command: `python scripts/benchmark.py --losses --repeat {repeat} --output "
             "BENCHMARKS.md`  ",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"load average before {os.getloadavg()[0]:.1f}; numpy {np.__version__}. Times: "
             f"best of {repeat} runs, wall clock, same process, OpenBLAS's default threads. "
             "facenmf stopped by a callback as soon as it reaches scikit-learn's value; its "
             "time includes validation, init and the final step.", ""]
    if "CBCL" in data:
        sk_secs, sk_iter, target, rows = bench_kl(data["CBCL"], repeat)
        lines += ["### KL on CBCL (2429 faces of 19x19, rank 49, float32)", "",
                  f"scikit-learn `NMF(49, solver='mu', beta_loss='kullback-leibler')` with its "
                  f"defaults: {sk_secs:.3f} s, {sk_iter} iterations, relative divergence "
                  f"D(A‖WH)/ΣA = {target:.6f}.", "",
                  "| facenmf | seconds | iterations | rel. divergence | speed-up |",
                  "|---|---:|---:|---:|---:|"]
        for solver, options, secs, it, err, ok in rows:
            label = f"`{solver}`" + (f" {options}" if options else " (defaults)")
            lines.append(f"| {label} | {secs:.3f} | {it} | {err:.6f}"
                         f"{'' if ok else ' (not reached)'} | **{sk_secs / secs:.1f}x** |")
    if "ORL" in data:
        sk_secs, sk_iter, target, secs, it, obj = bench_regularized(data["ORL"], repeat)
        lines += ["", "### Regularized Frobenius on ORL (400 faces of 112x92, rank 49, float32)",
                  "", "alpha_W = alpha_H = 0.01, l1_ratio = 0.5; objective "
                  "0.5‖A − WH‖² + penalties, scikit-learn's, transposed.", "",
                  "| method | seconds | iterations | objective | speed-up |",
                  "|---|---:|---:|---:|---:|",
                  f"| scikit-learn cd (defaults) | {sk_secs:.3f} | {sk_iter} | {target:.3f} | |",
                  f"| facenmf hals (defaults) | {secs:.3f} | {it} | {obj:.3f}"
                  f"{'' if obj <= target * (1 + 1e-9) else ' (not reached)'} | "
                  f"**{sk_secs / secs:.1f}x** |"]
    lines.append(f"\nLoad average after: {os.getloadavg()[0]:.1f}.")
    return "\n".join(lines) + "\n"


# -- issue 14: masked fits and rank selection (section "benchmark.py masked") -------------
# The ranks of the README's example (9 25 49 100) and one more between: the largest ranks
# cost the most (a masked fit at rank 100 takes several times one at rank 9).
MASK_RANKS = (9, 16, 25, 49, 100)


def bench_masked_iteration(A, repeat=3, iterations=30, unknown=0.3):
    """Median seconds of one iteration (``fit.history.seconds``, so without the init and the
    final projection) of masked HALS with ``unknown`` of the entries unknown, extrapolated
    (the default) and plain, and of unmasked HALS, plain and default (extrapolated), from the
    same start in the same process; the runs alternate (machine load hits them alike), best
    of ``repeat`` for each."""
    A = np.asarray(A, dtype=np.float32)
    mask = np.random.default_rng(0).random(A.shape) < unknown
    W0, H0 = initialize(A, RANK, "nndsvda", None, np.float32)
    plain = {"extrapolate": False}
    configs = {"masked": dict(mask=mask), "masked, plain": dict(mask=mask, solver_options=plain),
               "plain": dict(solver_options=plain), "default": {}}
    best = dict.fromkeys(configs, np.inf)
    for _ in range(repeat):
        for name, kw in configs.items():
            f = quiet(lambda: facenmf.nmf(A, RANK, W0=W0, H0=H0, max_iter=iterations, tol=0,
                                          **kw))()
            best[name] = min(best[name], float(np.median(np.diff(f.history.seconds))))
    return best


def bench_masked_fits(A, unknown=0.3):
    """Whole fits with nmf's defaults (tol 1e-4): seconds, iterations, error (known entries)."""
    A = np.asarray(A, dtype=np.float32)
    mask = np.random.default_rng(0).random(A.shape) < unknown
    rows = []
    for name, kw in (("masked HALS (default: extrapolated)", dict(mask=mask)),
                     ("masked HALS, plain MM", dict(mask=mask,
                                                    solver_options={"extrapolate": False})),
                     ("unmasked HALS (default)", {})):
        t, c = time.perf_counter(), time.process_time()
        f = quiet(lambda: facenmf.nmf(A, RANK, random_state=0, **kw))()
        rows.append((name, time.perf_counter() - t, time.process_time() - c, f.n_iter,
                     f.error))
    return rows


def bench_extrapolation(A, cases=((49, 0.3), (100, 0.1)), checkpoints=(100, 250)):
    """Iterations the default (extrapolated) masked HALS takes to reach the error the plain
    MM reaches at each checkpoint (tol 0, same start and mask)."""
    A = np.asarray(A, dtype=np.float32)
    rows = []
    for rank, unknown in cases:
        mask = np.random.default_rng(0).random(A.shape) < unknown
        W0, H0 = initialize(np.where(mask, A.mean(axis=1, keepdims=True), A), rank, "nndsvda",
                            None, np.float32)
        err = {}
        for name, options in (("default", None), ("plain", {"extrapolate": False})):
            f = quiet(lambda: facenmf.nmf(A, rank, mask=mask, W0=W0, H0=H0, tol=0,
                                          max_iter=max(checkpoints), solver_options=options))()
            err[name] = f.history.error
        for it in checkpoints:
            reached = np.flatnonzero(err["default"] <= err["plain"][it])
            rows.append((rank, unknown, it, float(err["plain"][it]),
                         int(reached[0]) if reached.size else None))
    return rows


def bench_rank_selection(A, ranks=MASK_RANKS, repeats=3):
    """choose_rank with its defaults; wall time and the seconds spent per rank."""
    per_rank = np.zeros(len(ranks))
    last = [time.perf_counter()]

    def progress(done, total):  # fits run rank by rank within each repeat
        now = time.perf_counter()
        per_rank[(done - 1) % len(ranks)] += now - last[0]
        last[0] = now
    t, c = time.perf_counter(), time.process_time()
    last[0] = t
    s = facenmf.choose_rank(A, ranks, repeats=repeats, progress=progress)
    return time.perf_counter() - t, time.process_time() - c, s, per_rank


def masked_report(data, repeat=3):
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
                   if k in os.environ)
    lines = ["## Masked fits and rank selection on ORL (issue 14)", "",
             f"Command: `{env + ' ' if env else ''}python scripts/benchmark.py --masked "
             f"--repeat {repeat} --output BENCHMARKS.md`  ",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
             f"(shared), load average before {os.getloadavg()[0]:.1f}; numpy {np.__version__}; "
             + (f"{threads} BLAS thread(s)" if threads else "OpenBLAS's default threads")
             + ". ORL: 400 faces of 112x92, float32.", ""]
    if "ORL" not in data:
        return "\n".join(lines + ["ORL not found (pass --shared): skipped, nothing measured.",
                                  ""])
    A = data["ORL"]
    it = bench_masked_iteration(A, repeat)
    ratio = it["masked"] / min(it["plain"], it["default"])
    lines += ["### One iteration, rank 49, 30% of the pixels unknown (random entries)", "",
              "Median of 30 iterations from the same NNDSVDA start (`fit.history.seconds`), "
              f"best of {repeat} alternating runs.", "",
              "| fit | ms per iteration | masked (default) / this |", "|---|---:|---:|"]
    for name, label in (("masked", "masked HALS (`mask=`, default: extrapolated)"),
                        ("masked, plain", "masked HALS, plain MM (`extrapolate=False`)"),
                        ("plain", "unmasked HALS, plain (the masked fit's inner step)"),
                        ("default", "unmasked HALS, default (extrapolated)")):
        versus = "" if name == "masked" else f"{it['masked'] / it[name]:.2f}x"
        lines.append(f"| {label} | {1e3 * it[name]:.1f} | {versus} |")
    lines += ["", f"Target: a masked iteration at most 3x an unmasked one (same run, the "
              f"faster of the two unmasked): **{ratio:.2f}x**: "
              f"{'met' if ratio <= 3 else 'NOT met'} ({it['masked'] / it['default']:.2f}x the "
              f"default unmasked iteration, {it['masked'] / it['plain']:.2f}x the plain one).",
              "",
              "Whole fits (nmf's defaults, tol 1e-4, seed 0; seconds include the init and, "
              "masked, the final exact masked projection of H):", "",
              "| fit | seconds | CPU seconds | iterations | relative error (known entries) |",
              "|---|---:|---:|---:|---:|"]
    for name, secs, cpu, n_iter, err in bench_masked_fits(A):
        lines.append(f"| {name} | {secs:.2f} | {cpu:.2f} | {n_iter} | {err:.4f} |")
    lines += ["", "Extrapolation (the default) against the plain MM steps, from the same start "
              "(tol 0): iterations to the plain steps' error.", "",
              "| rank | unknown | plain MM: iterations | its error | extrapolated: iterations "
              "| fewer |", "|---:|---:|---:|---:|---:|---:|"]
    for rank, unknown, it, err, reached in bench_extrapolation(A):
        lines.append(f"| {rank} | {unknown:.0%} | {it} | {err:.5f} | "
                     + (f"{reached} | {it / reached:.2f}x |" if reached else "not reached | |"))
    secs, cpu, s, per_rank = bench_rank_selection(A)
    lines += ["", f"### choose_rank over {len(MASK_RANKS)} ranks {list(MASK_RANKS)}, 3 repeats",
              "", f"`facenmf.choose_rank(A, {list(MASK_RANKS)}, repeats=3)` with its defaults "
              f"(10% of the pixels held out, HALS, nmf's max_iter and tol): **{secs:.1f} s** "
              f"wall clock (target under 60 s on 2 cores: {'met' if secs < 60 else 'NOT met'}"
              f" on this run), {cpu:.1f} s of CPU time (all threads; with one BLAS thread, "
              "the wall time on one idle core), "
              f"{secs / (len(MASK_RANKS) * 3):.1f} s per masked fit on average. Chosen rank "
              f"{s.rank} (rule min).", "",
              "| rank | held-out error (mean ± s.e.) | error on the seen pixels | seconds, "
              "wall (3 fits) |", "|---:|---:|---:|---:|"]
    for r, m, e, tr, t in zip(s.ranks, s.mean, s.se, s.train_errors.mean(axis=1), per_rank):
        lines.append(f"| {r} | {m:.4f} ± {e:.4f} | {tr:.4f} | {t:.1f} |")
    lines.append(f"\nLoad average after: {os.getloadavg()[0]:.1f}.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("FACENMF_DATA", ROOT.parent / "shared" / "datasets")))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    parser.add_argument("--losses", action="store_true",
                        help="only the KL and regularized fits (section 'benchmark.py losses')")
    parser.add_argument("--masked", action="store_true",
                        help="only the masked iteration and rank selection on ORL (section "
                        "'benchmark.py masked')")
    args = parser.parse_args(argv)
    for flag, make in (("masked", masked_report), ("losses", losses_report)):
        if getattr(args, flag):  # a section of its own
            report = make(load_datasets(args.shared), args.repeat)
            print(report)
            if args.output:
                write_section(args.output, f"benchmark.py {flag}", report)
            return

    import sklearn
    lines = [
        "## Fitting and projecting: facenmf vs scikit-learn and nimfa",
        "",
        f"Command: `python scripts/benchmark.py --repeat {args.repeat} --output BENCHMARKS.md`  ",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, facenmf {facenmf.__version__}.  ",
        f"Date: {time.strftime('%Y-%m-%d')}. Times: best of {args.repeat} runs (nimfa and "
        "ANLS: one run), wall clock, in the same process.",
        "",
    ]
    data = load_datasets(args.shared)
    rows, ratio_rows = [], []
    for name, A in data.items():
        print(f"# {name} {A.shape}", file=sys.stderr)
        targets = bench_fits(name, A, args.repeat, rows)
        for dt, (sk_secs, target) in targets.items():
            secs, f, err = time_to_target(A, np.dtype(dt), target, args.repeat, limit=10 * sk_secs)
            ratio_rows.append((name, dt, sk_secs, target, secs, f.n_iter, err, sk_secs / secs,
                               err <= target * (1 + 1e-6)))

    lines += ["### Fits at rank 49", "",
              "| data | dtype | method | seconds | iterations | rel. error |",
              "|---|---|---|---:|---:|---:|"]
    lines += [f"| {d} | {t} | {m} | {s:.3f} | {i} | {e:.5f} |" for d, t, m, s, i, e in rows]
    lines += ["", "### Time to reach scikit-learn cd's default-fit error", "",
              "facenmf `nmf(A, 49)` (HALS, nndsvda) stopped by a callback as soon as its error is "
              "at most the error scikit-learn `NMF(49, solver='cd')` reaches with its defaults; "
              "facenmf's time includes validation, init and the final exact H step.", "",
              "| data | dtype | sklearn cd s | target error | facenmf s | iterations | facenmf error | speed-up |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for d, t, sk_s, target, s, it, err, ratio, ok in ratio_rows:
        lines.append(f"| {d} | {t} | {sk_s:.3f} | {target:.5f} | {s:.3f} | {it} | {err:.5f}"
                     f"{'' if ok else ' (not reached)'} | **{ratio:.1f}x** |")
    for name in data:
        best_sk = min(r[2] for r in ratio_rows if r[0] == name)
        best_us = min(r[4] for r in ratio_rows if r[0] == name and r[8])
        lines.append(f"\n{name}, each in its faster dtype: scikit-learn cd {best_sk:.3f} s, "
                     f"facenmf {best_us:.3f} s: **{best_sk / best_us:.1f}x**.")

    if "ORL" in data or "synthetic" in data:
        name = "ORL" if "ORL" in data else "synthetic"
        it_s, prod_s = bench_iteration(data[name])
        lines += ["", "### Cost of one HALS iteration", "",
                  f"{name}, float32, rank 49, median of 30 interleaved runs: one outer HALS "
                  f"iteration with a single sweep per factor {it_s * 1e3:.2f} ms; the two "
                  f"products `A Hᵀ` and `Wᵀ A` alone {prod_s * 1e3:.2f} ms; "
                  f"ratio **{it_s / prod_s:.2f}** (target <= 1.3)."]
    if "ORL" in data:
        t_sk, t_us, o_sk, o_us = bench_projection(data["ORL"], (112, 92), args.repeat)
        lines += ["", "### Projecting 10,000 faces onto a fixed rank-49 basis", "",
                  "10,000 faces made from ORL (random flips, shifts up to 3 px, brightness "
                  "0.8-1.2), 10304 pixels each, float32, onto the basis scikit-learn learned on "
                  "ORL (its `components_`).", "",
                  "| method | seconds | objective 0.5·‖A − WH‖² |", "|---|---:|---:|",
                  f"| scikit-learn `transform` | {t_sk:.3f} | {o_sk:.4f} |",
                  f"| facenmf `project` (exact NNLS) | {t_us:.3f} | {o_us:.4f} |",
                  "", f"Speed-up **{t_sk / t_us:.1f}x**; facenmf objective "
                  f"{'<=' if o_us <= o_sk * (1 + 1e-7) else '>'} scikit-learn's "
                  f"(relative difference {(o_us - o_sk) / o_sk:+.2e})."]
    if NOTES:
        lines += ["", "### Notes", ""] + [f"- {n}" for n in sorted(NOTES)]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        write_section(args.output, "benchmark.py", report)


if __name__ == "__main__":
    main()
