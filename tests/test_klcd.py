"""The "klcd" solver: coordinate descent for KL with safeguarded Newton steps."""

import numpy as np
import pytest

import facenmf
from facenmf.nmf import _init
from facenmf.nmf._klcd import newton_sweep

from helpers import low_rank
from reference import penalized_objective, relative_kl


def data(n=40, m=30, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4)) @ rng.random((4, m)) + 0.05 * rng.random((n, m))


def reference_sweep(A, Q, X, F, l1=0.0, l2=0.0):
    """The rule of newton_sweep one entry at a time: for each coordinate r and each column
    j, the one-variable derivatives from q, Newton's step, damped to x d / (x + d) where x
    falls, then q updated. Returns copies."""
    A, Q, X, F = (np.array(x, dtype=np.float64) for x in (A, Q, X, F))
    for r in range(X.shape[0]):
        f = F[:, r]
        if f.sum() <= 0:
            continue
        for j in range(X.shape[1]):
            x = X[r, j]
            g = f.sum() - np.sum(f * A[:, j] / Q[:, j]) + l1 + l2 * x
            s = np.sum(f * f * A[:, j] / Q[:, j] ** 2) + l2
            d = g / s if s > 0 else 0.0
            new = x - d if d <= 0 else x - x * d / (x + d)
            Q[:, j] += f * (new - x)
            X[r, j] = new
    return X, Q


@pytest.mark.parametrize("penalty", [(0.0, 0.0), (0.3, 0.0), (0.0, 2.0), (0.1, 0.5)])
def test_sweep_matches_reference(penalty):
    rng = np.random.default_rng(3)
    A = data()
    F, X = rng.random((40, 4)) + 0.1, rng.random((4, 30)) + 0.1
    X[1, :5] = 1e-3  # entries that Newton would send below 0
    Q = F @ X
    Xr, Qr = reference_sweep(A, Q, X, F, *penalty)
    Xf, Qf = X.copy(), Q.copy()
    Qf = newton_sweep(A, Qf, Xf, F, F.sum(axis=0), *penalty)
    np.testing.assert_allclose(Xf, Xr, rtol=1e-10)
    np.testing.assert_allclose(Qf, Qr, rtol=1e-10)
    np.testing.assert_allclose(Qf, F @ Xf, rtol=1e-10)
    assert Xf.min() > 0


def test_every_one_variable_step_descends():
    # The safeguard: on random one-variable problems f(h) = C h - sum a log(b + c h), from
    # any start, the step lowers f (Newton's own step, from the right, can raise it).
    rng = np.random.default_rng(0)
    rises = 0
    for _ in range(2000):
        a, c = rng.random(20) * rng.integers(0, 2, 20), rng.random(20)
        b = rng.random(20) * rng.choice([1e-3, 1, 10])
        h0 = rng.random() * rng.choice([0.01, 1, 100])

        def f(h):
            return c.sum() * h - np.sum(a * np.log(b + c * h))
        q = b + c * h0
        X = np.array([[h0]])
        newton_sweep(a[:, None], q[:, None].copy(), X, c[:, None], c.sum()[None])
        assert f(X[0, 0]) <= f(h0) + 1e-12 * abs(f(h0))
        g, s = c.sum() - np.sum(a * c / q), np.sum(a * c * c / q ** 2)
        rises += f(max(h0 - g / s, 0)) > f(h0) if s > 0 else 0
    assert rises > 0  # the undamped step would have failed somewhere


@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "random"])
@pytest.mark.parametrize("reg", [(0.0, 0.0, 0.0), (0.01, "same", 0.5), (0.0, 0.02, 1.0)])
def test_objective_never_rises_and_matches_reference(init, reg):
    A = data()
    seen = []
    f = facenmf.nmf(A, 4, solver="klcd", loss="kl", init=init, alpha_W=reg[0], alpha_H=reg[1],
                    l1_ratio=reg[2], max_iter=30, tol=0, dtype=np.float64, random_state=0,
                    callback=lambda it, W, H, e: seen.append((W.copy(), H.copy())))
    obj = f.history.objective
    assert np.all(np.diff(obj) <= 1e-12 * obj[:-1]) and obj[-1] < obj[0]
    alpha_H = reg[0] if reg[1] == "same" else reg[1]
    ref = [penalized_objective(A, W, H, 1, reg[0], alpha_H, reg[2]) / A.sum() for W, H in seen]
    np.testing.assert_allclose(obj[1:], ref, rtol=1e-9)
    np.testing.assert_allclose(f.history.error[1:], [relative_kl(A, W, H) for W, H in seen],
                               rtol=1e-9)
    assert f.objective == pytest.approx(penalized_objective(A, f.W, f.H, 1, reg[0], alpha_H,
                                                            reg[2]), rel=1e-10)


def test_recovers_exact_low_rank():
    A, _, _ = low_rank(50, 40, 4, seed=2)
    f = facenmf.nmf(A, 4, solver="klcd", loss="kl", max_iter=300, tol=0, dtype=np.float64)
    assert f.error < 1e-6


def test_fewer_iterations_than_mu_to_the_same_divergence():
    # The point of coordinate descent: each iteration does far more than a multiplicative
    # one (measured wall-clock speed is in BENCHMARKS.md).
    A = data(80, 60)
    mu = facenmf.nmf(A, 4, solver="mu", loss="kl", max_iter=200, tol=0, dtype=np.float64)
    cd = facenmf.nmf(A, 4, solver="klcd", loss="kl", max_iter=200, tol=0, dtype=np.float64,
                     callback=lambda it, W, H, e: e > mu.error)
    assert cd.error <= mu.error and cd.n_iter < 200 / 5


def test_float32_fit_follows_float64():
    A = data()
    f32, f64 = (facenmf.nmf(A, 4, solver="klcd", loss="kl", max_iter=20, tol=0, dtype=dt)
                for dt in (np.float32, np.float64))
    np.testing.assert_allclose(f32.history.error, f64.history.error, rtol=1e-4)


def test_warm_start_runs_plain_hals_first():
    A = data()
    W, H = _init.initialize(A, 4, "nndsvda", None, np.float64)
    hals = facenmf.SOLVERS["hals"](A, W.copy(), H.copy(), extrapolate=False)
    for _ in range(3):
        hals.step()
    Wh, Hh = hals.factors()
    a = facenmf.nmf(A, 4, solver="klcd", loss="kl", max_iter=5, tol=0, dtype=np.float64,
                    solver_options={"warm_start": 3})
    b = facenmf.nmf(A, 4, solver="klcd", loss="kl", max_iter=5, tol=0, dtype=np.float64,
                    W0=Wh, H0=Hh)
    np.testing.assert_allclose(a.history.error, b.history.error, rtol=1e-12)


def test_protocol_and_errors():
    make = facenmf.SOLVERS["klcd"]
    assert make.losses == ("kl",)
    A = data()
    W, H = _init.initialize(A, 4, "nndsvda", None, np.float64)
    state = make(A, W.copy(), H.copy(), loss="kl")
    before = state.objective()
    state.step()
    assert state.objective() < before
    with pytest.raises(ValueError, match=r"loss: solver 'klcd' supports \['kl'\], got "
                                         r"'frobenius'"):
        facenmf.nmf(A, 3, solver="klcd")
    with pytest.raises(ValueError, match=r"solver_options\['warm_start'\]: expected an integer "
                                         r">= 0"):
        facenmf.nmf(A, 3, solver="klcd", loss="kl", solver_options={"warm_start": -1})
    m = facenmf.NMF(3, solver="klcd", loss="kullback-leibler", max_iter=10, tol=0).fit(A)
    assert m.result.loss == "kl" and m.transform(A).shape == (3, 30)
