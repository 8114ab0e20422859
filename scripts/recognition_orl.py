"""Nearest-neighbour identification on ORL: NMF vs PCA vs raw pixels, clean and occluded.

Usage::

    python scripts/recognition_orl.py [--shared ../shared/datasets] [--output BENCHMARKS.md]

Runs, on the same seeded splits (40 people, 5 training faces each, 10 splits, 1-NN):
clean probes with every metric; probes with a random black block over 25% of the face,
sunglasses, a scarf and 10% salt-and-pepper noise, with the mask unknown (NMF: robust
projection) and, for the block, known; clean probes on five other draws of the 10
splits (seeds 1-5, cosine and whitened); and accuracy against rank (3 splits, whitened
metric). Writes the figures to docs/ and its section of BENCHMARKS.md. The same numbers
come from the CLI, e.g. ``facenmf recognize ../shared/datasets/orl --rank 49
--train-per-identity 5 --splits 10 --occlusion block:0.25 --mask unknown --metric all
--json`` (``--seed S`` for the other draws).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _report import write_section  # scripts/ is on sys.path when run

import facenmf
from facenmf import recognition, view

ROOT = Path(__file__).resolve().parents[1]
SEEDS = range(6)  # split draws for the clean probes; 0 is the CLI's default


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", type=Path, default=Path(os.environ.get(
        "FACENMF_DATA", ROOT.parent / "shared" / "datasets")))
    p.add_argument("--output", type=Path, help="replace this script's section of this file")
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = p.parse_args(argv)
    orl = args.shared / "orl"
    if not (orl / "s1" / "1.pgm").is_file():
        sys.exit(f"ORL not found at {orl}: nothing measured")
    faces = facenmf.load_faces("orl", path=orl)
    common = dict(rank=49, train_per_identity=5, n_splits=10, random_state=0)
    t = time.perf_counter()
    unknown = recognition.evaluate(faces, methods=recognition.METHODS,
                                   metrics=recognition.METRICS, mask="unknown",
                                   conditions=("block:0.25", "sunglasses", "scarf", "noise:0.1"),
                                   **common)
    known = recognition.evaluate(faces, methods=recognition.METHODS, metrics=("cosine",),
                                 mask="known",
                                 conditions=("block:0.25", "sunglasses", "scarf"), **common)
    total = time.perf_counter() - t
    rows = recognition.accuracy_vs_rank(faces, [9, 16, 25, 49, 81], n_splits=3,
                                        metrics=("whitened",), conditions=("block:0.25",))
    args.docs.mkdir(exist_ok=True)
    t = time.perf_counter()
    block_only = recognition.evaluate(faces, conditions=("block:0.25",), **common)
    one_run = time.perf_counter() - t
    draws = {0: unknown}
    for seed in SEEDS[1:]:
        draws[seed] = recognition.evaluate(faces, **{**common, "random_state": seed,
                                                    "nmf_options": {"random_state": seed}})
    view.recognition_results(block_only, path=args.docs / "recognition-orl.png")
    view.nearest_faces(faces, block_only, path=args.docs / "nearest-faces-orl.png")
    view.accuracy_vs_rank(rows, path=args.docs / "accuracy-vs-rank-orl.png")

    def get(rep, method, condition="clean", metric="cosine"):
        return next(r for r in rep.results if (r["method"], r["condition"], r["metric"])
                    == (method, condition, metric))

    def pct(r):
        return f"{100 * r['mean']:.1f}% ± {100 * r['std']:.1f}"

    clean = []
    for metric in recognition.METRICS:
        nmf, snmf, pca, raw = (get(unknown, m, metric=metric)
                               for m in ("nmf", "snmf", "pca", "raw"))

        def verdict(r):
            return "met" if r["mean"] >= 0.97 and r["mean"] >= pca["mean"] else "NOT met"

        clean.append(f"- {metric}: NMF **{pct(nmf)}** ({verdict(nmf)}), supervised NMF "
                     f"**{pct(snmf)}** ({verdict(snmf)}); PCA {pct(pca)}, raw {pct(raw)}")
    seed_rows = []
    for metric in recognition.DEFAULT_METRICS:
        means = {seed: [get(rep, m, metric=metric)["mean"] for m in recognition.METHODS]
                 for seed, rep in draws.items()}
        for seed, row in means.items():
            seed_rows.append(f"| {metric} | {seed} | "
                             + " | ".join(f"{100 * x:.2f}%" for x in row) + " |")
        overall = [sum(row[i] for row in means.values()) / len(means)
                   for i in range(len(recognition.METHODS))]
        seed_rows.append(f"| {metric} | **all {len(means) * common['n_splits']} splits** | "
                         + " | ".join(f"**{100 * x:.2f}%**" for x in overall) + " |")
    nmf_block = get(unknown, "nmf", "block:0.25")
    lines = [
        "## Face recognition on ORL", "",
        "Command: `python scripts/recognition_orl.py --output BENCHMARKS.md` (figures in "
        "docs/). 40 people, 5 training (gallery) faces each, the other 5 as probes, 10 seeded "
        "splits, rank 49, 1-NN; NMF, supervised NMF, PCA and raw pixels on the same splits "
        f"and the same occluded probes. Both 10-split runs together: {total:.0f} s; one run as "
        "the CLI does it by default (`facenmf recognize ../shared/datasets/orl --rank 49 "
        "--train-per-identity 5 --splits 10 --occlusion block:0.25 --mask unknown`, same "
        f"work: all four methods, cosine and whitened): {one_run:.0f} s. \"whitened\" is the "
        "cosine after whitening by the gallery's within-person covariance "
        "(`recognition.whitened_distances`), learned the same way for every method.", "",
        "### Unknown mask (NMF: robust projection; baselines: plain)", "",
        unknown.table(), "",
        "### Known mask (NMF: masked projection; PCA: least squares on the seen pixels; raw: "
        "distances over the seen pixels)", "",
        known.table(), "",
        "### Against the targets", "",
        "Clean probes, target NMF >= 97% and >= PCA with the same metric (supervised NMF: "
        "identities stacked under the faces, ridge projections; see `recognition.METHODS`):",
        "",
        *clean, "",
        "The same clean probes on other draws of the 10 splits (`--seed S`; seed 0 is the "
        "CLI's default and the tables above), mean accuracy:", "",
        "| metric | split seed | " + " | ".join(recognition.METHODS) + " |",
        "|---|---|" + "---:|" * len(recognition.METHODS),
        *seed_rows, "",
        f"Random 25% block, unknown mask, cosine: NMF **{pct(nmf_block)}** (target >= 80%: "
        f"{'met' if nmf_block['mean'] >= 0.8 else 'NOT met'}), supervised NMF "
        f"{pct(get(unknown, 'snmf', 'block:0.25'))}; PCA "
        f"{100 * get(unknown, 'pca', 'block:0.25')['mean']:.1f}%, raw pixels "
        f"{100 * get(unknown, 'raw', 'block:0.25')['mean']:.1f}% (cosine), "
        f"{100 * get(unknown, 'raw', 'block:0.25', 'l1')['mean']:.1f}% (L1).", "",
        "![recognition](docs/recognition-orl.png)", "",
        "![accuracy against rank](docs/accuracy-vs-rank-orl.png)", ""]
    report = "\n".join(lines)
    print(report)
    if args.output:
        write_section(args.output, "recognition_orl.py", report)


if __name__ == "__main__":
    main()
