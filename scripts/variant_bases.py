"""The face NMF variants' bases beside NMF, PCA and VQ (Lee & Seung's comparison), on ORL.

Usage::

    python scripts/variant_bases.py [--shared ../shared/datasets] [--rank 25] [--size 56 46]
        [--output docs/variant-bases-orl.png]

Each basis is fitted with its solver's defaults (NMFsc with ``sparseness_W=0.75``: without a
constraint it is plain NMF by projected gradient; DNMF with ORL's identities), each title
giving the mean Hoyer sparseness of its basis images (``view.compare_methods``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import facenmf
from facenmf import view

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--shared", type=Path, default=Path(os.environ.get(
        "FACENMF_DATA", ROOT.parent / "shared" / "datasets")))
    p.add_argument("--rank", type=int, default=25)
    p.add_argument("--size", type=int, nargs=2, default=(56, 46), metavar=("H", "W"))
    p.add_argument("--output", type=Path, default=ROOT / "docs" / "variant-bases-orl.png")
    args = p.parse_args(argv)
    orl = args.shared / "orl"
    if not orl.is_dir():
        sys.exit(f"ORL not found at {orl}: nothing drawn")
    faces = facenmf.load_faces(orl, size=tuple(args.size))
    t = time.perf_counter()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    view.compare_methods(faces.A, faces.image_shape, rank=args.rank,
                         variants=("nmfsc", "lnmf", "gnmf", "dnmf"), labels=faces.labels,
                         variant_options={"nmfsc": {"sparseness_W": 0.75}}, path=args.output)
    print(f"{args.output} ({time.perf_counter() - t:.0f} s)")


if __name__ == "__main__":
    main()
