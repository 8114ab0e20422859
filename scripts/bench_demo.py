"""Wall time of ``facenmf demo`` as a user runs it: a fresh process, start to finish.

Usage::

    python scripts/bench_demo.py [--repeat 3] [--output BENCHMARKS.md]

Runs ``facenmf demo --out <tmp>`` in a new Python process ``--repeat`` times (imports,
loading the bundled faces, the fit, four figures and the model file included) and reports
the fastest and slowest run against the one-minute budget of the issue.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import write_section  # scripts/ is on sys.path when run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--output", type=Path, help="replace this script's section of this file")
    args = p.parse_args(argv)
    times = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "facenmf.cli", "demo", "--out", tmp],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t)
            assert (Path(tmp) / "basis.png").is_file() and (Path(tmp) / "model.npz").is_file()
    report = "\n".join([
        "## `facenmf demo`", "",
        f"Command: `python scripts/bench_demo.py --repeat {args.repeat} --output BENCHMARKS.md`."
        " A fresh process each run: imports, the 100 bundled LFW faces, a rank-25 fit, four "
        "figures and the model file.", "",
        f"Fastest {min(times):.2f} s, slowest {max(times):.2f} s over {args.repeat} runs "
        "(budget: well under 60 s on 2 cores).", ""])
    print(report)
    if args.output:
        write_section(args.output, "bench_demo.py", report)


if __name__ == "__main__":
    main()
