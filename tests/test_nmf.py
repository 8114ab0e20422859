import importlib
import inspect
import warnings

import numpy as np
import pytest

import facenmf
from facenmf.nmf import _core, _hals, _init
from facenmf.nmf._hals import hals, scaled_system, sweep
from facenmf.nmf._loss import gram, kl_divergence, residual_error, rounding_bound, squared_error
from facenmf.nmf._nnls import nnls_bpp

from helpers import low_rank, orl_matrix
from reference import (frobenius_error, hals_step, hals_sweep, kkt_violation, nnls_columns,
                       relative_kl)
from reference import kl_divergence as kl_reference

SOLVERS = ["hals", "mu", "anls"]
SOLVER_LOSS = [("hals", "frobenius"), ("mu", "frobenius"), ("mu", "kl"), ("anls", "frobenius")]
INITS = ["random", "nndsvd", "nndsvda", "nndsvdar"]


def fit(A, rank, **kw):
    """nmf in float64 by default. A ConvergenceWarning is an error here (pyproject's
    filterwarnings): a test that stops at max_iter on purpose passes tol=0."""
    kw.setdefault("dtype", np.float64)
    return facenmf.nmf(A, rank, **kw)


def near_low_rank(n=150, m=100, rank=5, noise=0.004, seed=0):
    """Low rank times (1 + small noise): a rank-`rank` fit reaches a relative error of about
    4e-3, where a float32 trace trick cancels badly."""
    rng = np.random.default_rng(seed)
    A = rng.random((n, rank)) @ rng.random((rank, m))
    return A * (1 + noise * rng.standard_normal(A.shape)).clip(0)


def random_init(A, rank, seed):
    rng = np.random.default_rng(seed)
    return rng.random((A.shape[0], rank)), rng.random((rank, A.shape[1]))


@pytest.mark.parametrize("solver,loss", SOLVER_LOSS)
@pytest.mark.parametrize("init", INITS)
def test_invariants(faces_like, solver, loss, init):
    A = faces_like
    f = fit(A, 6, solver=solver, loss=loss, init=init, max_iter=60, tol=0, random_state=0)
    assert f.W.shape == (A.shape[0], 6) and f.H.shape == (6, A.shape[1])
    assert f.W.dtype == np.float64 and f.H.dtype == np.float64
    assert f.W.min() >= 0 and f.H.min() >= 0
    assert np.isfinite(f.W).all() and np.isfinite(f.H).all()
    norms = np.linalg.norm(f.W, axis=0)
    assert np.allclose(norms[norms > 0], 1, atol=1e-12)
    assert len(f.history) == f.n_iter + 1 == 61
    assert np.all(np.diff(f.history.seconds) >= 0)
    # The recorded final error is the true error of the returned factors.
    if loss == "kl":
        assert f.error == pytest.approx(relative_kl(A, f.W, f.H), rel=1e-9)
    else:
        assert f.error == pytest.approx(frobenius_error(A, f.W, f.H), rel=1e-9)
        # The last exact H step never makes things worse than the last iteration.
        assert f.error <= f.history.error[-1] * (1 + 1e-12)


@pytest.mark.parametrize("solver,loss", [("mu", "frobenius"), ("mu", "kl"), ("anls", "frobenius")])
@pytest.mark.parametrize("init", INITS)
def test_objective_never_increases(faces_like, solver, loss, init):
    # mu and anls record their plain iterates (hals records the best pair so far, which
    # cannot rise by construction: its plain iterates are tested on the HALS class below).
    slow = relative_kl if loss == "kl" else frobenius_error
    seen = []
    f = fit(faces_like, 6, solver=solver, loss=loss, init=init, max_iter=80, tol=0,
            random_state=3, callback=lambda it, W, H, err: seen.append(slow(faces_like, W, H)))
    ref = np.array(seen)
    np.testing.assert_allclose(f.history.error[1:], ref, rtol=1e-9)
    # Every solver here is monotone in exact arithmetic; allow float64 rounding only.
    assert np.all(np.diff(ref) <= 1e-10 * ref[:-1]), np.diff(ref).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["hals", "anls"])
def test_float32_history_nearly_monotone(faces_like, dtype, solver):
    f = fit(faces_like, 6, solver=solver, max_iter=80, tol=0, dtype=dtype)
    err = f.history.error
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert np.all(np.diff(err) <= rtol * err[:-1])


@pytest.mark.parametrize("solver,max_iter", [("hals", 3000), ("anls", 3000), ("mu", 20000)])
def test_recovers_exact_low_rank(solver, max_iter):
    A, _, _ = low_rank(60, 40, 4, seed=2)
    f = fit(A, 4, solver=solver, max_iter=max_iter, tol=0, init="nndsvda")
    limit = 1e-4 if solver != "mu" else 1e-2
    assert f.error < limit
    assert frobenius_error(A, f.W, f.H) < limit


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_trace_trick_matches_reference(faces_like, dtype, rtol):
    rng = np.random.default_rng(0)
    A = faces_like.astype(dtype)
    W = rng.random((A.shape[0], 6)).astype(dtype) * 0.3
    H = rng.random((6, A.shape[1])).astype(dtype) * 0.3
    norm_A_sq = float(np.sum(A.astype(np.float64) ** 2))
    fast = np.sqrt(squared_error(norm_A_sq, W.T @ A, gram(W.T), H)) / np.sqrt(norm_A_sq)
    assert fast == pytest.approx(frobenius_error(A, W, H), rel=rtol)
    exact = np.sqrt(residual_error(A, W, H) / norm_A_sq)
    assert exact == pytest.approx(frobenius_error(A, W, H), rel=max(rtol, 1e-9))
    kl = kl_divergence(A, W @ H, np.finfo(dtype).eps)
    assert kl == pytest.approx(kl_reference(A, W, H), rel=max(rtol, 1e-9))


@pytest.mark.parametrize("shape", [(150, 100), (3000, 60), (40, 3000)])
def test_float32_trace_trick_within_its_rounding_bound(shape):
    # Near a good fit (relative error ~4e-3) the trace trick cancels; with float64 Gram
    # matrices its float32 error stays within rounding_bound, which the stop test trusts.
    A = near_low_rank(*shape, seed=3)
    f = fit(A, 5, max_iter=200, tol=0)
    A32, W, H = (x.astype(np.float32) for x in (A, f.W, f.H))
    norm_A_sq = float(np.sum(A32.astype(np.float64) ** 2))
    exact = frobenius_error(A32, W, H) ** 2 * norm_A_sq
    assert exact < 1e-4 * norm_A_sq
    fast = squared_error(norm_A_sq, W.T @ A32, gram(W.T), H)
    assert abs(fast - exact) <= rounding_bound(norm_A_sq, np.float32)
    assert residual_error(A32, W, H) == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_and_float64_fits_stop_alike(solver, seed):
    # scikit-learn's test_nmf_float32_float64_consistency, at a relative error of ~4e-3: the
    # same data and init in both precisions make the same stop decision at about the same
    # iteration and give the same basis. (A float32 trace trick erred by ~2e-4 relative
    # there, more than tol, and stopped float32 fits 20-60% early.)
    A = near_low_rank(seed=seed)
    W0, H0 = random_init(A, 5, seed + 100)
    f32, f64 = (fit(A, 5, solver=solver, tol=1e-3, max_iter=2000, W0=W0, H0=H0, dtype=dt)
                for dt in (np.float32, np.float64))
    assert f32.converged and f64.converged
    assert f64.error < 0.02
    assert abs(f32.n_iter - f64.n_iter) <= 2 + 0.02 * f64.n_iter, (f32.n_iter, f64.n_iter)
    assert f32.error == pytest.approx(f64.error, rel=1e-3)
    # hals extrapolates: its restarts follow rounding-level differences, so its trajectory
    # drifts further from float64's than the plain descents of mu and anls.
    atol = 2e-3 if solver == "hals" else 1e-4
    np.testing.assert_allclose(f32.W, f64.W, atol=atol)


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_reported_error_is_exact(solver):
    A = near_low_rank(seed=1)
    A32 = A.astype(np.float32)
    W0, H0 = random_init(A, 5, 101)
    seen = []

    def record(it, W, H, err):
        seen.append(frobenius_error(A32, W, H))

    f = fit(A, 5, solver=solver, tol=1e-3, max_iter=2000, dtype=np.float32, callback=record,
            W0=W0, H0=H0)
    assert f.converged and f.error < 1e-2
    # The reported error is that of the returned float32 factors computed in float64, to
    # far better than tol.
    assert f.error == pytest.approx(frobenius_error(A32, f.W, f.H), rel=1e-6)
    # Every recorded error is within the trace trick's rounding bound (6e-8 / error in
    # float32) of the truth, and the two that decided the stop are exact.
    slow, hist = np.array(seen), f.history.error[1:]
    assert np.all(np.abs(hist - slow) <= 6e-8 / slow + 1e-6 * slow)
    np.testing.assert_allclose(hist[-2:], slow[-2:], rtol=1e-6)


@pytest.mark.parametrize("dtype,tiny", [(np.float32, 1e-44), (np.float64, 1e-323)])
def test_kl_tiny_entries_do_not_underflow(dtype, tiny):
    # scikit-learn's test_nmf_underflow: log(a / WH) underflowed to log(0) = -inf for a tiny
    # positive a, and a KL fit stopped after one iteration at a worse divergence.
    rng = np.random.default_rng(0)
    A = np.abs(rng.standard_normal((30, 20))) * 10
    A[0, 0] = 0
    W0, H0 = random_init(A, 3, 1)
    W0 *= 30  # W H about 20 at the start: 1e-44 / 20 underflows to 0 in float32
    ref = fit(A, 3, solver="mu", loss="kl", W0=W0, H0=H0, dtype=dtype, max_iter=3000)
    WH = (W0 @ H0).astype(dtype)
    zero = kl_divergence(A.astype(dtype), WH, np.finfo(dtype).eps)
    A[0, 0] = tiny
    assert A.astype(dtype)[0, 0] > 0
    assert kl_divergence(A.astype(dtype), WH, np.finfo(dtype).eps) == pytest.approx(zero,
                                                                                  rel=1e-12)
    got = fit(A, 3, solver="mu", loss="kl", W0=W0, H0=H0, dtype=dtype, max_iter=3000)
    assert np.isfinite(got.history.error).all()
    assert got.converged and got.n_iter == ref.n_iter > 10
    np.testing.assert_allclose(got.history.error, ref.history.error, rtol=1e-6)
    np.testing.assert_allclose(got.W, ref.W, rtol=1e-4, atol=1e-6)


def test_kl_error_is_relative_and_scale_invariant(faces_like):
    # D(cA || cWH) = c D(A || WH): the reported D / sum(A) does not depend on the scale.
    W0, H0 = random_init(faces_like, 5, 0)
    f = fit(faces_like, 5, solver="mu", loss="kl", W0=W0, H0=H0, max_iter=40, tol=0)
    g = fit(1000 * faces_like, 5, solver="mu", loss="kl", W0=1000 * W0, H0=H0, max_iter=40,
            tol=0)
    assert f.error == pytest.approx(kl_reference(faces_like, f.W, f.H) / faces_like.sum(),
                                    rel=1e-9)
    assert 0 < f.error < f.history.error[0] < 1
    np.testing.assert_allclose(g.history.error, f.history.error, rtol=1e-8)
    assert g.error == pytest.approx(f.error, rel=1e-8)
    a = fit(faces_like, 5, solver="mu", loss="kl", W0=W0, H0=H0, tol=1e-3)
    b = fit(1000 * faces_like, 5, solver="mu", loss="kl", W0=1000 * W0, H0=H0, tol=1e-3)
    assert a.converged and b.converged and a.n_iter == b.n_iter


def test_history_error_matches_reference_each_iteration(faces_like):
    seen = []

    def record(it, W, H, err):
        seen.append((err, frobenius_error(faces_like, W, H)))

    fit(faces_like, 5, max_iter=15, tol=0, callback=record)
    fast, slow = np.array(seen).T
    np.testing.assert_allclose(fast, slow, rtol=1e-9)


@pytest.mark.parametrize("init", ["random", "nndsvdar"])
@pytest.mark.parametrize("solver", ["hals", "mu", "anls"])
def test_reproducible_under_seed(faces_like, init, solver):
    a = fit(faces_like, 5, solver=solver, init=init, random_state=7, max_iter=20, tol=0)
    b = fit(faces_like, 5, solver=solver, init=init, random_state=7, max_iter=20, tol=0)
    c = fit(faces_like, 5, solver=solver, init=init, random_state=8, max_iter=20, tol=0)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)
    assert not np.array_equal(a.W, c.W)


def test_nndsvd_is_deterministic_without_seed(faces_like):
    a = fit(faces_like, 5, init="nndsvd", max_iter=5, tol=0)
    b = fit(faces_like, 5, init="nndsvd", max_iter=5, tol=0)
    np.testing.assert_array_equal(a.W, b.W)


def test_exact_svd_path_ignores_random_state(faces_like):
    a = _init.truncated_svd(faces_like, 5, np.random.default_rng(1))
    b = _init.truncated_svd(faces_like, 5, np.random.default_rng(2))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_randomized_svd_follows_random_state():
    # 1600 x 1601: above EXACT_SVD_MAX on both sides, so NNDSVD takes the randomized SVD,
    # whose random start now comes from random_state (it was seed 0 whatever the caller
    # said): the same seed gives the same init, another seed a (slightly) different one.
    assert _init.EXACT_SVD_MAX < 1600
    rng = np.random.default_rng(0)
    A = (rng.random((1600, 8)) @ rng.random((8, 1601)) + 0.1 * rng.random((1600, 1601)))
    A = A.astype(np.float32)
    first = {}
    for seed in (1, 1, 2):
        U, s, Vt = _init.truncated_svd(A, 5, np.random.default_rng(seed))
        if seed in first:
            np.testing.assert_array_equal(U, first[seed][0])
            np.testing.assert_array_equal(s, first[seed][1])
        first.setdefault(seed, (U, s, Vt))
    (U1, s1, _), (U2, s2, _) = first[1], first[2]
    assert not np.array_equal(U1, U2)
    np.testing.assert_allclose(s1, s2, rtol=1e-5)
    np.testing.assert_allclose(np.abs(U1.T @ U2), np.eye(5), atol=1e-4)
    # Through nmf: max_iter=0 returns the (normalized) initial basis.
    W = {seed: fit(A, 5, init="nndsvd", max_iter=0, random_state=seed, dtype=np.float32).W
         for seed in (1, 2)}
    np.testing.assert_array_equal(
        W[1], fit(A, 5, init="nndsvd", max_iter=0, random_state=1, dtype=np.float32).W)
    assert not np.array_equal(W[1], W[2])
    np.testing.assert_allclose(W[1], W[2], atol=1e-3)


def test_randomized_svd_path_matches_exact(monkeypatch):
    A, _, _ = low_rank(300, 200, 10, seed=4)
    A = A + 0.01 * np.random.default_rng(0).random(A.shape)
    U, s, Vt = _init.truncated_svd(A, 6)
    monkeypatch.setattr(_init, "EXACT_SVD_MAX", 10)
    U2, s2, Vt2 = _init.truncated_svd(A, 6)
    np.testing.assert_allclose(s, s2, rtol=1e-6)
    np.testing.assert_allclose(np.abs(U.T @ U2), np.eye(6), atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["hals", "mu", "anls"])
def test_fit_transform_equals_fit_then_transform(faces_like, dtype, solver):
    model = facenmf.NMF(6, solver=solver, max_iter=40, tol=0, dtype=dtype, random_state=0)
    H1 = model.fit_transform(faces_like)
    H2 = model.transform(faces_like)
    assert H1.dtype == H2.dtype == dtype
    np.testing.assert_allclose(H1, H2, rtol=1e-6 if dtype == np.float32 else 1e-12,
                               atol=1e-6 * np.abs(H1).max())
    np.testing.assert_allclose(model.reconstruct(H2), model.W @ H2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_projection_kkt_and_reference(faces_like, dtype):
    rng = np.random.default_rng(0)
    W = rng.random((faces_like.shape[0], 12)).astype(dtype)
    W[:, 3] = 0  # a dead basis image gets weight 0, not NaN
    H = facenmf.project(faces_like.astype(dtype), W)
    assert H.dtype == dtype and np.isfinite(H).all()
    assert np.all(H[3] == 0)
    live = np.r_[0:3, 4:12]
    assert kkt_violation(faces_like, W[:, live], H[live]) < (1e-4 if dtype == np.float32 else 1e-9)
    ref = nnls_columns(faces_like, W[:, live])
    np.testing.assert_allclose(H[live], ref, atol=(1e-3 if dtype == np.float32 else 1e-8) * ref.max())


def test_projection_of_many_faces_is_exact():
    rng = np.random.default_rng(5)
    W = rng.random((200, 25))
    A = rng.random((200, 2000)) * (rng.random((1, 2000)) + 0.1)
    H = facenmf.project(A, W)
    assert kkt_violation(A, W, H) < 1e-9
    # Sparse solutions: many active constraints, many distinct passive sets.
    assert (H == 0).mean() > 0.2


def test_nnls_bpp_matches_scipy_nnls():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((40, 15))  # mixed signs: a hard NNLS with many zeros
    B = rng.standard_normal((40, 30))
    X = nnls_bpp(W.T @ W, W.T @ B)
    np.testing.assert_allclose(X, nnls_columns(B, W), atol=1e-9)


def test_projection_with_shared_mask_equals_unmasked_pixels(faces_like):
    rng = np.random.default_rng(0)
    W = rng.random((faces_like.shape[0], 8))
    mask = rng.random(faces_like.shape[0]) < 0.3
    occluded = faces_like.copy()
    occluded[mask] = 1.0  # garbage where the mask says "ignore"
    H = facenmf.project(occluded, W, mask=mask)
    H_ref = facenmf.project(faces_like[~mask], W[~mask])
    np.testing.assert_allclose(H, H_ref, rtol=1e-10, atol=1e-12)


def test_projection_with_per_face_masks(faces_like):
    rng = np.random.default_rng(1)
    W = rng.random((faces_like.shape[0], 8))
    mask = rng.random(faces_like.shape) < 0.25
    H = facenmf.project(faces_like, W, mask=mask)
    for j in range(0, faces_like.shape[1], 7):
        keep = ~mask[:, j]
        ref = facenmf.project(faces_like[keep, j:j + 1], W[keep])
        np.testing.assert_allclose(H[:, j:j + 1], ref, rtol=1e-9, atol=1e-12)


def test_zero_rows_and_columns_give_no_nan():
    A, _, _ = low_rank(50, 30, 4, seed=3)
    A[5] = 0
    A[:, 7] = 0
    for solver, loss in SOLVER_LOSS:
        for init in INITS:
            f = fit(A, 4, solver=solver, loss=loss, init=init, max_iter=30, tol=0,
                    random_state=0)
            assert np.isfinite(f.W).all() and np.isfinite(f.H).all(), (solver, init)
            assert np.isfinite(f.history.error).all()
            assert np.allclose(f.H[:, 7], 0)


def test_rank_equal_to_min_dimension():
    A, _, _ = low_rank(20, 6, 6, seed=0)
    f = fit(A, 6, max_iter=50, tol=0)
    assert f.W.shape == (20, 6)


def test_dtype_rules(faces_like):
    A64 = faces_like
    A32 = faces_like.astype(np.float32)
    assert facenmf.nmf(A32, 3, max_iter=5, tol=0.5).W.dtype == np.float32
    f = facenmf.nmf(A64, 3, max_iter=5, tol=0.5)  # float32 by default
    assert f.W.dtype == np.float32 and f.H.dtype == np.float32
    f = facenmf.nmf(A32, 3, max_iter=5, tol=0.5, dtype=np.float64)  # on request
    assert f.W.dtype == np.float64
    u8 = (faces_like / faces_like.max() * 255).astype(np.uint8)
    assert facenmf.nmf(u8, 3, max_iter=5, tol=0.5).H.dtype == np.float32


def test_custom_init_is_used_and_not_modified(faces_like):
    rng = np.random.default_rng(0)
    W0, H0 = rng.random((faces_like.shape[0], 4)), rng.random((4, faces_like.shape[1]))
    W0c, H0c = W0.copy(), H0.copy()
    f = fit(faces_like, 4, W0=W0, H0=H0, max_iter=0)
    np.testing.assert_array_equal(W0, W0c)
    np.testing.assert_array_equal(H0, H0c)
    assert f.init == "custom" and f.n_iter == 0
    assert f.history.error[0] == pytest.approx(frobenius_error(faces_like, W0, H0), rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver,loss", SOLVER_LOSS)
@pytest.mark.parametrize("init", INITS)
def test_history_starts_at_the_error_of_the_initial_factors(faces_like, monkeypatch, init,
                                                            solver, loss, dtype):
    # history.error[0] is the error of the factors the solver starts from (captured where
    # nmf makes them); built-in inits are scaled optimally, so it is at most 1 (NNDSVDa's
    # fill with mean(A) made it 3.8 here and 8.3 on ORL at rank 49).
    made = []

    def spy(*args):
        W, H = _init.initialize(*args)
        made.append((W.copy(), H.copy()))  # the solvers update their factors in place
        return W, H

    monkeypatch.setattr(_core, "initialize", spy)
    f = fit(faces_like, 6, solver=solver, loss=loss, init=init, max_iter=2, tol=0,
            random_state=0, dtype=dtype)
    (W0, H0), = made
    assert W0.dtype == H0.dtype == dtype
    slow = relative_kl if loss == "kl" else frobenius_error
    assert f.history.error[0] == pytest.approx(slow(faces_like.astype(dtype), W0, H0),
                                               rel=1e-6 if dtype == np.float32 else 1e-9)
    assert frobenius_error(faces_like, W0, H0) <= 1
    assert f.history.error[1] <= f.history.error[0] * (1 + 1e-9)


@pytest.mark.parametrize("which", ["W0", "H0"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_all_zero_initial_factor_is_refused(faces_like, solver, which):
    # mu and anls returned W = 0, error 1.0 and converged=True from a zero W0 or H0.
    init = dict(zip(("W0", "H0"), random_init(faces_like, 4, 0)))
    init[which] = np.zeros_like(init[which])
    with pytest.raises(ValueError, match=f"{which}: all {init[which].size} entries are zero"):
        fit(faces_like, 4, solver=solver, **init)


def test_stopping_rules(faces_like):
    f = fit(faces_like, 5, tol=1e-3, max_iter=1000)
    assert f.converged and f.stop_reason == "tol" and f.n_iter < 1000
    with pytest.warns(facenmf.ConvergenceWarning,
                      match=r"max_iter=3 .*; increase max_iter to converge further"):
        f = facenmf.nmf(faces_like, 5, tol=1e-9, max_iter=3)
    assert not f.converged and f.stop_reason == "max_iter" and f.n_iter == 3
    with pytest.warns(facenmf.ConvergenceWarning, match=r"stopped at time_limit=0\.05s before") as w:
        f = facenmf.nmf(faces_like, 5, tol=1e-12, max_iter=10**6, time_limit=0.05)
    assert f.stop_reason == "time_limit" and f.history.seconds[-1] >= 0.05
    assert "increase" not in str(w[0].message)  # a time limit is the caller's choice


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_convergence_warning_when_tol_is_zero(faces_like, solver):
    # tol=0 asks for exactly max_iter iterations (or time_limit): nothing to warn about.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = facenmf.nmf(faces_like, 5, solver=solver, tol=0, max_iter=3)
        g = facenmf.nmf(faces_like, 5, solver=solver, tol=0, max_iter=10**6, time_limit=0.05)
    assert f.stop_reason == "max_iter" and g.stop_reason == "time_limit"


def test_callback_sees_every_iteration_and_can_stop(faces_like):
    calls = []

    def cb(it, W, H, err):
        calls.append((it, err, W.shape, H.shape))
        return False if it == 4 else None

    f = fit(faces_like, 5, tol=0, max_iter=100, callback=cb)
    assert [c[0] for c in calls] == [1, 2, 3, 4]
    assert f.stop_reason == "callback" and not f.converged and f.n_iter == 4
    np.testing.assert_allclose([c[1] for c in calls], f.history.error[1:])
    assert calls[0][2] == (faces_like.shape[0], 5) and calls[0][3] == (5, faces_like.shape[1])


@pytest.mark.parametrize("answer,stops", [(False, True), (np.False_, True), (0, True),
                                          (np.int64(0), True), (None, False), (True, False),
                                          (np.True_, False), (1, False)])
def test_callback_stops_on_any_false_value_but_none(faces_like, answer, stops):
    # `return err > target` gives a numpy.bool_: np.False_ must stop the fit like False.
    f = fit(faces_like, 5, tol=0, max_iter=6, callback=lambda it, W, H, err: answer)
    assert (f.stop_reason, f.n_iter) == (("callback", 1) if stops else ("max_iter", 6))


@pytest.mark.parametrize("solver,loss", SOLVER_LOSS)
def test_ctrl_c_returns_best_so_far(faces_like, solver, loss):
    def interrupt(it, W, H, err):
        if it == 3:
            raise KeyboardInterrupt

    f = fit(faces_like, 5, solver=solver, loss=loss, tol=0, max_iter=100, callback=interrupt)
    assert f.stop_reason == "interrupted" and not f.converged and f.n_iter == 3
    assert np.isfinite(f.W).all() and f.W.min() >= 0
    assert f.error <= f.history.error[-1] * (1 + 1e-12)


def test_class_forwards_every_argument():
    fn = inspect.signature(facenmf.nmf).parameters
    cls = inspect.signature(facenmf.NMF).parameters
    # The data of one fit (A, its start, its mask) go to fit(), the rest to the class.
    fn_names = set(fn) - {"A", "W0", "H0", "mask"}
    assert fn_names <= set(cls), fn_names - set(cls)
    assert {"W0", "H0", "mask"} <= set(inspect.signature(facenmf.NMF.fit).parameters)
    for name in fn_names:
        assert cls[name].default == fn[name].default, name
    seen = {}

    def spy(A, rank, **kw):
        seen.update(kw, rank=rank)
        return facenmf.nmf(A, rank, **kw)

    model_module = importlib.import_module("facenmf.nmf._model")

    values = dict(solver="anls", init="random", loss="frobenius", max_iter=7, tol=0.0,
                  time_limit=100.0, random_state=3, callback=lambda *a: None,
                  dtype=np.float64)
    orig = model_module.nmf
    model_module.nmf = spy
    try:
        facenmf.NMF(4, **values).fit(np.random.default_rng(0).random((20, 10)))
        for name, value in values.items():
            assert seen[name] is value or seen[name] == value, name
        mask = np.zeros((20, 10), dtype=bool)
        mask[::3, ::2] = True
        facenmf.NMF(4, **values).fit_transform(np.random.default_rng(0).random((20, 10)),
                                               mask=mask)
        assert seen["mask"] is mask
    finally:
        model_module.nmf = orig


def test_save_load_round_trip(tmp_path, faces_like):
    model = facenmf.NMF(5, max_iter=30, tol=1e-2, image_shape=(12, 10)).fit(faces_like)
    path = facenmf.save_model(tmp_path / "m.npz", model)
    loaded = facenmf.load_model(path)
    np.testing.assert_array_equal(loaded.W, model.W)
    np.testing.assert_array_equal(loaded.H, model.H)
    assert loaded.image_shape == (12, 10) and loaded.rank == 5
    assert loaded.metadata["solver"] == "hals" and loaded.metadata["versions"]["numpy"]
    np.testing.assert_allclose(loaded.transform(faces_like), model.transform(faces_like))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp files left


def test_save_failure_keeps_existing_file(tmp_path, faces_like, monkeypatch):
    model = facenmf.NMF(3, max_iter=5, tol=0.5).fit(faces_like)
    path = tmp_path / "m.npz"
    path.write_bytes(b"precious")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        facenmf.save_model(path, model)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        facenmf.load_model(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="junk.npz: not a facenmf model file"):
        facenmf.load_model(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.zeros(3))
    with pytest.raises(ValueError, match="foreign.npz: not a facenmf model file"):
        facenmf.load_model(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W=np.array([object()], dtype=object), metadata=np.array("{}"))
    with pytest.raises(ValueError, match="pickled.npz"):
        facenmf.load_model(pickled)


def test_load_rejects_incomplete_metadata(tmp_path):
    import json

    path = tmp_path / "partial.npz"
    meta = {"format": "facenmf-model", "format_version": 1}  # no rank, no n_pixels
    np.savez(path, W=np.ones((4, 2)), metadata=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="partial.npz: corrupt facenmf model"):
        facenmf.load_model(path)


def test_load_rejects_truncated_file(tmp_path, faces_like):
    model = facenmf.NMF(3, max_iter=5, tol=0.5).fit(faces_like)
    path = facenmf.save_model(tmp_path / "m.npz", model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="m.npz"):
        facenmf.load_model(path)


BAD_VALUES = [
    (dict(A=-np.ones((4, 3))), ValueError, "A: expected non-negative entries, found 12 negative"),
    (dict(A=np.full((4, 3), np.nan)), ValueError, "A: expected finite entries, found 12 NaN"),
    (dict(A=np.full((4, 3), np.inf)), ValueError, "A: expected finite entries, found 0 NaN and 12 infinite"),
    (dict(A=np.ones(5)), ValueError, "A: expected a 2-D array, got 1-D"),
    (dict(A=np.ones((2, 3, 4))), ValueError, "A: expected a 2-D array, got 3-D"),
    (dict(A=np.ones((0, 3))), ValueError, "A: expected a non-empty array"),
    (dict(A=np.zeros((4, 3))), ValueError, "A: all 12 entries are zero"),
    (dict(A="faces"), TypeError, "A: expected a 2-D array of numbers, got str"),
    (dict(A=np.array([["a"]])), TypeError, "A: expected a 2-D array of real numbers"),
    (dict(rank=0), ValueError, "rank: expected an integer >= 1, got 0"),
    (dict(rank=4), ValueError, "rank: expected an integer <= 3, got 4"),
    (dict(rank=2.5), TypeError, "rank: expected an integer, got float"),
    (dict(solver="als"), ValueError, r"solver: unknown value 'als'; valid values are \['anls', .*'hals'.*\]"),
    (dict(init="svd"), ValueError, r"init: unknown value 'svd'; valid values are \['custom', 'nndsvd', 'nndsvda', 'nndsvdar', 'random'\]"),
    (dict(loss="l1"), ValueError, r"loss: unknown value 'l1'; valid values are \['frobenius', 'itakura-saito', 'kl', 'kullback-leibler'\] or a number"),
    (dict(loss="kl", solver="hals"), ValueError, "loss: solver 'hals' supports"),
    (dict(max_iter=-1), ValueError, "max_iter: expected an integer >= 0"),
    (dict(tol=-1e-3), ValueError, "tol: expected a number >= 0"),
    (dict(tol="small"), TypeError, "tol: expected a number"),
    (dict(time_limit=0), ValueError, "time_limit: expected a number > 0"),
    (dict(random_state="seed"), TypeError, "random_state: expected None, an integer seed"),
    (dict(callback=3), TypeError, "callback: expected a callable"),
    (dict(dtype=np.int32), ValueError, "dtype: expected float32 or float64, got int32"),
    (dict(init="custom"), ValueError, "init: 'custom' requires both W0 and H0"),
    (dict(W0=np.ones((4, 2)), H0=np.ones((2, 3)), init="random"), ValueError, "init: 'custom' requires"),
    (dict(W0=np.ones((4, 2))), ValueError, "W0, H0: both must be given"),
    (dict(W0=np.ones((5, 2)), H0=np.ones((2, 3))), ValueError, r"W0: expected shape \(4, 2\), got \(5, 2\)"),
    (dict(W0=np.ones((4, 2)), H0=-np.ones((2, 3))), ValueError, "H0: expected non-negative"),
    (dict(W0=np.zeros((4, 2)), H0=np.ones((2, 3))), ValueError, "W0: all 8 entries are zero"),
    (dict(W0=np.ones((4, 2)), H0=np.zeros((2, 3))), ValueError, "H0: all 6 entries are zero"),
    (dict(solver_options={"beta": 0.5}, solver="mu"), ValueError,
     r"solver_options: solver 'mu' has no option 'beta'; its options are none"),
    (dict(solver_options={"extra": 1}), ValueError,
     r"solver_options: solver 'hals' has no option 'extra'; its options are \['alpha', 'beta'"),
    (dict(solver_options={"beta": 2}), ValueError,
     r"solver_options\[.beta.\]: expected a number in \[0, 1\], got 2.0"),
    (dict(solver_options={"eta": 1}), ValueError, r"solver_options\['eta'\]: expected a number > 1"),
    (dict(solver_options={"extrapolate": "no"}), TypeError,
     r"solver_options\['extrapolate'\]: expected True or False, got str"),
    (dict(solver_options=[("alpha", 1)]), TypeError, "solver_options: expected a dict of options"),
]


@pytest.mark.parametrize("kwargs,exc,message", BAD_VALUES)
def test_bad_input_has_clear_one_line_error(kwargs, exc, message):
    args = dict(A=np.ones((4, 3)), rank=2)
    args.update(kwargs)
    with pytest.raises(exc, match=message) as info:
        facenmf.nmf(args.pop("A"), args.pop("rank"), **args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_follows_the_protocol(faces_like, solver):
    # The registry's entries declare their losses and options; every option's default passes
    # its own checker, the constructor accepts every declared option, and a step lowers the
    # objective it reports through objective().
    make = facenmf.SOLVERS[solver]
    assert set(make.losses) <= set(facenmf.LOSSES)
    defaults = {name: opt.check(name, opt.default) for name, opt in make.options.items()}
    assert all(isinstance(opt.doc, str) and opt.doc for opt in make.options.values())
    if "labels" in make.options:  # supervised solvers: labels of 5 identities
        defaults["labels"] = np.arange(faces_like.shape[1]) % 5
    W, H = _init.initialize(faces_like, 4, "nndsvda", np.random.default_rng(0), np.float64)
    for loss in make.losses:
        loss = 1.5 if loss == "beta" else loss  # "beta": any other beta-divergence
        state = make(faces_like, W.copy(), H.copy(), loss=loss, **defaults)
        assert state.norm_A_sq == pytest.approx(float(np.sum(faces_like ** 2)), rel=1e-12)
        before = state.objective()
        state.step()
        after = state.objective()
        assert after < before
        W1, H1 = state.factors()
        assert W1.shape == W.shape and H1.shape == H.shape
        assert W1.min() >= 0 and H1.min() >= 0


def test_solver_options_reach_the_solver(faces_like):
    # extrapolate=False through nmf() and NMF gives plain HALS: the iterates of the plain
    # class, whose every step lowers the true error (no restarts).
    options = {"extrapolate": False, "alpha": 50.0, "eps": 0.0}
    f = fit(faces_like, 5, max_iter=15, tol=0, solver_options=options)
    state = hals_state(faces_like, "nndsvda", rank=5, **options)
    for _ in range(15):
        state.step()
    W, H = state.factors()
    norms = np.linalg.norm(W, axis=0)
    np.testing.assert_allclose(f.W, W / norms, rtol=1e-7, atol=1e-10)
    assert np.all(np.diff(f.history.error) <= 1e-12)
    model = facenmf.NMF(5, max_iter=15, tol=0, dtype=np.float64, random_state=0,
                        solver_options=options).fit(faces_like)
    np.testing.assert_array_equal(model.W, f.W)
    # A different inner-loop rule is a different fit: alpha=0 is one sweep per factor.
    assert state.inner_w > 1
    short = fit(faces_like, 5, max_iter=2, tol=0, solver_options=options)
    one = fit(faces_like, 5, max_iter=2, tol=0, solver_options={**options, "alpha": 0.0})
    assert not np.allclose(one.W, short.W)


def test_transform_checks_its_input(faces_like):
    model = facenmf.NMF(3, max_iter=5, tol=0.5).fit(faces_like)
    with pytest.raises(ValueError, match=r"A: expected shape \(120, \*\), got \(7, 3\)"):
        model.transform(np.ones((7, 3)))
    with pytest.raises(ValueError, match="mask: expected shape"):
        model.transform(faces_like, mask=np.zeros(3, dtype=bool))
    with pytest.raises(TypeError, match="mask: expected a boolean array"):
        model.transform(faces_like, mask=np.zeros(120))
    with pytest.raises(ValueError, match="not fitted"):
        facenmf.NMF(3).transform(faces_like)


def test_as_good_as_scikit_learn(faces_like):
    sklearn = pytest.importorskip("sklearn.decomposition")
    X = faces_like.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = sklearn.NMF(6, init="nndsvda", solver="cd", tol=1e-4, max_iter=200, random_state=0)
        Wsk = sk.fit_transform(X)
    sk_err = frobenius_error(X, Wsk, sk.components_)
    ours = fit(faces_like, 6, init="nndsvda", tol=0, max_iter=500)
    assert ours.error <= sk_err * (1 + 1e-3)
    # Our transform is exact: at least as good a fit for the same basis as scikit-learn's.
    basis = sk.components_.T
    H = facenmf.project(faces_like, basis)
    sk_H = sk.transform(X).T
    assert frobenius_error(faces_like, basis, H) <= frobenius_error(faces_like, basis, sk_H) + 1e-12


def hals_state(A, init, rank=6, **options):
    W, H = _init.initialize(A, rank, init, np.random.default_rng(0), np.float64)
    return hals(A, W, H, **options)


def test_hals_sweep_matches_reference():
    rng = np.random.default_rng(0)
    B = rng.random((40, 7))
    G = B.T @ B
    G[3] = G[:, 3] = 0  # a dead row (zero basis image): left alone
    C = 5 * rng.standard_normal((7, 30))  # mixed signs: some entries clip to zero
    X = rng.random((7, 30))
    Gz, inv = scaled_system(G)
    for n_sweeps in (1, 3):
        fast = X.copy()
        done = sweep(fast, C * inv[:, None], Gz, inv, n_sweeps, 0.0, np.empty(30),
                     np.empty((7, 30)))
        slow = X
        for _ in range(done):
            slow = hals_sweep(slow, C, G)
        assert done == n_sweeps
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
        assert (fast == 0).any() and np.array_equal(fast[3], X[3])


@pytest.mark.parametrize("init", INITS)
def test_hals_plain_step_matches_reference(faces_like, init):
    # alpha=50 asks for several sweeps per factor; eps=0 runs them all.
    state = hals_state(faces_like, init, extrapolate=False, eps=0.0, alpha=50)
    assert state.inner_w > 1 and state.inner_h > 1
    for _ in range(3):
        W, H = (x.copy() for x in state.factors())
        state.step()
        slow = hals_step(faces_like, W, H, state.inner_w, state.inner_h)
        for x, y in zip(state.factors(), slow):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("init", INITS)
def test_hals_plain_iterates_never_increase(faces_like, init):
    # Without extrapolation every HALS step is a descent step: the true objective of each
    # plain iterate (not a best-so-far record) never rises.
    state = hals_state(faces_like, init, extrapolate=False)
    norm = np.linalg.norm(faces_like)
    errors = [frobenius_error(faces_like, *state.factors())]
    for _ in range(80):
        objective = state.step()
        errors.append(frobenius_error(faces_like, *state.factors()))
        assert state.improved
        assert np.sqrt(objective) / norm == pytest.approx(errors[-1], rel=1e-9)
    errors = np.array(errors)
    assert np.all(np.diff(errors) <= 1e-12 * errors[:-1]), np.diff(errors).max()
    assert errors[-1] < 0.8 * errors[0]


@pytest.mark.parametrize("init", INITS)
def test_hals_extrapolation_restarts_and_keeps_the_best_pair(faces_like, monkeypatch, init):
    # With exact=True each step's own pair (extrapolated W, new H) goes through
    # residual_error: a spy gives its true error independently of the solver.
    pairs = []
    real = _hals.residual_error

    def spy(A, W, H):
        pairs.append(frobenius_error(A, W, H))
        return real(A, W, H)

    monkeypatch.setattr(_hals, "residual_error", spy)
    state = hals_state(faces_like, init)
    state.exact = True
    norm = np.linalg.norm(faces_like)
    best, restarts = np.inf, 0
    for _ in range(150):  # restarts begin after about 80 steps on this data
        beta, beta_max = state.beta, state.beta_max
        kept = [x.copy() for x in state.factors()]
        pairs.clear()
        reported = np.sqrt(state.step()) / norm
        (pair,) = pairs
        assert np.sqrt(state.error) / norm == pytest.approx(pair, rel=1e-9)
        if state.improved:
            # An improvement (to rounding): the pair becomes the best, beta grows.
            assert pair <= best * (1 + 1e-9)
            assert reported == pytest.approx(pair, rel=1e-9)
            assert state.beta == pytest.approx(min(beta_max, state.gamma * beta), rel=1e-12)
            assert state.beta_max == pytest.approx(min(1.0, state.gamma_bar * beta_max),
                                                   rel=1e-12)
        else:
            # The extrapolated pair is no better: a restart that keeps the best pair.
            restarts += 1
            assert pair >= best * (1 - 1e-9)
            assert reported == best
            assert state.beta == pytest.approx(beta / state.eta, rel=1e-12)
            assert state.beta_max == beta
            for x, y in zip(state.factors(), kept):
                np.testing.assert_array_equal(x, y)
        assert reported <= best
        # The reported error is the true error of the returned (best) factors.
        assert reported == pytest.approx(frobenius_error(faces_like, *state.factors()),
                                         rel=1e-9)
        best = reported
    assert restarts > 0


@pytest.mark.slow
def test_orl_rank_49():
    A = orl_matrix()
    f = fit(A, 49, dtype=np.float32, max_iter=100, tol=0)
    assert f.W.shape == (10304, 49) and f.H.shape == (49, 400)
    assert f.error < 0.15
    err = f.history.error
    assert np.all(np.diff(err) <= 1e-4 * err[:-1])
    assert f.error == pytest.approx(frobenius_error(A, f.W, f.H), rel=1e-3)


def test_saved_files_get_ordinary_permissions(tmp_path, faces_like):
    import os

    model = facenmf.NMF(3, max_iter=5, tol=0.5).fit(faces_like)
    path = facenmf.save_model(tmp_path / "m.npz", model)
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_fixed_point_and_an_exact_fit_converge():
    # From an optimal start (rank 1: NNDSVD is the best rank-1 factorization) every HALS
    # step is the start again: a fixed point, not an extrapolation that failed.
    A = 3 * np.random.RandomState(0).uniform(size=(20, 3)).T
    A -= A.min()
    for dtype in (np.float32, np.float64):
        fit = facenmf.nmf(A, 1, dtype=dtype, max_iter=200)
        assert fit.stop_reason == "tol" and fit.n_iter <= 2
    # An exact factorization: once the error is rounding, no iteration lowers it by tol.
    A, _, _ = low_rank(30, 20, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", facenmf.ConvergenceWarning)
        fit = facenmf.nmf(A, 3, dtype=np.float64, max_iter=5000)
    assert fit.stop_reason == "tol" and fit.error < 16 * np.finfo(np.float64).eps
