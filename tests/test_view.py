"""Tests of facenmf.view: every figure renders and saves a sensible PNG, helpers, bad input.

Data are a synthetic 12x10 face set made of random non-negative blob "parts" (fast to fit);
one test uses the bundled lfw-subset (100 faces of 25x25).
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import facenmf
from facenmf import view

SHAPE = (12, 10)
RANK = 6


def _parts(rank=RANK, shape=SHAPE, seed=0):
    """``rank`` non-negative Gaussian blobs as columns of W, of shape (n_pixels, rank)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    cols = []
    for _ in range(rank):
        cy, cx = rng.uniform(1, shape[0] - 1), rng.uniform(1, shape[1] - 1)
        s = rng.uniform(1.2, 2.5)
        cols.append(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)).ravel())
    return np.stack(cols, axis=1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    W = _parts()
    H = rng.random((RANK, 40)) * (np.arange(RANK, 0, -1)[:, None] / RANK)
    A = W @ H + 0.02 * rng.random((SHAPE[0] * SHAPE[1], 40))
    A /= A.max()
    fit = facenmf.nmf(A, RANK, random_state=0)
    return A, fit


def _check_png(path, fig, min_std=5.0):
    """The PNG opens, has the figure's size in pixels (±2) and is not blank."""
    with Image.open(path) as img:
        img.load()
        width, height = img.size
        grey = np.asarray(img.convert("L"), dtype=float)
    want_w, want_h = fig.get_size_inches() * view.DPI
    assert abs(width - want_w) <= 2 and abs(height - want_h) <= 2, (img.size, want_w, want_h)
    assert grey.std() > min_std
    assert width >= 300 and height >= 200  # readable, not a thumbnail


def _one_line(excinfo):
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


# -- figures -----------------------------------------------------------------------------
def test_basis_montage_png(data, tmp_path):
    _, fit = data
    path = tmp_path / "montage.png"
    fig = view.basis_montage(fit.W, SHAPE, H=fit.H, titles=True, path=path)
    _check_png(path, fig)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].texts) == RANK


def test_basis_montage_grid_size_for_rank_49(tmp_path):
    W = np.random.default_rng(0).random((SHAPE[0] * SHAPE[1], 49))
    fig = view.basis_montage(W, SHAPE, path=tmp_path / "m.png")
    _check_png(tmp_path / "m.png", fig)
    # 7x7 grid of 12x10 tiles with gaps of 1 pixel
    grid = fig.axes[0].images[0].get_array()
    assert grid.shape == (7 * 13 + 1, 7 * 11 + 1)
    width, height = fig.get_size_inches()
    assert 5 <= width <= 9 and 6 <= height <= 10


def test_basis_montage_usage_order_puts_most_used_first(data):
    _, fit = data
    H = np.ones((RANK, 5))
    H[3] *= 10  # basis 3 is used most, then 1
    H[1] *= 5
    assert view.usage_order(H)[:2].tolist() == [3, 1]
    fig = view.basis_montage(fit.W, SHAPE, H=H, titles=True)
    first = fig.axes[0].texts[0].get_text()
    assert first.split()[0] == "3" and first.endswith("%")
    # The first tile is basis 3, scaled to [0, 1] by its 99th percentile.
    w3 = np.clip(fit.W[:, 3] / np.percentile(fit.W[:, 3], 99), 0, 1)
    grid = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    top = math.ceil(1.35 * 6.5 / 72 * SHAPE[0])
    tile = grid[1 + top:1 + top + SHAPE[0], 1:1 + SHAPE[1]]
    np.testing.assert_allclose(tile, w3.reshape(SHAPE), atol=1e-6)


def test_basis_montage_order_options(data):
    _, fit = data
    fig = view.basis_montage(fit.W, SHAPE, H=fit.H, order=[5, 0], titles=True)
    assert [t.get_text().split()[0] for t in fig.axes[0].texts] == ["5", "0"]
    fig = view.basis_montage(fit.W, SHAPE, H=fit.H, order="none", titles=True)
    assert [t.get_text().split()[0] for t in fig.axes[0].texts] == [str(i) for i in range(RANK)]
    # usage without H falls back to the given order
    fig = view.basis_montage(fit.W, SHAPE, titles=True)
    assert [t.get_text() for t in fig.axes[0].texts] == [str(i) for i in range(RANK)]


def test_basis_montage_signed_basis_uses_diverging_map():
    W = np.random.default_rng(0).standard_normal((SHAPE[0] * SHAPE[1], 4))
    fig = view.basis_montage(W, SHAPE)
    im = fig.axes[0].images[0]
    assert im.get_cmap().name.startswith(view.DIVERGING)
    assert im.norm.vmin == -1 and im.norm.vmax == 1


def test_reconstructions_png(data, tmp_path):
    A, fit = data
    path = tmp_path / "recon.png"
    fig = view.reconstructions(A, fit.W, fit.H, SHAPE, faces=[3, 7], path=path)
    _check_png(path, fig)
    assert len(fig.axes) == 2 * 3 + 1  # + the residual colour bar
    err = np.linalg.norm(A[:, 7] - fit.W @ fit.H[:, 7]) / np.linalg.norm(A[:, 7])
    assert fig.axes[3].get_ylabel() == f"face 7\nerror {err:.1%}"
    assert f"{120 / RANK:.3g}×" in fig._suptitle.get_text()
    # residual map centred on 0
    res = fig.axes[2].images[0]
    assert res.norm.vmin == -res.norm.vmax


def test_reconstructions_leave_ignored_pixels_out(data):
    A, fit = data
    ignored = np.zeros(A.shape, dtype=bool)
    ignored[:30, 7] = True  # a quarter of face 7's pixels
    fig = view.reconstructions(A, fit.W, fit.H, SHAPE, faces=[3, 7], ignored=ignored)
    r = A[30:, 7] - fit.W[30:] @ fit.H[:, 7]
    err = np.linalg.norm(r) / np.linalg.norm(A[30:, 7])
    assert fig.axes[3].get_ylabel() == f"face 7\nerror {err:.1%}\n(25% ignored)"
    assert fig._suptitle.get_text().endswith("on the pixels kept")
    shown = fig.axes[5].images[0].get_array()  # face 7's residual: ignored pixels blank
    assert np.ma.getmaskarray(shown).reshape(-1)[:30].all()
    assert not np.ma.getmaskarray(shown).reshape(-1)[30:].any()
    # One mask for every face (1-D) is the same as that mask on each face.
    shared = view.reconstructions(A, fit.W, fit.H, SHAPE, faces=[3, 7], ignored=ignored[:, 7])
    assert shared.axes[3].get_ylabel() == fig.axes[3].get_ylabel()
    with pytest.raises(ValueError, match="ignored: expected shape"):
        view.reconstructions(A, fit.W, fit.H, SHAPE, ignored=ignored[:-1])


def test_reconstructions_default_first_n(data):
    A, fit = data
    fig = view.reconstructions(A, fit.W, fit.H, SHAPE, n=4)
    assert len(fig.axes) == 4 * 3 + 1


def test_parts_png(data, tmp_path):
    A, fit = data
    path = tmp_path / "parts.png"
    fig = view.parts(2, A, fit.W, fit.H, SHAPE, n_parts=4, path=path)
    _check_png(path, fig)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 2 + 4 + 1  # face, reconstruction, 4 parts, the other 2
    k = int(np.argmax(fit.H[:, 2]))
    assert titles[2].startswith(f"+ basis {k}\n")


def test_parts_all_parts_in_two_rows(data):
    A, fit = data
    fig = view.parts(0, A, fit.W, fit.H, SHAPE, n_parts=50)  # clamped to the rank
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2 + RANK
    assert len({ax.get_subplotspec().rowspan.start for ax in fig.axes}) == 1  # 8 tiles: 1 row


@pytest.mark.parametrize("x, n_axes", [("seconds", 1), ("iteration", 1), ("both", 2)])
def test_convergence_png(data, tmp_path, x, n_axes):
    A, fit = data
    with pytest.warns(facenmf.ConvergenceWarning):  # a deliberately short run
        history = facenmf.nmf(A, RANK, solver="mu", max_iter=30, random_state=0).history
    path = tmp_path / "conv.png"
    fig = view.convergence([fit, history], x=x, path=path)
    _check_png(path, fig)
    assert len(fig.axes) == n_axes
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["hals (nndsvda)", "run 1"]
    line = fig.axes[-1].lines[0]
    xs = line.get_xdata()
    if x == "seconds":
        np.testing.assert_allclose(xs, fit.history.seconds)
    else:
        np.testing.assert_array_equal(xs, np.arange(len(fit.history)))


def test_convergence_single_fit_and_labels(data):
    _, fit = data
    fig = view.convergence(fit, labels=["mine"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["mine"]
    fig = view.convergence([fit, fit])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "hals (nndsvda) #1", "hals (nndsvda) #2"]


def test_compare_methods_png(data, tmp_path):
    A, _ = data
    path = tmp_path / "compare.png"
    fig = view.compare_methods(A, SHAPE, rank=4, path=path)
    _check_png(path, fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split(":")[0] for t in titles] == ["NMF", "PCA", "VQ"]
    assert all("sparseness" in t for t in titles)
    cmaps = [ax.images[0].get_cmap().name for ax in fig.axes]
    assert cmaps[0].startswith(view.GREY) and cmaps[2].startswith(view.GREY)
    assert cmaps[1].startswith(view.DIVERGING)


def test_compare_methods_with_the_face_nmf_variants(tmp_path):
    faces = facenmf.load_faces("lfw-subset")
    path = tmp_path / "variants.png"
    fig = view.compare_methods(faces.A, faces.image_shape, rank=4, path=path,
                               variants=("nmfsc", "lnmf", "gnmf", "dnmf"),
                               labels=np.arange(faces.A.shape[1]) % 5,  # lfw-subset has none
                               variant_options={"nmfsc": {"sparseness_W": 0.8}})
    _check_png(path, fig)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split(":")[0] for t in titles] == ["NMF", "PCA", "VQ", "NMFsc", "LNMF", "GNMF",
                                                 "DNMF"]
    # NMFsc's title is the Hoyer sparseness its constraint asked for (to rounding).
    sparseness = {t.split(":")[0]: float(t.split("sparseness ")[1].split()[0]) for t in titles}
    assert sparseness["NMFsc"] == pytest.approx(0.8, abs=0.01)
    with pytest.raises(ValueError, match=r"labels: variant 'dnmf' needs one identity per face"):
        view.method_bases(faces.A, 4, variants=("dnmf",))
    with pytest.raises(ValueError, match=r"variants: unknown variant 'pca'"):
        view.method_bases(faces.A, 4, variants=("pca",))


def test_compare_methods_lfw_subset(tmp_path):
    faces = facenmf.load_faces("lfw-subset")
    path = tmp_path / "lfw.png"
    fig = view.compare_methods(faces.A, faces.image_shape, rank=9, path=path)
    _check_png(path, fig)
    nmf_s, pca_s, vq_s = (float(ax.get_title().split("sparseness ")[1].split()[0])
                          for ax in fig.axes)
    assert nmf_s > vq_s and pca_s > vq_s  # prototypes are whole faces


# -- method_bases and sparseness ---------------------------------------------------------
def test_method_bases(data):
    A, _ = data
    bases = view.method_bases(A, 4, random_state=0)
    assert list(bases) == ["NMF", "PCA", "VQ"]
    assert all(B.shape == (120, 4) for B in bases.values())
    assert bases["NMF"].min() >= 0 and bases["VQ"].min() >= 0
    # PCA: orthonormal, spans the top principal subspace of the centred data
    U = bases["PCA"]
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-8)
    C = A - A.mean(axis=1, keepdims=True)
    U_ref = np.linalg.svd(C, full_matrices=False)[0][:, :4]
    np.testing.assert_allclose(np.abs(U.T @ U_ref), np.eye(4), atol=1e-6)
    # the largest-magnitude entry of each eigenface is positive
    assert (U[np.abs(U).argmax(axis=0), np.arange(4)] > 0).all()
    # VQ prototypes are means of faces: within the data's range
    assert bases["VQ"].max() <= A.max() + 1e-12
    # same seed, same bases
    again = view.method_bases(A, 4, random_state=0)
    for name in bases:
        np.testing.assert_array_equal(bases[name], again[name])


def test_method_bases_pca_more_faces_than_pixels():
    rng = np.random.default_rng(3)
    A = rng.random((20, 60))
    U = view.method_bases(A, 5)["PCA"]
    U_ref = np.linalg.svd(A - A.mean(axis=1, keepdims=True), full_matrices=False)[0][:, :5]
    np.testing.assert_allclose(np.abs(U.T @ U_ref), np.eye(5), atol=1e-6)


def test_hoyer_sparseness_known_values():
    assert view.hoyer_sparseness([0, 0, 0, 7.0]) == pytest.approx(1.0)
    assert view.hoyer_sparseness(np.full(9, 0.3)) == pytest.approx(0.0, abs=1e-12)
    assert view.hoyer_sparseness([-1, 1, -1, 1]) == pytest.approx(0.0, abs=1e-12)
    x = np.array([1.0, 1.0, 0.0, 0.0])
    expected = (2 - 2 / math.sqrt(2)) / (2 - 1)
    assert view.hoyer_sparseness(x) == pytest.approx(expected)
    # a matrix: the mean over columns, all-zero columns left out
    M = np.stack([x, [0, 0, 5, 0], np.zeros(4)], axis=1)
    assert view.hoyer_sparseness(M) == pytest.approx((expected + 1) / 2)
    s = view.hoyer_sparseness(np.random.default_rng(0).random((50, 7)))
    assert isinstance(s, float) and 0 <= s <= 1


@pytest.mark.parametrize("x, match", [([3.0], "at least 2"), (np.zeros((4, 2)), "all zero"),
                                      ([1.0, np.nan], "finite")])
def test_hoyer_sparseness_bad_input(x, match):
    with pytest.raises(ValueError, match=match) as excinfo:
        view.hoyer_sparseness(x)
    _one_line(excinfo)


# -- numbers for people ------------------------------------------------------------------
@pytest.mark.parametrize("x,text", [(3110.4, "3,110"), (10304 / 16, "644"), (12.53, "12.5"),
                                    (0.25, "0.25"), (1.2e-5, "0.000012"), (0.0, "0"),
                                    (-2.5, "-2.5"), (99.96, "100"), (1e-12, "0")])
def test_numbers_are_written_for_people(x, text):
    assert view.human(x) == text


def test_titles_have_no_scientific_notation():
    # ORL-sized images at a small rank: 10,304 pixels, 3,435 times fewer numbers.
    shape, rank = (112, 92), 3
    rng = np.random.default_rng(0)
    W = rng.random((shape[0] * shape[1], rank))
    H = 1e4 * rng.random((rank, 2))  # weights in the thousands
    A = W @ H
    W /= A.max()
    A /= A.max()
    fig = view.reconstructions(A, W, H, shape, n=1)
    title = fig._suptitle.get_text()
    assert "10,304 pixels → 3 weights" in title and "(3,435× fewer numbers)" in title, title
    fig = view.parts(0, A, W, H, shape, n_parts=2)
    texts = [fig._suptitle.get_text()] + [ax.get_title() for ax in fig.axes]
    assert any(f"h = {H[:, 0].max():,.0f}" in t for t in texts), texts
    # Errors within two decades on a log axis get plain tick labels, however small.
    from facenmf.nmf import History

    fig = view.convergence(History(seconds=[0.0, 1.0, 2.0], error=[4e-5, 2e-5, 1e-5]))
    ticks = fig.axes[0].yaxis.get_major_formatter()
    assert ticks(1e-5, 0) == "0.00001" and ticks(2e-5, 0) == "0.00002"
    for text in texts + [ticks(1e-5, 0)]:
        assert "e+" not in text and "e-" not in text, text


# -- recognition figures -----------------------------------------------------------------
def _drawn(fig):
    """Draw ``fig`` on an Agg canvas; returns the figure's extent in display pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.bbox


def _inside(box, outer, slack=1.0):
    return (box.x0 >= outer.x0 - slack and box.y0 >= outer.y0 - slack
            and box.x1 <= outer.x1 + slack and box.y1 <= outer.y1 + slack)


def _fake_report(methods, metrics, conditions, protocol="split", rank=49, mask="unknown"):
    from facenmf.recognition import RecognitionReport

    rng = np.random.default_rng(len(methods) + 10 * len(conditions))
    results = [{"method": m, "condition": c, "mask": None if c == "clean" else mask,
                "metric": metric, "k": 1, "rank": rank, "mean": float(rng.uniform(0.05, 1)),
                "std": float(rng.uniform(0, 0.05)), "splits": 10, "accuracies": []}
               for metric in metrics for m in methods for c in conditions]
    proto = {"name": protocol, "train_per_identity": 5 if protocol == "split" else None,
             "splits": 10}
    return RecognitionReport(results=results, protocol=proto, rank=rank, seconds={})


ALL_METHODS = ("nmf", "snmf", "pca", "raw")
CONDITIONS = ("clean", "block:0.25", "sunglasses", "scarf", "noise:0.1")


@pytest.mark.parametrize("n_methods,n_metrics,n_conditions,protocol", [
    (4, 2, 1, "split"),  # the default clean-only run: title and legend used to be cut/cover
    (1, 1, 1, "split"), (2, 1, 1, "leave-one-out"), (4, 1, 3, "split"), (3, 2, 2, "split"),
    (4, 4, 5, "split"), (1, 2, 5, "leave-one-out")])
def test_recognition_results_title_and_legend_fit(n_methods, n_metrics, n_conditions,
                                                  protocol):
    methods = ALL_METHODS[:n_methods]
    report = _fake_report(methods, ("cosine", "whitened", "l1", "euclidean")[:n_metrics],
                          CONDITIONS[:n_conditions], protocol)
    fig = view.recognition_results(report)
    page = _drawn(fig)
    title = fig._suptitle.get_window_extent()
    assert _inside(title, page), (title, page)
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    legend = legends[0].get_window_extent()
    assert _inside(legend, page), (legend, page)
    assert not legend.overlaps(title)
    assert [t.get_text() for t in legends[0].get_texts()] == [m.upper() for m in methods]
    bars = [p for ax in fig.axes for p in ax.patches]
    assert len(bars) == n_methods * n_metrics * n_conditions
    for bar in bars:
        assert not legend.overlaps(bar.get_window_extent()), bar
    for ax in fig.axes:  # nor the accuracies written on the bars
        for text in ax.texts:
            if text.get_text():
                assert not legend.overlaps(text.get_window_extent()), text.get_text()


@pytest.fixture(scope="module")
def recognized():
    """A small labelled FaceSet and its recognition report with two occlusions."""
    from facenmf import recognition
    from facenmf.data import FaceSet

    rng = np.random.default_rng(4)
    W = _parts(8)
    people = rng.random((8, 6)) ** 3
    cols = [W @ (people[:, p] * rng.uniform(0.7, 1.3, 8)) for p in range(6) for _ in range(5)]
    A = np.asarray(cols).T
    faces = FaceSet(A=(A / A.max()).astype(np.float32),
                    labels=np.repeat([f"id{p}" for p in range(6)], 5), image_shape=SHAPE)
    report = recognition.evaluate(faces, rank=4, train_per_identity=3, n_splits=1,
                                  methods=("nmf", "pca", "raw"), metrics=("whitened", "cosine"),
                                  conditions=("block:0.25", "scarf"))
    return faces, report


def test_nearest_faces_shows_every_condition_and_names_the_metric(recognized, tmp_path):
    from matplotlib.text import Text

    faces, report = recognized
    path = tmp_path / "nearest.png"
    fig = view.nearest_faces(faces, report, n=2, path=path)
    _check_png(path, fig)
    texts = [t.get_text() for t in fig.findobj(Text)]
    every = "\n".join(texts)
    for heading in ("clean", "block:0.25 (unknown mask)", "scarf (unknown mask)"):
        assert any(t.endswith(heading) for t in texts), (heading, texts)
    assert "whitened distance" in every  # the first metric, by which neighbours were found
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 3 * 2 * (1 + 3)  # conditions x probes x (probe + 3 methods)
    # Each group shows the probes as that condition made them (the scarf is black).
    shown = [ax.images[0].get_array() for ax in images[::4]]
    h = SHAPE[0]
    assert shown[0][int(0.6 * h):].max() > 0 and shown[4][int(0.6 * h):].max() == 0
    assert "Warning" not in every and _inside(fig._suptitle.get_window_extent(), _drawn(fig))


def test_nearest_faces_with_one_condition(recognized):
    faces, report = recognized
    from facenmf.recognition import RecognitionReport

    one = RecognitionReport(report.results, report.protocol, report.rank, report.seconds,
                            {**report.examples, "conditions": report.examples["conditions"][:1]})
    fig = view.nearest_faces(faces, one)
    assert len([ax for ax in fig.axes if ax.images]) == 6 * 4  # 6 probes by default
    assert "by whitened distance, probes clean," in fig._suptitle.get_text().replace("\n", " ")


@pytest.mark.parametrize("metrics", [("cosine", "whitened"), ("whitened",)])
def test_accuracy_vs_rank_draws_every_metric(recognized, tmp_path, metrics):
    from facenmf import recognition

    faces, _ = recognized
    rows = recognition.accuracy_vs_rank(faces, [2, 4], train_per_identity=3, n_splits=1,
                                        methods=("nmf", "pca", "raw"), metrics=metrics,
                                        conditions=("block:0.25", "scarf"))
    path = tmp_path / "rank.png"
    fig = view.accuracy_vs_rank(rows, path=path)
    _check_png(path, fig)
    page = _drawn(fig)
    panels = [ax for ax in fig.axes if ax.containers]
    assert [ax.get_title() for ax in panels] == [f"{m} metric" for m in metrics]
    for ax in panels:
        handles, labels = ax.get_legend_handles_labels()
        assert len(labels) == 3 * 3  # methods x conditions (clean, block, scarf)
        styles = {(line.get_color(), str(line.get_linestyle())) for line in
                  (c.lines[0] for c in ax.containers)}
        assert len(styles) == 9  # every line tells method (colour) and condition (style) apart
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4"]
        for line in (c.lines[0] for c in ax.containers):
            assert list(line.get_xdata()) == [2, 4]
    # One shared legend, outside the panels and the title, inside the figure.
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    assert len(legends) == 1
    legend, title = legends[0].get_window_extent(), fig._suptitle.get_window_extent()
    assert _inside(legend, page) and _inside(title, page) and not legend.overlaps(title)
    assert not any(legend.overlaps(ax.get_window_extent()) for ax in panels)
    assert {t.get_text() for t in legends[0].get_texts()} == {
        f"{m}, {c}" for m in ("NMF", "PCA", "RAW")
        for c in ("clean", "block:0.25 (unknown mask)", "scarf (unknown mask)")}


# -- bad input ---------------------------------------------------------------------------
def test_errors_name_the_parameter(data):
    A, fit = data
    with pytest.raises(ValueError, match=r"^image_shape: \(11, 10\) has 110 pixels but W has "
                                         r"120 rows") as excinfo:
        view.basis_montage(fit.W, (11, 10))
    _one_line(excinfo)
    cases = [
        (TypeError, "^image_shape", lambda: view.basis_montage(fit.W, 120)),
        (ValueError, "^H: expected shape", lambda: view.basis_montage(fit.W, SHAPE, H=fit.H.T)),
        (ValueError, "^order: unknown", lambda: view.basis_montage(fit.W, SHAPE, order="size")),
        (ValueError, "^order: expected indices", lambda: view.basis_montage(fit.W, SHAPE,
                                                                           order=[0, 9])),
        (ValueError, "^ncols", lambda: view.basis_montage(fit.W, SHAPE, ncols=0)),
        (TypeError, "^path", lambda: view.basis_montage(fit.W, SHAPE, path=3)),
        (ValueError, "^W: expected shape", lambda: view.reconstructions(A, fit.W[:-1], fit.H,
                                                                       SHAPE)),
        (ValueError, "^faces", lambda: view.reconstructions(A, fit.W, fit.H, SHAPE,
                                                            faces=[40])),
        (ValueError, "^image_shape", lambda: view.reconstructions(A, fit.W, fit.H, (10, 10))),
        (ValueError, "^a_index", lambda: view.parts(40, A, fit.W, fit.H, SHAPE)),
        (TypeError, "^a_index", lambda: view.parts(1.5, A, fit.W, fit.H, SHAPE)),
        (ValueError, "^n_parts", lambda: view.parts(0, A, fit.W, fit.H, SHAPE, n_parts=0)),
        (TypeError, "^histories: item 1", lambda: view.convergence([fit, 3])),
        (ValueError, "^histories", lambda: view.convergence([])),
        (ValueError, "^labels", lambda: view.convergence([fit], labels=["a", "b"])),
        (ValueError, "^x: unknown", lambda: view.convergence([fit], x="time")),
        (ValueError, "^A: expected non-negative", lambda: view.compare_methods(-A, SHAPE, 4)),
        (ValueError, "^rank", lambda: view.method_bases(A, 40)),
        (ValueError, "^image_shape", lambda: view.compare_methods(A, (10, 10), 4)),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match) as excinfo:
            call()
        _one_line(excinfo)


# -- saving and imports ------------------------------------------------------------------
def test_save_replaces_existing_file_without_leftovers(data, tmp_path):
    _, fit = data
    path = tmp_path / "fig.png"
    path.write_bytes(b"old contents")
    fig = view.basis_montage(fit.W, SHAPE, path=str(path))
    _check_png(path, fig)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
    with pytest.raises(FileNotFoundError):
        view.basis_montage(fit.W, SHAPE, path=tmp_path / "missing" / "fig.png")
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_import_facenmf_does_not_import_matplotlib():
    code = (
        "import sys, numpy as np, facenmf\n"
        "assert 'matplotlib' not in sys.modules, 'import facenmf imported matplotlib'\n"
        "from facenmf import view\n"
        "view.basis_montage(np.ones((6, 2)), (3, 2), path=None)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'view imported pyplot'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("suffix,magic", [(".pdf", b"%PDF"), (".svg", b"<?xml"),
                                          (".jpg", b"\xff\xd8\xff"), (".png", b"\x89PNG")])
def test_figures_are_saved_in_the_format_their_extension_names(tmp_path, suffix, magic):
    W = np.random.default_rng(0).random((12 * 10, 4))
    view.basis_montage(W, (12, 10), path=tmp_path / f"basis{suffix}")
    assert (tmp_path / f"basis{suffix}").read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["basis", "basis.gif", "basis.npz"])
def test_a_figure_path_without_a_known_extension_is_refused(tmp_path, name):
    W = np.random.default_rng(0).random((12 * 10, 4))
    with pytest.raises(ValueError, match=r"path: .*expected a figure file ending in \.eps, "):
        view.basis_montage(W, (12, 10), path=tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_confusion_matrix_and_identity_accuracy(tmp_path):
    from facenmf import recognition

    rng = np.random.default_rng(0)
    labels = np.repeat([f"p{i}" for i in (1, 2, 10)], 6)
    centres = rng.random((3, 64))
    A = np.stack([centres[int(lab[1:]) % 7 % 3] + 0.3 * rng.random(64) for lab in labels], 1)
    faces = facenmf.FaceSet(A=A, labels=labels, image_shape=(8, 8))
    rep = recognition.evaluate(faces, rank=3, n_splits=2, train_per_identity=3,
                               methods=("raw", "pca"), metrics=("euclidean",))
    fig = view.confusion_matrix(rep, path=tmp_path / "c.png")
    _check_png(tmp_path / "c.png", fig)
    # Natural order of the names: p1, p2, p10.
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["p1", "p2", "p10"]
    assert "raw (euclidean), clean probes" in fig.axes[0].get_title()
    fig = view.identity_accuracy(rep, path=tmp_path / "i.png")
    _check_png(tmp_path / "i.png", fig)
    assert len(fig.axes[0].lines) == 2  # one row of dots per method
    with pytest.raises(ValueError, match=r"condition: expected one of \['clean'\]"):
        view.confusion_matrix(rep, condition="scarf")
    with pytest.raises(ValueError, match=r"method: expected one of \['raw', 'pca'\]"):
        view.confusion_matrix(rep, method="nmf")


def _identities_report(n_ids=50, conditions=("clean", "sunglasses"), seed=0):
    """A report of ``n_ids`` identities (s1..sN) with each result's confusion counts (sparse
    ``[true, predicted, count]`` triples, as evaluate gives them)."""
    from facenmf.recognition import RecognitionReport

    rng = np.random.default_rng(seed)
    results = []
    for c in conditions:
        for method, right in (("tuned", 0.9), ("pca", 0.7), ("raw", 0.6)):
            C = np.zeros((n_ids, n_ids), dtype=np.int64)
            for i in range(n_ids):
                for _ in range(10):
                    C[i, i if rng.random() < right else rng.integers(n_ids)] += 1
            results.append({"method": method, "condition": c,
                            "mask": None if c == "clean" else "unknown",
                            "metric": "tuned" if method == "tuned" else "cosine", "k": 1,
                            "rank": 49, "mean": float(np.trace(C) / C.sum()), "std": 0.01,
                            "splits": 2, "accuracies": [], "confusion": C.tolist(),
                            "per_identity": list(np.diag(C) / C.sum(axis=1))})
    proto = {"name": "split", "train_per_identity": 5, "splits": 2}
    # The report's order is sorted as strings (s1, s10, s11, ...): the figures' is natural.
    names = sorted(f"s{i + 1}" for i in range(n_ids))
    order = [int(x[1:]) - 1 for x in names]
    for r in results:
        C = np.asarray(r["confusion"])[np.ix_(order, order)]
        r["confusion"] = [[int(i), int(j), int(C[i, j])] for i, j in zip(*np.nonzero(C))]
        r["per_identity"] = list(np.diag(C) / C.sum(axis=1))
    return RecognitionReport(results=results, protocol=proto, rank=49, seconds={},
                             identities=names)


def _no_overlaps(texts):
    boxes = [t.get_window_extent() for t in texts if t.get_text()]
    return all(not a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])


@pytest.mark.parametrize("n_ids", [5, 40, 50])
def test_confusion_matrix_names_every_identity_legibly(n_ids, tmp_path):
    report = _identities_report(n_ids)
    fig = view.confusion_matrix(report, method="pca", path=tmp_path / "c.png")
    page = _drawn(fig)
    ax = fig.axes[0]
    xs, ys = ax.get_xticklabels(), ax.get_yticklabels()
    natural = [f"s{i + 1}" for i in range(n_ids)]
    assert [t.get_text() for t in xs] == natural == [t.get_text() for t in ys]
    assert _no_overlaps(xs) and _no_overlaps(ys)  # every name legible, none on another
    assert min(t.get_fontsize() for t in xs) >= 6  # 6 points or more up to 50 names
    assert _inside(ax.title.get_window_extent(), page)
    _check_png(tmp_path / "c.png", fig)


@pytest.mark.parametrize("n_ids", [40, 50])
def test_identity_accuracy_names_every_identity_legibly(n_ids, tmp_path):
    report = _identities_report(n_ids)
    fig = view.identity_accuracy(report, path=tmp_path / "i.png")
    page = _drawn(fig)
    ax = fig.axes[0]
    labels = ax.get_xticklabels()
    assert sorted(t.get_text() for t in labels) == sorted(report.identities)
    assert _no_overlaps(labels) and min(t.get_fontsize() for t in labels) >= 6
    legend = ax.get_legend()
    assert _inside(legend.get_window_extent(), page)
    # The legend covers no dot: every identity's accuracy stays visible.
    box = legend.get_window_extent()
    for line in ax.get_lines():
        xy = ax.transData.transform(line.get_xydata())
        assert not any(box.x0 < x < box.x1 and box.y0 < y < box.y1 for x, y in xy), \
            line.get_label()
    _check_png(tmp_path / "i.png", fig)
