"""Outputs checked and written (models, figures), data options read, progress bars."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

from .._atomic import check_output
from .._validation import check_figure_path
from ..data import StoreArray, load_faces
from ..nmf import save_model
from ._words import integer, number


# -- outputs, checked before the work ----------------------------------------------------
def figure_path(path, option):
    """A figure's path, checked; its format comes from the extension."""
    path, _ = check_figure_path(option, path)
    return check_output(path, option, make_parents=True)


def make_parent(path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def save_model_to(path, model):
    make_parent(path)
    return save_model(path, model)


def save_figure(draw, path, *args, **kwargs):
    """Draw a figure with ``draw`` (a ``facenmf.view`` function) into ``path``."""
    make_parent(path)
    draw(*args, path=path, **kwargs)
    return path


# -- data options ------------------------------------------------------------------------
def crop_option(values):
    """``--crop``'s words as ``load_faces(crop=)`` takes them (which checks the fraction)."""
    if values is None:
        return None
    if len(values) not in (1, 2, 4):
        raise ValueError(f"--crop: expected F, H W or TOP LEFT BOTTOM RIGHT, got {len(values)} "
                         "values")
    try:
        if len(values) == 1:
            return number()(values[0])
        return tuple(integer(low=0)(text) for text in values)
    except argparse.ArgumentTypeError as exc:  # raised here, not by the parser: one line
        raise ValueError(f"--crop: {exc}") from None


def _matrix_source(args):
    """A ``.npy`` file of a face matrix (n_pixels, n_faces), as ``load_faces(out=...)``
    writes it: memory-mapped (a fit streams it, or its cluster's workers read it); the faces'
    shape is ``--size`` (not a resize) or square."""
    import math

    from ..data import FaceSet

    A = np.load(args.source, mmap_mode="r")
    if A.ndim != 2:
        raise ValueError(f"{args.source}: expected a matrix of faces (n_pixels, n_faces), got "
                         f"an array of shape {A.shape}")
    given = [option for option, value in (
        ("--path", args.path), ("--pattern", args.pattern), ("--glob", args.glob),
        ("--min-faces", args.min_faces), ("--detect", args.detect), ("--crop", args.crop),
        ("--equalize", args.equalize), ("--normalize", args.normalize)) if value]
    if given:
        raise ValueError(f"{given[0]}: not used with a .npy matrix of faces ({args.source} "
                         "holds faces already prepared)")
    n = A.shape[0]
    if args.size:
        shape = tuple(args.size)
        if shape[0] * shape[1] != n:
            raise ValueError(f"--size: expected the shape of the faces of {args.source} "
                             f"({n} pixels), got {shape[0]} x {shape[1]}")
    else:
        side = math.isqrt(n)
        if side * side != n:
            raise ValueError(f"{args.source}: faces of {n} pixels are not square; give their "
                             "shape with --size H W")
        shape = (side, side)
    return FaceSet(A, None, shape, source=str(args.source))


def load_source(args, parser):
    if str(args.source).endswith(".npy") and Path(args.source).is_file():
        return _matrix_source(args)
    faces = load_faces(args.source, path=args.path, size=tuple(args.size) if args.size else None,
                       crop=crop_option(args.crop), detect=args.detect, equalize=args.equalize,
                       normalize=args.normalize, layout=args.layout, pattern=args.pattern,
                       glob=args.glob)
    if args.min_faces is not None:
        if faces.labels is None:
            raise ValueError(f"--min-faces: {args.source} has no identities (use a folder "
                             "with one sub-folder per identity, or --pattern)")
        faces = faces.select(min_faces=args.min_faces)
        if faces.n_faces == 0:
            raise ValueError(f"--min-faces: no identity of {args.source} has "
                             f"{args.min_faces} faces or more")
    return faces


def in_memory(faces):
    """``faces`` with a face store's ``A`` read into memory (for verbs that use it whole)."""
    if isinstance(faces.A, StoreArray):
        return dataclasses.replace(faces, A=np.asarray(faces.A))
    return faces


def check_outside_store(outputs, faces, option):
    """Refuse an output inside the face store being read (an input, never written into)."""
    if not isinstance(faces.A, StoreArray):
        return
    store = os.path.realpath(faces.A.path)
    for out in outputs:
        if os.path.commonpath([store, os.path.realpath(out)]) == store:
            raise ValueError(f"{option}: {out} is inside the face store {faces.A.path}, an "
                             "input; facenmf never writes into its inputs: choose another "
                             "output")


def bar(total, desc, unit, quiet):
    from tqdm import tqdm

    # A bar only on a terminal: in a redirected log it would be hundreds of CR lines.
    return tqdm(total=total, unit=unit, desc=desc, leave=False, file=sys.stderr,
                disable=quiet or not sys.stderr.isatty())
