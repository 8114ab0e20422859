"""facenmf.sklearn.NMF: scikit-learn's estimator checks, its orientation and parameters, exact
transforms, sparse input, partial_fit, Pipeline and GridSearchCV."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is not installed "
                              "(pip install 'facenmf[sklearn]')")

from scipy import sparse  # noqa: E402
from sklearn.decomposition import NMF as SklearnNMF  # noqa: E402
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import facenmf  # noqa: E402
from facenmf.sklearn import NMF, ConvergenceWarning  # noqa: E402
from helpers import low_rank, orl_matrix  # noqa: E402


def samples(n_samples=80, n_features=50, rank=5, seed=0, noise=0.02):
    """Non-negative X (n_samples, n_features): rank-``rank`` data plus a little noise."""
    A, _, _ = low_rank(n_features, n_samples, rank, seed=seed)
    return A.T + noise * np.random.default_rng(seed + 1).random((n_samples, n_features))


# The checks test the API on small random data, which the default 200 iterations do not
# always fit to tol (multiplicative updates least of all): the warning is not their subject.
@pytest.mark.filterwarnings("ignore::facenmf.sklearn.ConvergenceWarning")
@parametrize_with_checks([NMF(), NMF(solver="mu"), NMF(solver="anls"),
                          NMF(alpha_W=0.01, l1_ratio=0.5),
                          NMF(solver="mu", beta_loss="kullback-leibler")])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_orientation_is_scikit_learns():
    X = samples()
    model = NMF(5, random_state=0, max_iter=1000)
    W = model.fit_transform(X)
    fit = facenmf.nmf(X.T, 5, random_state=0, max_iter=1000, tol=1e-4, dtype=np.float64)
    assert W.shape == (80, 5) and model.components_.shape == (5, 50)
    np.testing.assert_allclose(model.components_, fit.W.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(W, fit.H.T, rtol=0, atol=1e-10)
    assert model.n_iter_ == fit.n_iter and model.n_components_ == 5
    assert model.n_features_in_ == 50
    # scikit-learn's definition: the Frobenius norm of the residual, not relative.
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(X - W @ model.components_),
                                                      rel=1e-10)
    np.testing.assert_allclose(model.inverse_transform(W), W @ model.components_)
    assert list(model.get_feature_names_out()) == [f"nmf{i}" for i in range(5)]


def test_fit_transform_is_the_exact_transform():
    X = samples(seed=3)
    model = NMF(6, init="random", random_state=0, max_iter=50, tol=0)
    W = model.fit_transform(X)
    np.testing.assert_array_equal(W, NMF(**model.get_params()).fit(X).transform(X))
    np.testing.assert_array_equal(W, model.transform(X))
    # Exact non-negative least squares: the KKT conditions of each row, to rounding.
    C = model.components_
    grad = W @ (C @ C.T) - X @ C.T
    scale = np.abs(X @ C.T).max()
    assert W.min() >= 0 and grad.min() >= -1e-10 * scale
    assert np.abs(W * grad).max() <= 1e-10 * scale * W.max()


def test_transform_of_new_data_is_its_projection():
    X = samples(seed=4)
    model = NMF(5, random_state=0).fit(X[:60])
    H = facenmf.project(X[60:].T, model.components_.T)
    np.testing.assert_array_equal(model.transform(X[60:]), H.T)


@pytest.mark.parametrize("solver, facenmf_solver", [("cd", "hals"), ("mu", "mu"),
                                                    ("hals", "hals"), ("anls", "anls")])
def test_solver_names(solver, facenmf_solver):
    X = samples(seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        model = NMF(4, solver=solver, random_state=0, max_iter=30).fit(X)
        fit = facenmf.nmf(X.T, 4, solver=facenmf_solver, random_state=0, max_iter=30,
                          dtype=np.float64)
    np.testing.assert_allclose(model.components_, fit.W.T, rtol=0, atol=1e-12)


def test_kullback_leibler_with_mu():  # 200 iterations of mu: not converged, on purpose
    X = samples(seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        model = NMF(4, solver="mu", beta_loss="kullback-leibler", random_state=0).fit(X)
        same = NMF(4, solver="mu", beta_loss=1, random_state=0).fit(X)
        fit = facenmf.nmf(X.T, 4, solver="mu", loss="kl", random_state=0, max_iter=200,
                          dtype=np.float64)
    np.testing.assert_array_equal(model.components_, same.components_)
    W, H = fit.H.T, fit.W.T  # the fit's own factors (scikit-learn's names)
    WH = W @ H
    divergence = np.sum(X * np.log(X / WH) - X + WH)
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * divergence), rel=1e-8)


def test_custom_init_maps_w_and_h():
    X = samples(seed=7)
    start = SklearnNMF(5, init="random", random_state=0, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        W0 = start.fit_transform(X)
    H0 = start.components_
    model = NMF("auto", init="custom", max_iter=20, tol=0).fit(X, W=W0, H=H0)
    fit = facenmf.nmf(X.T, 5, init="custom", W0=H0.T, H0=W0.T, max_iter=20, tol=0,
                      dtype=np.float64)
    assert model.n_components_ == 5  # "auto": the rows of H
    np.testing.assert_allclose(model.components_, fit.W.T, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"H: expected shape \(5, 50\), got \(5, 49\)"):
        NMF(5, init="custom").fit(X, W=W0, H=H0[:, :49])
    with pytest.raises(ValueError, match="W and H must both be given"):
        NMF(5, init="custom").fit(X, H=H0)
    with pytest.warns(RuntimeWarning, match="provided W or H are ignored"):
        NMF(5, random_state=0, tol=1e-3).fit(X, W=W0, H=H0)


def test_float32_stays_float32():
    X = samples(seed=8).astype(np.float32)
    model = NMF(4, random_state=0, tol=1e-3).fit(X)
    assert model.components_.dtype == np.float32
    assert model.transform(X).dtype == np.float32


def test_bad_values_give_one_line_errors():
    X = samples(30, 20)
    cases = [
        (NMF(4, beta_loss=0.5), ValueError,
         r"beta_loss=0.5: solver 'cd' does not fit it; solvers \['mu'\] do"),
        (NMF(4, beta_loss="kullback-leibler"), ValueError,
         r"solver 'cd' does not fit it; solvers \['klcd', 'mu'\] do"),
        (NMF(21), ValueError, r"n_components=21: expected at most min\(n_samples, "
                              r"n_features\) = 20"),
        (NMF(4, solver="nope"), ValueError, "The 'solver' parameter of NMF must be"),
        (NMF(4, alpha_W=-1.0), ValueError, "The 'alpha_W' parameter of NMF must be"),
        (NMF(4, l1_ratio=2.0), ValueError, "The 'l1_ratio' parameter of NMF must be"),
    ]
    for model, error, match in cases:
        with pytest.raises(error, match=match) as info:
            model.fit(X)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="Negative values in data passed to NMF"):
        NMF(4).fit(X - 1)
    zero = X.copy()
    zero[3, 4] = 0
    for data in (zero, sparse.csr_matrix(zero)):
        with pytest.raises(ValueError, match=r"^X: beta_loss='itakura-saito' is undefined "
                           "where X is 0, and X has zeros"):
            NMF(4, solver="mu", beta_loss="itakura-saito").fit(data)
    with pytest.raises(ValueError, match="X has 19 features, but NMF is expecting 20"):
        NMF(4, random_state=0).fit(X).transform(X[:, :19])


SOLVERS = {"cd": "hals", "mu": "mu"}


@pytest.mark.parametrize("solver", ["cd", "mu"])
def test_regularization_is_scikit_learns_objective(solver):
    # scikit-learn's alpha_W penalizes its W (facenmf's H), its alpha_H its H (facenmf's
    # basis W): the estimator is facenmf.nmf of X.T with the two swapped, and the objective it
    # minimized, written in scikit-learn's names, is scikit-learn's documented one.
    X = samples(seed=9)
    n_samples, n_features = X.shape
    aW, aH, l1_ratio = 0.02, 0.005, 0.3
    model = NMF(4, solver=solver, alpha_W=aW, alpha_H=aH, l1_ratio=l1_ratio, max_iter=40,
                tol=0)
    W = model.fit_transform(X)
    fit = facenmf.nmf(X.T, 4, solver=SOLVERS[solver], alpha_W=aH, alpha_H=aW,
                      l1_ratio=l1_ratio, max_iter=40, tol=0, dtype=np.float64)
    np.testing.assert_allclose(model.components_, fit.W.T, rtol=0, atol=1e-12)
    H = model.components_
    objective = (0.5 * np.sum((X - W @ H) ** 2)
                 + aW * n_features * (l1_ratio * W.sum() + 0.5 * (1 - l1_ratio) * np.sum(W**2))
                 + aH * n_samples * (l1_ratio * H.sum() + 0.5 * (1 - l1_ratio) * np.sum(H**2)))
    assert fit.objective == pytest.approx(objective, rel=1e-9)
    assert model.reconstruction_err_ == pytest.approx(np.linalg.norm(X - W @ H), rel=1e-9)
    # "same" is scikit-learn's alpha_W for its H too.
    same = NMF(4, solver=solver, alpha_W=aW, l1_ratio=l1_ratio, max_iter=40, tol=0).fit(X)
    both = NMF(4, solver=solver, alpha_W=aW, alpha_H=aW, l1_ratio=l1_ratio, max_iter=40,
               tol=0).fit(X)
    np.testing.assert_array_equal(same.components_, both.components_)


@pytest.mark.parametrize("solver", ["cd", "mu", "anls"])
def test_regularized_transform_is_the_exact_penalized_projection(solver):
    X = samples(seed=10)
    alpha_W, l1_ratio = 0.01, 0.5
    model = NMF(5, solver=solver, alpha_W=alpha_W, l1_ratio=l1_ratio, random_state=0,
                max_iter=300, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    np.testing.assert_allclose(W, model.transform(X), rtol=1e-10, atol=1e-12)
    # The optimality (KKT) conditions of scikit-learn's objective of W with H fixed:
    # the gradient is >= 0 where w = 0 and 0 where w > 0.
    H = model.components_
    n_features = X.shape[1]
    l1, l2 = alpha_W * n_features * l1_ratio, alpha_W * n_features * (1 - l1_ratio)
    grad = (W @ H - X) @ H.T + l1 + l2 * W
    scale = np.abs(X @ H.T).max()
    assert np.all(W >= 0)
    assert np.all(grad[W == 0] >= -1e-9 * scale)
    np.testing.assert_allclose(grad[W > 0], 0, atol=1e-9 * scale)
    # The penalty shrinks the weights against the plain projection.
    plain = facenmf.project(X.T, H.T).T
    assert W.sum() < plain.sum()


@pytest.mark.parametrize("beta", [0.5, "itakura-saito", 1.5, 3.0])
def test_other_betas_with_mu(beta):
    X = samples(seed=11) + 0.05  # beta <= 0 needs every entry positive
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        model = NMF(4, solver="mu", beta_loss=beta, random_state=0, max_iter=50).fit(X)
        fit = facenmf.nmf(X.T, 4, solver="mu", loss=0.0 if beta == "itakura-saito" else beta,
                          max_iter=50, dtype=np.float64)
    np.testing.assert_allclose(model.components_, fit.W.T, rtol=0, atol=1e-12)
    W, H = fit.H.T, fit.W.T
    Y, b = W @ H, 0.0 if beta == "itakura-saito" else beta
    if b == 0:
        divergence = np.sum(X / Y - np.log(X / Y) - 1)
    else:
        divergence = np.sum(X ** b + (b - 1) * Y ** b - b * X * Y ** (b - 1)) / (b * (b - 1))
    assert model.reconstruction_err_ == pytest.approx(np.sqrt(2 * divergence), rel=1e-8)


def test_convergence_warning_is_both_classes():
    with pytest.warns(SklearnConvergenceWarning, match="Maximum number of iterations 2"):
        NMF(4, random_state=0, max_iter=2).fit(samples())
    assert issubclass(ConvergenceWarning, facenmf.ConvergenceWarning)


def test_verbose_prints_the_iterations(capsys):
    NMF(4, random_state=0, max_iter=3, tol=0, verbose=1).fit(samples())
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out[:3]] == [f"Iteration {i}" for i in (1, 2, 3)]
    assert "3 iterations (max_iter)" in out[3]


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["cd", "mu", "anls"])
def test_sparse_x_gives_the_dense_fit(fmt, solver):
    X = samples(seed=9)
    X[X < np.quantile(X, 0.6)] = 0
    S = sparse.csr_matrix(X) if fmt == "csr" else sparse.csc_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        dense = NMF(5, solver=solver, random_state=0)
        W = dense.fit_transform(X)
        sparse_model = NMF(5, solver=solver, random_state=0)
        Ws = sparse_model.fit_transform(S)
    assert sparse_model.n_iter_ == dense.n_iter_
    np.testing.assert_allclose(sparse_model.components_, dense.components_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(Ws, W, rtol=0, atol=1e-9 * W.max())
    assert sparse_model.reconstruction_err_ == pytest.approx(dense.reconstruction_err_,
                                                             rel=1e-9)
    np.testing.assert_allclose(sparse_model.transform(S), W, rtol=0, atol=1e-9 * W.max())


def test_partial_fit_is_facenmfs_online_fit():
    X = samples(200, 40, seed=10)
    model, online = NMF(5, random_state=0), facenmf.NMF(5, random_state=0, dtype=np.float64)
    for s in range(0, 200, 50):
        model.partial_fit(X[s:s + 50])
        online.partial_fit(X[s:s + 50].T)
    np.testing.assert_array_equal(model.components_, online.W.T)
    assert model.n_iter_ == 4 and model.n_components_ == 5
    # A batch sparse or dense: the same update.
    dense_next = NMF(5, random_state=0).partial_fit(X[:50]).partial_fit(X[50:100])
    sparse_next = NMF(5, random_state=0).partial_fit(sparse.csr_matrix(X[:50])) \
        .partial_fit(sparse.csr_matrix(X[50:100]))
    np.testing.assert_allclose(sparse_next.components_, dense_next.components_, atol=1e-12)
    # After fit, partial_fit goes on from the fitted components.
    fitted = NMF(5, random_state=0, tol=1e-3).fit(X)
    after = facenmf.NMF(5, dtype=np.float64)
    after.W = fitted.components_.T.copy()
    after.partial_fit(X[:50].T)
    np.testing.assert_array_equal(fitted.partial_fit(X[:50]).components_, after.W.T)
    with pytest.raises(ValueError, match="X has 39 features"):
        fitted.partial_fit(X[:50, :39])
    # partial_fit exists where the online fit does: the Frobenius loss, no regularization.
    with pytest.raises(AttributeError, match="partial_fit"):
        NMF(5, solver="mu", beta_loss="kullback-leibler").partial_fit(X[:50])
    assert not hasattr(NMF(5, alpha_W=0.01), "partial_fit")
    assert hasattr(NMF(5, alpha_W=0.0), "partial_fit")


def test_import_facenmf_does_not_import_sklearn_and_a_missing_one_is_named():
    code = ("import sys, facenmf; assert 'sklearn' not in sys.modules; "
            "sys.modules['sklearn'] = None\n"
            "try:\n    import facenmf.sklearn\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "facenmf.sklearn needs scikit-learn: pip install 'facenmf[sklearn]'"


def classes(n_per_class=20, n_classes=4, n_features=60, seed=0):
    """Samples of classes that differ by their parts: each class mixes its own 3 parts."""
    rng = np.random.default_rng(seed)
    parts = rng.random((n_classes, 3, n_features)) ** 4
    X = np.concatenate([rng.gamma(2.0, size=(n_per_class, 3)) @ parts[c]
                        for c in range(n_classes)])
    X += 0.01 * rng.random(X.shape)
    return X, np.repeat(np.arange(n_classes), n_per_class)


@pytest.mark.filterwarnings("ignore::facenmf.ConvergenceWarning")
def test_pipeline_with_a_classifier():
    X, y = classes()
    test = np.arange(len(y)) % 4 == 0
    pipe = make_pipeline(NMF(12, random_state=0, max_iter=500), KNeighborsClassifier(1))
    pipe.fit(X[~test], y[~test])
    assert pipe.score(X[test], y[test]) >= 0.9


@pytest.mark.filterwarnings("ignore::facenmf.ConvergenceWarning")
def test_grid_search_over_n_components():
    X = samples(120, 40, rank=6, seed=11, noise=0.001)

    def held_out_fit(estimator, X, y=None):  # minus the relative error of the held-out rows
        return -np.linalg.norm(X - estimator.inverse_transform(estimator.transform(X))) \
            / np.linalg.norm(X)

    search = GridSearchCV(NMF(random_state=0, max_iter=500), {"n_components": [2, 4, 6]},
                          scoring=held_out_fit, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"n_components": 6} and np.all(np.diff(scores) > 0)
    assert search.best_estimator_.components_.shape == (6, 40)


@pytest.mark.slow
def test_pipeline_recognizes_orl_faces():
    X = orl_matrix().T  # (400 faces, 10304 pixels): scikit-learn's orientation
    y = np.repeat(np.arange(40), 10)
    train = np.tile(np.arange(10) < 5, 40)  # the first 5 photos of each person
    pipe = make_pipeline(NMF(25, random_state=0), KNeighborsClassifier(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        pipe.fit(X[train], y[train])
    assert pipe.score(X[~train], y[~train]) >= 0.7  # measured 0.78 (1-NN, Euclidean)
