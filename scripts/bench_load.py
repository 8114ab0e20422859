"""Loading many faces: time and memory of ``load_faces`` in memory and with ``out=``.

Usage::

    python scripts/bench_load.py [--n 100000] [--size 19 19] [--workdir DIR] [--output BENCHMARKS.md]

Writes ``n`` small 8-bit PGM faces (random smooth blobs) into a temporary folder, then, in
fresh subprocesses per mode (one timed, one traced for memory), loads them with ``facenmf.load_faces(folder)`` and with
``out=faces.npy`` (a float32 memory-mapped file). Reports seconds, the peak of the Python /
numpy heap (tracemalloc, which numpy reports its buffers to) and the peak resident set size
(which also counts the memory-mapped pages the kernel holds in its page cache for us).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_section  # scripts/ is on sys.path when run

CHILD = r"""
import json, resource, sys, time, tracemalloc
import facenmf
folder, trace = sys.argv[1], sys.argv[2] == "trace"
out = sys.argv[3] if len(sys.argv) > 3 else None
if trace:  # tracing every allocation slows loading: memory and time come from separate runs
    tracemalloc.start()
t = time.perf_counter()
faces = facenmf.load_faces(folder, layout="flat", out=out)
secs = time.perf_counter() - t
total = float(faces.A.sum(dtype="float64"))  # touch every face
peak = tracemalloc.get_traced_memory()[1] if trace else 0
print(json.dumps({"seconds": secs, "heap_peak_mb": peak / 2**20,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "shape": list(faces.A.shape), "checksum": total}))
"""

def write_faces(folder: Path, n: int, shape):
    from PIL import Image

    rng = np.random.default_rng(0)
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        img = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (h / 4) ** 2))
        img = (255 * (0.7 * img + 0.3 * rng.random(shape))).astype(np.uint8)
        Image.fromarray(img).save(folder / f"face{i:06d}.pgm")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--size", type=int, nargs=2, default=(19, 19))
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--output", type=Path, help="replace this script's section of this file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp) / "faces"
        folder.mkdir()
        t = time.perf_counter()
        write_faces(folder, args.n, tuple(args.size))
        print(f"# wrote {args.n} faces of {args.size[0]}x{args.size[1]} in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
        rows = []
        for mode, out in (("in memory", None), ("out= memmap", Path(tmp) / "A.npy")):
            result = {}
            for trace in ("time", "trace"):
                if out is not None and out.exists():
                    out.unlink()
                extra = [] if out is None else [str(out)]
                r = subprocess.run([sys.executable, "-c", CHILD, str(folder), trace, *extra],
                                   capture_output=True, text=True, check=True)
                run = json.loads(r.stdout.strip().splitlines()[-1])
                if trace == "time":
                    result.update(seconds=run["seconds"], maxrss_mb=run["maxrss_mb"])
                else:
                    result["heap_peak_mb"] = run["heap_peak_mb"]
            rows.append((mode, result))
    data_mb = args.n * args.size[0] * args.size[1] * 4 / 2**20
    lines = ["## Loading many faces", "",
             f"Command: `python scripts/bench_load.py --n {args.n} --size {args.size[0]} "
             f"{args.size[1]} --output BENCHMARKS.md`. {args.n} PGM faces of "
             f"{args.size[0]}x{args.size[1]} from one flat folder; A is {data_mb:.0f} MB of "
             "float32. Heap peak: tracemalloc (numpy reports its buffers to it); max RSS also "
             "counts the memory-mapped pages in the page cache.", "",
             "| mode | seconds | heap peak MB | max RSS MB |", "|---|---:|---:|---:|"]
    lines += [f"| {mode} | {r['seconds']:.1f} | {r['heap_peak_mb']:.0f} | {r['maxrss_mb']:.0f} |"
              for mode, r in rows]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        write_section(args.output, "bench_load.py", report)


if __name__ == "__main__":
    main()
