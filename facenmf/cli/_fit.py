"""The verbs that fit: fit, demo, recognize."""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

from .. import recognition
from .._atomic import check_not_input, check_output
from ..data import load_faces
from ..nmf import NMF, ConvergenceWarning
from ._cluster import cluster_client
from ._estimate import warn_if_slow
from ._words import warn
from ._io import bar, check_outside_store, in_memory, load_source, save_figure, save_model_to


# -- fit and demo ------------------------------------------------------------------------
def _fit_with_progress(faces, args, quiet, client=None, mask=None):
    """Fit NMF to a FaceSet with a progress bar, on the Dask cluster of ``client`` if given;
    returns the model (possibly interrupted)."""
    bars = []  # made at the first iteration, so that a bad argument prints no empty bar

    def progress(iteration, W, H, error):
        if not bars:
            bars.append(bar(args.max_iter, f"NMF rank {args.rank}", "it", quiet))
        bars[0].update(1)
        bars[0].set_postfix(error=f"{error:.5f}", refresh=False)

    model = NMF(args.rank, solver=args.solver, init=args.init, loss=args.loss,
                alpha_W=args.alpha_W, alpha_H=args.alpha_H, l1_ratio=args.l1_ratio,
                max_iter=args.max_iter, tol=args.tol, time_limit=args.time_limit,
                random_state=args.seed, callback=progress, image_shape=faces.image_shape,
                preparation=faces.preparation)
    A = faces.A
    if client is not None:  # the faces go to (or are read by) the cluster's workers
        from ..nmf import to_dask

        A = to_dask(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # said below, in CLI words
        try:
            model.fit(A, mask=mask)
        finally:
            for shown in bars:
                shown.close()
    r = model.result
    if r.stop_reason == "max_iter" and args.tol > 0:
        warn(f"the fit stopped at --max-iter {args.max_iter} before converging (the last "
              f"iteration lowered the error by more than --tol {args.tol:g}); the model is "
              "saved, a larger --max-iter would fit further")
    elif r.stop_reason == "time_limit":
        print(f"facenmf: stopped at --time-limit {args.time_limit:g} s after {r.n_iter} "
              "iterations" + (f", before the error settled to --tol {args.tol:g}"
                              if args.tol > 0 else ""), file=sys.stderr)
    return model


def error_name(loss):
    if loss in (None, "frobenius"):
        return "relative error"
    return "relative KL divergence" if loss == "kl" else "relative divergence"


def _summary(model, faces, seconds, out, mask=None):
    r = model.result
    return {
        "source": faces.source,
        "n_faces": int(faces.A.shape[1]),
        "image_shape": list(faces.image_shape),
        "rank": int(model.rank),
        "solver": r.solver,
        "init": r.init,
        "loss": r.loss,
        "alpha_W": model.alpha_W,
        "alpha_H": model.alpha_H,
        "l1_ratio": model.l1_ratio,
        "unknown_pixels": 0 if mask is None else int(mask.sum()),
        "n_iter": int(r.n_iter),
        "converged": bool(r.converged),
        "stop_reason": r.stop_reason,
        "error": float(r.error),
        "seconds": round(seconds, 3),
        "model": str(out),
    }


def _print_summary(s):
    print(f"{s['n_faces']} faces of {s['image_shape'][0]}x{s['image_shape'][1]} -> rank "
          f"{s['rank']} ({s['solver']}, {s['init']}): {error_name(s['loss'])} "
          f"{s['error']:.4f} after {s['n_iter']} iterations ({s['stop_reason']}) in "
          f"{s['seconds']:.2f} s")
    print(f"model: {s['model']}")


def _fit_and_report(faces, args, output, draw=None, client=None, mask=None):
    """Fit, save the model to ``output``, draw figures and print the summary.

    ``draw(model)``, if given, writes figures and returns ``{name: path}``. Returns the exit
    code (130 when Ctrl-C stopped the fit: the best model so far is saved all the same).
    ``client``: fit on that Dask cluster.
    """
    if args.rank > min(faces.A.shape):
        raise ValueError(f"--rank: expected at most {min(faces.A.shape)} (the "
                         f"{faces.A.shape[1]} faces of {faces.A.shape[0]} pixels), got "
                         f"{args.rank}")
    t = time.perf_counter()
    model = _fit_with_progress(faces, args, args.json, client, mask)
    seconds = time.perf_counter() - t
    s = _summary(model, faces, seconds, save_model_to(output, model), mask)
    if draw is not None:
        s["figures"] = {name: str(path) for name, path in draw(model).items()}
    if args.json:
        print(json.dumps(s))
    else:
        _print_summary(s)
        if draw is not None:
            print("figures: " + ", ".join(s["figures"].values()))
    if model.result.stop_reason == "interrupted":
        print("facenmf: interrupted: saved the best model so far", file=sys.stderr)
        return 130
    return 0


_MASK_SUFFIXES = (".png", ".pgm", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".gif")


def masks_from_dir(faces, args):
    """``fit --mask-dir DIR``: each face's mask image, by the face's path relative to its
    source folder (``DIR/s1/1.png`` for ``SOURCE/s1/1.pgm``; any image extension), read in
    grey, cropped and resized as the faces were; nonzero (above half the grey range) =
    unknown pixel. A face without a mask file is known everywhere. Returns a bool array
    (n_pixels, n_faces)."""
    from pathlib import Path

    from ..data._preprocess import preprocess
    from ..data._read import read_image
    from ._io import crop_option

    folder = Path(args.mask_dir)
    if not folder.is_dir():
        raise ValueError(f"--mask-dir: expected a folder of mask images, got {folder} "
                         f"({'a file' if folder.exists() else 'not found'})")
    if faces.paths is None or args.detect:
        why = "--detect crops faces out of the photos" if args.detect else \
            f"{args.source} has no image files"
        raise ValueError(f"--mask-dir: masks go with image files, and {why}")
    root = Path(faces.source)
    h, w = faces.image_shape
    mask = np.zeros((h * w, len(faces.paths)), dtype=bool)
    found = 0
    for j, path in enumerate(map(Path, faces.paths)):
        try:
            rel = path.relative_to(root)
        except ValueError:
            rel = Path(path.name)
        stem = folder / rel.with_suffix("")
        candidates = [stem.with_suffix(x) for x in _MASK_SUFFIXES if stem.with_suffix(x).is_file()]
        if not candidates:
            continue
        image = read_image(candidates[0])
        image = preprocess(image, crop=crop_option(args.crop),
                           size=tuple(args.size) if args.size else None, where=str(candidates[0]))
        if image.shape != (h, w):
            raise ValueError(f"--mask-dir: {candidates[0]}: expected a {h}x{w} mask after "
                             f"--crop/--size, like its face, got {image.shape[0]}x"
                             f"{image.shape[1]}")
        mask[:, j] = image.ravel() > 0.5
        found += 1
    if found == 0:
        raise ValueError(f"--mask-dir: no mask image in {folder} matches a face (expected e.g. "
                         f"{folder / Path(faces.paths[0]).name})")
    return mask


def cmd_fit(args, parser):
    output = check_output(args.output, "-o/--output", make_parents=True)
    if args.mask_dir is not None and (args.scheduler or args.workers):
        raise ValueError("--mask-dir: a masked fit runs in memory; it does not take "
                         "--scheduler or --workers")
    with cluster_client(args) as client:  # --scheduler / --workers (None without)
        faces = load_source(args, parser)
        check_not_input([output], faces.paths or [], "-o/--output")
        check_outside_store([output], faces, "-o/--output")
        mask = None
        if args.mask_dir is not None:
            faces = in_memory(faces)
            mask = masks_from_dir(faces, args)
        return _fit_and_report(faces, args, output, client=client, mask=mask)


_DEMO_FIGURES = ("basis", "reconstructions", "parts", "convergence")


def cmd_demo(args, parser):
    from .. import view

    out = check_output(args.out, "--out", folder=True)
    paths = {name: out / f"{name}.png" for name in _DEMO_FIGURES}
    for path in [out / "model.npz", *paths.values()]:
        check_output(path, "--out", make_parents=True)
    faces = load_faces("lfw-subset")
    A, shape = faces.A, faces.image_shape

    def draw(model):
        save_figure(view.basis_montage, paths["basis"], model.W, shape, H=model.H)
        save_figure(view.reconstructions, paths["reconstructions"], A, model.W, model.H, shape)
        save_figure(view.parts, paths["parts"], 0, A, model.W, model.H, shape)
        save_figure(view.convergence, paths["convergence"], [model.result])
        return paths

    return _fit_and_report(faces, args, out / "model.npz", draw)


# -- rank --------------------------------------------------------------------------------
def cmd_rank(args, parser):
    from .. import view
    from ..nmf import choose_rank

    figure = None
    if args.figures:
        out = check_output(args.figures, "--figures", folder=True)
        figure = check_output(out / "rank-selection.png", "--figures", make_parents=True)
    faces = in_memory(load_source(args, parser))
    if figure is not None:
        check_outside_store([figure], faces, "--figures")
    top = min(faces.A.shape)
    if max(args.ranks) > top:
        raise ValueError(f"--ranks: expected ranks up to {top} (the {faces.A.shape[1]} faces "
                         f"of {faces.A.shape[0]} pixels), got {max(args.ranks)}")
    bars = []

    def progress(done, total):
        if not bars:
            bars.append(bar(total, "rank selection", "fit", args.json))
        bars[0].update(1)

    t = time.perf_counter()
    try:
        selection = choose_rank(faces.A, args.ranks, holdout=args.holdout,
                                repeats=args.repeats, rule=args.rule, solver=args.solver,
                                max_iter=args.max_iter, tol=args.tol, random_state=args.seed,
                                progress=progress)
    finally:
        for shown in bars:
            shown.close()
    doc = {"source": faces.source, "n_faces": int(faces.A.shape[1]),
           "image_shape": list(faces.image_shape), **selection.to_dict(),
           "seconds": round(time.perf_counter() - t, 3)}
    if figure is not None:
        doc["figures"] = {"rank_selection": str(save_figure(view.rank_selection, figure,
                                                            selection))}
    if args.json:
        print(json.dumps(doc))
        return 0
    print(f"{doc['n_faces']} faces of {doc['image_shape'][0]}x{doc['image_shape'][1]}, "
          f"{100 * args.holdout:g}% of the pixels held out, {args.repeats} repeats "
          f"({doc['seconds']:.1f} s):")
    for r, m, e in zip(selection.ranks, selection.mean, selection.se):
        mark = "  <- chosen" if r == selection.rank else ""
        print(f"  rank {r:4d}: held-out error {m:.4f} ± {e:.4f}{mark}")
    print(f"rank: {selection.rank} (rule {selection.rule})")
    if figure is not None:
        print(f"figure: {figure}")
    return 0


# -- recognize ---------------------------------------------------------------------------
def cmd_recognize(args, parser):
    from .. import view

    if args.tune_ranks and not args.tune:
        raise ValueError("--tune-ranks: not allowed with --no-tune")
    tune = False
    if args.tune:
        tune = {"rank": tuple(dict.fromkeys(args.tune_ranks))} if args.tune_ranks else True
    figures = {}
    if args.figures:
        out = check_output(args.figures, "--figures", folder=True)
        figures = {"results": out / "recognition.png", "examples": out / "nearest-faces.png",
                   "confusion": out / "confusion.png",
                   "identities": out / "identity-accuracy.png"}
        if len(set(args.rank)) > 1:
            figures["accuracy_vs_rank"] = out / "accuracy-vs-rank.png"
        for path in figures.values():
            check_output(path, "--figures", make_parents=True)
    faces = load_source(args, parser)
    check_outside_store(figures.values(), faces, "--figures")
    faces = in_memory(faces)  # a store's faces: read once, used whole
    if faces.labels is None:
        raise ValueError(f"{args.source}: the faces have no identities; use a folder with one "
                         "sub-folder per identity, or --pattern to read them from file names")
    chosen = args.metric or list(recognition.DEFAULT_METRICS)
    metrics = recognition.METRICS if "all" in chosen else tuple(dict.fromkeys(chosen))
    chosen = args.method or ["all"]
    methods = recognition.METHODS if "all" in chosen else tuple(dict.fromkeys(chosen))
    conditions = tuple(args.occlusion or ())
    ranks = list(dict.fromkeys(args.rank))

    try:  # advisory: a bad argument is reported by evaluate below, in its own words
        warn_if_slow(faces, ranks=ranks, methods=methods, tune=bool(tune),
                     n_tune_ranks=len(tune["rank"]) if isinstance(tune, dict) else 1,
                     protocol=args.protocol, train_per_identity=args.train_per_identity,
                     n_splits=args.splits, seed=args.seed)
    except (ValueError, TypeError):
        pass

    bars = []  # made at the first fold, so that a bad argument prints no empty bar

    def progress(done, total):  # one bar over the folds of every rank
        if not bars:
            bars.append(bar(total * len(ranks), "recognition", "fold", args.json))
        bars[0].update(1)

    try:
        reports = [recognition.evaluate(
            faces, rank=rank, methods=methods, metrics=metrics, k=args.k,
            protocol=args.protocol,
            train_per_identity=args.train_per_identity, n_splits=args.splits,
            random_state=args.seed, conditions=conditions, mask=args.mask, tune=tune,
            face_rows=args.face_rows, nmf_options={"random_state": args.seed}, progress=progress)
            for rank in ranks]
    finally:
        for shown in bars:
            shown.close()
    report = reports[-1]
    if figures:
        if "accuracy_vs_rank" in figures:
            save_figure(view.accuracy_vs_rank, figures["accuracy_vs_rank"],
                    list(zip(ranks, reports)))
        save_figure(view.recognition_results, figures["results"], report)
        save_figure(view.nearest_faces, figures["examples"], faces, report)
        save_figure(view.confusion_matrix, figures["confusion"], report)
        save_figure(view.identity_accuracy, figures["identities"], report)
    if args.json:
        doc = report.to_json()
        doc["ranks"] = ranks
        if len(reports) > 1:  # every result carries its rank; seconds per rank
            doc["results"] = [r for rep in reports for r in rep.to_json()["results"]]
            del doc["rank"]
            doc["seconds"] = {str(rank): rep.seconds for rank, rep in zip(ranks, reports)}
        doc["source"] = faces.source
        doc["figures"] = {name: str(p) for name, p in figures.items()}
        print(json.dumps(doc))
        return 0
    p = report.protocol
    print(f"{p['n_faces']} faces of {p['n_identities']} identities, "
          + (f"{p['splits']} splits of {p['train_per_identity']} training faces per identity"
             if p["name"] == "split" else f"leave-one-out, {p['splits']} folds")
          + f", {sum(rep.seconds['total'] for rep in reports):.1f} s")
    for rank, rep in zip(ranks, reports):
        print(f"\nrank {rank}\n{rep.table()}")
        if tune:
            print(f"\nsettings chosen on each split's gallery (rank {rank})\n"
                  f"{rep.chosen_table()}")
    for name, path in figures.items():
        print(f"{name}: {path}")
    return 0
