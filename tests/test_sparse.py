"""Sparse A (scipy.sparse CSR/CSC): the same fits as dense A, never densified, clear errors."""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy import sparse

import facenmf
from facenmf.nmf import SOLVERS, initialize


def sparse_faces(n=300, m=200, rank=6, seed=0):
    """A dense array with 45-60% zeros: sparse low-rank parts and weights, a little noise."""
    rng = np.random.default_rng(seed)
    W = rng.random((n, rank)) * (rng.random((n, rank)) < 0.3)
    H = rng.random((rank, m)) * (rng.random((rank, m)) < 0.4)
    return W @ H + 0.01 * rng.random((n, m)) * (rng.random((n, m)) < 0.05)


FORMATS = {"csr": sparse.csr_matrix, "csc": sparse.csc_matrix, "csr_array": sparse.csr_array,
           "coo": sparse.coo_matrix}


@pytest.mark.parametrize("init", ["nndsvda", "nndsvd", "nndsvdar", "random"])
@pytest.mark.parametrize("solver", ["hals", "mu", "anls"])
def test_sparse_and_dense_give_the_same_fit(solver, init):
    A = sparse_faces()
    kw = dict(solver=solver, init=init, random_state=0, dtype=np.float64, max_iter=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        dense = facenmf.nmf(A, 6, **kw)
        fit = facenmf.nmf(sparse.csc_matrix(A), 6, **kw)
    assert fit.n_iter == dense.n_iter and fit.stop_reason == dense.stop_reason
    np.testing.assert_allclose(fit.W, dense.W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(fit.H, dense.H, rtol=0, atol=1e-12 * dense.H.max())
    np.testing.assert_allclose(fit.history.error, dense.history.error, rtol=1e-10)
    assert fit.error == pytest.approx(dense.error, rel=1e-10)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_and_float32(fmt):
    A = sparse_faces(seed=1).astype(np.float32)
    dense = facenmf.nmf(A, 6, random_state=0)
    fit = facenmf.nmf(FORMATS[fmt](A), 6, random_state=0)
    assert fit.W.dtype == np.float32 and fit.n_iter == dense.n_iter
    np.testing.assert_allclose(fit.W, dense.W, rtol=0, atol=1e-5)
    assert fit.error == pytest.approx(dense.error, rel=1e-5)


def test_randomized_svd_init_is_the_dense_ones():
    # Both sides above the exact-SVD limit (1500): the NNDSVD start comes from the
    # randomized SVD, whose passes are products with A and Aᵀ.
    A = sparse.random(1600, 1700, density=0.01, format="csc", random_state=2)
    for init in ("nndsvda", "nndsvdar"):
        W, H = initialize(A, 8, init, np.random.default_rng(0), np.dtype(np.float64))
        Wd, Hd = initialize(A.toarray(), 8, init, np.random.default_rng(0),
                            np.dtype(np.float64))
        np.testing.assert_allclose(W, Wd, rtol=0, atol=1e-12)
        np.testing.assert_allclose(H, Hd, rtol=0, atol=1e-12)


def test_a_is_never_densified():
    # Dense, this A would be 400 MB of float32; its stored entries are 1.6 MB.
    rng = np.random.default_rng(1)
    ij = rng.integers((20_000, 5_000), size=(200_000, 2)).T
    A = sparse.csr_matrix((rng.random(200_000, dtype=np.float32), tuple(ij)),
                          shape=(20_000, 5_000))
    dense_bytes = A.shape[0] * A.shape[1] * 4
    for solver in ("hals", "mu", "anls"):
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
                fit = facenmf.nmf(A, 10, solver=solver, random_state=0, max_iter=3)
            H = facenmf.project(A, fit.W)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 0.1 * dense_bytes, f"{solver}: peak {peak / 1e6:.0f} MB"
        assert H.shape == (10, 5_000)


def test_project_and_model_take_sparse_faces():
    A = sparse_faces(seed=3)
    model = facenmf.NMF(rank=6, random_state=0, dtype=np.float64).fit(A)
    S = sparse.csr_matrix(A)
    np.testing.assert_allclose(model.transform(S), model.transform(A), rtol=0, atol=1e-12)
    rng = np.random.default_rng(0)
    for mask in (rng.random(A.shape[0]) < 0.2, rng.random(A.shape) < 0.2):
        np.testing.assert_allclose(facenmf.project(S, model.W, mask=mask),
                                   facenmf.project(A, model.W, mask=mask), atol=1e-12)
    online, online_sparse = (facenmf.NMF(rank=6, random_state=0, dtype=np.float64)
                             for _ in range(2))
    for s in range(0, 200, 50):
        online.partial_fit(A[:, s:s + 50])
        online_sparse.partial_fit(S[:, s:s + 50])
    np.testing.assert_allclose(online_sparse.W, online.W, rtol=0, atol=1e-12)
    fit = facenmf.nmf_online([S[:, s:s + 50] for s in range(0, 200, 50)], 6, random_state=0,
                             dtype=np.float64)
    np.testing.assert_allclose(fit.W, online.W, rtol=0, atol=1e-12)


def test_the_users_matrix_is_not_modified():
    # Duplicate entries (not canonical): summed in a copy, never in the caller's matrix.
    S = sparse.csc_matrix((np.array([1.0, 2.0, 0.5, 1.0, 1.0, 1.0]),
                           np.array([0, 0, 3, 1, 2, 3]), np.array([0, 3, 4, 5, 6])),
                          shape=(5, 4))  # column 0 holds row 0 twice
    assert not S.has_canonical_format
    before = (S.data.copy(), S.indices.copy(), S.indptr.copy())
    fit = facenmf.nmf(S, 2, random_state=0, dtype=np.float64, tol=1e-3)
    after = (S.data, S.indices, S.indptr)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert fit.W.shape == (5, 2)


def test_bad_sparse_input_gives_one_line_errors():
    good = sparse.random(30, 20, density=0.3, format="csr", random_state=0)
    negative = good.copy()
    negative.data[0] = -1.0
    nan = good.copy()
    nan.data[1] = np.nan
    W = np.random.default_rng(0).random((30, 3))
    cases = [
        (lambda: facenmf.nmf(negative, 3), ValueError,
         r"A: expected non-negative entries, found 1 negative \(smallest -1\)"),
        (lambda: facenmf.nmf(nan, 3), ValueError,
         "A: expected finite entries, found 1 NaN and 0 infinite"),
        (lambda: facenmf.nmf(sparse.csr_matrix((30, 20)), 3), ValueError,
         "A: all 600 entries are zero"),
        (lambda: facenmf.nmf(good, 3, solver="mu", loss="kl"), ValueError,
         r"A: solver 'mu' with loss 'kl' needs a dense A, got a scipy.sparse matrix; pass "
         r"A.toarray\(\)"),
        (lambda: facenmf.project(good[:29], W), ValueError,
         r"A: expected shape \(30, \*\), got \(29, 20\) \(axis 0 differs\)"),
        (lambda: facenmf.nmf(good, 3, W0=sparse.csr_matrix(W), H0=np.ones((3, 20))),
         TypeError, r"W0: sparse matrices are not supported here; pass W0.toarray\(\)"),
    ]
    for call, error, match in cases:
        with pytest.raises(error, match=match) as info:
            call()
        assert "\n" not in str(info.value)


def test_a_solver_without_sparse_support_is_named(monkeypatch):
    class Dense:
        """A stand-in solver that declares no sparse support."""
        losses, options = ("frobenius",), {}

    monkeypatch.setitem(SOLVERS, "dense-only", Dense)
    with pytest.raises(ValueError, match=r"solver 'dense-only' with loss 'frobenius' needs a "
                       r"dense A, got a scipy.sparse matrix; solvers \['anls', 'hals', 'mu'\] "
                       r"take it sparse with this loss, or pass A.toarray\(\)"):
        facenmf.nmf(sparse.random(30, 20, density=0.3, random_state=0), 3,
                    solver="dense-only")
