"""Settings chosen by cross-validation inside the gallery of a split, never on its probes.

A *setting* is one choice of everything that depends on the data: the feature method, its
basis options (``rank``, ``identity_weight`` for "snmf"), its projection options (``ridge``
for "snmf"; ``half_face_penalty`` for the NMF methods' unknown masks) and the metric.
:func:`choose_settings` scores every setting of a declared grid (:data:`GRID`) by
leave-one-out over the gallery — inner fold ``i`` holds out the ``i``-th gallery face of
every identity and identifies it from the others, clean or occluded as the outer probes
will be — and keeps, per condition and per *family* (the NMF pipeline: every method but
"pca" and "raw"; "pca"; "raw"), the setting with the most inner hits (ties: the first in
the grid's order, which puts the simpler choice first). Only the gallery's faces and labels
are used, so the probes' labels cannot change what is chosen.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import _validation as v
from ._distances import vote, whitened_many
from ._features import FEATURES, chosen_hypotheses, distance_sets
from ._occlusions import estimate_face_rows, occlude

__all__ = ["GRID", "BASELINES", "check_grid", "family_of", "inner_folds", "settings_of",
           "split_setting", "build", "choose_settings"]

#: The values :func:`choose_settings` tries, each a short log-spaced list around the plain
#: choice (which comes first, so that it wins ties). ``"rank"`` defaults to the
#: experiment's rank and ``"metric"`` to its metrics.
GRID = {
    "identity_weight": (1.0, 0.5, 2.0),  # "snmf": identity rows weigh as much as a face, x2, /2
    # "snmf" projections: none, decades, and the limit (weights max(0, Wᵀa), rescaled).
    "ridge": (0.0, 0.1, 1.0, 10.0, float("inf")),
    "half_face_penalty": (1.0, 1.5, 2.0),  # unknown masks: no preference, then against halves
    "shrinkage": ("auto", 0.01, 0.1, 0.5),  # the whitened metric: Ledoit-Wolf, then fixed
}

#: Methods that are baselines: each is its own family, tuned only over the metric.
BASELINES = ("pca", "raw")


def family_of(method):
    """``"nmf"`` for the NMF pipeline's methods (all but :data:`BASELINES`), else the
    method itself."""
    return method if method in BASELINES else "nmf"


def check_grid(tune, rank, metrics):
    """The grid ``{name: tuple of values}`` for ``tune`` (True: :data:`GRID` with the
    experiment's ``rank`` and ``metrics``; a dict: those entries replaced)."""
    grid = {**GRID, "rank": (rank,), "metric": tuple(metrics)}
    if tune is True:
        return grid
    if not isinstance(tune, dict):
        raise TypeError(f"tune: expected True, False or a dict of setting -> values, got "
                        f"{type(tune).__name__}")
    for name, values in tune.items():
        if name not in grid:
            raise ValueError(f"tune: unknown setting {name!r}; valid ones are {sorted(grid)}")
        values = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        if not values:
            raise ValueError(f"tune: {name!r} needs at least one value")
        grid[name] = values
    for r in grid["rank"]:
        v.check_int("tune rank", r, low=1)
    for w in grid["identity_weight"]:
        v.check_number("tune identity_weight", w, low=0, low_inclusive=False)
    for r in grid["ridge"]:
        v.check_number("tune ridge", r, low=0, allow_inf=True)
    for p in grid["half_face_penalty"]:
        v.check_number("tune half_face_penalty", p, low=0, low_inclusive=False, allow_inf=True)
    for s in grid["shrinkage"]:
        if s != "auto":
            v.check_number("tune shrinkage", s, low=0, low_inclusive=False, high=1)
    return grid


def inner_folds(labels):
    """``[(train, test), ...]`` index arrays into ``labels``: fold ``i`` holds out the
    ``i``-th face of every identity that has one (leave-one-out per identity; every
    identity keeps its other faces in the inner gallery)."""
    labels = np.asarray(labels)
    positions = np.empty(len(labels), dtype=int)
    counts = {}
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        positions[idx] = np.arange(idx.size)
        counts[lab] = idx.size
    if min(counts.values()) < 2:
        raise ValueError("tune: inner cross-validation needs at least 2 gallery faces of "
                         "each identity (train_per_identity >= 2)")
    return [(np.flatnonzero(positions != i), np.flatnonzero(positions == i))
            for i in range(max(counts.values()))]


def settings_of(method, grid, condition_mode):
    """``[(basis, projection), ...]``: the grid's settings of ``method`` for probes of
    ``condition_mode`` (None, "known" or "unknown"), as keyword dicts."""
    cls = FEATURES[method]
    basis_names = tuple(getattr(cls, "basis_settings", ("rank",)))
    proj_names = [n for n in getattr(cls, "settings", ())
                  if n != "half_face_penalty" or condition_mode == "unknown"]
    bases = [dict(zip(basis_names, vals))
             for vals in itertools.product(*(grid[n] for n in basis_names))]
    projections = [dict(zip(proj_names, vals))
                   for vals in itertools.product(*(grid[n] for n in proj_names))]
    return [(b, p) for b in bases for p in projections]


def split_setting(setting):
    """``(basis, projection)``: a setting's basis options and projection options."""
    cls = FEATURES[setting["method"]]
    basis_names = getattr(cls, "basis_settings", ("rank",))
    proj_names = getattr(cls, "settings", ())
    return ({n: x for n, x in setting.items() if n in basis_names},
            {n: x for n, x in setting.items() if n in proj_names})


def build(method, train, labels, basis, rank, options):
    """``FEATURES[method]`` on ``train`` with the basis options ``basis`` (its ``"rank"``,
    else ``rank``)."""
    rest = {n: x for n, x in basis.items() if n != "rank"}
    return FEATURES[method](train, labels, basis.get("rank", rank), options, **rest)


def _hypotheses(feats, projection, P, M, mode):
    """The probes' hypotheses under ``projection``: the half-face penalty only re-weights
    them, so it is applied after the projections (which it does not change)."""
    penalty = projection.get("half_face_penalty")
    for name, value in projection.items():
        if name != "half_face_penalty":
            setattr(feats, name, value)
    hyps = feats.probes(P, M, mode)
    if penalty is not None and len(hyps) > 1:
        hyps = [hyps[0]] + [(X, penalty) for X, _ in hyps[1:]]
    return hyps


def _metric_distances(method, feats, hyps, M, mode, grid, labels):
    """``(metric, shrinkage or None, distances)`` for every metric of the grid, the whitened
    one at each shrinkage."""
    plain = [m for m in grid["metric"] if m != "whitened"]
    if plain:
        dists = distance_sets(method, feats, hyps, M, mode, plain, labels)
        for m in plain:
            yield m, None, dists[m]
    if "whitened" not in grid["metric"]:
        return
    if method == "raw" and mode == "known":  # distances over each probe's seen pixels
        for s in grid["shrinkage"]:
            d = distance_sets(method, feats, hyps, M, mode, ("whitened",), labels, s)
            yield "whitened", s, d["whitened"]
        return
    X = chosen_hypotheses(feats, hyps, labels)
    for s, d in zip(grid["shrinkage"], whitened_many(feats.gallery, labels, X,
                                                     grid["shrinkage"])):
        yield "whitened", s, d


def _inner_probes(train, itr, ite, image_shape, conditions, seed, i, face_rows=None):
    """The inner fold's held-out faces under every condition (occluded with seeds of
    their own): ``{condition: (faces, mask or None)}``. Sunglasses and scarf go where
    ``face_rows`` says, or else where the inner fold's own gallery (``train[:, itr]``, not
    its probes) puts the eyes and mouth."""
    probes = {}
    if face_rows is None and {"sunglasses", "scarf"} & set(conditions):
        face_rows = estimate_face_rows(train[:, itr], image_shape)
    for ci, c in enumerate(conditions):
        if c == "clean":
            probes[c] = (train[:, ite], None)
        else:
            rng = np.random.default_rng([seed, 1_000_003, i, ci])
            probes[c] = occlude(train[:, ite], image_shape, c, random_state=rng,
                                face_rows=face_rows)
    return probes


def _score(scores, order, key, setting, hits):
    """Add ``hits`` to ``setting``'s score under ``key``, remembering the grid order."""
    ident = (key, tuple(sorted(setting.items(), key=str)))
    order.setdefault(ident, (len(order), setting))
    scores[ident] = scores.get(ident, 0) + hits


def _best(scores, order):
    """``{key: (setting, hits)}``: the most hits per key, ties to the first in grid order."""
    best = {}
    for ident in sorted(scores, key=lambda i: order[i][0]):
        key = ident[0]
        if key not in best or scores[ident] > best[key][1]:
            best[key] = (order[ident][1], scores[ident])
    return best


def choose_settings(train, labels, image_shape, *, methods, conditions, mask, k, grid,
                    options, robust_keep, seed, face_rows=None):
    """The settings chosen on one gallery, per family and condition.

    ``train`` (n_pixels, n_gallery) and ``labels`` (n_gallery,) are the split's gallery;
    ``conditions`` the probe conditions ("clean" first), ``mask`` "known" or "unknown"
    for the occluded ones. Two stages over the same inner folds: on clean inner probes,
    every setting of each method in ``grid``; then, for each occluded condition, each
    method's best clean setting with only what concerns occlusions (the half-face penalty
    of unknown masks) and the metric chosen again, on inner probes occluded like the
    outer ones (with seeds of their own, from ``seed``). Returns
    ``{(family, condition): (setting, inner_accuracy)}`` with ``setting`` a dict:
    ``method``, ``metric``, ``shrinkage`` (whitened) and the method's options.
    """
    folds = inner_folds(labels)
    n_probes = sum(ite.size for _, ite in folds)
    built = {}  # (fold, method, basis) -> features of that inner gallery
    scores, order = {}, {}

    def features(i, method, basis):
        key = (i, method, tuple(sorted(basis.items())))
        if key not in built:
            feats = build(method, train[:, folds[i][0]], labels[folds[i][0]], basis,
                          grid["rank"][0], options)
            feats.image_shape, feats.robust_keep = image_shape, robust_keep
            built[key] = feats
        return built[key]

    def run(i, method, basis, projection, P, M, mode, key):
        GL, PL = labels[folds[i][0]], labels[folds[i][1]]
        feats = features(i, method, basis)
        hyps = _hypotheses(feats, projection, P, M, mode)
        for metric, shrinkage, d in _metric_distances(method, feats, hyps, M, mode, grid, GL):
            setting = {"method": method, **basis, **projection, "metric": metric}
            if shrinkage is not None:
                setting["shrinkage"] = shrinkage
            _score(scores, order, key, setting, int(np.sum(vote(d, GL, k)[0] == PL)))

    inner = [_inner_probes(train, itr, ite, image_shape, conditions, seed, i, face_rows)
             for i, (itr, ite) in enumerate(folds)]
    for i in range(len(folds)):  # stage 1: clean probes, the whole grid of each method
        P, M = inner[i]["clean"]
        for method in methods:
            for basis, projection in settings_of(method, grid, None):
                run(i, method, basis, projection, P, M, None, ("clean", method))
    clean = _best(scores, order)
    for c in conditions[1:]:  # stage 2: occluded probes, each method's clean choice
        mode = mask
        for method in methods:
            setting = clean[("clean", method)][0]
            basis, projection = split_setting(setting)
            variants = [projection]
            if mode == "unknown" and "half_face_penalty" in getattr(
                    FEATURES[method], "settings", ()):
                variants = [{**projection, "half_face_penalty": p}
                            for p in grid["half_face_penalty"]]
            for i in range(len(folds)):
                P, M = inner[i][c]
                for proj in variants:
                    run(i, method, basis, proj, P, M, mode, (c, method))
    per_method = _best(scores, order)
    chosen = {}
    for (c, method), (setting, hits) in sorted(per_method.items(),
                                               key=lambda kv: methods.index(kv[0][1])):
        key = (family_of(method), c)
        if key not in chosen or hits > chosen[key][1]:
            chosen[key] = (setting, hits)
    return {key: (setting, hits / n_probes) for key, (setting, hits) in chosen.items()}
