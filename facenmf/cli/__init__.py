"""The ``facenmf`` command: argument parsing, progress bars, exit codes.

The only module that prints. Errors are one line on stderr with exit code 2, in the words of
the command line (options, not Python parameters); ``--debug`` (before or after the verb)
shows the traceback. Every output is checked before the work starts, never replaces one of
the command's inputs, and is written atomically; missing output folders are created, in
every verb. Ctrl-C during a fit keeps and saves the best model so far.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .. import __version__, recognition
from ..nmf import INITS, SOLVERS
from ._cluster import add_cluster_options
from ._fit import cmd_demo, cmd_fit, cmd_rank, cmd_recognize
from ._models import (MOST_IGNORED, cmd_compress, cmd_decompress, cmd_info, cmd_reconstruct,
                      cmd_show, cmd_transform)
from ._pack import OUTPUT_HELP, cmd_pack
from ._words import Parser, alpha_word, cli_words, integer, loss_word, number, show_warning

__all__ = ["main", "build_parser", "MOST_IGNORED"]


def add_data_options(p, select=True, store=True):
    p.add_argument("source", help="a folder of faces (one sub-folder per identity, or a flat "
                   "folder) or a registered name (orl, cbcl, lfw-subset, yale, ...)"
                   + (", or a face store written by facenmf pack (its faces are already "
                      "prepared: the options below that prepare faces are not used with "
                      "it)" if store else ""))
    p.add_argument("--path", default=None, help="where a registered database's files are")
    p.add_argument("--layout", default="auto", choices=["auto", "identity-folders", "flat"],
                   help="how the folder is organised (default auto)")
    p.add_argument("--pattern", default=None, metavar="REGEX",
                   help="identity from each file name (the regex's first group), for flat "
                   "folders, e.g. 'subject(\\d+)'")
    p.add_argument("--glob", default=None, help="which files are images, e.g. 'subject*' "
                   "(default: files with an image extension)")
    if select:
        p.add_argument("--min-faces", type=integer(low=1), default=None, metavar="N",
                       help="keep only identities with at least N faces")
    p.add_argument("--detect", action="store_true", help="find the face in each image "
                   "(frontal-face detector) and cut it out; use with --size")
    p.add_argument("--crop", nargs="+", default=None, metavar="C",
                   help="F (keep that central fraction), H W (centre crop) or TOP LEFT "
                   "BOTTOM RIGHT (a box), after --detect")
    p.add_argument("--size", type=integer(low=1), nargs=2, metavar=("H", "W"),
                   help="resize faces to H x W")
    p.add_argument("--equalize", action="store_true", help="histogram-equalize each face")
    p.add_argument("--normalize", choices=["lee-seung"], default=None,
                   help="Lee & Seung 1999: each face's mean and standard deviation set to 0.25")


# -- the parser --------------------------------------------------------------------------
def add_fit_options(p, rank):
    p.add_argument("--rank", type=integer(low=1), default=rank,
                   help=f"number of basis images (default {rank})")
    p.add_argument("--solver", default="hals", choices=sorted(SOLVERS))
    p.add_argument("--init", default=None, choices=[i for i in INITS if i != "custom"],
                   help="initialization (default nndsvda)")
    p.add_argument("--loss", default="frobenius", type=loss_word, metavar="LOSS",
                   help="frobenius (default), kl, itakura-saito, or a number: the beta of a "
                   "beta-divergence (solver mu; kl also klcd)")
    p.add_argument("--alpha-W", type=number(low=0), default=0.0, metavar="ALPHA",
                   help="L1/L2 penalty of the basis images W (scikit-learn's objective, "
                   "transposed: scaled by the number of faces; default 0)")
    p.add_argument("--alpha-H", type=alpha_word, default="same", metavar="ALPHA",
                   help="penalty of the weights H (scaled by the number of pixels), or "
                   "'same' as --alpha-W (default)")
    p.add_argument("--l1-ratio", type=number(low=0, high=1), default=0.0, metavar="R",
                   help="share of L1 in the penalties, 0 (all L2, default) to 1 (all L1)")
    p.add_argument("--max-iter", type=integer(low=0), default=500)
    p.add_argument("--tol", type=number(low=0), default=1e-4)
    p.add_argument("--time-limit", type=number(low=0, inclusive=False), default=None,
                   help="seconds")
    p.add_argument("--seed", type=integer(low=0), default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    parser = Parser(prog="facenmf", description="Parts-based features of faces with "
                     "non-negative matrix factorization.")
    parser.add_argument("--version", action="version", version=f"facenmf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB",
                                parser_class=Parser)

    def verb(name, func, **kwargs):
        p = sub.add_parser(name, parents=[common], **kwargs)
        p.set_defaults(func=func, parser=p)
        return p

    p = verb("demo", cmd_demo, help="learn a basis of the bundled LFW faces and draw it "
             "(no network)")
    p.add_argument("--out", default="facenmf-demo", help="output folder (default "
                   "facenmf-demo/, created if missing)")
    add_fit_options(p, rank=25)

    p = verb("fit", cmd_fit, help="learn a basis from a folder, a registered database or a "
             "face store")
    add_data_options(p)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="model file (.npz; missing folders are created)")
    p.add_argument("--mask-dir", type=Path, metavar="DIR",
                   help="per-image masks of unknown pixels (occlusions, missing data): DIR "
                   "mirrors SOURCE's files (DIR/s1/1.png for SOURCE/s1/1.pgm; any image "
                   "type), white = unknown; faces without a mask file are known everywhere; "
                   "the fit uses the known pixels only (hals, mu, anls, klcd)")
    add_fit_options(p, rank=49)
    add_cluster_options(p)

    p = verb("rank", cmd_rank, help="choose the rank by cross-validation over held-out "
             "pixels (facenmf.choose_rank)")
    add_data_options(p)
    p.add_argument("--ranks", type=integer(low=1), nargs="+", required=True, metavar="R",
                   help="ranks to try, e.g. 9 25 49 100")
    p.add_argument("--repeats", type=integer(low=1), default=3,
                   help="rounds of held-out pixels (3)")
    p.add_argument("--holdout", type=number(low=0, inclusive=False, high=0.5), default=0.1,
                   metavar="F", help="fraction of the pixels held out per round (0.1)")
    p.add_argument("--rule", choices=["min", "one-se"], default="min",
                   help="the smallest mean held-out error (min) or the smallest rank within "
                   "one standard error of it (one-se)")
    p.add_argument("--solver", default="hals", choices=["hals", "mu", "anls"])
    p.add_argument("--max-iter", type=integer(low=1), default=500)
    p.add_argument("--tol", type=number(low=0), default=1e-4,
                   help="of each fit (1e-4; smaller gives a clearer minimum, more slowly)")
    p.add_argument("--seed", type=integer(low=0), default=0, help="random seed (default 0)")
    p.add_argument("--figures", type=Path, metavar="DIR",
                   help="write rank-selection.png (held-out error against rank) here")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")

    p = verb("pack", cmd_pack, help="decode a folder or a registered database into a face "
             "store (uint8 faces in a zarr array, with labels and paths) with several "
             "processes; resumable; needs pip install 'facenmf[store]'")
    add_data_options(p, select=False, store=False)
    p.add_argument("-o", "--output", type=Path, required=True, metavar="STORE",
                   help=OUTPUT_HELP)
    p.add_argument("--processes", type=integer(low=1), default=None, metavar="N",
                   help="processes that decode the images (default: every CPU this "
                   "process may use)")
    p.add_argument("--chunk-faces", type=integer(low=1), default=None, metavar="N",
                   help="faces per chunk, a multiple of 2048 (default 8192, fewer for large "
                   "faces: at most 32 MiB a chunk)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    p = verb("recognize", cmd_recognize, help="nearest-neighbour identification: NMF vs PCA "
             "vs raw pixels on the same splits")
    add_data_options(p)
    p.add_argument("--rank", type=integer(low=1), nargs="+", default=[49],
                   help="basis images and eigenfaces (49); several ranks also give "
                   "accuracy against rank")
    p.add_argument("--protocol", choices=["split", "leave-one-out"], default="split")
    p.add_argument("--train-per-identity", type=integer(low=1), default=5,
                   help="training (gallery) faces per identity in each split (5)")
    p.add_argument("--splits", type=integer(low=1), default=10, help="seeded random splits (10)")
    p.add_argument("--method", action="append",
                   choices=[*recognition.METHODS, *recognition.VARIANTS, "all"],
                   help="feature method; repeat for several (default all: nmf, snmf "
                   "(supervised NMF), pca, raw; the NMF variants nmfsc, lnmf, gnmf, dnmf "
                   "run when named)")
    p.add_argument("--metric", action="append", choices=[*recognition.METRICS, "all"],
                   help="distance in feature space; repeat for several (default cosine and "
                   "whitened)")
    p.add_argument("--k", type=integer(low=1), default=1, help="neighbours that vote (1)")
    p.add_argument("--occlusion", action="append", metavar="COND",
                   help="also test occluded probes: block:F, sunglasses, scarf or noise:F "
                   "(repeatable)")
    p.add_argument("--mask", choices=["unknown", "known"], default="unknown",
                   help="whether the occluded pixels are known to the recognizer")
    p.add_argument("--face-rows", type=number(low=0), nargs=2, metavar=("EYES", "MOUTH"),
                   help="rows of the eyes and the mouth (pixels from the top of the faces as "
                   "loaded, after --size) for sunglasses and scarf; default: estimated on "
                   "each split's gallery faces")
    p.add_argument("--tune", action=argparse.BooleanOptionalAction, default=True,
                   help="on every split, choose the NMF method, the metric and their settings "
                   "(rank too, with --tune-ranks) by leave-one-out cross-validation inside "
                   "that split's gallery, never its probes, and report the tuned NMF "
                   "pipeline and baselines with the settings chosen per split (the default; "
                   "--no-tune: only the plain methods with their default settings, about 5x "
                   "faster)")
    p.add_argument("--tune-ranks", type=integer(low=1), nargs="+", metavar="R",
                   help="the ranks tuning chooses among (default: --rank)")
    p.add_argument("--seed", type=integer(low=0), default=0)
    p.add_argument("--figures", type=Path, help="also draw the results and sample probes "
                   "in this folder (created if missing)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    p = verb("show", cmd_show, help="draw a model's basis images")
    p.add_argument("model", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="figure file: .png, .pdf, .svg, .jpg, ... (the extension names the "
                   "format)")
    p.add_argument("--titles", action="store_true", help="label each image")

    resize_help = ("scale images whose size differs from the model's training images, "
                   "keeping their aspect ratio (then centre-cropped), instead of refusing "
                   "them")
    p = verb("reconstruct", cmd_reconstruct,
             help="project images onto a model and rebuild them")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output folder (created if missing): <name>.png per image, keeping "
                   "the inputs' sub-folders, and reconstructions.png; files of those names "
                   "are replaced, never an input")
    p.add_argument("--robust", action="store_true",
                   help="faces may be partly covered (glasses, a hand, a scarf): find the "
                   "pixels the basis cannot explain and rebuild the face without them")
    p.add_argument("--resize", action="store_true", help=resize_help)
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    p = verb("transform", cmd_transform,
             help="project images onto a model's basis and export their weights")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files or folders of them (a folder's "
                   "sub-folders are identities, as fit reads them), or one registered "
                   "database name, or one face store (facenmf pack) prepared as the model's, "
                   "or one .npy matrix of faces (n_pixels, n_faces) as fit takes it")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="features.npz (arrays features (n_faces, rank), paths, labels), "
                   "features.csv (header path,label,h0..h{rank-1}, a row per face) or "
                   "features.npy (the features (n_faces, rank) only: no paths, no labels); "
                   "never an input")
    p.add_argument("--path", default=None, help="where a registered database's files are")
    p.add_argument("--layout", default="auto", choices=["auto", "identity-folders", "flat"],
                   help="how a folder is organised (default auto)")
    p.add_argument("--pattern", default=None, metavar="REGEX",
                   help="identity from each file name (the regex's first group)")
    p.add_argument("--glob", default=None, help="which files are images, e.g. 'subject*'")
    p.add_argument("--resize", action="store_true", help=resize_help)
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    p = verb("compress", cmd_compress,
             help="store faces as their quantized weights on a model")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files or folders of them, or one face "
                   "store (facenmf pack) whose faces were prepared as the model's")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="container file to write (never an input)")
    p.add_argument("--bits", type=integer(low=2, high=16), default=8,
                   help="bits per weight, 2 to 16 (8)")
    p.add_argument("--resize", action="store_true", help=resize_help)
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    p = verb("decompress", cmd_decompress, help="rebuild the faces of a container as PNG files")
    p.add_argument("model", type=Path)
    p.add_argument("container", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output folder (created if missing): <name>.png per face, keeping "
                   "the compressed files' sub-folders; existing files of those names are "
                   "replaced, never the model or the container")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")

    p = verb("info", cmd_info, help="describe a model file")
    p.add_argument("model", type=Path)
    p.add_argument("--json", action="store_true")
    return parser


def main(argv=None):
    for stream in (sys.stdout, sys.stderr):
        # File names need not be valid UTF-8: print them escaped rather than crash.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # restored on return: main() may run in-process
            warnings.showwarning = show_warning
            return args.func(args, args.parser)
    except KeyboardInterrupt:
        print("facenmf: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError) as exc:
        if args.debug:
            raise
        print(f"facenmf: error: {cli_words(str(exc), args.parser)}", file=sys.stderr)
        return 2

