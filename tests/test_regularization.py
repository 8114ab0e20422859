"""L1/L2 regularization (alpha_W, alpha_H, l1_ratio): scikit-learn's objective in our
orientation, in every solver that takes it and in the projection."""

import warnings

import numpy as np
import pytest

import facenmf
from facenmf.nmf import _penalty

from reference import penalized_nnls, penalized_objective

# (alpha_W, alpha_H, l1_ratio): pure L2, pure L1, mixed, different alphas, alpha_W alone.
REGS = [(0.01, "same", 0.0), (0.01, "same", 1.0), (0.02, 0.005, 0.5), (0.0, 0.01, 0.3),
        (0.01, 0.0, 0.7)]
# Every solver with the losses it takes; "hals" without extrapolation: its plain iterates.
SOLVER_LOSS = [("hals", "frobenius"), ("anls", "frobenius"), ("mu", "frobenius"),
               ("mu", "kl"), ("mu", "itakura-saito"), ("mu", 0.5), ("mu", 1.5), ("mu", 3.0)]
OPTIONS = {"hals": {"extrapolate": False}}


def data(n=40, m=30, rank=4, seed=0):
    """Positive, not exactly low-rank data of a non-square shape (n_pixels != n_faces, so a
    penalty scaled by the wrong side shows)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, rank)) @ rng.random((rank, m)) + 0.1 * rng.random((n, m)) + 0.01


def start(A, rank=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((A.shape[0], rank)) + 0.1, rng.random((rank, A.shape[1])) + 0.1


def beta_of(loss):
    return {"frobenius": 2, "kl": 1, "itakura-saito": 0}.get(loss, loss)


def regularized_fit(A, solver, loss, reg, max_iter, **kw):
    alpha_W, alpha_H, l1_ratio = reg
    W0, H0 = start(A)
    return facenmf.nmf(A, 4, solver=solver, loss=loss, alpha_W=alpha_W, alpha_H=alpha_H,
                       l1_ratio=l1_ratio, W0=W0, H0=H0, max_iter=max_iter, tol=0,
                       dtype=np.float64, solver_options=OPTIONS.get(solver), **kw)


def resolved(reg):
    alpha_W, alpha_H, l1_ratio = reg
    return alpha_W, alpha_W if alpha_H == "same" else alpha_H, l1_ratio


def in_error_units(value, A, loss):
    """The penalized objective as history.objective reports it."""
    if loss == "frobenius":
        return np.sqrt(2 * value / np.sum(A ** 2))
    beta = beta_of(loss)
    return value / (A.size if beta == 0 else np.sum(A ** beta))


@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("solver,loss", SOLVER_LOSS)
def test_penalized_objective_never_rises_and_matches_reference(solver, loss, reg):
    # The plain iterates of every solver lower the penalized objective (exact minimization
    # of a coordinate, a row or a factor; majorization-minimization for mu), and each
    # iteration's history.objective is the slow reference's objective of that iteration's
    # factors (recorded by the callback).
    A = data()
    seen = []
    f = regularized_fit(A, solver, loss, reg, 25,
                        callback=lambda it, W, H, err: seen.append((W.copy(), H.copy())))
    obj = f.history.objective
    assert len(obj) == 26 and len(seen) == 25
    # float64 rounding only: relative 1e-12 of the objective.
    assert np.all(np.diff(obj) <= 1e-12 * obj[:-1]), np.diff(obj).max()
    assert obj[-1] < obj[0]
    ref = [in_error_units(penalized_objective(A, W, H, beta_of(loss), *resolved(reg)), A, loss)
           for W, H in seen]
    np.testing.assert_allclose(obj[1:], ref, rtol=1e-9)
    # history.error is the data term alone: the objective without the penalty.
    ref_err = [in_error_units(penalized_objective(A, W, H, beta_of(loss), 0, 0, 0), A, loss)
               for W, H in seen]
    np.testing.assert_allclose(f.history.error[1:], ref_err, rtol=1e-9)


@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("solver,loss", SOLVER_LOSS)
def test_result_objective_is_scikit_learns(solver, loss, reg):
    # fit.objective is scikit-learn's objective of the returned factors, transposed: its X
    # is our A.T, its W our H.T, its H our W.T, and its alpha_W is our alpha_H.
    sk = pytest.importorskip("sklearn.decomposition._nmf")
    A = data()
    f = regularized_fit(A, solver, loss, reg, 15)
    alpha_W, alpha_H, l1_ratio = resolved(reg)
    X, W_sk, H_sk = A.T, f.H.T, f.W.T
    model = sk.NMF(4, alpha_W=alpha_H, alpha_H=alpha_W, l1_ratio=l1_ratio)
    l1_W, l1_H, l2_W, l2_H = model._compute_regularization(X)
    expected = (sk._beta_divergence(X, W_sk, H_sk, beta_of(loss))
                + l1_W * W_sk.sum() + l1_H * H_sk.sum()
                + 0.5 * l2_W * (W_sk ** 2).sum() + 0.5 * l2_H * (H_sk ** 2).sum())
    assert f.objective == pytest.approx(expected, rel=1e-10)
    assert f.objective == pytest.approx(
        penalized_objective(A, f.W, f.H, beta_of(loss), alpha_W, alpha_H, l1_ratio), rel=1e-10)
    assert f.penalty == pytest.approx(f.objective - penalized_objective(
        A, f.W, f.H, beta_of(loss), 0, 0, 0), rel=1e-8)
    assert f.regularization == dict(alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio)


@pytest.mark.parametrize("reg", REGS)
@pytest.mark.parametrize("loss", ["frobenius", "kl", 1.5, 0.5])
def test_mu_follows_scikit_learns_iterates(loss, reg):
    # The same algorithm from the same start. scikit-learn's mu updates its W before its H.
    # Our Frobenius mu updates our W before our H: given our A itself as its X (not
    # transposed), its W is our W, penalized with its alpha_W scaled by its n_features = our
    # n_faces: our alpha_W exactly (the objective is the same under transposition with the
    # roles swapped). Our other losses update H first: given A.T, its W is our H.T, and its
    # alpha_W our alpha_H. After 20 iterations the factors agree to rounding (the returned
    # Frobenius H is the exact penalized projection, not an MU step: only W is compared).
    sk = pytest.importorskip("sklearn.decomposition")
    A = data()
    W0, H0 = start(A)
    alpha_W, alpha_H, l1_ratio = resolved(reg)
    frobenius = loss == "frobenius"
    X, W, H = (A, W0, H0) if frobenius else (A.T, H0.T, W0.T)
    aW, aH = (alpha_W, alpha_H) if frobenius else (alpha_H, alpha_W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its ConvergenceWarning at max_iter
        W_sk, H_sk, _ = sk.non_negative_factorization(
            X, W=W.copy(), H=H.copy(), n_components=4, init="custom", solver="mu",
            beta_loss=beta_of(loss), alpha_W=aW, alpha_H=aH, l1_ratio=l1_ratio, max_iter=20,
            tol=0)
    f = regularized_fit(A, "mu", loss, reg, 20)
    if frobenius:
        np.testing.assert_allclose(f.W, W_sk, rtol=1e-7, atol=1e-12)
    else:
        np.testing.assert_allclose(f.W, H_sk.T, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(f.H, W_sk.T, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("solver", ["hals", "anls", "mu"])
def test_penalty_scales_by_the_other_side(solver):
    # alpha_W (our basis) is scaled by n_faces, alpha_H (our weights) by n_pixels: on a
    # tall and a wide matrix the coefficients follow the shape.
    for n, m in ((50, 20), (20, 50)):
        A = data(n, m)
        f = facenmf.nmf(A, 3, solver=solver, alpha_W=0.1, alpha_H=0.2, l1_ratio=0.25,
                        max_iter=5, tol=0, dtype=np.float64)
        p = _penalty.Penalty.of(0.1, 0.2, 0.25, n, m)
        assert (p.l1_W, p.l2_W) == pytest.approx((0.1 * 0.25 * m, 0.1 * 0.75 * m))
        assert (p.l1_H, p.l2_H) == pytest.approx((0.2 * 0.25 * n, 0.2 * 0.75 * n))
        expected = (0.1 * m * (0.25 * f.W.sum() + 0.375 * (f.W ** 2).sum())
                    + 0.2 * n * (0.25 * f.H.sum() + 0.375 * (f.H ** 2).sum()))
        assert f.penalty == pytest.approx(expected, rel=1e-10)


def test_l1_on_H_makes_sparser_weights():
    A = data(60, 50)
    zeros = [np.mean(facenmf.nmf(A, 4, alpha_W=0.0, alpha_H=a, l1_ratio=1.0, max_iter=200,
                                 tol=0, dtype=np.float64, random_state=0).H == 0)
             for a in (0.0, 0.002, 0.01)]
    assert zeros[0] < zeros[1] < zeros[2]


def test_unregularized_fit_is_unchanged_by_zero_alphas():
    A = data()
    a = facenmf.nmf(A, 4, max_iter=30, tol=0, dtype=np.float64)
    b = facenmf.nmf(A, 4, alpha_W=0.0, alpha_H=0.0, l1_ratio=0.5, max_iter=30, tol=0,
                    dtype=np.float64)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.history.objective, a.history.error)
    assert a.penalty == 0 and a.objective == pytest.approx(0.5 * a.error ** 2 * np.sum(A ** 2))


@pytest.mark.parametrize("l1_ratio", [0.0, 0.4, 1.0])
def test_transform_with_penalty_is_the_reference_nnls(l1_ratio):
    A = data(60, 40)
    model = facenmf.NMF(4, alpha_W=0.01, alpha_H=0.02, l1_ratio=l1_ratio, max_iter=40, tol=0,
                        dtype=np.float64, random_state=0).fit(A[:, :30])
    new = A[:, 30:]
    n = A.shape[0]
    ref = penalized_nnls(new, model.W, 0.02 * l1_ratio * n, 0.02 * (1 - l1_ratio) * n)
    np.testing.assert_allclose(model.transform(new), ref, atol=1e-9)
    np.testing.assert_allclose(facenmf.project(new, model.W, alpha_H=0.02, l1_ratio=l1_ratio),
                               ref, atol=1e-9)
    # The fit's weights are the same exact penalized projection of its faces.
    np.testing.assert_allclose(model.H, model.transform(A[:, :30]), atol=1e-9)
    with_mask = model.transform(new, mask=np.zeros(n, dtype=bool))
    np.testing.assert_allclose(with_mask, ref, atol=1e-9)


def test_fit_transform_equals_fit_then_transform_with_penalty():
    A = data(50, 40)
    kw = dict(alpha_W=0.01, l1_ratio=0.5, max_iter=30, tol=0, dtype=np.float64, random_state=0)
    model = facenmf.NMF(4, **kw)
    np.testing.assert_allclose(model.fit_transform(A), facenmf.NMF(4, **kw).fit(A).transform(A),
                               atol=1e-10)


def test_save_load_keeps_the_penalty(tmp_path):
    A = data(50, 40)
    model = facenmf.NMF(4, alpha_W=0.01, alpha_H=0.03, l1_ratio=0.2, max_iter=20, tol=0,
                        dtype=np.float64).fit(A)
    loaded = facenmf.load_model(facenmf.save_model(tmp_path / "m.npz", model))
    assert (loaded.alpha_W, loaded.alpha_H, loaded.l1_ratio) == (0.01, 0.03, 0.2)
    np.testing.assert_allclose(loaded.transform(A), model.transform(A), atol=1e-12)
    assert loaded.metadata["error"] == pytest.approx(model.result.error)


BAD = [
    (dict(alpha_W=-0.1), ValueError, r"alpha_W: expected a number >= 0, got -0.1"),
    (dict(alpha_H=-1), ValueError, r"alpha_H: expected a number >= 0, got -1.0"),
    (dict(alpha_H="different"), ValueError, r"alpha_H: expected a number >= 0 or 'same'"),
    (dict(alpha_W="big"), TypeError, r"alpha_W: expected a number"),
    (dict(l1_ratio=1.5), ValueError, r"l1_ratio: expected a number in \[0, 1\], got 1.5"),
    (dict(l1_ratio=-0.1), ValueError, r"l1_ratio: expected a number in \[0, 1\]"),
    (dict(alpha_W=float("nan")), ValueError, r"alpha_W: expected a finite number"),
]


@pytest.mark.parametrize("kwargs,exc,message", BAD)
def test_bad_regularization_is_a_one_line_error(kwargs, exc, message):
    with pytest.raises(exc, match=message) as info:
        facenmf.nmf(data(), 3, **kwargs)
    assert "\n" not in str(info.value)


def test_paths_without_regularization_refuse_it(tmp_path):
    A = data().astype(np.float32)
    path = tmp_path / "A.npy"
    np.save(path, A)
    with pytest.raises(ValueError, match=r"alpha_W, alpha_H: regularization is not supported "
                                         r"with A read block by block") as info:
        facenmf.nmf(np.load(path, mmap_mode="r"), 3, alpha_W=0.1)
    assert "\n" not in str(info.value)
    model = facenmf.NMF(3, alpha_H=0.1, alpha_W=0.0)
    with pytest.raises(ValueError, match="alpha_W, alpha_H: partial_fit"):
        model.partial_fit(A)
    fitted = facenmf.NMF(3, alpha_H=0.1, max_iter=5, tol=0).fit(A)
    with pytest.raises(ValueError, match="A: the projection with the model's penalty on H "
                                         "needs A in memory"):
        fitted.transform(np.load(path, mmap_mode="r"))
