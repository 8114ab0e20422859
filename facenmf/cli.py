"""The ``facenmf`` command: argument parsing, progress bars, exit codes.

The only module that prints. Errors are one line on stderr with exit code 2, in the words of
the command line (options, not Python parameters); ``--debug`` (before or after the verb)
shows the traceback. Every output is checked before the work starts, never replaces one of
the command's inputs, and is written atomically; missing output folders are created, in
every verb. Ctrl-C during a fit keeps and saves the best model so far.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from . import __version__, recognition
from ._atomic import atomic_write, check_not_input, check_output
from ._validation import check_figure_path
from .data import list_images, load_faces
from .nmf import INITS, LOSSES, NMF, SOLVERS, ConvergenceWarning, load_model, save_model
from .recognition import robust_project

#: A robust reconstruction that ignores more than this fraction of a face's pixels is
#: flagged: past half, the "outliers" are the majority and the basis no longer explains
#: the face (the breakdown point of any robust fit), e.g. a whole photo given to a model
#: of cropped faces.
MOST_IGNORED = 0.5


# -- argument types: one-line messages in the command line's words ----------------------
def _int(low=None, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected an integer <= {high}, got {value}")
        return value
    return parse


def _float(low=None, inclusive=True):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if low is not None and (value < low if inclusive else value <= low):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>=' if inclusive else '>'} {low:g}, got {text}")
        return value
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``facenmf fit: --rank: expected an integer, got 'x'``."""

    def error(self, message):
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        message = re.sub(r"^the following arguments are required: (.*)",
                         r"missing \1 (required)", message)
        message = re.sub(r"invalid choice: (\S+) \(choose from (.*)\)",
                         lambda m: f"unknown value {m.group(1)}; choose from "
                         f"{m.group(2).replace(chr(39), '')}", message)
        message = re.sub(r"^VERB: unknown value", "unknown verb", message)
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


# -- errors in the command line's words ---------------------------------------------------
#: Python parameters (as library messages name them) -> the option that sets them.
_OPTION_OF = {
    "size": "--size", "crop": "--crop", "layout": "--layout", "pattern": "--pattern",
    "glob": "--glob", "detect": "--detect", "equalize": "--equalize",
    "normalize": "--normalize", "min_faces": "--min-faces", "resize": "--resize",
    "path": "--path", "rank": "--rank", "solver": "--solver", "init": "--init",
    "loss": "--loss", "max_iter": "--max-iter", "tol": "--tol", "time_limit": "--time-limit",
    "random_state": "--seed", "n_splits": "--splits",
    "train_per_identity": "--train-per-identity", "k": "--k", "protocol": "--protocol",
    "metrics": "--metric", "methods": "--method", "conditions": "--occlusion",
    "mask": "--mask", "bits": "--bits",
}
_VALUE_WORDS = {"(height, width)": "H W", "True": ""}


def _cli_words(message, parser):
    """Rewrite a library message so that it names this verb's options, not parameters."""
    options = {s for action in parser._actions for s in action.option_strings}

    def option(name):
        opt = _OPTION_OF.get(name)
        return opt if opt in options else None

    def assignment(m):
        opt = option(m.group(1))
        if opt is None:
            return m.group(0)
        value = _VALUE_WORDS.get(m.group(2), m.group(2))
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" \
                and not re.search(r"[*?\[\] ]", value):
            value = value[1:-1]
        return f"{opt} {value}".rstrip()

    message = re.sub(r"\b(?:\w+\.)?select\(([^()]*)\)", r"\1", message)
    message = re.sub(r"\b([a-z_]+)=(\([^()]*\)|'[^']*'|\"[^\"]*\"|[\w.+-]*)", assignment,
                     message)
    head = re.match(r"^([a-z_]+): ", message)
    if head and option(head.group(1)):
        message = option(head.group(1)) + message[len(head.group(1)):]
    return re.sub(r"\b([a-z]+_[a-z_]+)\b",
                  lambda m: option(m.group(1)) or m.group(0), message)


def _warn(message):
    print(f"facenmf: warning: {message}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    _warn(message)


# -- outputs, checked before the work ----------------------------------------------------
def _figure_path(path, option):
    """A figure's path, checked; its format comes from the extension."""
    path, _ = check_figure_path(option, path)
    return check_output(path, option, make_parents=True)


def _make_parent(path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _save_model(path, model):
    _make_parent(path)
    return save_model(path, model)


def _figure(draw, path, *args, **kwargs):
    """Draw a figure with ``draw`` (a ``facenmf.view`` function) into ``path``."""
    _make_parent(path)
    draw(*args, path=path, **kwargs)
    return path


# -- data options ------------------------------------------------------------------------
def _crop(values):
    if values is None:
        return None
    if len(values) == 1:
        value = _float(low=0, inclusive=False)(values[0])
        if value > 1:
            raise ValueError(f"--crop: expected a fraction in (0, 1], got {values[0]}")
        return value
    if len(values) in (2, 4):
        return tuple(_int(low=0)(text) for text in values)
    raise ValueError(f"--crop: expected F, H W or TOP LEFT BOTTOM RIGHT, got {len(values)} "
                     "values")


def _load(args, parser):
    faces = load_faces(args.source, path=args.path, size=tuple(args.size) if args.size else None,
                       crop=_crop(args.crop), detect=args.detect, equalize=args.equalize,
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


def _add_data_options(p):
    p.add_argument("source", help="a folder of faces (one sub-folder per identity, or a flat "
                   "folder) or a registered name (orl, cbcl, lfw-subset, yale, ...)")
    p.add_argument("--path", default=None, help="where a registered database's files are")
    p.add_argument("--layout", default="auto", choices=["auto", "identity-folders", "flat"],
                   help="how the folder is organised (default auto)")
    p.add_argument("--pattern", default=None, metavar="REGEX",
                   help="identity from each file name (the regex's first group), for flat "
                   "folders, e.g. 'subject(\\d+)'")
    p.add_argument("--glob", default=None, help="which files are images, e.g. 'subject*' "
                   "(default: files with an image extension)")
    p.add_argument("--min-faces", type=_int(low=1), default=None, metavar="N",
                   help="keep only identities with at least N faces")
    p.add_argument("--detect", action="store_true", help="find the face in each image "
                   "(frontal-face detector) and cut it out; use with --size")
    p.add_argument("--crop", nargs="+", default=None, metavar="C",
                   help="F (keep that central fraction), H W (centre crop) or TOP LEFT "
                   "BOTTOM RIGHT (a box), after --detect")
    p.add_argument("--size", type=_int(low=1), nargs=2, metavar=("H", "W"),
                   help="resize faces to H x W")
    p.add_argument("--equalize", action="store_true", help="histogram-equalize each face")
    p.add_argument("--normalize", choices=["lee-seung"], default=None,
                   help="Lee & Seung 1999: each face's mean and standard deviation set to 0.25")


# -- fit and demo ------------------------------------------------------------------------
def _bar(total, desc, unit, quiet):
    from tqdm import tqdm

    # A bar only on a terminal: in a redirected log it would be hundreds of CR lines.
    return tqdm(total=total, unit=unit, desc=desc, leave=False, file=sys.stderr,
                disable=quiet or not sys.stderr.isatty())


def _fit_with_progress(faces, args, quiet):
    """Fit NMF to a FaceSet with a progress bar; returns the model (possibly interrupted)."""
    bars = []  # made at the first iteration, so that a bad argument prints no empty bar

    def progress(iteration, W, H, error):
        if not bars:
            bars.append(_bar(args.max_iter, f"NMF rank {args.rank}", "it", quiet))
        bars[0].update(1)
        bars[0].set_postfix(error=f"{error:.5f}", refresh=False)

    model = NMF(args.rank, solver=args.solver, init=args.init, loss=args.loss,
                max_iter=args.max_iter, tol=args.tol, time_limit=args.time_limit,
                random_state=args.seed, callback=progress, image_shape=faces.image_shape,
                preparation=faces.preparation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # said below, in CLI words
        try:
            model.fit(faces.A)
        finally:
            for bar in bars:
                bar.close()
    r = model.result
    if r.stop_reason == "max_iter" and args.tol > 0:
        _warn(f"the fit stopped at --max-iter {args.max_iter} before converging (the last "
              f"iteration lowered the error by more than --tol {args.tol:g}); the model is "
              "saved, a larger --max-iter would fit further")
    elif r.stop_reason == "time_limit":
        print(f"facenmf: stopped at --time-limit {args.time_limit:g} s after {r.n_iter} "
              "iterations" + (f", before the error settled to --tol {args.tol:g}"
                              if args.tol > 0 else ""), file=sys.stderr)
    return model


def _error_name(loss):
    return "relative KL divergence" if loss == "kl" else "relative error"


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
    print(f"{s['n_faces']} faces of {s['image_shape'][0]}x{s['image_shape'][1]} -> rank "
          f"{s['rank']} ({s['solver']}, {s['init']}): {_error_name(s['loss'])} "
          f"{s['error']:.4f} after {s['n_iter']} iterations ({s['stop_reason']}) in "
          f"{s['seconds']:.2f} s")
    print(f"model: {s['model']}")


def _fit_and_report(faces, args, output, draw=None):
    """Fit, save the model to ``output``, draw figures and print the summary.

    ``draw(model)``, if given, writes figures and returns ``{name: path}``. Returns the exit
    code (130 when Ctrl-C stopped the fit: the best model so far is saved all the same).
    """
    if args.rank > min(faces.A.shape):
        raise ValueError(f"--rank: expected at most {min(faces.A.shape)} (the "
                         f"{faces.A.shape[1]} faces of {faces.A.shape[0]} pixels), got "
                         f"{args.rank}")
    t = time.perf_counter()
    model = _fit_with_progress(faces, args, args.json)
    seconds = time.perf_counter() - t
    s = _summary(model, faces, seconds, _save_model(output, model))
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


def cmd_fit(args, parser):
    output = check_output(args.output, "-o/--output", make_parents=True)
    faces = _load(args, parser)
    check_not_input([output], faces.paths or [], "-o/--output")
    return _fit_and_report(faces, args, output)


_DEMO_FIGURES = ("basis", "reconstructions", "parts", "convergence")


def cmd_demo(args, parser):
    from . import view

    out = check_output(args.out, "--out", folder=True)
    paths = {name: out / f"{name}.png" for name in _DEMO_FIGURES}
    for path in [out / "model.npz", *paths.values()]:
        check_output(path, "--out", make_parents=True)
    faces = load_faces("lfw-subset")
    A, shape = faces.A, faces.image_shape

    def draw(model):
        _figure(view.basis_montage, paths["basis"], model.W, shape, H=model.H)
        _figure(view.reconstructions, paths["reconstructions"], A, model.W, model.H, shape)
        _figure(view.parts, paths["parts"], 0, A, model.W, model.H, shape)
        _figure(view.convergence, paths["convergence"], [model.result])
        return paths

    return _fit_and_report(faces, args, out / "model.npz", draw)


# -- recognize ---------------------------------------------------------------------------
def cmd_recognize(args, parser):
    from . import view

    figures = {}
    if args.figures:
        out = check_output(args.figures, "--figures", folder=True)
        figures = {"results": out / "recognition.png", "examples": out / "nearest-faces.png"}
        if len(set(args.rank)) > 1:
            figures["accuracy_vs_rank"] = out / "accuracy-vs-rank.png"
        for path in figures.values():
            check_output(path, "--figures", make_parents=True)
    faces = _load(args, parser)
    if faces.labels is None:
        raise ValueError(f"{args.source}: the faces have no identities; use a folder with one "
                         "sub-folder per identity, or --pattern to read them from file names")
    chosen = args.metric or list(recognition.DEFAULT_METRICS)
    metrics = recognition.METRICS if "all" in chosen else tuple(dict.fromkeys(chosen))
    chosen = args.method or ["all"]
    methods = recognition.METHODS if "all" in chosen else tuple(dict.fromkeys(chosen))
    conditions = tuple(args.occlusion or ())
    ranks = list(dict.fromkeys(args.rank))
    bars = []  # made at the first fold, so that a bad argument prints no empty bar

    def progress(done, total):  # one bar over the folds of every rank
        if not bars:
            bars.append(_bar(total * len(ranks), "recognition", "fold", args.json))
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
    if figures:
        if "accuracy_vs_rank" in figures:
            _figure(view.accuracy_vs_rank, figures["accuracy_vs_rank"],
                    list(zip(ranks, reports)))
        _figure(view.recognition_results, figures["results"], report)
        _figure(view.nearest_faces, figures["examples"], faces, report)
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


# -- model verbs -------------------------------------------------------------------------
def _model(path):
    model = load_model(path)
    if model.image_shape is None:
        raise ValueError(f"{path}: the model has no image shape; refit it with facenmf fit")
    return model


def _images(items):
    """``(file, name)`` for the image files and folders given on the command line."""
    return list_images([Path(p) for p in items])


def _resized_note(resized):
    for where, got in resized:
        _warn(f"{where}: resized from {got[0]}x{got[1]} to the model's input, keeping its "
              f"aspect ratio (--resize)")


def cmd_compress(args, parser):
    from . import compress

    listed = _images(args.images)
    output = check_output(args.output, "-o/--output", make_parents=True)
    check_not_input([output], [args.model, *(f for f, _ in listed)], "-o/--output")
    model = _model(args.model)
    _make_parent(output)
    report = compress.compress_files(model, [f for f, _ in listed], output, bits=args.bits,
                                     resize=args.resize)
    _resized_note([(r["input"], r["from"]) for r in report["resized"]])
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['n_faces']} faces -> {report['path']}: {report['bytes']} bytes, "
              f"{report['bytes_per_face']:.1f} bytes per face ({report['ratio']:.0f}x smaller "
              f"than 8-bit images), PSNR {report['psnr_mean']:.2f} dB, "
              f"SSIM {report['ssim_mean']:.3f}")
    return 0


def cmd_decompress(args, parser):
    from . import compress

    out = check_output(args.output, "-o/--output", folder=True)
    model = load_model(args.model)
    _, names = compress.read_container(args.container, model)
    files = [out / name for name in compress.output_names(names)]
    check_not_input(files, [args.model, args.container], "-o/--output")
    report = compress.decompress_file(model, args.container, out)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['n_faces']} faces from {report['path']} -> {report['out_dir']}")
    return 0


def cmd_show(args, parser):
    from . import view

    output = _figure_path(args.output, "-o/--output")
    check_not_input([output], [args.model], "-o/--output")
    model = _model(args.model)
    _figure(view.basis_montage, output, model.W, model.image_shape, H=model.H,
            titles=args.titles)
    print(f"basis images of {args.model}: {output}")
    return 0


def _save_grey_png(path, image):
    """Write a float image in [0, 1] as an 8-bit grey PNG, atomically (folders created)."""
    from PIL import Image

    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    with atomic_write(path, make_parents=True) as fh:
        Image.fromarray(pixels).save(fh, format="PNG")


def _relative_errors(A, A_hat, kept=None):
    if kept is not None:
        A, A_hat = np.where(kept, A, 0), np.where(kept, A_hat, 0)
    return (np.linalg.norm(A - A_hat, axis=0)
            / np.maximum(np.linalg.norm(A, axis=0), np.finfo(np.float32).tiny))


def cmd_reconstruct(args, parser):
    from . import view
    from .compress import output_names, storable_name

    listed = _images(args.images)
    out = check_output(args.output, "-o/--output", folder=True)
    # Unique names from the inputs' relative names, never that of the figure beside them.
    names = output_names(["reconstructions"] + [storable_name(n) for _, n in listed])[1:]
    figure = out / "reconstructions.png"
    targets = [out / name for name in names]
    check_not_input([*targets, figure], [args.model, *(f for f, _ in listed)], "-o/--output")
    model = _model(args.model)
    faces = load_faces([f for f, _ in listed], like=model, resize=args.resize)
    _resized_note(faces.resized)
    if args.robust:  # occluded faces: find the pixels the basis cannot explain, ignore them
        H, outliers = robust_project(faces.A, model.W, image_shape=model.image_shape)
    else:
        H, outliers = model.transform(faces.A), None
    A_hat = np.clip(model.reconstruct(H), 0, 1)
    errors = _relative_errors(faces.A, A_hat)
    results = []
    for j, target in enumerate(targets):
        _save_grey_png(target, A_hat[:, j].reshape(model.image_shape))
        results.append({"input": faces.paths[j], "output": str(target),
                        "relative_error": float(errors[j])})
    if outliers is not None:
        kept_errors = _relative_errors(faces.A, A_hat, ~outliers)
        for j, r in enumerate(results):
            r["outlier_fraction"] = float(outliers[:, j].mean())
            r["relative_error_kept"] = float(kept_errors[j])
            if r["outlier_fraction"] > MOST_IGNORED:
                _warn(f"{r['input']}: {r['outlier_fraction']:.0%} of its pixels were ignored "
                      "as not explained by the basis: most of the image is not a face the "
                      "model knows (another framing, or not a face?), so the reconstruction "
                      "says little")
    _make_parent(figure)
    _figure(view.reconstructions, figure, faces.A, model.W, H, model.image_shape,
            n=min(6, faces.A.shape[1]), ignored=outliers)
    report = {"model": str(args.model), "rank": int(model.W.shape[1]),
              "image_shape": list(model.image_shape), "faces": results,
              "mean_relative_error": float(errors.mean()), "figure": str(figure),
              "resized": [{"input": w, "from": s} for w, s in faces.resized]}
    if args.json:
        print(json.dumps(report))
        return 0
    for r in results:
        kept = (f", {r['relative_error_kept']:.4f} on the {1 - r['outlier_fraction']:.0%} of "
                "pixels kept" if "outlier_fraction" in r else "")
        print(f"{r['input']} -> {r['output']} (relative error {r['relative_error']:.4f}"
              f"{kept})")
    print(f"{len(results)} face{'s' if len(results) != 1 else ''}, mean relative error "
          f"{report['mean_relative_error']:.4f}; "
          f"figure: {figure}")
    return 0


def _describe_preparation(prep):
    if not prep:
        return "not recorded"
    steps = []
    if prep.get("input_shape"):
        steps.append(f"images of {prep['input_shape'][0]}x{prep['input_shape'][1]}")
    if prep.get("detect"):
        steps.append("face detected")
    if prep.get("crop") is not None:
        crop = prep["crop"]
        steps.append(f"central {crop:.0%} kept" if not isinstance(crop, list)
                     else "cropped " + ("to " if len(crop) == 2 else "to the box ")
                     + " ".join(map(str, crop)))
    if prep.get("size"):
        steps.append(f"resized to {prep['size'][0]}x{prep['size'][1]}")
    if prep.get("equalize"):
        steps.append("equalized")
    if prep.get("normalize"):
        steps.append(f"normalized ({prep['normalize']})")
    source = prep.get("source")
    return (f"from {source}: " if source else "") + (", ".join(steps) or "as read")


def cmd_info(args, parser):
    model = load_model(args.model)
    meta = dict(model.metadata)
    meta["model"] = str(args.model)
    meta["has_training_weights"] = model.H is not None
    if args.json:
        print(json.dumps(meta))
        return 0

    def known(key, fmt="{}"):
        value = meta.get(key)
        return "unknown" if value is None else fmt.format(value)

    shape = meta.get("image_shape")
    print(f"{args.model}: facenmf model, rank {meta['rank']}, "
          f"{meta['n_pixels']} pixels" + (f" ({shape[0]}x{shape[1]})" if shape else ""))
    print(f"  solver {known('solver')}, init {known('init')}, loss {known('loss')}, "
          f"{known('n_iter')} iterations, converged {known('converged')}, "
          f"{_error_name(meta.get('loss'))} {known('error', '{:.5g}')}")
    print(f"  faces: {_describe_preparation(meta.get('preparation'))}")
    versions = meta.get("versions") or {}
    print(f"  dtype {meta['dtype']}, written by facenmf {versions.get('facenmf', 'unknown')}, "
          f"numpy {versions.get('numpy', 'unknown')}")
    return 0


# -- the parser --------------------------------------------------------------------------
def _add_fit_options(p, rank):
    p.add_argument("--rank", type=_int(low=1), default=rank,
                   help=f"number of basis images (default {rank})")
    p.add_argument("--solver", default="hals", choices=sorted(SOLVERS))
    p.add_argument("--init", default=None, choices=[i for i in INITS if i != "custom"],
                   help="initialization (default nndsvda)")
    p.add_argument("--loss", default="frobenius", choices=list(LOSSES))
    p.add_argument("--max-iter", type=_int(low=0), default=500)
    p.add_argument("--tol", type=_float(low=0), default=1e-4)
    p.add_argument("--time-limit", type=_float(low=0, inclusive=False), default=None,
                   help="seconds")
    p.add_argument("--seed", type=_int(low=0), default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def build_parser():
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    parser = _Parser(prog="facenmf", description="Parts-based features of faces with "
                     "non-negative matrix factorization.")
    parser.add_argument("--version", action="version", version=f"facenmf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB",
                                parser_class=_Parser)

    def verb(name, func, **kwargs):
        p = sub.add_parser(name, parents=[common], **kwargs)
        p.set_defaults(func=func, parser=p)
        return p

    p = verb("demo", cmd_demo, help="learn a basis of the bundled LFW faces and draw it "
             "(no network)")
    p.add_argument("--out", default="facenmf-demo", help="output folder (default "
                   "facenmf-demo/, created if missing)")
    _add_fit_options(p, rank=25)

    p = verb("fit", cmd_fit, help="learn a basis from a folder or a registered database")
    _add_data_options(p)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="model file (.npz; missing folders are created)")
    _add_fit_options(p, rank=49)

    p = verb("recognize", cmd_recognize, help="nearest-neighbour identification: NMF vs PCA "
             "vs raw pixels on the same splits")
    _add_data_options(p)
    p.add_argument("--rank", type=_int(low=1), nargs="+", default=[49],
                   help="basis images and eigenfaces (49); several ranks also give "
                   "accuracy against rank")
    p.add_argument("--protocol", choices=["split", "leave-one-out"], default="split")
    p.add_argument("--train-per-identity", type=_int(low=1), default=5,
                   help="training (gallery) faces per identity in each split (5)")
    p.add_argument("--splits", type=_int(low=1), default=10, help="seeded random splits (10)")
    p.add_argument("--method", action="append", choices=[*recognition.METHODS, "all"],
                   help="feature method; repeat for several (default all: nmf, snmf "
                   "(supervised NMF), pca, raw)")
    p.add_argument("--metric", action="append", choices=[*recognition.METRICS, "all"],
                   help="distance in feature space; repeat for several (default cosine and "
                   "whitened)")
    p.add_argument("--k", type=_int(low=1), default=1, help="neighbours that vote (1)")
    p.add_argument("--occlusion", action="append", metavar="COND",
                   help="also test occluded probes: block:F, sunglasses, scarf or noise:F "
                   "(repeatable)")
    p.add_argument("--mask", choices=["unknown", "known"], default="unknown",
                   help="whether the occluded pixels are known to the recognizer")
    p.add_argument("--seed", type=_int(low=0), default=0)
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

    p = verb("compress", cmd_compress,
             help="store faces as their quantized weights on a model")
    p.add_argument("model", type=Path)
    p.add_argument("images", nargs="+", help="image files or folders of them")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="container file to write (never an input)")
    p.add_argument("--bits", type=_int(low=2, high=16), default=8,
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
            warnings.showwarning = _show_warning
            return args.func(args, args.parser)
    except KeyboardInterrupt:
        print("facenmf: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"facenmf: error: {_cli_words(str(exc), args.parser)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
