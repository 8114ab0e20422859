"""The ``facenmf`` command: argument parsing, progress bars, exit codes.

The only module that prints. Errors are one line on stderr with exit code 2 (``--debug``
shows the traceback); Ctrl-C during a fit keeps and saves the best model so far.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__, recognition
from ._atomic import atomic_write
from .data import load_faces
from .nmf import (INITS, LOSSES, NMF, SOLVERS, ConvergenceWarning, load_model, robust_project,
                  save_model)


def _fit_with_progress(faces, args, quiet):
    """Fit NMF to a FaceSet with a tqdm bar; returns the model (possibly interrupted)."""
    from tqdm import tqdm

    bars = []  # made at the first iteration, so that a bad argument prints no empty bar

    def progress(iteration, W, H, error):
        if not bars:
            bars.append(tqdm(total=args.max_iter, unit="it", desc=f"NMF rank {args.rank}",
                             leave=False, disable=quiet, file=sys.stderr))
        bars[0].update(1)
        bars[0].set_postfix(error=f"{error:.5f}", refresh=False)

    model = NMF(args.rank, solver=args.solver, init=args.init, loss=args.loss,
                max_iter=args.max_iter, tol=args.tol, time_limit=args.time_limit,
                random_state=args.seed, callback=progress, image_shape=faces.image_shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(faces.A)
        finally:
            for bar in bars:
                bar.close()
    for w in caught:
        print(f"facenmf: warning: {w.message}", file=sys.stderr)
    return model


def _summary(model, faces, seconds, out):
    r = model.result
    return {
        "source": faces.source,
        "n_faces": int(faces.A.shape[1]),
        "image_shape": list(faces.image_shape),
        "rank": int(model.rank),
        "solver": r.solver,
        "init": r.init,
        "loss": r.loss,
        "n_iter": int(r.n_iter),
        "converged": bool(r.converged),
        "stop_reason": r.stop_reason,
        "error": float(r.error),
        "seconds": round(seconds, 3),
        "model": str(out),
    }


def _print_summary(s):
    err_name = "KL divergence" if s["loss"] == "kl" else "relative error"
    print(f"{s['n_faces']} faces of {s['image_shape'][0]}x{s['image_shape'][1]} -> rank "
          f"{s['rank']} ({s['solver']}, {s['init']}): {err_name} {s['error']:.4f} after "
          f"{s['n_iter']} iterations ({s['stop_reason']}) in {s['seconds']:.2f} s")
    print(f"model: {s['model']}")


def _fit_and_report(faces, args, output, draw=None):
    """Fit, save the model to ``output``, draw figures and print the summary.

    ``draw(model)``, if given, writes figures and returns ``{name: path}``. Returns the exit
    code (130 when Ctrl-C stopped the fit: the best model so far is saved all the same).
    """
    t = time.perf_counter()
    model = _fit_with_progress(faces, args, args.json)
    seconds = time.perf_counter() - t
    s = _summary(model, faces, seconds, save_model(output, model))
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


def cmd_fit(args):
    size = tuple(args.size) if args.size else None
    faces = load_faces(args.source, path=args.path, size=size, equalize=args.equalize,
                       normalize=args.normalize)
    return _fit_and_report(faces, args, args.output)


def cmd_demo(args):
    from . import view

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    faces = load_faces("lfw-subset")
    A, shape = faces.A, faces.image_shape

    def draw(model):
        paths = {name: out / f"{name}.png"
                 for name in ("basis", "reconstructions", "parts", "convergence")}
        view.basis_montage(model.W, shape, H=model.H, path=paths["basis"])
        view.reconstructions(A, model.W, model.H, shape, path=paths["reconstructions"])
        view.parts(0, A, model.W, model.H, shape, path=paths["parts"])
        view.convergence([model.result], path=paths["convergence"])
        return paths

    return _fit_and_report(faces, args, out / "model.npz", draw)


def cmd_recognize(args):
    from tqdm import tqdm

    from . import view

    size = tuple(args.size) if args.size else None
    faces = load_faces(args.source, path=args.path, size=size, equalize=args.equalize,
                       normalize=args.normalize)
    chosen = args.metric or list(recognition.DEFAULT_METRICS)
    metrics = recognition.METRICS if "all" in chosen else tuple(dict.fromkeys(chosen))
    chosen = args.method or ["all"]
    methods = recognition.METHODS if "all" in chosen else tuple(dict.fromkeys(chosen))
    conditions = tuple(args.occlusion or ())
    ranks = list(dict.fromkeys(args.rank))
    bars = []  # made at the first fold, so that a bad argument prints no empty bar

    def progress(done, total):  # one bar over the folds of every rank
        if not bars:
            bars.append(tqdm(total=total * len(ranks), unit="fold", desc="recognition",
                             leave=False, disable=args.json, file=sys.stderr))
        bars[0].update(1)

    try:
        reports = [recognition.evaluate(
            faces, rank=rank, methods=methods, metrics=metrics, k=args.k,
            protocol=args.protocol,
            train_per_identity=args.train_per_identity, n_splits=args.splits,
            random_state=args.seed, conditions=conditions, mask=args.mask,
            nmf_options={"random_state": args.seed}, progress=progress)
            for rank in ranks]
    finally:
        for bar in bars:
            bar.close()
    report = reports[-1]
    figures = {}
    if args.figures:
        out = Path(args.figures)
        out.mkdir(parents=True, exist_ok=True)
        figures = {"results": out / "recognition.png", "examples": out / "nearest-faces.png"}
        if len(reports) > 1:
            figures["accuracy_vs_rank"] = out / "accuracy-vs-rank.png"
            view.accuracy_vs_rank(list(zip(ranks, reports)), path=figures["accuracy_vs_rank"])
        view.recognition_results(report, path=figures["results"])
        view.nearest_faces(faces, report, path=figures["examples"])
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
    for name, path in figures.items():
        print(f"{name}: {path}")
    return 0


def cmd_compress(args):
    from . import compress

    model = load_model(args.model)
    report = compress.compress_files(model, _image_files(args.images), args.output,
                                     bits=args.bits)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['n_faces']} faces -> {report['path']}: {report['bytes']} bytes, "
              f"{report['bytes_per_face']:.1f} bytes per face ({report['ratio']:.0f}x smaller "
              f"than 8-bit images), PSNR {report['psnr_mean']:.2f} dB, "
              f"SSIM {report['ssim_mean']:.3f}")
    return 0


def _image_files(items):
    """Files as given; a folder stands for the image files in it (recursively, sorted)."""
    from .data import IMAGE_EXTENSIONS

    files = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise ValueError(f"{item}: the folder holds no image files")
            files.extend(found)
        else:
            files.append(item)
    return files


def cmd_decompress(args):
    from . import compress

    model = load_model(args.model)
    report = compress.decompress_file(model, args.container, args.output)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['n_faces']} faces from {report['path']} -> {report['out_dir']}")
    return 0


def cmd_show(args):
    from . import view

    model = load_model(args.model)
    if model.image_shape is None:
        raise ValueError(f"{args.model}: the model has no image shape; refit with facenmf fit")
    view.basis_montage(model.W, model.image_shape, H=model.H, titles=args.titles,
                       path=args.output)
    print(f"basis images of {args.model}: {args.output}")
    return 0


def _save_grey_png(path, image):
    """Write a float image in [0, 1] as an 8-bit grey PNG, atomically."""
    from PIL import Image

    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    with atomic_write(path) as fh:
        Image.fromarray(pixels).save(fh, format="PNG")


def cmd_reconstruct(args):
    from . import view

    model = load_model(args.model)
    if model.image_shape is None:
        raise ValueError(f"{args.model}: the model has no image shape; refit with facenmf fit")
    faces = load_faces([Path(p) for p in args.images], size=model.image_shape)
    if args.robust:  # occluded faces: find the pixels the basis cannot explain, ignore them
        H, outliers = robust_project(faces.A, model.W, image_shape=model.image_shape)
    else:
        H, outliers = model.transform(faces.A), None
    A_hat = np.clip(model.reconstruct(H), 0, 1)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    kept = np.ones(faces.A.shape, dtype=bool) if outliers is None else ~outliers
    errors = (np.linalg.norm(np.where(kept, faces.A - A_hat, 0), axis=0)
              / np.maximum(np.linalg.norm(np.where(kept, faces.A, 0), axis=0),
                           np.finfo(np.float32).tiny))
    results = []
    from .compress import output_names

    # Unique names from the stems, never that of the figure written beside them.
    names = output_names(["reconstructions"] + [Path(p).stem or "face" for p in faces.paths])[1:]
    for j, name in enumerate(names):
        target = out / name
        _save_grey_png(target, A_hat[:, j].reshape(model.image_shape))
        results.append({"input": faces.paths[j], "output": str(target),
                        "relative_error": float(errors[j])})
        if outliers is not None:
            results[-1]["outlier_fraction"] = float(outliers[:, j].mean())
    figure = out / "reconstructions.png"
    view.reconstructions(faces.A, model.W, H, model.image_shape,
                         n=min(6, faces.A.shape[1]), ignored=outliers, path=figure)
    report = {"model": str(args.model), "rank": int(model.W.shape[1]),
              "image_shape": list(model.image_shape), "faces": results,
              "mean_relative_error": float(errors.mean()), "figure": str(figure)}
    if args.json:
        print(json.dumps(report))
    else:
        for r in results:
            kept = (f" on the {100 * (1 - r['outlier_fraction']):.0f}% of pixels kept"
                    if "outlier_fraction" in r else "")
            print(f"{r['input']} -> {r['output']} (relative error {r['relative_error']:.4f}"
                  f"{kept})")
        print(f"{len(results)} faces, mean relative error {report['mean_relative_error']:.4f}; "
              f"figure: {figure}")
    return 0


def cmd_info(args):
    model = load_model(args.model)
    meta = dict(model.metadata)
    meta["model"] = str(args.model)
    meta["has_training_weights"] = model.H is not None
    if args.json:
        print(json.dumps(meta))
    else:
        shape = meta["image_shape"]
        print(f"{args.model}: facenmf model, rank {meta['rank']}, "
              f"{meta['n_pixels']} pixels" + (f" ({shape[0]}x{shape[1]})" if shape else ""))
        print(f"  solver {meta['solver']}, init {meta['init']}, loss {meta['loss']}, "
              f"{meta['n_iter']} iterations, converged {meta['converged']}, "
              f"error {meta['error']:.5g}")
        print(f"  dtype {meta['dtype']}, written by facenmf {meta['versions']['facenmf']}, "
              f"numpy {meta['versions']['numpy']}")
    return 0


def _add_fit_options(p, rank):
    p.add_argument("--rank", type=int, default=rank, help=f"number of basis images (default {rank})")
    p.add_argument("--solver", default="hals", choices=sorted(SOLVERS))
    p.add_argument("--init", default=None, choices=[i for i in INITS if i != "custom"],
                   help="initialization (default nndsvda)")
    p.add_argument("--loss", default="frobenius", choices=list(LOSSES))
    p.add_argument("--max-iter", type=int, default=500)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--time-limit", type=float, default=None, help="seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def build_parser():
    parser = argparse.ArgumentParser(prog="facenmf", description="Parts-based features of faces "
                                     "with non-negative matrix factorization.")
    parser.add_argument("--version", action="version", version=f"facenmf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = sub.add_parser("demo", help="learn a basis of the bundled LFW faces and draw it "
                       "(no network)")
    p.add_argument("--out", default="facenmf-demo", help="output folder (default facenmf-demo/)")
    _add_fit_options(p, rank=25)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("fit", help="learn a basis from a folder or a registered database")
    p.add_argument("source", help="a folder of faces or a registered name (orl, cbcl, lfw-subset, ...)")
    p.add_argument("--path", default=None, help="where a registered database's files are")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize faces to H x W")
    p.add_argument("--equalize", action="store_true", help="histogram-equalize each face")
    p.add_argument("--normalize", choices=["lee-seung"], default=None,
                   help="Lee & Seung 1999: each face's mean and standard deviation set to 0.25")
    p.add_argument("-o", "--output", type=Path, required=True, help="model file (.npz)")
    _add_fit_options(p, rank=49)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("recognize", help="nearest-neighbour identification: NMF vs PCA vs "
                       "raw pixels on the same splits")
    p.add_argument("source", help="a folder of faces (one sub-folder per identity) or a "
                   "registered name (orl, ...)")
    p.add_argument("--path", default=None, help="where a registered database's files are")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize faces to H x W")
    p.add_argument("--equalize", action="store_true", help="histogram-equalize each face")
    p.add_argument("--normalize", choices=["lee-seung"], default=None)
    p.add_argument("--rank", type=int, nargs="+", default=[49],
                   help="basis images and eigenfaces (49); several ranks also give "
                   "accuracy against rank")
    p.add_argument("--protocol", choices=["split", "leave-one-out"], default="split")
    p.add_argument("--train-per-identity", type=int, default=5,
                   help="training (gallery) faces per identity in each split (5)")
    p.add_argument("--splits", type=int, default=10, help="seeded random splits (10)")
    p.add_argument("--method", action="append", choices=[*recognition.METHODS, "all"],
                   help="feature method; repeat for several (default all: nmf, snmf "
                   "(supervised NMF), pca, raw)")
    p.add_argument("--metric", action="append", choices=[*recognition.METRICS, "all"],
                   help="distance in feature space; repeat for several (default cosine and "
                   "whitened)")
    p.add_argument("--k", type=int, default=1, help="neighbours that vote (1)")
    p.add_argument("--occlusion", action="append", metavar="COND",
                   help="also test occluded probes: block:F, sunglasses, scarf or noise:F "
                   "(repeatable)")
    p.add_argument("--mask", choices=["unknown", "known"], default="unknown",
                   help="whether the occluded pixels are known to the recognizer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figures", type=Path, help="also draw the results and sample probes here")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_recognize)

    p = sub.add_parser("show", help="draw a model's basis images")
    p.add_argument("model", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="PNG file")
    p.add_argument("--titles", action="store_true", help="label each image")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("reconstruct", help="project images onto a model and rebuild them")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument("--robust", action="store_true",
                   help="faces may be partly covered (glasses, a hand, a scarf): find the "
                   "pixels the basis cannot explain and rebuild the face without them (errors "
                   "are then over the pixels kept)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.set_defaults(func=cmd_reconstruct)

    p = sub.add_parser("compress", help="store faces as their quantized weights on a model")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("-o", "--output", type=Path, required=True, help="container file to write")
    p.add_argument("--bits", type=int, default=8, help="bits per weight, 2 to 16 (8)")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("decompress", help="rebuild the faces of a container as PNG files")
    p.add_argument("model", type=Path)
    p.add_argument("container", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    p.set_defaults(func=cmd_decompress)

    p = sub.add_parser("info", help="describe a model file")
    p.add_argument("model", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("facenmf: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"facenmf: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
