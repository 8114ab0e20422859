"""The face NMF variants (nmfsc, lnmf, gnmf, dnmf): objectives that decrease, transforms that
are exact for their objective, parts recovered on a swimmer data set, one-line errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import facenmf
from facenmf.metrics import hoyer_sparseness
from facenmf.nmf import _init
from facenmf.nmf._dnmf import scatter_traces
from facenmf.nmf._graph import identity_graph, knn_graph
from facenmf.nmf._kl import kl_project
from facenmf.nmf._nmfsc import l1_for_sparseness, sparseness_project
from facenmf.nmf._solver import check_solver_options
from helpers import matched_parts, orl_matrix, swimmer
from reference import (gnmf_objective, gnmf_step, hoyer_projection, kl_face_objective,
                       kl_project_columns, lnmf_published_step, nnls_columns,
                       scatter_matrices)

LABELS = np.arange(50) % 5  # five "identities" of ten faces each, for the 50 faces_like
LOSS = {"nmfsc": "frobenius", "gnmf": "frobenius", "lnmf": "kl", "dnmf": "kl"}

#: Every variant with each of its options (and the default), as (solver, solver_options).
CASES = [
    ("nmfsc", {}),
    ("nmfsc", {"sparseness_W": 0.6}),
    ("nmfsc", {"sparseness_H": 0.5}),
    ("nmfsc", {"sparseness_W": 0.5, "sparseness_H": 0.4}),
    ("lnmf", {}),
    ("lnmf", {"alpha": 0.2}),
    ("gnmf", {}),
    ("gnmf", {"lam": 1.0, "n_neighbors": 3, "weights": "heat"}),
    ("gnmf", {"graph": "identity", "labels": LABELS}),
    ("dnmf", {"labels": LABELS}),
    ("dnmf", {"labels": LABELS, "gamma": 5.0, "delta": 0.5}),
    ("dnmf", {"labels": LABELS.astype(str), "gamma": 0.0, "delta": 3.0}),
]


def ids(case):
    solver, opts = case
    return solver + "".join(f"-{k}={v}" for k, v in opts.items() if k != "labels") + (
        "-labels" if "labels" in opts else "")


def state_of(A, solver, opts, rank=6, seed=0):
    make = facenmf.SOLVERS[solver]
    options = check_solver_options(solver, make.options, opts)
    if hasattr(make, "check_options"):
        options = make.check_options(options, A.shape)
    W, H = _init.initialize(A, rank, "random", np.random.default_rng(seed), np.float64)
    return make(A, W, H, loss=LOSS[solver], **options)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_objective_decreases_at_every_step(faces_like, case):
    # The objective each solver documents (objective()) never rises, step after step,
    # beyond float64 rounding: 1e-10 of its value.
    state = state_of(faces_like, *case)
    values = [state.objective()]
    for _ in range(40):
        reported = state.step()
        values.append(state.objective())
        assert reported == pytest.approx(values[-1], rel=1e-8, abs=1e-9)
    values = np.array(values)
    assert np.all(np.diff(values) <= 1e-10 * np.abs(values[:-1]))
    assert values[-1] < values[0]


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_nmf_reports_the_relative_error_of_the_fit(faces_like, case):
    # history records the relative error (Frobenius or KL, as every solver of that loss),
    # not the objective, so variants compare with plain NMF; its last entry is fit.error.
    solver, opts = case
    fit = facenmf.nmf(faces_like, 6, solver=solver, loss=LOSS[solver], solver_options=opts,
                      max_iter=30, tol=0, init="random", random_state=0, dtype=np.float64)
    W, H = fit.W, fit.H
    assert W.shape == (120, 6) and H.shape == (6, 50) and W.min() >= 0 and H.min() >= 0
    np.testing.assert_allclose(np.linalg.norm(W, axis=0)[np.linalg.norm(W, axis=0) > 0], 1,
                               rtol=1e-12)
    if LOSS[solver] == "frobenius":
        error = np.linalg.norm(faces_like - W @ H) / np.linalg.norm(faces_like)
    else:
        from reference import relative_kl

        error = relative_kl(faces_like, W, H)
    assert fit.error == pytest.approx(error, rel=1e-9)
    assert fit.history.error[-1] == pytest.approx(error, rel=1e-6)
    assert len(fit.history.error) == len(fit.history.seconds) == 31


def test_float32_by_default_and_seeded():
    A, _, _ = swimmer(size=16, torso=False)
    for solver, opts in CASES[:1] + CASES[4:5] + CASES[6:7] + CASES[9:10]:
        if "labels" in opts:
            opts = {**opts, "labels": np.arange(A.shape[1]) % 4}
        kw = dict(solver=solver, loss=LOSS[solver], solver_options=opts, max_iter=5, tol=0,
                  init="random")
        a = facenmf.nmf(A, 8, random_state=3, **kw)
        b = facenmf.nmf(A, 8, random_state=3, **kw)
        c = facenmf.nmf(A, 8, random_state=4, **kw)
        assert a.W.dtype == np.float32 and a.H.dtype == np.float32
        np.testing.assert_array_equal(a.W, b.W)
        assert not np.allclose(a.W, c.W)


# ---- transforms: exact for each variant's objective with W fixed -----------------------

def _fitted(A, solver, opts, rank=5):
    model = facenmf.NMF(rank, solver=solver, loss=LOSS[solver], solver_options=opts,
                        max_iter=25, tol=0, random_state=0, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", facenmf.ConvergenceWarning)
        return model.fit(A)


@pytest.mark.parametrize("case", [CASES[2], CASES[8]], ids=ids)
def test_nmfsc_and_gnmf_transform_is_the_nnls_projection(faces_like, case):
    # A new face has no row constraint (nmfsc's sparseness of H is across faces) and no
    # edges (gnmf): its objective with W fixed is the Frobenius error: exact NNLS.
    solver, opts = case
    if "labels" in opts:
        opts = {**opts, "labels": opts["labels"][:40]}
    model = _fitted(faces_like[:, :40], solver, opts)
    new = faces_like[:, 40:]
    np.testing.assert_allclose(model.transform(new), nnls_columns(new, model.W), rtol=1e-7,
                               atol=1e-9)
    # The fit's own H is constrained / smoothed: fit_transform gives the transform.
    assert not np.allclose(model.H, model.transform(faces_like[:, :40]), atol=1e-3)


def test_lnmf_transform_minimizes_its_objective(faces_like):
    # LNMF's objective with W fixed, on the basis of unit column sums W_s:
    # sum(W_s h - a log W_s h) + 1/2 ||h||² - sum(h), reported for W (W h equal).
    model = _fitted(faces_like[:, :40], "lnmf", {})
    new = faces_like[:, 40:]
    H = model.transform(new)
    sums = model.W.sum(axis=0)
    Ws = model.W / sums
    ref = kl_project_columns(new, Ws, q=1.0, p=-1.0)
    ours = H * sums[:, None]
    for j in range(new.shape[1]):
        mine = kl_face_objective(new[:, j], Ws, ours[:, j], 1.0, -1.0)
        theirs = kl_face_objective(new[:, j], Ws, ref[:, j], 1.0, -1.0)
        assert mine <= theirs + 1e-10 * abs(theirs)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    # A fixed point of the objective: ||h||² = sum(a) for each face (Li et al.'s H update).
    np.testing.assert_allclose((ours ** 2).sum(axis=0), new.sum(axis=0), rtol=1e-6)


def test_dnmf_transform_is_the_kl_projection(faces_like):
    # A new face has no identity: its objective with W fixed is D(a || W h).
    model = _fitted(faces_like[:, :40], "dnmf", {"labels": LABELS[:40]})
    new = faces_like[:, 40:]
    H = model.transform(new)
    ref = kl_project_columns(new, model.W)
    for j in range(new.shape[1]):
        assert kl_face_objective(new[:, j], model.W, H[:, j]) <= \
            kl_face_objective(new[:, j], model.W, ref[:, j]) * (1 + 1e-12)
    np.testing.assert_allclose(H, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("solver,opts,q,p", [("dnmf", {"labels": LABELS[:40]}, 0.0, 0.0),
                                             ("lnmf", {}, 1.0, "cancel")])
def test_kl_transforms_with_a_mask_ignore_its_pixels(faces_like, solver, opts, q, p):
    model = _fitted(faces_like[:, :40], solver, opts)
    new = faces_like[:, 40:]
    mask = np.zeros(120, dtype=bool)
    mask[10:50] = True
    H = model.transform(new, mask=mask)
    sums = model.W.sum(axis=0) if solver == "lnmf" else np.ones(5)
    Ws = model.W / sums
    ref = kl_project_columns(new, Ws, q=q, p=p, mask=mask)
    np.testing.assert_allclose(H * sums[:, None], ref, rtol=1e-5, atol=1e-7)
    if solver == "lnmf":  # hidden pixels give no weight: ||h||² is the visible pixel sum
        np.testing.assert_allclose(((H * sums[:, None]) ** 2).sum(axis=0),
                                   new[~mask].sum(axis=0), rtol=1e-6)
    # The same mask per face gives the same weights; the masked pixels do not matter.
    per_face = np.broadcast_to(mask[:, None], new.shape).copy()
    changed = new.copy()
    changed[mask] = 7.0
    np.testing.assert_allclose(model.transform(changed, mask=per_face), H, rtol=1e-9)


def test_variant_transforms_survive_a_model_file(faces_like, tmp_path):
    model = _fitted(faces_like[:, :40], "lnmf", {})
    path = facenmf.save_model(tmp_path / "lnmf.npz", model)
    loaded = facenmf.load_model(path)
    new = faces_like[:, 40:]
    np.testing.assert_allclose(loaded.transform(new), model.transform(new), rtol=1e-12)
    assert not np.allclose(loaded.transform(new), facenmf.project(new, loaded.W), rtol=1e-3)


def test_kl_project_converges_from_any_start(faces_like):
    W = np.random.default_rng(0).random((120, 5))
    a = kl_project(faces_like, W)
    b = kl_project(faces_like, W, H0=np.full((5, 50), 3.0))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


# ---- the pieces against slow references -----------------------------------------------

def test_sparseness_projection_is_hoyers():
    rng = np.random.default_rng(0)
    X = rng.random((60, 12)) - 0.2
    for s in (0.0, 0.3, 0.7, 0.95, 1.0):
        l2 = rng.random(12) + 0.5
        l1 = l1_for_sparseness(s, 60, l2)
        P = sparseness_project(X, l1, l2)
        assert P.min() >= 0
        np.testing.assert_allclose(P.sum(axis=0), l1, rtol=1e-10)
        np.testing.assert_allclose(np.linalg.norm(P, axis=0), l2, rtol=1e-10)
        np.testing.assert_allclose([hoyer_sparseness(P[:, j]) for j in range(12)], s,
                                   atol=1e-9)
        ref = np.stack([hoyer_projection(X[:, j], l1[j], l2[j]) for j in range(12)], axis=1)
        np.testing.assert_allclose(P, ref, rtol=1e-6, atol=1e-9)  # sqrt of a ~0 discriminant


def test_lnmf_steps_are_li_et_als_published_updates(faces_like):
    state = state_of(faces_like, "lnmf", {})
    W, H = state.W.copy(), state.H.copy()
    for _ in range(5):
        W, H = lnmf_published_step(faces_like, W, H)
        state.step()
    np.testing.assert_allclose(state.W, W, rtol=1e-9)
    np.testing.assert_allclose(state.H, H, rtol=1e-9)


def test_gnmf_steps_and_objective_are_cai_et_als(faces_like):
    state = state_of(faces_like, "gnmf", {"lam": 3.0})
    S = knn_graph(faces_like, 5).toarray()
    assert np.allclose(S, S.T) and np.all(np.diag(S) == 0) and set(np.unique(S)) == {0, 1}
    assert (S.sum(axis=1) >= 5).all()
    W, H = state.W.copy(), state.H.copy()
    for _ in range(3):
        W, H = gnmf_step(faces_like, W, H, S, 3.0)
        value = state.step()
    np.testing.assert_allclose(state.W, W, rtol=1e-9)
    np.testing.assert_allclose(state.H, H, rtol=1e-9)
    assert value == pytest.approx(gnmf_objective(faces_like, W, H, S, 3.0), rel=1e-9)
    same = identity_graph(LABELS).toarray()
    assert np.array_equal(same, (LABELS[:, None] == LABELS[None, :]) & ~np.eye(50, dtype=bool))


def test_dnmf_objective_is_the_papers_with_its_scatter(faces_like):
    state = state_of(faces_like, "dnmf", {"labels": LABELS, "gamma": 2.0, "delta": 0.5})
    state.step()
    Sw, Sb = scatter_matrices(state.H, LABELS)
    within, between = scatter_traces(state.H, state.codes, state.counts)
    assert (within, between) == pytest.approx((np.trace(Sw), np.trace(Sb)), rel=1e-10)
    from reference import kl_divergence

    scale = faces_like.sum() / 50
    expected = (kl_divergence(faces_like, state.W, state.H)
                + (2.0 * np.trace(Sw) - 0.5 * np.trace(Sb)) / scale)
    assert state.objective() == pytest.approx(expected, rel=1e-10)
    # W's columns sum to one and every face's weights to its pixel sum.
    np.testing.assert_allclose(state.W.sum(axis=0), 1, rtol=1e-10)
    np.testing.assert_allclose(state.H.sum(axis=0), faces_like.sum(axis=0), rtol=1e-10)


def test_dnmf_separates_the_classes_more_than_kl_nmf(faces_like):
    # The point of the discriminant terms: a larger between/within scatter ratio of the
    # weights than plain KL NMF from the same start.
    kl = facenmf.nmf(faces_like, 6, solver="mu", loss="kl", max_iter=100, tol=0,
                     random_state=0, dtype=np.float64)
    d = facenmf.nmf(faces_like, 6, solver="dnmf", loss="kl", max_iter=100, tol=0,
                    random_state=0, dtype=np.float64, solver_options={"labels": LABELS})

    def ratio(H):
        Sw, Sb = scatter_matrices(H, LABELS)
        return np.trace(Sb) / np.trace(Sw)

    assert ratio(d.H) > 1.5 * ratio(kl.H)


# ---- parts of a swimmer -----------------------------------------------------------------

#: The variants built to find parts: NMFsc with sparse basis images (Hoyer's constraint on
#: W: sparse images are parts) and LNMF (localized parts by design). Not here: NMFsc's
#: constraint on H (sparse use of each image across the faces; on faces Hoyer found it
#: gives whole-face prototypes), GNMF's and DNMF's terms, which act on the weights (a graph,
#: the classes), not on the basis: none is meant to find parts better than plain NMF.
PART_FINDERS = [("nmfsc", {"sparseness_W": 0.8}), ("lnmf", {}), ("lnmf", {"alpha": 0.1})]


@pytest.mark.parametrize("case", PART_FINDERS, ids=ids)
def test_variants_recover_the_swimmers_limbs(case):
    # The 16 limb positions of the swimmer without its torso: a complete factorial family
    # of disjoint parts, whose non-negative factorization is unique (Donoho & Stodden's
    # conditions; the torso, in every figure, could be shared among the limbs' images at
    # no cost, so it is left out). From each of 4 random starts every true part is matched
    # (Hungarian assignment) to a basis image with cosine > 0.9. Measured over 8 starts
    # (seeds 0-7): 8 of 8 for nmfsc sparseness_W=0.8 and lnmf alpha=0.1, 7 for lnmf (seed
    # 6 misses), 6 for plain NMF (hals: seeds 2 and 3 miss).
    A, parts, _ = swimmer(torso=False)
    solver, opts = case
    for seed in range(4):
        fit = facenmf.nmf(A, 16, solver=solver, loss=LOSS[solver], solver_options=opts,
                          init="random", random_state=seed, max_iter=2000, tol=1e-6)
        assert matched_parts(fit.W, parts).min() > 0.9, f"seed {seed}"
    if solver == "nmfsc" and "sparseness_W" in opts:  # the constraint holds
        np.testing.assert_allclose([hoyer_sparseness(fit.W[:, j]) for j in range(16)],
                                   opts["sparseness_W"], atol=1e-5)


# ---- errors ------------------------------------------------------------------------------

BAD = [
    (dict(solver="dnmf", loss="kl"), ValueError,
     r"^solver_options\['labels'\]: solver 'dnmf' needs the faces' labels \(an int or str "
     r"array of length n_faces=50\)$"),
    (dict(solver="gnmf", solver_options={"graph": "identity"}), ValueError,
     r"^solver_options\['labels'\]: solver 'gnmf' with graph='identity' needs"),
    (dict(solver="dnmf", loss="kl", solver_options={"labels": np.arange(49)}), ValueError,
     r"^solver_options\['labels'\]: expected one label per face \(n_faces=50\), got 49$"),
    (dict(solver="gnmf", solver_options={"labels": np.arange(51)}), ValueError,
     r"^solver_options\['labels'\]: expected one label per face \(n_faces=50\), got 51$"),
    (dict(solver="dnmf", loss="kl", solver_options={"labels": np.ones(50)}), TypeError,
     r"^solver_options\['labels'\]: expected a 1-D array of int or str labels"),
    (dict(solver="dnmf", loss="kl", solver_options={"labels": np.ones((50, 1), int)}),
     TypeError, r"^solver_options\['labels'\]: expected a 1-D array"),
    (dict(solver="nmfsc", solver_options={"sparseness_W": 1.5}), ValueError,
     r"^solver_options\['sparseness_W'\]: expected a number in \[0, 1\], got 1.5$"),
    (dict(solver="nmfsc", solver_options={"sparseness_H": "high"}), TypeError,
     r"^solver_options\['sparseness_H'\]"),
    (dict(solver="gnmf", solver_options={"graph": "grid"}), ValueError,
     r"^solver_options\['graph'\]: unknown value 'grid'; valid values are \['identity', "
     r"'knn'\]$"),
    (dict(solver="gnmf", solver_options={"lam": -1}), ValueError,
     r"^solver_options\['lam'\]: expected a number >= 0, got -1"),
    (dict(solver="gnmf", solver_options={"n_neighbors": 0}), ValueError,
     r"^solver_options\['n_neighbors'\]"),
    (dict(solver="lnmf"), ValueError,
     r"^loss: solver 'lnmf' supports \['kl'\], got 'frobenius'$"),
    (dict(solver="lnmf", loss="kl", solver_options={"beta": 1}), ValueError,
     r"^solver_options: solver 'lnmf' has no option 'beta'; its options are \['alpha'\]$"),
]


@pytest.mark.parametrize("kwargs,exc,message", BAD, ids=[m[:40] for _, _, m in BAD])
def test_bad_options_have_one_line_errors(faces_like, kwargs, exc, message):
    with pytest.raises(exc, match=message) as info:
        facenmf.nmf(faces_like, 4, max_iter=2, **kwargs)
    assert "\n" not in str(info.value)


def test_streamed_faces_are_refused_in_one_line(faces_like, tmp_path):
    np.save(tmp_path / "A.npy", faces_like)
    A = np.load(tmp_path / "A.npy", mmap_mode="r")
    for solver in ("nmfsc", "lnmf", "gnmf", "dnmf"):
        with pytest.raises(ValueError, match=rf"^solver: '{solver}' needs A in memory") as info:
            facenmf.nmf(A, 4, solver=solver, loss=LOSS[solver],
                        solver_options={"labels": LABELS} if solver == "dnmf" else None)
        assert "\n" not in str(info.value)


def test_graphs_are_sparse_and_symmetric():
    rng = np.random.default_rng(0)
    A = rng.random((30, 2500))
    S = knn_graph(A, 5, "heat")
    assert sp.issparse(S) and S.shape == (2500, 2500)
    assert abs(S - S.T).max() == 0 and S.diagonal().max() == 0
    assert 0 < S.data.min() and S.data.max() <= 1
    assert (np.diff(S.indptr) >= 5).all()


# ---- real faces ----------------------------------------------------------------------------

@pytest.mark.slow
def test_variants_on_orl_faces():
    # Each variant on 200 ORL faces (5 per person), rank 16: the NMFsc constraint holds,
    # every transform gives usable weights for the other 200 faces, and LNMF's basis grows
    # sparse as it converges (its localized parts; slowly, as Li et al. found).
    A = orl_matrix()
    train, test = A[:, 0::2], A[:, 1::2]
    labels = np.repeat(np.arange(40), 5)
    for solver, opts in [("nmfsc", {"sparseness_W": 0.7}), ("nmfsc", {"sparseness_H": 0.6}),
                         ("lnmf", {}), ("gnmf", {}), ("dnmf", {"labels": labels})]:
        model = facenmf.NMF(16, solver=solver, loss=LOSS[solver], solver_options=opts,
                            max_iter=30, tol=0, random_state=0)
        model.fit(train)
        H = model.transform(test)
        assert H.shape == (16, 200) and np.isfinite(H).all() and (H.sum(axis=0) > 0).all()
        if "sparseness_W" in opts:
            assert hoyer_sparseness(model.W) == pytest.approx(0.7, abs=1e-4)
    seen = {}
    facenmf.nmf(train, 16, solver="lnmf", loss="kl", max_iter=300, tol=0,
                callback=lambda i, W, H, e: seen.__setitem__(i, hoyer_sparseness(W)))
    assert seen[300] > seen[20] + 0.1
