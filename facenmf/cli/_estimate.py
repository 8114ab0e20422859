"""How long ``recognize`` will take, said before the work when it is long, with a ``--size``
that would be quicker."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from .. import recognition
from ..nmf import NMF

#: recognize prints its estimate only above this many seconds (2 minutes: below that a run
#: is not worth resizing the faces for). A default of the function, not measured on any
#: database.
SLOW_RUN_SECONDS = 120.0


def _shrunk(A, image_shape, factor):
    """Faces (n_pixels, n_faces) averaged over ``factor`` x ``factor`` blocks."""
    h, w = image_shape
    hs, ws = h // factor, w // factor
    X = np.asarray(A, dtype=np.float32).reshape(h, w, -1)[:hs * factor, :ws * factor]
    X = X.reshape(hs, factor, ws, factor, -1).mean(axis=(1, 3))
    return X.reshape(hs * ws, -1), (hs, ws)


def fits_per_split(methods, tune, n_ranks, n_inner):
    """NMF fits of one split: each NMF method's basis at the experiment's settings and, with
    tuning, on each of ``n_inner`` inner galleries at each tuned rank (supervised NMF at each
    of its identity weights), plus the chosen settings' own fit. PCA and raw pixels cost
    little beside them and are not counted."""
    weights = len(recognition.GRID["identity_weight"])
    total = 0
    for method in methods:
        if method in ("pca", "raw"):  # the baselines
            continue
        total += 1 + ((1 + n_inner * n_ranks * (weights if method == "snmf" else 1))
                      if tune else 0)
    return total


def _words(seconds):
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def estimate(faces, *, ranks, methods, tune, n_tune_ranks, protocol, train_per_identity,
             n_splits, seed):
    """``(seconds, n_folds, timing)``: the run's time, from one NMF fit of the first fold's
    gallery on the faces shrunk 4x in each direction (fewer for small faces), timed, then
    scaled by the pixels (a fit's cost grows with them: every iteration multiplies the
    pixels by the faces by the rank) and by the number of fits. ``timing(image_shape)``
    gives the estimate for faces of another size."""
    h, w = faces.image_shape
    factor = next((f for f in (4, 2) if h // f >= 8 and w // f >= 8), 1)
    A, small = _shrunk(faces.A, faces.image_shape, factor)
    folds = list(recognition.protocol_folds(faces, protocol, train_per_identity, 1, seed))
    n_folds = n_splits if protocol == "split" else len(folds)  # leave-one-out: all of them
    train = folds[0][0]
    labels = np.asarray(faces.labels)
    n_inner = int(np.max(np.unique(labels[train], return_counts=True)[1]))
    per_rank = []
    for rank in ranks:
        r = min(rank, A.shape[0], train.size)
        t = time.perf_counter()
        with warnings.catch_warnings():  # a fit that stops at max_iter is timed all the same
            warnings.simplefilter("ignore")
            NMF(r, random_state=seed).fit(A[:, train])
        per_rank.append((time.perf_counter() - t) * rank / r)
    fits = fits_per_split(methods, tune, n_tune_ranks, n_inner)
    small_pixels = small[0] * small[1]

    def timing(image_shape):
        scale = image_shape[0] * image_shape[1] / small_pixels
        return sum(per_rank) * scale * fits * n_folds

    return timing((h, w)), n_folds, timing


def warn_if_slow(faces, *, threshold=SLOW_RUN_SECONDS, **options):
    """Print to stderr how long recognize will take, and a ``--size`` that would take less,
    when the estimate (:func:`estimate`) is over ``threshold`` seconds. Returns the message
    (None when quick)."""
    seconds, n_folds, timing = estimate(faces, **options)
    if seconds <= threshold:
        return None
    h, w = faces.image_shape
    size = (h, w)
    while size[0] // 2 >= 16 and size[1] // 2 >= 16:  # halve until quick, 16 pixels a side at least
        size = (size[0] // 2, size[1] // 2)
        if timing(size) <= threshold:
            break
    what = "splits" if options["protocol"] == "split" else "folds"
    message = (f"about {_words(seconds)} for {n_folds} {what} at {h}x{w}" +
               (f"; --size {size[0]} {size[1]} would take about {_words(timing(size))}"
                if size != (h, w) else ""))
    print(f"facenmf: {message}", file=sys.stderr)
    return message
