"""The experiment: splits of the faces, :func:`evaluate` and its report."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from .. import _validation as v
from ._distances import DEFAULT_METRICS, METRICS, vote
from ._features import FEATURES, METHODS, distance_sets
from ._report import RecognitionReport, per_identity
from ._occlusions import estimate_face_rows, face_rows_of, occlude, parse_condition
from ._tuning import build, check_grid, choose_settings, split_setting

__all__ = ["RecognitionReport", "protocol_folds", "evaluate", "accuracy_vs_rank"]


def protocol_folds(faces, protocol, train_per_identity, n_splits, random_state):
    """Yield ``(train, test)`` index arrays into ``faces`` for each fold of a protocol.

    ``protocol`` is ``"split"`` (``n_splits`` random splits with ``train_per_identity``
    training faces of each identity, drawn by :meth:`FaceSet.split_indices` from one
    generator seeded by ``random_state``) or ``"leave-one-out"`` (fold ``i`` holds out the
    ``i``-th face of every identity; ``train_per_identity``, ``n_splits`` and
    ``random_state`` unused): the folds :func:`evaluate` runs.
    """
    labels = np.asarray(faces.labels)
    if protocol == "split":
        rng = v.check_random_state("random_state", random_state)
        for _ in range(n_splits):
            train, test = faces.split_indices(train_per_identity, random_state=rng)
            yield np.asarray(train), np.asarray(test)
        return
    # Leave-one-out per identity: fold i holds out the i-th face of every identity.
    positions = np.empty(len(labels), dtype=int)
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        positions[idx] = np.arange(idx.size)
    for i in range(positions.max() + 1):
        test = np.flatnonzero(positions == i)
        train = np.flatnonzero(positions != i)
        yield train, test


def _faces_of(name, count):
    name = name.item() if isinstance(name, np.generic) else name
    return f"{name!r}, {count} face{'s' if count != 1 else ''}"


def _check_identities(labels, protocol, train_per_identity):
    """Refuse labels with fewer than 2 identities, or identities with too few faces for the
    protocol (``train_per_identity`` gallery faces and a probe; or 2 for leave-one-out)."""
    names, counts = np.unique(np.asarray(labels), return_counts=True)
    if names.size < 2:
        found = f" ({_faces_of(names[0], counts[0])})" if names.size else ""
        raise ValueError(f"faces: recognition needs at least 2 identities, found "
                         f"{names.size}{found}")
    need = train_per_identity + 1 if protocol == "split" else 2
    short = np.flatnonzero(counts < need)
    if short.size:
        how = (f"the split protocol needs {need} faces of each identity "
               f"(train_per_identity={train_per_identity} in the gallery and a probe)"
               if protocol == "split" else "the leave-one-out protocol needs 2 faces of each "
               "identity (one held out, one in the gallery)")
        shown = "; ".join(f"({_faces_of(names[i], counts[i])})" for i in short[:3])
        raise ValueError(f"faces: {how}, found {short.size} of {names.size} identities with "
                         f"fewer: {shown}{'; ...' if short.size > 3 else ''} "
                         f"(faces.select(min_faces={need}) keeps the others)")


def evaluate(faces, *, rank=49, methods=METHODS, metrics=DEFAULT_METRICS, k=1,
             protocol="split", train_per_identity=5, n_splits=10, random_state=0,
             conditions=("clean",), mask="unknown", identity_weight=1.0, ridge=0.0,
             half_face_penalty=1.0, robust_keep=0.7, shrinkage="auto", tune=False,
             folds=None, face_rows=None, nmf_options=None, progress=None):
    """Identify faces by nearest neighbour with NMF, PCA and raw pixels on the same splits.

    Parameters
    ----------
    faces : FaceSet
        Faces with identity labels (``faces.labels``) and ``faces.image_shape``.
    rank : int
        Basis images for NMF and eigenfaces for PCA.
    methods : sequence of {"nmf", "snmf", "pca", "raw", "nmfsc", "lnmf", "gnmf", "dnmf"}
        Default: the first four (:data:`METHODS`); the NMF variants (:data:`VARIANTS`, each
        a solver of :data:`facenmf.SOLVERS` with its own transform) when named.
    metrics : sequence of {"euclidean", "cosine", "l1", "whitened"}
        Default :data:`DEFAULT_METRICS`. ``"whitened"`` learns a metric from the gallery's
        identities, the same way for every method (see :func:`whitened_distances`).
    k : int
        Neighbours that vote.
    protocol : {"split", "leave-one-out"}
        ``"split"``: ``n_splits`` seeded random splits with ``train_per_identity`` training
        faces of each identity (the gallery) and the rest as probes; ``"leave-one-out"``:
        fold ``i`` holds out the ``i``-th face of every identity (as many folds as faces
        per identity).
    conditions : sequence of str
        Probe conditions, see :func:`occlude`; "clean" is always included first.
    mask : {"unknown", "known"}
        For occluded probes: whether the recognizer is told which pixels are covered.
        Unknown: NMF describes each probe by its robust projection or, if that lies
        clearly farther from the gallery, by the projection of one half of the face (see
        the module's description); the baselines use every pixel.
    identity_weight : float
        "snmf": weight of the one-hot identity rows stacked under the training faces, in
        units of the mean norm of a training face (1: an identity row weighs as much as
        the face's pixels).
    ridge : float
        "snmf": strength of the ridge penalty of its projections (see
        :func:`ridge_project`; 0: exact non-negative least squares; ``inf``: the limit,
        ``max(0, Wᵀa)`` rescaled).
    half_face_penalty : float
        Unknown masks, "nmf" and "snmf": a half-face description replaces the robust
        projection only if its nearest gallery face is this many times nearer (> 0;
        ``numpy.inf``: never; 1: whichever is nearer).
    robust_keep : float
        Unknown masks: the fraction of pixels the first stage of the robust projection
        keeps (``keep`` of :func:`facenmf.robust_project`; 0.7: occlusions of up to 30% of
        the face are trimmed before its threshold stage lets the outliers grow).
    shrinkage : float or "auto"
        Of the whitened metric (see :func:`whitened_distances`): "auto" estimates it from
        each gallery (Ledoit & Wolf).
    tune : bool or dict
        True: on every split, choose the settings above, the rank, the metric and the NMF
        method by cross-validation inside that split's gallery (leave-one-out over each
        identity's gallery faces; occluded inner probes for occluded conditions; never
        the split's probes), over the grid :data:`GRID`; a dict replaces grid entries
        (``{"rank": (25, 49, 81)}``). Adds, per condition, the result of the NMF pipeline
        (``method`` ``"tuned"``: the best of the NMF methods in ``methods``) and of each
        baseline (``metric`` ``"tuned"``), each with the settings ``chosen`` per split.
        The plain results keep the settings given.
    folds : sequence of (train, test), optional
        A protocol of your own: index arrays into ``faces`` of each fold's gallery and
        probes (disjoint); ``protocol``, ``train_per_identity`` and ``n_splits`` are then
        not used.
    face_rows : FaceRows or (float, float), optional
        Rows of the eyes and the mouth (pixels from the top) for the sunglasses and scarf
        conditions. None (default): estimated on each split's gallery faces
        (:func:`estimate_face_rows`; the inner cross-validation of ``tune`` estimates them
        on each inner gallery), never on probes.
    nmf_options : dict, optional
        Extra arguments of :class:`facenmf.NMF` (solver, max_iter, random_state, ...).
    progress : callable, optional
        ``progress(done, total)`` after each fold.

    Returns
    -------
    RecognitionReport

    Raises
    ------
    ValueError
        Faces without labels, of fewer than 2 identities, or with an identity of too few
        faces for the protocol (checked first); a rank above the training faces of a fold
        or the pixels of a face; unknown methods, metrics, conditions.
    """
    if faces.labels is None:
        raise ValueError("faces: recognition needs identity labels; this FaceSet has none")
    v.check_choice("protocol", protocol, ("split", "leave-one-out"))
    train_per_identity = v.check_int("train_per_identity", train_per_identity, low=1)
    # The data before any setting that depends on it (rank): one identity would score 100%.
    if folds is None:
        _check_identities(faces.labels, protocol, train_per_identity)
    methods = tuple(methods)
    for m in methods:
        v.check_choice("methods", m, FEATURES)  # METHODS and the VARIANTS
    metrics = tuple(metrics)
    for m in metrics:
        v.check_choice("metrics", m, METRICS)
    v.check_choice("mask", mask, ("unknown", "known"))
    half_face_penalty = v.check_number("half_face_penalty", half_face_penalty, low=0,
                                       low_inclusive=False, allow_inf=True)
    identity_weight = v.check_number("identity_weight", identity_weight, low=0,
                                     low_inclusive=False)
    ridge = v.check_number("ridge", ridge, low=0, allow_inf=True)
    robust_keep = v.check_fraction("robust_keep", robust_keep)
    if not (isinstance(shrinkage, str) and shrinkage == "auto"):
        shrinkage = v.check_number("shrinkage", shrinkage, low=0, low_inclusive=False, high=1)
    conditions = ("clean",) + tuple(c for c in conditions if c != "clean")
    for c in conditions:
        parse_condition(c)
    placed = bool({"sunglasses", "scarf"} & set(conditions))  # occlusions by face rows
    face_rows = face_rows_of(face_rows, faces.image_shape)
    n_splits = v.check_int("n_splits", n_splits, low=1)
    k = v.check_int("k", k, low=1)
    options = {"random_state": 0, **(nmf_options or {})}
    v.check_callable("progress", progress)

    v.check_random_state("random_state", random_state)
    seed = random_state if isinstance(random_state, int) else \
        int(np.random.default_rng(random_state).integers(2**31))
    A = np.asarray(faces.A, dtype=np.float32)
    labels = np.asarray(faces.labels)
    custom = folds is not None
    if not custom:
        folds = list(protocol_folds(faces, protocol, train_per_identity, n_splits, seed))
    else:
        folds = [_check_fold(i, fold, A.shape[1]) for i, fold in enumerate(folds)]
        if not folds:
            raise ValueError("folds: expected at least one (train, test) pair, got none")
    rank = v.check_int("rank", rank, low=1)
    grid = None
    if tune is not False:
        grid = check_grid(tune, rank, metrics)
        if not custom and protocol == "split" and train_per_identity < 2:
            raise ValueError("tune: inner cross-validation needs at least 2 gallery faces of "
                             f"each identity, got train_per_identity={train_per_identity}")
    n_train = min(len(t) for t, _ in folds)
    # Tuning fits on the inner galleries: one face of each identity fewer.
    n_fit = n_train - (np.unique(labels).size if grid is not None else 0)
    where = "an inner fold" if grid is not None else "a fold"
    what = (f"{n_fit} training faces of {where}" if n_fit <= A.shape[0]
            else f"{A.shape[0]} pixels of a face")
    for r, name in [(rank, "rank")] + [(r, "tune rank") for r in (grid or {}).get("rank", ())]:
        if r > min(A.shape[0], n_fit):
            raise ValueError(f"{name}: expected at most {min(A.shape[0], n_fit)} (the {what}), "
                             f"got {r}")
    acc, chosen, confusion = {}, {}, {}
    names, codes = np.unique(labels, return_inverse=True)  # identities, sorted

    def count(key, predicted, test):
        """Add a split's answers to the (sparse) confusion counts of ``key``."""
        pairs = confusion.setdefault(key, Counter())
        pairs.update(zip(codes[test].tolist(), np.searchsorted(names, predicted).tolist()))

    seconds = {m: 0.0 for m in methods}
    examples = {}
    start = time.perf_counter()
    for f, (train, test) in enumerate(folds):
        gal_labels, probe_labels = labels[train], labels[test]
        probes = {}
        # Sunglasses and scarf where the gallery's faces have eyes and mouth (or as given).
        rows = face_rows if face_rows is not None or not placed else estimate_face_rows(
            A[:, train], faces.image_shape)
        for c in conditions:
            if c == "clean":
                probes[c] = (A[:, test], None)
            else:
                # One generator per (fold, condition): the same occlusions in every method.
                occ_rng = np.random.default_rng([seed, f, conditions.index(c)])
                probes[c] = occlude(A[:, test], faces.image_shape, c, random_state=occ_rng,
                                    face_rows=rows)
        if f == 0:  # for figures: every condition's probes and neighbours (first metric)
            shown = {c: {"condition": c, "mask": None if c == "clean" else mask,
                         "probes": probes[c][0], "nearest": {}, "correct": {}}
                     for c in conditions}
            examples.update(probe_index=test, metric=metrics[0],
                            conditions=list(shown.values()))
        built = {}  # (method, basis options) -> its features of this split's gallery

        def features(method, basis):
            key = (method, tuple(sorted(basis.items())))
            if key not in built:
                t = time.perf_counter()
                feats = build(method, A[:, train], gal_labels, basis, rank, options)
                feats.image_shape, feats.robust_keep = faces.image_shape, robust_keep
                built[key] = feats
                seconds[method] += time.perf_counter() - t
            return built[key]

        def score(method, feats, metrics_, P, M, mode, shrinkage_=shrinkage):
            X = feats.probes(P, M, mode)
            dists = distance_sets(method, feats, X, M, mode, metrics_, gal_labels,
                                  shrinkage_)
            return {m: vote(dists[m], gal_labels, k) for m in metrics_}

        for method in methods:
            basis, _ = split_setting({"method": method, "rank": rank,
                                      "identity_weight": identity_weight})
            feats = features(method, basis)
            t = time.perf_counter()
            feats.ridge, feats.half_face_penalty = ridge, half_face_penalty
            for c, (P, M) in probes.items():
                mode = None if c == "clean" else mask
                for metric, (predicted, nearest) in score(method, feats, metrics, P, M,
                                                          mode).items():
                    acc.setdefault((method, c, mode, metric), []).append(
                        float(np.mean(predicted == probe_labels)))
                    count((method, c, mode, metric), predicted, test)
                    if f == 0 and metric == metrics[0]:
                        ex = shown[c]
                        ex["nearest"][method] = train[nearest]
                        ex["correct"][method] = predicted == probe_labels
            seconds[method] += time.perf_counter() - t
        if grid is not None:
            t = time.perf_counter()
            picked = choose_settings(A[:, train], gal_labels, faces.image_shape,
                                     methods=methods, conditions=conditions, mask=mask, k=k,
                                     grid=grid, options=options, robust_keep=robust_keep,
                                     seed=seed + f, face_rows=face_rows)
            for (family, c), (setting, inner) in picked.items():
                P, M = probes[c]
                mode = None if c == "clean" else mask
                method = setting["method"]
                basis, projection = split_setting(setting)
                feats = features(method, basis)
                feats.ridge, feats.half_face_penalty = ridge, half_face_penalty
                for name, value in projection.items():
                    setattr(feats, name, value)
                predicted, _ = score(method, feats, (setting["metric"],), P, M, mode,
                                     setting.get("shrinkage", shrinkage))[setting["metric"]]
                key = ("tuned" if family == "nmf" else family, c, mode, "tuned")
                acc.setdefault(key, []).append(float(np.mean(predicted == probe_labels)))
                count(key, predicted, test)
                chosen.setdefault(key, []).append({**setting, "inner_accuracy": inner})
            seconds["tuning"] = seconds.get("tuning", 0.0) + time.perf_counter() - t
        if progress is not None:
            progress(f + 1, len(folds))
    seconds["total"] = time.perf_counter() - start
    results = [{"method": method, "condition": c, "mask": mode, "metric": metric, "k": k,
                "rank": rank, "mean": float(np.mean(a)), "std": float(np.std(a)),
                "splits": len(a), "accuracies": a,
                **({"chosen": chosen[key]} if key in chosen else {}),
                "confusion": [[i, j, n] for (i, j), n in sorted(confusion[key].items())],
                "per_identity": per_identity(confusion[key], names.size)}
               for key, a in acc.items() for (method, c, mode, metric) in [key]]
    proto = {"name": "custom" if custom else protocol,
             "train_per_identity": train_per_identity if protocol == "split" and not custom
             else None, "splits": len(folds), "random_state": random_state,
             "n_faces": int(A.shape[1]), "n_identities": int(np.unique(labels).size),
             "image_shape": list(faces.image_shape)}
    return RecognitionReport(results=results, protocol=proto, rank=rank,
                             seconds={m: round(s, 3) for m, s in seconds.items()},
                             examples=examples, identities=[str(x) for x in names])


def _check_fold(i, fold, n_faces):
    """A fold of ``evaluate(folds=...)`` as two index arrays, checked."""
    try:
        train, test = fold
    except (TypeError, ValueError):
        raise ValueError(f"folds[{i}]: expected a (train, test) pair of index arrays") from None
    train = v.check_indices(f"folds[{i}] train", train, n_faces)
    test = v.check_indices(f"folds[{i}] test", test, n_faces)
    if train.size == 0 or test.size == 0:
        raise ValueError(f"folds[{i}]: the gallery and the probes must both be non-empty")
    if np.intersect1d(train, test).size:
        raise ValueError(f"folds[{i}]: a face is both in the gallery and a probe")
    return train, test


def accuracy_vs_rank(faces, ranks, **kwargs):
    """Run :func:`evaluate` at each rank; returns ``[(rank, RecognitionReport), ...]``."""
    return [(int(r), evaluate(faces, rank=r, **kwargs)) for r in ranks]
