"""Masked fits: nmf(A, rank, mask=M) fits the known entries only (M True = unknown)."""

import warnings

import numpy as np
import pytest
from scipy import sparse

import facenmf
from facenmf.nmf._beta import loss_beta
from facenmf.nmf._hals import inner_sweeps

from helpers import low_rank
from reference import anls_step, filled, hals_step, weighted_mu_step

# (solver, loss, solver_options): hals extrapolates by default; plain, it is the exact MM.
SOLVERS = [("hals", "frobenius", None), ("hals", "frobenius", {"extrapolate": False}),
           ("anls", "frobenius", None), ("mu", "frobenius", None), ("mu", "kl", None),
           ("mu", 1.5, None), ("klcd", "kl", None)]


def data(seed=0, unknown=0.3, noise=0.05):
    A, _, _ = low_rank(60, 40, 5, seed=seed)
    A = A + noise * np.random.default_rng(seed).random(A.shape)
    mask = np.random.default_rng(seed + 1).random(A.shape) < unknown
    return A, mask


def masked_error(A, W, H, mask, loss):
    """Slow reference: the relative error over the known entries, entry by entry."""
    known = ~mask
    a, q = A[known], (W @ H)[known]
    if loss == "frobenius":
        return np.sqrt(np.sum((a - q) ** 2) / np.sum(a ** 2))
    if loss == "kl":
        terms = np.where(a > 0, a * np.log(np.where(a > 0, a, 1) / q), 0) - a + q
        return np.sum(terms) / np.sum(a)
    b = loss  # a beta: the textbook divergence over the sum of a^beta
    terms = (a ** b + (b - 1) * q ** b - b * a * q ** (b - 1)) / (b * (b - 1))
    return np.sum(terms) / np.sum(a ** b)


def quiet_fit(A, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        return facenmf.nmf(A, 5, dtype=np.float64, **kw)


@pytest.mark.parametrize("solver,loss,options", SOLVERS)
@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_masked_objective_never_rises_and_is_the_reference(solver, loss, options, init):
    A, mask = data()
    seen = []

    def record(n, W, H, error):
        seen.append((W.copy(), H.copy(), error))

    fit = quiet_fit(A, mask=mask, solver=solver, loss=loss, init=init, max_iter=40, tol=0,
                    random_state=0, callback=record, solver_options=options)
    errors = fit.history.error
    assert len(errors) == 41 and np.all(np.diff(errors) <= 1e-12 * errors[0])
    for (W, H, error), logged in zip(seen, errors[1:]):
        assert error == logged
        assert error == pytest.approx(masked_error(A, W, H, mask, loss), rel=1e-10)
    assert fit.error == pytest.approx(masked_error(A, fit.W, fit.H, mask, loss), rel=1e-10)
    assert np.all(fit.W >= 0) and np.all(fit.H >= 0)
    # The known entries are all it saw: changing the unknown ones changes nothing.
    B = np.where(mask, 7.0, A)
    again = quiet_fit(B, mask=mask, solver=solver, loss=loss, init=init, max_iter=40, tol=0,
                      random_state=0, solver_options=options)
    if init == "random":  # (nndsvda's start sees the imputed values, the same too)
        np.testing.assert_allclose(again.W, fit.W, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver,loss", [("hals", "frobenius"), ("anls", "frobenius"),
                                         ("mu", "frobenius"), ("mu", "kl"), ("mu", 1.5),
                                         ("mu", 0.5), ("mu", 3.0)])
def test_masked_iterates_are_the_slow_reference(solver, loss):
    # hals and anls: one ordinary step on the data filled with the current W H (hals: every
    # inner sweep run, eps=0); mu: the weighted updates written entry by entry.
    A, mask = data(seed=8)
    rng = np.random.default_rng(9)
    W0, H0 = rng.random((A.shape[0], 5)) + 0.1, rng.random((5, A.shape[1])) + 0.1
    options = {"eps": 0.0, "alpha": 50.0, "extrapolate": False} if solver == "hals" else None
    seen = [(W0, H0)]
    quiet_fit(A, mask=mask, solver=solver, loss=loss, init="custom", W0=W0, H0=H0,
              max_iter=4, tol=0, solver_options=options,
              callback=lambda n, W, H, e: seen.append((W.copy(), H.copy())))
    assert len(seen) == 5
    sweeps = inner_sweeps(*A.shape, 5, 50.0)
    assert min(sweeps) > 1  # several sweeps per factor, all run by the reference
    for (W, H), (W1, H1) in zip(seen, seen[1:]):
        if solver == "hals":
            ref = hals_step(filled(A, mask, W, H), W, H, *sweeps)
        elif solver == "anls":
            ref = anls_step(filled(A, mask, W, H), W, H)
        else:
            ref = weighted_mu_step(A, mask, W, H, loss_beta(loss))
        np.testing.assert_allclose(W1, ref[0], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(H1, ref[1], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("solver", ["hals", "anls", "mu"])
def test_penalized_masked_objective_never_rises(solver):
    A, mask = data(seed=3)
    fit = quiet_fit(A, mask=mask, solver=solver, alpha_W=0.001, alpha_H=0.002, l1_ratio=0.5,
                    max_iter=40, tol=0)
    objective = fit.history.objective
    assert objective is not None and np.all(np.diff(objective) <= 1e-12 * objective[0])


@pytest.mark.parametrize("solver,options,iterations,tolerance", [
    ("hals", None, 1000, 1e-6), ("hals", {"extrapolate": False}, 3000, 1e-4),
    ("anls", None, 1000, 2e-4)])
def test_a_low_rank_matrix_is_recovered_on_its_unknown_entries(solver, options, iterations,
                                                                tolerance):
    A, _, _ = low_rank(60, 40, 5, seed=4)
    mask = np.random.default_rng(5).random(A.shape) < 0.3
    fit = quiet_fit(np.where(mask, 0, A), mask=mask, solver=solver, max_iter=iterations,
                    tol=0, solver_options=options)
    missed = np.abs(fit.W @ fit.H - A)[mask]
    assert missed.max() < tolerance * A.max()
    assert np.median(A[mask]) > 100 * tolerance * A.max()  # the entries were not near 0


@pytest.mark.parametrize("solver,options", [("anls", None), ("mu", None),
                                            ("hals", {"extrapolate": False})])
def test_an_all_known_mask_makes_the_plain_iterates(solver, options):
    A, _ = data(seed=6)
    kw = dict(solver=solver, max_iter=15, tol=0, solver_options=options)
    plain = quiet_fit(A, **kw)
    masked = quiet_fit(A, mask=np.zeros(A.shape, dtype=bool), **kw)
    np.testing.assert_allclose(masked.history.error, plain.history.error, rtol=1e-9)
    np.testing.assert_allclose(masked.W, plain.W, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(masked.H, plain.H, rtol=1e-7, atol=1e-10)


def test_a_pixel_mask_is_every_faces_mask_and_the_model_uses_it():
    A, _ = data(seed=7)
    pixels = np.zeros(A.shape[0], dtype=bool)
    pixels[::4] = True
    one = quiet_fit(A, mask=pixels, max_iter=20, tol=0)
    every = quiet_fit(A, mask=np.repeat(pixels[:, None], A.shape[1], axis=1), max_iter=20,
                      tol=0)
    np.testing.assert_array_equal(one.W, every.W)
    model = facenmf.NMF(5, max_iter=20, tol=0, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        H = model.fit_transform(A, mask=pixels)
    np.testing.assert_allclose(model.W, one.W, rtol=1e-12)
    np.testing.assert_allclose(H, model.transform(A, mask=pixels), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("make, kw, error, match", [
    (lambda A, M: M[:, :5], {}, ValueError, r"^mask: expected shape \(60,\) or \(60, 40\), "
     r"got \(60, 5\)"),
    (lambda A, M: M.astype(int), {}, TypeError, r"^mask: expected a boolean array"),
    (lambda A, M: np.ones_like(M), {}, ValueError, r"^mask: expected some known entries"),
    (lambda A, M: M, {"solver": "lnmf", "loss": "kl"}, ValueError,
     r"^mask: solver 'lnmf' does not fit with a mask; solvers \['anls', 'hals', 'klcd', "
     r"'mu'\] do"),
    (lambda A, M: M, {"solver": "mu", "loss": "itakura-saito"}, ValueError,
     r"^mask: loss 'itakura-saito' is not supported with a mask"),
])
def test_bad_masks_are_one_line(make, kw, error, match):
    A, mask = data()
    A = A + 0.01  # positive, for Itakura-Saito's own check
    with pytest.raises(error, match=match) as info:
        facenmf.nmf(A, 5, mask=make(A, mask), **kw)
    assert "\n" not in str(info.value)


def test_a_sparse_a_is_refused_with_a_mask():
    A, mask = data()
    with pytest.raises(ValueError, match=r"^mask: a masked fit needs A in memory as a dense "
                       "array; A is a scipy.sparse matrix"):
        facenmf.nmf(sparse.csr_matrix(A), 5, mask=mask)


def test_a_streamed_a_is_refused_with_a_mask(tmp_path):
    A, mask = data()
    mapped = np.lib.format.open_memmap(tmp_path / "A.npy", mode="w+", dtype=np.float32,
                                       shape=A.shape)
    mapped[:] = A
    with pytest.raises(ValueError, match=r"^mask: a masked fit needs A in memory as a dense "
                       r"array; A is read block by block \(pass numpy.asarray\(A\)\)$") as info:
        facenmf.nmf(mapped, 5, mask=mask)
    assert "\n" not in str(info.value)
