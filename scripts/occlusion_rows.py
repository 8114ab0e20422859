"""Sunglasses and scarf placed by each database's faces: the figure docs/occlusions-by-face.png.

Usage::

    python scripts/occlusion_rows.py [--shared ../shared/datasets] [--plot FILE]
                                     [--databases orl umist gt40x30]

For each database under ``--shared`` (default ``$FACENMF_DATA`` or ``../shared/datasets``
beside the checkout; a missing one is skipped, said on stderr), the eye and mouth rows are
estimated from the mean of all its faces (:func:`facenmf.recognition.estimate_face_rows`)
and drawn on the mean face, then one face (the first of the middle identity) is shown clean,
with sunglasses and with a scarf as :func:`facenmf.recognition.occlude` places them. The
rows are printed, in pixels and as fractions of the height. Look at the figure: the band
must cover the eyes and the scarf the mouth on every database.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import facenmf
from facenmf import recognition

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(os.environ.get("FACENMF_DATA",
                                                    ROOT.parent / "shared" / "datasets")))
    parser.add_argument("--databases", nargs="+", default=["orl", "umist", "gt40x30"])
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "occlusions-by-face.png",
                        help="where to save the figure (default docs/occlusions-by-face.png)")
    args = parser.parse_args(argv)
    found = []
    for name in args.databases:
        if not (args.shared / name).is_dir():
            print(f"occlusion_rows.py: {name} not found at {args.shared / name}: skipped",
                  file=sys.stderr)
            continue
        found.append((name, facenmf.load_faces(args.shared / name)))
    if not found:
        print("occlusion_rows.py: no database found (pass --shared DIR or set FACENMF_DATA)",
              file=sys.stderr)
        return 1
    fig = Figure(figsize=(7.5, 2.3 * len(found) + 0.3), layout="constrained", dpi=100)
    axes = fig.subplots(len(found), 4, squeeze=False)
    for row, (name, faces) in zip(axes, found):
        A, shape = np.asarray(faces.A), faces.image_shape
        rows = recognition.estimate_face_rows(A, shape)
        print(f"{name} ({shape[0]}x{shape[1]}): eyes row {rows.eyes:g} "
              f"({rows.eyes / shape[0]:.2f}), mouth row {rows.mouth:g} "
              f"({rows.mouth / shape[0]:.2f})")
        labels = np.asarray(faces.labels)
        middle = np.unique(labels)[len(np.unique(labels)) // 2]
        j = int(np.flatnonzero(labels == middle)[0])
        shown = [A.mean(axis=1), A[:, j]] + [
            recognition.occlude(A[:, [j]], shape, c, face_rows=rows)[0][:, 0]
            for c in ("sunglasses", "scarf")]
        for ax, image, title in zip(row, shown, ("mean face, rows found", "a face",
                                                 "sunglasses", "scarf")):
            ax.imshow(image.reshape(shape), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name}: {title}", fontsize=8)
            ax.set_axis_off()
        for y, colour in ((rows.eyes, "tab:red"), (rows.mouth, "tab:blue")):
            row[0].axhline(y, color=colour, lw=1)
    fig.suptitle("Eye (red) and mouth (blue) rows from the mean face; occlusions placed by "
                 "them", fontsize=9)
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)
    print(f"figure: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
