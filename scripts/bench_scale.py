"""Fits at scale: time per iteration against the two products, and peak memory against the data.

Usage::

    python scripts/bench_scale.py [--faces 200000] [--store-faces 1000000] [--rank 64]
                                  [--iterations 10] [--workdir DIR] [--output BENCHMARKS.md]

Faces are ORL's 400 at 32x32, multiplied by random shifts, flips, brightness and noise
(``facenmf.data.augment_faces``).

- **In memory** (``--faces``, float32): in a fresh subprocess that loads the faces from a
  ``.npy`` file, ``facenmf.nmf(A, rank)`` with its defaults (``max_iter=--iterations``,
  ``tol=0``): seconds to the end of the first iteration (the init included), seconds per
  iteration, and the peak resident memory above the process's resident memory with the data
  loaded, against the data's size. Then, in this process, one outer iteration of the
  default solver and one of plain HALS (one sweep per factor), each against the two
  products ``H Aᵀ`` and ``Wᵀ A`` timed on the same factors, interleaved (medians).
- **On disk** (``--store-faces``, a uint8 zarr store; 0 skips): in a fresh subprocess,
  ``facenmf.nmf(zarr_array, rank)``: peak resident memory, seconds per iteration, and the
  two products computed over the same blocks read the same way, timed in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_section  # scripts/ is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time, warnings
import numpy as np
import facenmf

def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20

source, rank, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if source.endswith(".zarr"):
    import zarr
    A = zarr.open_array(source, mode="r")
    data_mb = A.nbytes / 2**20
else:
    A = np.load(source)
    data_mb = A.nbytes / 2**20
base = rss_mb()
times = []
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fit = facenmf.nmf(A, rank, max_iter=iterations, tol=0, random_state=0,
                      callback=lambda it, W, H, err: times.append(time.perf_counter() - start))
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first": times[0], "per_iteration": float(np.median(np.diff(times))),
                  "total": total, "base_mb": base, "peak_mb": peak, "data_mb": data_mb,
                  "error": fit.error, "shape": list(A.shape)}))
"""


def faces(n, seed=0):
    import facenmf
    from facenmf.data import augment_faces

    shared = Path(os.environ.get("FACENMF_DATA", ROOT.parent / "shared" / "datasets"))
    orl = facenmf.load_faces(shared / "orl", size=(32, 32))
    return orl, augment_faces(orl.A, orl.image_shape, n, random_state=seed)


def child(source, rank, iterations):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(source), str(rank), str(iterations)],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def iteration_ratio(A, rank, options, repeat):
    """Median seconds of one outer iteration of the "hals" solver with ``options`` and of
    the two products on the same factors, interleaved."""
    from facenmf.nmf import SOLVERS, initialize

    W, H = initialize(A, rank, "nndsvda", np.random.default_rng(0), np.float32)
    state = SOLVERS["hals"](A, W, H, **options)
    for _ in range(3):
        state.step()
    it_times, prod_times = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        state.step()
        it_times.append(time.perf_counter() - t)
        W, H = state.factors()
        Wt, Hc = np.ascontiguousarray(W.T), np.ascontiguousarray(H)
        t = time.perf_counter()
        np.dot(Hc, A.T)
        np.dot(Wt, A)
        prod_times.append(time.perf_counter() - t)
    return float(np.median(it_times)), float(np.median(prod_times))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--faces", type=int, default=200_000)
    p.add_argument("--store-faces", type=int, default=1_000_000)
    p.add_argument("--rank", type=int, default=64)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--workdir", type=Path, help="folder for the temporary data (default: /tmp)")
    p.add_argument("--output", type=Path, help="also write the report (markdown) here")
    args = p.parse_args(argv)

    command = " ".join(["python scripts/bench_scale.py"] + (argv if argv is not None
                                                             else sys.argv[1:]))
    lines = ["## Fits at scale: iteration cost and peak memory", "",
             f"Command: `{command}`  ",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"load average {os.getloadavg()[0]:.1f} at the start. Faces: ORL at 32x32 with "
             f"random shifts, flips, brightness and noise; rank {args.rank}, float32.", ""]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        orl, A = faces(args.faces)
        path = Path(tmp) / "faces.npy"
        np.save(path, A)
        mem = child(path, args.rank, args.iterations)
        default = iteration_ratio(A, args.rank, {}, args.repeat)
        plain = iteration_ratio(A, args.rank, {"alpha": 0.0, "extrapolate": False},
                                args.repeat)
        lines += [
            f"### {args.faces:,} faces in memory ({mem['data_mb']:.0f} MB)", "",
            "| measure | value |", "|---|---|",
            f"| first iteration done (init included) | {mem['first']:.2f} s |",
            f"| seconds per iteration (default fit) | {mem['per_iteration']:.3f} s |",
            f"| peak memory above the loaded data | {mem['peak_mb'] - mem['base_mb']:.0f} MB |",
            f"| peak memory / data | **{mem['peak_mb'] / mem['data_mb']:.2f}x** "
            f"(peak resident {mem['peak_mb']:.0f} MB, of which the interpreter and data "
            f"{mem['base_mb']:.0f} MB) |",
            f"| one default iteration / the two products | **{default[0] / default[1]:.2f}x** "
            f"({default[0] * 1e3:.0f} ms / {default[1] * 1e3:.0f} ms) |",
            f"| one plain HALS iteration / the two products | **{plain[0] / plain[1]:.2f}x** "
            f"({plain[0] * 1e3:.0f} ms / {plain[1] * 1e3:.0f} ms) |", ""]
        del A
        if args.store_faces:
            lines += store_section(orl, args, Path(tmp))
    text = "\n".join(lines)
    print(text)
    if args.output:
        write_section(args.output, "bench_scale.py", text)


def store_section(orl, args, tmp):
    import zarr

    from facenmf.data import iter_augmented
    from facenmf.nmf import Columns

    path = tmp / "faces.zarr"
    n_pixels = orl.A.shape[0]
    z = zarr.create_array(path, shape=(n_pixels, args.store_faces), chunks=(n_pixels, 8192),
                          dtype="uint8")
    t = time.perf_counter()
    for start, block in iter_augmented(orl.A, orl.image_shape, args.store_faces,
                                       random_state=1, chunk=8192):
        z[:, start:start + block.shape[1]] = np.round(block * 255).astype(np.uint8)
    written = time.perf_counter() - t
    res = child(path, args.rank, args.iterations)
    # The two products over the same blocks read the same way, on factors of the right size.
    cols = Columns(z, np.float32)
    rng = np.random.default_rng(0)
    Wt = rng.random((args.rank, n_pixels), dtype=np.float32)
    H = rng.random((args.rank, args.store_faces), dtype=np.float32)
    t = time.perf_counter()
    C = np.zeros((args.rank, n_pixels), np.float32)
    for c, A_b in cols.blocks():
        Wt @ A_b
        C += H[:, c] @ A_b.T
    products = time.perf_counter() - t
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
    return [
        f"### {args.store_faces:,} faces in a uint8 zarr store ({size:.0f} MB on disk, "
        f"written in {written:.0f} s)", "",
        "| measure | value |", "|---|---|",
        f"| peak resident memory of the fit | **{res['peak_mb']:.0f} MB** |",
        f"| seconds per iteration | {res['per_iteration']:.2f} s |",
        f"| the two products over the same blocks | {products:.2f} s |",
        f"| one iteration / the two products | **{res['per_iteration'] / products:.2f}x** |",
        f"| first iteration done (init included) | {res['first']:.1f} s |", ""]


if __name__ == "__main__":
    main()
