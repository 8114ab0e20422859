"""The verbs that use a model: show, reconstruct, transform, compress, decompress,
info."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from .._atomic import atomic_write, check_not_input, check_output
from ..data import DATABASES, is_store, list_images, load_faces, relative_names
from ..nmf import load_model
from ..recognition import robust_project
from ._words import warn
from ._io import check_outside_store, figure_path, in_memory, make_parent, save_figure
from ._fit import error_name



#: A robust reconstruction that ignores more than this fraction of a face's pixels is
#: flagged: past half, the "outliers" are the majority and the basis no longer explains
#: the face (the breakdown point of any robust fit), e.g. a whole photo given to a model
#: of cropped faces.
MOST_IGNORED = 0.5



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
        warn(f"{where}: resized from {got[0]}x{got[1]} to the model's input, keeping its "
              f"aspect ratio (--resize)")


#: What must agree between a store's faces and a model's training faces to compress them.
_PREPARED = ("crop", "size", "equalize", "normalize", "detect", "detect_options")


def _check_store_like(source, faces, model):
    """Refuse a face store whose faces were not prepared as the model's training faces."""
    if tuple(model.image_shape) != tuple(faces.image_shape):
        raise ValueError(f"{source}: its faces are {faces.image_shape[0]}x"
                         f"{faces.image_shape[1]} but the model's are {model.image_shape[0]}x"
                         f"{model.image_shape[1]} (height x width)")
    prep = model.preparation or {}
    for key in _PREPARED if prep else ():
        if prep.get(key) != faces.preparation.get(key):
            raise ValueError(f"{source}: its faces were packed with {key}="
                             f"{faces.preparation.get(key)!r} but the model's training faces "
                             f"were prepared with {key}={prep.get(key)!r}")


def _compress_store(args, compress):
    """compress of one face store: its faces, already prepared, projected as they are."""
    if len(args.images) > 1:
        store = next(p for p in args.images if is_store(p))
        raise ValueError(f"images: {store} is a face store; compress a store on its own, not "
                         "with other images")
    if args.resize:
        raise ValueError("--resize: not used with a face store (its faces are already "
                         "prepared)")
    output = check_output(args.output, "-o/--output", make_parents=True)
    faces = load_faces(args.images[0])
    check_not_input([output], [args.model, *(faces.paths or [])], "-o/--output")
    check_outside_store([output], faces, "-o/--output")
    model = _model(args.model)
    _check_store_like(args.images[0], faces, model)
    inputs = faces.paths or [f"{args.images[0]}[{i}]" for i in range(faces.n_faces)]
    names = (relative_names(faces.paths) if faces.paths else
             [f"{i:0{len(str(faces.n_faces - 1))}d}" for i in range(faces.n_faces)])
    faces = in_memory(faces)
    make_parent(output)
    report = compress.compress_faces(model, faces.A, [compress.storable_name(n) for n in names],
                                     output, bits=args.bits)
    for face, where in zip(report["faces"], inputs):
        face["input"] = str(where)
    report["resized"] = []
    return report


def cmd_compress(args, parser):
    from .. import compress

    if any(is_store(p) for p in args.images):
        report = _compress_store(args, compress)
        return _compress_summary(args, report)
    listed = _images(args.images)
    output = check_output(args.output, "-o/--output", make_parents=True)
    check_not_input([output], [args.model, *(f for f, _ in listed)], "-o/--output")
    model = _model(args.model)
    make_parent(output)
    report = compress.compress_files(model, [f for f, _ in listed], output, bits=args.bits,
                                     resize=args.resize)
    _resized_note([(r["input"], r["from"]) for r in report["resized"]])
    return _compress_summary(args, report)


def _compress_summary(args, report):
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['n_faces']} faces -> {report['path']}: {report['bytes']} bytes, "
              f"{report['bytes_per_face']:.1f} bytes per face ({report['ratio']:.0f}x smaller "
              f"than 8-bit images), PSNR {report['psnr_mean']:.2f} dB, "
              f"SSIM {report['ssim_mean']:.3f}")
    return 0


def cmd_decompress(args, parser):
    from .. import compress

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
    from .. import view

    output = figure_path(args.output, "-o/--output")
    check_not_input([output], [args.model], "-o/--output")
    model = _model(args.model)
    save_figure(view.basis_montage, output, model.W, model.image_shape, H=model.H,
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
    from .. import view
    from ..compress import output_names, storable_name

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
                warn(f"{r['input']}: {r['outlier_fraction']:.0%} of its pixels were ignored "
                      "as not explained by the basis: most of the image is not a face the "
                      "model knows (another framing, or not a face?), so the reconstruction "
                      "says little")
    make_parent(figure)
    save_figure(view.reconstructions, figure, faces.A, model.W, H, model.image_shape,
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
          f"{error_name(meta.get('loss'))} {known('error', '{:.5g}')}")
    print(f"  faces: {_describe_preparation(meta.get('preparation'))}")
    versions = meta.get("versions") or {}
    print(f"  dtype {meta['dtype']}, written by facenmf {versions.get('facenmf', 'unknown')}, "
          f"numpy {versions.get('numpy', 'unknown')}")
    return 0


# -- transform ---------------------------------------------------------------------------
#: Output formats of transform, by extension.
FEATURE_FORMATS = (".npz", ".csv", ".npy")


def _is_registered(item):
    return str(item) in DATABASES and not Path(item).exists()


def _is_matrix(item):
    """A ``.npy`` file of a face matrix (n_pixels, n_faces), a SOURCE as ``fit`` takes it."""
    return str(item).endswith(".npy") and Path(item).is_file()


def _matrix_like(path, model):
    """A ``.npy`` face matrix, its faces taken as prepared as the model's (as ``fit`` reads
    it: the faces are already prepared); refused unless it has the model's pixels."""
    from ..data import FaceSet

    A = np.load(path, mmap_mode="r")
    n = model.W.shape[0]
    if A.ndim != 2 or A.shape[0] != n:
        raise ValueError(f"{path}: expected a matrix of faces ({n}, n_faces) for the model's "
                         f"{model.image_shape[0]}x{model.image_shape[1]} faces, got an array "
                         f"of shape {A.shape}")
    return FaceSet(np.asarray(A, dtype=np.float32), None, tuple(model.image_shape),
                   paths=[f"{path}[{j}]" for j in range(A.shape[1])], source=str(path))


def _transform_inputs(args, model):
    """The faces of transform's inputs, prepared as the model's, with their paths and labels
    (``""`` where there is none): one face store or registered database, or image files and
    folders (a folder's sub-folders are identities, as fit reads it)."""
    items = args.images
    lone = [p for p in items if is_store(p) or _is_registered(p) or _is_matrix(p)]
    if lone and len(items) > 1:
        raise ValueError(f"images: {lone[0]} is a face store, a registered database or a "
                         ".npy matrix of faces; transform one on its own, not with other "
                         "images")
    if args.path is not None and not _is_registered(items[0]):
        raise ValueError("--path: only used with a registered database name")
    if is_store(items[0]) or _is_matrix(items[0]):
        given = [opt for opt, value in (("--resize", args.resize), ("--pattern", args.pattern),
                                        ("--glob", args.glob),
                                        ("--layout", args.layout != "auto")) if value]
        if given:
            what = "a face store" if is_store(items[0]) else "a .npy matrix of faces"
            raise ValueError(f"{given[0]}: not used with {what} (its faces are already "
                             "prepared)")
        if is_store(items[0]):
            faces = load_faces(items[0])
            _check_store_like(items[0], faces, model)
            check_outside_store([args.output], faces, "-o/--output")
        else:
            faces = _matrix_like(items[0], model)
        loaded = [in_memory(faces)]
    else:
        options = dict(layout=args.layout, pattern=args.pattern, glob=args.glob, like=model,
                       resize=args.resize)
        loaded, files = [], []
        for item in [*items, None]:  # consecutive files read together, in the order given
            if item is not None and Path(item).is_file():
                files.append(item)
                continue
            if files:
                loaded.append(load_faces(files, pattern=args.pattern, like=model,
                                         resize=args.resize))
                files = []
            if item is not None:
                path = args.path if _is_registered(item) else None
                loaded.append(load_faces(item, path=path, **options))
    A = np.concatenate([np.asarray(f.A) for f in loaded], axis=1)
    paths, labels = [], []
    for f in loaded:
        paths += ([str(p) for p in f.paths] if f.paths
                  else [f"{f.source}[{i}]" for i in range(f.n_faces)])
        labels += ([""] * f.n_faces if f.labels is None else [str(x) for x in f.labels])
    resized = [r for f in loaded for r in (getattr(f, "resized", None) or [])]
    return A, paths, labels, resized


def _write_features(path, H, paths, labels):
    """Write the weights (n_faces, rank) as ``path``'s extension says, atomically."""
    F = np.ascontiguousarray(H.T)
    kind = path.suffix.lower()
    if kind == ".npz":
        with atomic_write(path, make_parents=True) as fh:  # plain arrays: no pickle needed
            np.savez(fh, features=F, paths=np.array(paths, dtype=str),
                     labels=np.array(labels, dtype=str))
    elif kind == ".npy":
        with atomic_write(path, make_parents=True) as fh:
            np.save(fh, F)
    else:
        text = io.StringIO(newline="")
        rows = csv.writer(text, lineterminator="\n")
        rows.writerow(["path", "label", *(f"h{i}" for i in range(F.shape[1]))])
        for p, lab, row in zip(paths, labels, F):
            rows.writerow([p, lab, *(str(x) for x in row)])  # shortest exact digits
        with atomic_write(path, make_parents=True) as fh:
            fh.write(text.getvalue().encode("utf-8"))


def cmd_transform(args, parser):
    output = check_output(args.output, "-o/--output", make_parents=True)
    if output.suffix.lower() not in FEATURE_FORMATS:
        raise ValueError(f"-o/--output: expected a .npz, .csv or .npy file name, got {output}")
    inputs = [args.model, *(p for p in args.images if _is_matrix(p))]
    if not any(is_store(p) or _is_registered(p) or _is_matrix(p) for p in args.images):
        inputs += [f for f, _ in _images(args.images)]
    check_not_input([output], inputs, "-o/--output")
    model = _model(args.model)
    A, paths, labels, resized = _transform_inputs(args, model)
    check_not_input([output], [p for p in paths if Path(p).exists()], "-o/--output")
    _resized_note(resized)
    H = model.transform(A)  # the model's own projection (its solver's exact transform)
    _write_features(output, H, paths, labels)
    report = {"model": str(args.model), "rank": int(model.W.shape[1]),
              "n_faces": int(H.shape[1]), "output": str(output),
              "format": output.suffix.lower()[1:], "labelled": sum(1 for x in labels if x),
              "resized": [{"input": w, "from": s} for w, s in resized]}
    if args.json:
        print(json.dumps(report))
    else:
        what = "features only" if report["format"] == "npy" else "with paths and labels"
        print(f"{report['n_faces']} faces -> {output}: {report['rank']} weights each "
              f"({report['format']}, {what})")
    return 0
