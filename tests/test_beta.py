"""Beta-divergences: the loss names and betas, the divergence against scikit-learn's and a
slow reference, how fits report it, and the data a loss refuses."""

import numpy as np
import pytest

import facenmf
from facenmf.nmf import _beta

from reference import beta_divergence as beta_reference

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, -0.5]


def data(n=30, m=25, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3)) @ rng.random((3, m)) + 0.05 * rng.random((n, m)) + 0.01


def start(A, rank=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((A.shape[0], rank)) + 0.1, rng.random((rank, A.shape[1])) + 0.1


@pytest.mark.parametrize("loss,canonical", [
    ("frobenius", "frobenius"), (2, "frobenius"), (2.0, "frobenius"), ("kl", "kl"),
    ("kullback-leibler", "kl"), (1, "kl"), (np.float64(1.0), "kl"),
    ("itakura-saito", "itakura-saito"), (0, "itakura-saito"), (1.5, 1.5), (-1, -1.0)])
def test_loss_names_and_betas(loss, canonical):
    assert _beta.canonical_loss(loss) == canonical
    A = data()
    f = facenmf.nmf(A, 3, solver="mu", loss=loss, max_iter=3, tol=0, dtype=np.float64)
    assert f.loss == canonical


@pytest.mark.parametrize("beta", BETAS)
def test_divergence_matches_scikit_learn_and_reference(beta):
    sk = pytest.importorskip("sklearn.decomposition._nmf")
    A = data()
    W, H = start(A)
    loss = _beta.canonical_loss(beta)
    ours = _beta.beta_divergence(A, W @ H, loss, np.finfo(np.float64).eps)
    assert ours == pytest.approx(beta_reference(A, W, H, beta), rel=1e-10)
    # scikit-learn's X is our A.T, its W our H.T and its H our W.T.
    assert ours == pytest.approx(sk._beta_divergence(A.T, H.T, W.T, beta), rel=1e-10)


@pytest.mark.parametrize("beta", BETAS)
def test_mu_lowers_every_beta_divergence_and_reports_it_relative(beta):
    # Févotte & Idier's multiplicative updates never raise the divergence; the error is
    # D_beta / sum(A^beta) (||A - WH|| / ||A|| for Frobenius), the same for data scaled by
    # c with factors scaled to match (scale invariance).
    A = data()
    W0, H0 = start(A)
    f = facenmf.nmf(A, 3, solver="mu", loss=beta, W0=W0, H0=H0, max_iter=40, tol=0,
                    dtype=np.float64)
    e = f.history.error
    assert np.all(np.diff(e) <= 1e-12 * e[:-1]) and e[-1] < e[0]
    if beta == 2:
        assert f.error == pytest.approx(np.linalg.norm(A - f.W @ f.H) / np.linalg.norm(A))
    else:
        scale = A.size if beta == 0 else np.sum(A ** beta)
        assert f.error == pytest.approx(beta_reference(A, f.W, f.H, beta) / scale, rel=1e-9)
    g = facenmf.nmf(7 * A, 3, solver="mu", loss=beta, W0=7 * W0, H0=H0, max_iter=40, tol=0,
                    dtype=np.float64)
    np.testing.assert_allclose(g.history.error, e, rtol=1e-8)


def test_itakura_saito_stops_by_tol():
    A = data()
    f = facenmf.nmf(A, 3, solver="mu", loss="itakura-saito", tol=1e-3, max_iter=2000,
                    dtype=np.float64, random_state=0)
    assert f.converged and f.n_iter < 2000


@pytest.mark.parametrize("loss", ["itakura-saito", 0, -0.5])
def test_beta_at_most_zero_refuses_zeros_in_one_line(loss):
    A = data()
    A[3, 4] = A[0, 0] = 0
    with pytest.raises(ValueError, match=r"A: loss .* is undefined where A is 0, and A has 2 "
                                         r"zero entries") as info:
        facenmf.nmf(A, 3, solver="mu", loss=loss)
    assert "\n" not in str(info.value)


def test_positive_beta_takes_zeros():
    A = data()
    A[3, 4] = 0
    for loss in ("kl", 0.5, 1.5):
        f = facenmf.nmf(A, 3, solver="mu", loss=loss, max_iter=20, tol=0, dtype=np.float64)
        assert np.isfinite(f.error) and np.isfinite(f.W).all()


BAD = [
    (dict(loss="l2"), ValueError, r"loss: unknown value 'l2'; valid values are \['frobenius', "
                                  r"'itakura-saito', 'kl', 'kullback-leibler'\] or a number"),
    (dict(loss=True), TypeError, r"loss: expected one of .* or a number .*, got bool True"),
    (dict(loss=[1]), TypeError, r"loss: expected one of"),
    (dict(loss=float("inf")), ValueError, r"loss: expected a finite beta, got inf"),
    (dict(loss="kl", solver="hals"), ValueError, r"loss: solver 'hals' supports \['frobenius'\], "
                                                 r"got 'kl'"),
    (dict(loss=1.5, solver="anls"), ValueError, r"loss: solver 'anls' supports \['frobenius'\], "
                                                r"got 1.5"),
    (dict(loss="itakura-saito", solver="hals"), ValueError, r"loss: solver 'hals' supports"),
]


@pytest.mark.parametrize("kwargs,exc,message", BAD)
def test_bad_losses_are_one_line_errors(kwargs, exc, message):
    with pytest.raises(exc, match=message) as info:
        facenmf.nmf(data(), 3, **kwargs)
    assert "\n" not in str(info.value)


def test_every_solver_declares_losses_of_the_registry():
    for name, make in facenmf.SOLVERS.items():
        assert set(make.losses) <= set(facenmf.LOSSES), name
    assert set(facenmf.SOLVERS["mu"].losses) == set(facenmf.LOSSES)


def test_beta_loss_model_round_trip(tmp_path):
    A = data()
    model = facenmf.NMF(3, solver="mu", loss=1.5, max_iter=10, tol=0).fit(A)
    loaded = facenmf.load_model(facenmf.save_model(tmp_path / "m.npz", model))
    assert loaded.loss == 1.5 and loaded.metadata["loss"] == 1.5
