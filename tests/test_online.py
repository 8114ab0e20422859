"""Online fits (nmf_online, NMF.partial_fit): invariants against slow references."""

import numpy as np
import pytest

import facenmf
from facenmf.nmf._online import OnlineState

from reference import frobenius_error

N_PIXELS, RANK = 80, 6


def stream_data(n_faces, seed=0, n_pixels=N_PIXELS, rank=RANK, noise=0.2):
    """Faces drawn from one distribution: sparse non-negative parts, gamma weights and
    multiplicative noise. The same seed gives the same parts (a held-back set is drawn
    from the same model with another `draw`)."""
    parts_rng = np.random.default_rng(seed)
    parts = parts_rng.random((n_pixels, rank)) ** 3

    def draw(m, draw_seed):
        rng = np.random.default_rng(1000 + draw_seed)
        A = parts @ rng.gamma(1.0, 1.0, (rank, m))
        return A * (1 + noise * rng.standard_normal(A.shape)).clip(0)

    return draw(n_faces, 0), draw


def batches_of(A, size):
    return [A[:, s:s + size] for s in range(0, A.shape[1], size)]


def surrogate(Wt, B, G):
    """0.5 tr(W G Wᵀ) - tr(W B) with Wt = Wᵀ (rank, n): the W-dependent part of the
    weighted squared error of the past batches with their weights frozen."""
    Wt = Wt.astype(np.float64)
    return 0.5 * float(np.sum((Wt.T @ G) * Wt.T)) - float(np.sum(Wt * B))


# --- the statistics and each update against slow references ---------------------------

@pytest.mark.parametrize("forget", [0.0, 1.0, 2.5])
@pytest.mark.parametrize("coding", ["hals", "nnls"])
def test_statistics_are_the_weighted_sums_of_the_batches(forget, coding):
    A, _ = stream_data(230)
    batches = batches_of(A, 40)  # the last batch has 30 faces
    rng = np.random.default_rng(0)
    state = OnlineState.start(batches[0], RANK, "random", None, rng, np.float64)
    codes = []
    for Ab in batches:
        Wt_before = state.stats.Wt.copy()
        H, error = state.update(Ab, forget, coding)
        codes.append(H.copy())
        assert H.min() >= 0 and state.stats.Wt.min() >= 0
        # The reported error is that of the batch coded on the basis before the update.
        assert error == pytest.approx(frobenius_error(Ab, Wt_before.T, H), rel=1e-9)
    # Slow reference: batch b weighs prod over the later batches of (faces before / after)^rho.
    sizes = [Ab.shape[1] for Ab in batches]
    B_ref = np.zeros_like(state.stats.B)
    G_ref = np.zeros_like(state.stats.G)
    for b, (Ab, H) in enumerate(zip(batches, codes)):
        weight = 1.0
        for later in range(b + 1, len(batches)):
            before = sum(sizes[:later])
            weight *= (before / (before + sizes[later])) ** forget
        for j in range(Ab.shape[1]):  # face by face: the obvious sum
            B_ref += weight * np.outer(H[:, j], Ab[:, j])
            G_ref += weight * np.outer(H[:, j], H[:, j])
    np.testing.assert_allclose(state.stats.B, B_ref, rtol=1e-10, atol=1e-12 * np.abs(B_ref).max())
    np.testing.assert_allclose(state.stats.G, G_ref, rtol=1e-10, atol=1e-12 * np.abs(G_ref).max())
    assert state.n_faces == 230 and state.n_batches == len(batches)


def test_each_basis_update_lowers_the_surrogate_and_codes_are_exact_or_improved():
    A, _ = stream_data(200, seed=1)
    rng = np.random.default_rng(1)
    for coding in ("hals", "nnls"):
        state = OnlineState.start(A[:, :50], RANK, "random", None, rng, np.float64)
        for Ab in batches_of(A, 50):
            Wt = state.stats.Wt.copy()
            H, _ = state.update(Ab, 1.0, coding)
            W = Wt.T
            if coding == "nnls":  # exact projection: the slow reference is the KKT point
                np.testing.assert_allclose(H, facenmf.project(Ab, W), rtol=1e-9, atol=1e-12)
            else:  # sweeps from the clipped least-squares weights only lower the objective
                start = np.maximum(np.linalg.lstsq(W, Ab, rcond=None)[0], 0)
                assert np.linalg.norm(Ab - W @ H) <= np.linalg.norm(Ab - W @ start) * (1 + 1e-12)
            # The new basis is no worse than the old one on the surrogate of the new sums.
            B, G = state.stats.B, state.stats.G
            assert surrogate(state.stats.Wt, B, G) <= surrogate(Wt, B, G) + 1e-12 * abs(
                surrogate(Wt, B, G))


# --- what a user sees ------------------------------------------------------------------

def test_result_fields_and_invariants():
    A, _ = stream_data(300)
    seen = []
    fit = facenmf.nmf_online(batches_of(A, 50), RANK, random_state=0, dtype=np.float64,
                             callback=lambda it, W, H, err: seen.append((it, W.copy(), H, err)))
    assert isinstance(fit, facenmf.OnlineFactorization) and isinstance(fit, facenmf.Factorization)
    assert fit.W.shape == (N_PIXELS, RANK) and fit.W.dtype == np.float64 and fit.H is None
    assert fit.W.min() >= 0 and np.isfinite(fit.W).all()
    np.testing.assert_allclose(np.linalg.norm(fit.W, axis=0), 1, atol=1e-12)
    assert (fit.n_iter, fit.n_faces, fit.n_passes, fit.stop_reason) == (6, 300, 1, "max_passes")
    assert not fit.converged and (fit.solver, fit.init, fit.loss) == ("online", "random",
                                                                      "frobenius")
    assert [s[0] for s in seen] == list(range(1, 7))
    assert all(W.min() >= 0 and H.min() >= 0 and H.shape == (RANK, 50) for _, W, H, _ in seen)
    np.testing.assert_array_equal(fit.history.error, [s[3] for s in seen])
    assert fit.error == fit.history.error[-1] and len(fit.history) == 6
    assert np.all(np.diff(fit.history.seconds) >= 0)
    # The callback's W is the updated basis in its working scale: same directions.
    last = seen[-1][1]
    np.testing.assert_allclose(last / np.linalg.norm(last, axis=0), fit.W, rtol=1e-12)


def test_online_fit_lowers_the_error_on_held_back_batches():
    A, draw = stream_data(3000, seed=2)
    held = draw(400, 99)  # never streamed
    snapshots = {}

    def keep(it, W, H, err):
        if it in (1, 3, 10, 30):
            snapshots[it] = W.copy()

    def held_error(W):
        return frobenius_error(held, W, facenmf.project(held, W))

    one = facenmf.nmf_online(batches_of(A, 100), RANK, random_state=0, callback=keep)
    errors = [held_error(W) for _, W in sorted(snapshots.items())]
    # Each checkpoint is clearly better than the one before, on faces never seen.
    assert all(later < 0.99 * earlier for earlier, later in zip(errors, errors[1:])), errors
    np.testing.assert_allclose(errors[-1], held_error(one.W), rtol=1e-6)
    # Further passes lower it further, towards what a batch fit of the streamed faces gets
    # on them (measured: 1.11x after one pass, 1.03x after ten).
    ten = held_error(facenmf.nmf_online(batches_of(A, 100), RANK, random_state=0,
                                        max_passes=10).W)
    batch = facenmf.nmf(A, RANK, random_state=0, max_iter=300, tol=1e-6)
    assert ten < 0.97 * errors[-1] and ten <= 1.05 * held_error(batch.W), (errors, ten)


def test_one_batch_repeated_converges_near_a_batch_fit():
    """The same batch over and over: the surrogate's past codes converge with the basis,
    to a stationary point of the batch problem (within an explicit tolerance of a
    converged batch fit)."""
    rng = np.random.default_rng(1)
    A = rng.random((120, 8)) @ rng.random((8, 50))
    A = A + A.mean() * rng.random(A.shape)
    batch = facenmf.nmf(A, 8, random_state=0, max_iter=5000, tol=1e-7, dtype=np.float64)
    errors = {}
    for repeats in (30, 400):
        fit = facenmf.nmf_online([A] * repeats, 8, random_state=0, dtype=np.float64)
        errors[repeats] = frobenius_error(A, fit.W, facenmf.project(A, fit.W))
    assert errors[400] < errors[30]
    assert errors[400] <= 1.02 * batch.error, (errors, batch.error)  # measured 1.010


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_partial_fit_equals_the_iterator_function(dtype):
    A, _ = stream_data(260, seed=3)
    batches = batches_of(A, 45)
    fit = facenmf.nmf_online(batches, RANK, random_state=7, forget=0.5, dtype=dtype)
    model = facenmf.NMF(RANK, random_state=7, dtype=dtype)
    for Ab in batches:
        assert model.partial_fit(Ab, forget=0.5) is model
        # Usable after every call: unit-norm basis, transform works.
        assert model.transform(Ab).shape == (RANK, Ab.shape[1]) and model.H is None
    np.testing.assert_array_equal(model.W, fit.W)
    assert model.W.dtype == dtype
    np.testing.assert_array_equal(model.result.history.error, fit.history.error)
    assert (model.result.n_iter, model.result.n_faces) == (fit.n_iter, fit.n_faces)
    assert model.result.stop_reason == "partial_fit"


def test_partial_fit_starts_from_a_fitted_or_loaded_basis(tmp_path):
    A, _ = stream_data(300, seed=4)
    model = facenmf.NMF(RANK, random_state=0, dtype=np.float64, max_iter=50, tol=0).fit(A)
    fitted = model.W
    model.partial_fit(A[:, :60])
    expected = facenmf.nmf_online([A[:, :60]], RANK, W0=fitted, dtype=np.float64)
    np.testing.assert_array_equal(model.W, expected.W)
    assert model.result.init == "custom"
    model.partial_fit(A[:, 60:120])  # continues its sums
    two = facenmf.nmf_online([A[:, :60], A[:, 60:120]], RANK, W0=fitted, dtype=np.float64)
    np.testing.assert_array_equal(model.W, two.W)
    # A saved model says how it was made; a loaded one starts new sums from its basis.
    path = facenmf.save_model(tmp_path / "m.npz", model)
    loaded = facenmf.load_model(path)
    assert loaded.metadata["solver"] == "online" and loaded.metadata["n_iter"] == 2
    loaded.partial_fit(A[:, 120:180])
    again = facenmf.nmf_online([A[:, 120:180]], RANK, W0=model.W, dtype=np.float64)
    np.testing.assert_array_equal(loaded.W, again.W)
    # fit() again: the next partial_fit starts from the new basis, not the old sums.
    model.fit(A)
    refit = model.W
    model.partial_fit(A[:, :60])
    np.testing.assert_array_equal(
        model.W, facenmf.nmf_online([A[:, :60]], RANK, W0=refit, dtype=np.float64).W)


# --- stopping: passes, limits, callback, Ctrl-C ----------------------------------------

def test_passes_and_limits():
    A, _ = stream_data(200)
    batches = batches_of(A, 50)
    two = facenmf.nmf_online(batches, RANK, random_state=0, max_passes=2)
    assert (two.n_iter, two.n_passes, two.n_faces, two.stop_reason) == (8, 2, 400,
                                                                         "max_passes")
    some = facenmf.nmf_online(batches, RANK, random_state=0, max_passes=2, max_batches=6)
    assert (some.n_iter, some.n_passes, some.stop_reason) == (6, 2, "max_batches")
    quick = facenmf.nmf_online(batches, RANK, random_state=0, time_limit=1e-9)
    assert (quick.n_iter, quick.stop_reason) == (1, "time_limit")
    # A generator is read once, as given.
    gen = facenmf.nmf_online((Ab for Ab in batches), RANK, random_state=0)
    np.testing.assert_array_equal(gen.W, facenmf.nmf_online(batches, RANK, random_state=0).W)


@pytest.mark.parametrize("answer,stops", [(False, True), (0, True), (np.False_, True),
                                          (None, False), (True, False), (1.0, False)])
def test_callback_stops_on_any_false_value_but_none(answer, stops):
    A, _ = stream_data(200)
    calls = []

    def cb(it, W, H, err):
        calls.append(it)
        return answer if it == 2 else None

    fit = facenmf.nmf_online(batches_of(A, 50), RANK, random_state=0, callback=cb)
    if stops:
        assert (fit.stop_reason, fit.n_iter, calls) == ("callback", 2, [1, 2])
        first_two = facenmf.nmf_online(batches_of(A, 50)[:2], RANK, random_state=0)
        np.testing.assert_array_equal(fit.W, first_two.W)
    else:
        assert (fit.stop_reason, fit.n_iter) == ("max_passes", 4)


def test_keyboard_interrupt_keeps_the_last_whole_batch():
    A, _ = stream_data(300)
    batches = batches_of(A, 50)
    first_three = facenmf.nmf_online(batches[:3], RANK, random_state=0)

    def interrupt(it, W, H, err):
        if it == 3:
            raise KeyboardInterrupt

    fit = facenmf.nmf_online(batches, RANK, random_state=0, callback=interrupt)
    assert (fit.stop_reason, fit.n_iter, len(fit.history)) == ("interrupted", 3, 3)
    np.testing.assert_array_equal(fit.W, first_three.W)

    def stream():  # Ctrl-C while the next batch is being read
        yield from batches[:3]
        raise KeyboardInterrupt

    fit = facenmf.nmf_online(stream(), RANK, random_state=0)
    assert (fit.stop_reason, fit.n_iter) == ("interrupted", 3)
    np.testing.assert_array_equal(fit.W, first_three.W)

    def nothing_yet():
        raise KeyboardInterrupt
        yield  # pragma: no cover

    with pytest.raises(KeyboardInterrupt):  # no basis to return
        facenmf.nmf_online(nothing_yet(), RANK, random_state=0)


def test_keyboard_interrupt_during_the_first_batch_is_raised(monkeypatch):
    def interrupted(self, A, coding, WtW):
        raise KeyboardInterrupt

    monkeypatch.setattr(OnlineState, "code", interrupted)
    A, _ = stream_data(100)
    with pytest.raises(KeyboardInterrupt):  # the state exists, but no batch is done
        facenmf.nmf_online(batches_of(A, 50), RANK, random_state=0)


# --- bad input -------------------------------------------------------------------------

def _bad_batches():
    good = np.ones((N_PIXELS, 10))
    negative = good.copy()
    negative[3, 4] = -1
    nan = good.copy()
    nan[0, 0] = np.nan
    return [
        (dict(batches=good), TypeError, "batches: expected an iterable of 2-D batches of "
         "shape (n_pixels, m), got one array of shape (80, 10); pass its column blocks"),
        (dict(batches=3), TypeError, "batches: expected an iterable of 2-D arrays of shape "
         "(n_pixels, m), got int"),
        (dict(batches=[]), ValueError, "batches: expected at least one batch, got an empty "
         "iterable"),
        (dict(batches=[good, np.ones((79, 10))]), ValueError,
         "batches[1]: expected shape (80, *), got (79, 10) (axis 0 differs)"),
        (dict(batches=[good, negative]), ValueError,
         "batches[1]: expected non-negative entries, found 1 negative"),
        (dict(batches=[nan]), ValueError, "batches[0]: expected finite entries, found 1 NaN"),
        (dict(batches=[good[0]]), ValueError, "batches[0]: expected a 2-D array, got 1-D"),
        (dict(batches=[good], rank=81), ValueError,
         "rank: expected an integer <= 80 (the pixels of a face), got 81"),
        (dict(batches=[good], rank=0), ValueError, "rank: expected an integer >= 1, got 0"),
        (dict(batches=[good], rank=2.0), TypeError, "rank: expected an integer"),
        (dict(batches=[good], rank=20, init="nndsvda"), ValueError,
         "rank: init 'nndsvda' needs at least rank=20 faces in the first batch, got 10"),
        (dict(batches=[good], init="svd"), ValueError, "init: unknown value 'svd'"),
        (dict(batches=[good], init="custom"), ValueError, "init: 'custom' requires W0"),
        (dict(batches=[good], W0=np.ones((80, 5))), ValueError,
         "W0: expected shape (*, 6), got (80, 5) (axis 1 differs)"),
        (dict(batches=[good], W0=np.zeros((80, 6))), ValueError, "W0: all 480 entries are zero"),
        (dict(batches=[good], W0=np.ones((70, 6))), ValueError,
         "batches[0]: expected shape (70, *), got (80, 10)"),
        (dict(batches=[good], forget=-1), ValueError, "forget: expected a number >= 0"),
        (dict(batches=[good], coding="lars"), ValueError, "coding: unknown value 'lars'"),
        (dict(batches=(b for b in [good]), max_passes=2), ValueError,
         "max_passes: 2 passes need batches that can be iterated again"),
        (dict(batches=[good], max_passes=0), ValueError, "max_passes: expected an integer >= 1"),
        (dict(batches=[good], max_batches=0), ValueError,
         "max_batches: expected an integer >= 1"),
        (dict(batches=[good], time_limit=0), ValueError, "time_limit: expected a number > 0"),
        (dict(batches=[good], callback=3), TypeError, "callback: expected a callable"),
        (dict(batches=[good], random_state="x"), TypeError, "random_state: expected None"),
        (dict(batches=[good], dtype=np.int32), ValueError,
         "dtype: expected float32 or float64, got int32"),
    ]


@pytest.mark.parametrize("kwargs,error,message", _bad_batches())
def test_bad_input_one_line_errors(kwargs, error, message):
    kwargs.setdefault("rank", RANK)
    with pytest.raises(error) as info:
        facenmf.nmf_online(**kwargs)
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_partial_fit_bad_input():
    model = facenmf.NMF(RANK, random_state=0)
    with pytest.raises(ValueError, match=r"^A_batch: expected non-negative entries"):
        model.partial_fit(-np.ones((N_PIXELS, 10)))
    assert model.W is None  # nothing happened
    model.partial_fit(np.ones((N_PIXELS, 10)))
    with pytest.raises(ValueError, match=r"^A_batch: expected shape \(80, \*\), got \(81, 3\)"):
        model.partial_fit(np.ones((81, 3)))
    with pytest.raises(ValueError, match=r"^forget: expected a number >= 0, got -0.5$"):
        model.partial_fit(np.ones((N_PIXELS, 3)), forget=-0.5)
    with pytest.raises(ValueError, match=r"^image_shape: \(9, 9\) has 81 pixels, but A_batch "
                                         r"has 80 rows$"):
        facenmf.NMF(RANK, image_shape=(9, 9)).partial_fit(np.ones((N_PIXELS, 10)))
