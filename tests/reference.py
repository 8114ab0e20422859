"""Slow, obvious reference implementations the fast kernels are checked against."""

import numpy as np
import scipy.optimize


def frobenius_error(A, W, H):
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    return np.linalg.norm(A - W @ H) / np.linalg.norm(A)


def kl_divergence(A, W, H):
    """sum(A log(A / WH) - A + WH), the log of the ratio taken as a difference of logs
    (a subnormal entry of A would make the ratio underflow to 0)."""
    A, WH = A.astype(np.float64), (W @ H).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(A > 0, A * (np.log(A) - np.log(WH)), 0.0)
    return float(term.sum() - A.sum() + WH.sum())


def nnls_columns(A, W):
    """min_{h >= 0} ||a - W h|| column by column with scipy's Lawson-Hanson NNLS."""
    A, W = A.astype(np.float64), W.astype(np.float64)
    return np.stack([scipy.optimize.nnls(W, A[:, j])[0] for j in range(A.shape[1])], axis=1)


def kkt_violation(A, W, H):
    """Largest violation of the KKT conditions of min_{H>=0} ||A - W H||², relative."""
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    grad = W.T @ W @ H - W.T @ A
    scale = np.abs(W.T @ A).max()
    return max(-H.min(), -grad.min() / scale, np.abs(H * grad).max() / (scale * max(H.max(), 1e-300)))


def whitened_cosine_distances(G, labels, P, shrinkage):
    """Slow dense reference of recognition.whitened_distances: forms the d x d covariance."""
    G, P = np.asarray(G, float), np.asarray(P, float)
    mean = G.mean(axis=1, keepdims=True)
    G, P = G - mean, P - mean
    Z = np.hstack([G[:, labels == lab] - G[:, labels == lab].mean(axis=1, keepdims=True)
                   for lab in np.unique(labels)])
    D = np.diag(1 / np.sqrt(np.mean(Z**2, axis=1)))
    R = D @ Z @ Z.T @ D / Z.shape[1]
    R = (1 - shrinkage) * R + shrinkage * np.trace(R) / len(R) * np.eye(len(R))
    evals, evecs = np.linalg.eigh(R)
    T = evecs @ np.diag(evals**-0.5) @ evecs.T @ D
    g, p = T @ G, T @ P
    return 1 - (g.T @ p) / np.outer(np.linalg.norm(g, axis=0), np.linalg.norm(p, axis=0))


def clean_outlier_masks(outliers, image_shape):
    """Slow reference of the outlier-mask cleanup: scipy's closing then opening, face by face."""
    from scipy import ndimage

    out = np.empty_like(outliers)
    for j in range(outliers.shape[1]):
        img = ndimage.binary_closing(outliers[:, j].reshape(image_shape), iterations=2)
        out[:, j] = ndimage.binary_opening(img, iterations=1).reshape(-1)
    return out


def robust_project_all_faces(A, W, image_shape, keep=0.7, threshold=3.0, max_iter=10):
    """Slow reference of robust_project: every face re-projected at every step until no
    face's outliers change, with scipy's morphology and np.nanmedian."""
    from facenmf.nmf import project_unchecked as _project
    from facenmf.recognition import robust_start

    residual, H = robust_start(A, W, image_shape, keep)
    mask = np.zeros(A.shape, dtype=bool)
    for stage in ("trimmed", "thresholded"):
        base, previous = mask, None
        for _ in range(max_iter):
            size = np.abs(residual)
            if stage == "trimmed":
                rule = size > np.quantile(size, keep, axis=0)
            else:
                sigma = 1.4826 * np.nanmedian(np.where(mask, np.nan, size), axis=0)
                rule = size > threshold * np.maximum(sigma, np.finfo(np.float32).eps)
            outliers = base | clean_outlier_masks(rule, image_shape)
            if previous is not None and np.array_equal(outliers, previous):
                break
            previous = mask = outliers
            H = _project(A, W, mask, H0=H)
            residual = A - W @ H
    return H, mask


def relative_kl(A, W, H):
    """The relative divergence D(A || WH) / sum(A) that nmf reports for loss="kl"."""
    return kl_divergence(A, W, H) / float(np.sum(A, dtype=np.float64))


def hals_sweep(X, C, G):
    """One HALS sweep, obviously: for each row j in turn (G[j, j] > 0), the exact minimizer
    of 0.5 tr(Xᵀ G X) - tr(Cᵀ X) over X[j] >= 0 with the other rows fixed. Returns a copy."""
    X, C, G = (x.astype(np.float64).copy() for x in (X, C, G))
    for j in range(X.shape[0]):
        if G[j, j] <= 0:
            continue
        others = [i for i in range(X.shape[0]) if i != j]
        X[j] = np.maximum(0.0, (C[j] - G[j, others] @ X[others]) / G[j, j])
    return X


def hals_step(A, W, H, n_sweeps_w, n_sweeps_h):
    """One outer HALS iteration without extrapolation or early stop: ``n_sweeps_w`` sweeps
    over the columns of W (H fixed), then ``n_sweeps_h`` over the rows of H (new W fixed)."""
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    Wt = W.T
    for _ in range(n_sweeps_w):
        Wt = hals_sweep(Wt, H @ A.T, H @ H.T)
    for _ in range(n_sweeps_h):
        H = hals_sweep(H, Wt @ A, Wt @ Wt.T)
    return Wt.T, H


def kl_face_objective(a, W, h, q=0.0, p=0.0):
    """sum(W h - a log(W h)) + q/2 ||h||² + p · h for one face, in float64 (p a scalar or a
    vector of length rank)."""
    wh = W @ h
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(a > 0, a * np.log(wh), 0.0)
    return float(wh.sum() - logs.sum() + 0.5 * q * h @ h + np.sum(p * h))


def kl_project_columns(A, W, q=0.0, p=0.0, mask=None):
    """argmin_{h >= 0} of kl_face_objective face by face with scipy's L-BFGS-B, to tight
    tolerances (mask: True = pixel ignored, one mask for all faces; p="cancel": minus the
    visible column sums of W, which leaves the sum(W h) term out)."""
    A, W = A.astype(np.float64), W.astype(np.float64)
    if mask is not None:
        A, W = A[~mask], W[~mask]
    if isinstance(p, str):
        p = -W.sum(axis=0)
    out = []
    for j in range(A.shape[1]):
        a = A[:, j]

        def f(h):
            wh = np.maximum(W @ h, 1e-300)
            value = wh.sum() - a @ np.log(wh) + 0.5 * q * h @ h + np.sum(p * h)
            grad = W.sum(axis=0) - W.T @ (a / wh) + q * h + p
            return value, grad

        h0 = np.full(W.shape[1], max(a.sum(), 1e-3) / max(W.sum(), 1e-300))
        res = scipy.optimize.minimize(f, h0, jac=True, method="L-BFGS-B",
                                      bounds=[(0, None)] * W.shape[1],
                                      options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 20000,
                                               "maxcor": 50})
        out.append(res.x)
    return np.stack(out, axis=1)


def lnmf_published_step(A, W, H):
    """One iteration of Li et al.'s published LNMF updates, written out as in the paper
    (W with unit column sums): h <- sqrt(h sum_i w_ik a_i / (W h)_i); w <- w sum_j a_j h_j /
    (W H)_j / sum_j h; w <- w / sum_i w. Here W first, then H, as the solver steps."""
    A, W, H = (x.astype(np.float64) for x in (A, W, H))
    W = W * ((A / (W @ H)) @ H.T) / H.sum(axis=1)
    W = W / W.sum(axis=0)
    H = np.sqrt(H * (W.T @ (A / (W @ H))))
    return W, H


def gnmf_step(A, W, H, S, lam):
    """One iteration of Cai et al.'s GNMF updates with a dense affinity S: W then H."""
    A, W, H, S = (np.asarray(x, dtype=np.float64) for x in (A, W, H, S))
    W = W * (A @ H.T) / (W @ H @ H.T)
    D = np.diag(S.sum(axis=1))
    H = H * (W.T @ A + lam * H @ S) / (W.T @ W @ H + lam * H @ D)
    return W, H


def gnmf_objective(A, W, H, S, lam):
    """||A - W H||² + lam tr(H L Hᵀ), L = D - S, dense."""
    A, W, H, S = (np.asarray(x, dtype=np.float64) for x in (A, W, H, S))
    L = np.diag(S.sum(axis=1)) - S
    return float(np.sum((A - W @ H) ** 2) + lam * np.trace(H @ L @ H.T))


def scatter_matrices(H, labels):
    """Within- and between-class scatter matrices of the columns of H, by definition."""
    H = np.asarray(H, dtype=np.float64)
    mu = H.mean(axis=1)
    k = H.shape[0]
    Sw, Sb = np.zeros((k, k)), np.zeros((k, k))
    for c in np.unique(labels):
        Hc = H[:, labels == c]
        mc = Hc.mean(axis=1)
        Sw += (Hc - mc[:, None]) @ (Hc - mc[:, None]).T
        Sb += Hc.shape[1] * np.outer(mc - mu, mc - mu)
    return Sw, Sb


def hoyer_projection(s, l1, l2):
    """Hoyer's projfunc (2004) for one non-negative vector, step by step: the point with sum
    l1 and L2 norm l2, non-negative, closest to s."""
    s = np.asarray(s, dtype=np.float64)
    n = s.size
    v = s + (l1 - s.sum()) / n
    zero = np.zeros(n, dtype=bool)
    while True:
        mid = np.where(zero, 0.0, l1 / (n - zero.sum()))
        w = v - mid
        a, b, c = w @ w, 2 * w @ v, v @ v - l2 ** 2
        alpha = (-b + np.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a) if a > 0 else 0.0
        v = v + alpha * w
        if (v >= 0).all():
            return v
        zero = zero | (v <= 0)
        v[zero] = 0
        v = v + (l1 - v.sum()) / (n - zero.sum())
        v[zero] = 0


def beta_divergence(A, W, H, beta):
    """D_beta(A || W H) summed over the entries, case by case as in the textbook formula
    (0.5 ||A - WH||² at beta 2, generalized KL at 1, Itakura-Saito at 0); ``0 log 0 = 0``."""
    A, Q = A.astype(np.float64), (W @ H).astype(np.float64)
    if beta == 2:
        return 0.5 * float(np.sum((A - Q) ** 2))
    if beta == 1:
        return kl_divergence(A, W, H)
    if beta == 0:
        return float(np.sum(A / Q - np.log(A / Q) - 1))
    total = 0.0
    for a, q in zip(A.ravel(), Q.ravel()):
        total += (a ** beta + (beta - 1) * q ** beta - beta * a * q ** (beta - 1)) \
            / (beta * (beta - 1))
    return total


def penalized_objective(A, W, H, beta, alpha_W, alpha_H, l1_ratio):
    """scikit-learn's documented NMF objective in facenmf's orientation, written out: our
    basis W (n_pixels, k) penalized with alpha_W scaled by n_faces, our weights H (k, n_faces)
    with alpha_H scaled by n_pixels."""
    n_pixels, n_faces = A.shape
    W, H = W.astype(np.float64), H.astype(np.float64)
    return (beta_divergence(A, W, H, beta)
            + alpha_W * n_faces * (l1_ratio * W.sum() + 0.5 * (1 - l1_ratio) * (W ** 2).sum())
            + alpha_H * n_pixels * (l1_ratio * H.sum() + 0.5 * (1 - l1_ratio) * (H ** 2).sum()))


def penalized_nnls(A, W, l1, l2):
    """argmin_{h >= 0} 0.5 ||a - W h||² + l1 ||h||_1 + 0.5 l2 ||h||² per column, by scipy's
    Lawson-Hanson NNLS on the completed square: with G = WᵀW + l2 I = L Lᵀ and
    c = Wᵀa - l1, the objective is 0.5 ||Lᵀh - L⁻¹c||² plus a constant."""
    A, W = A.astype(np.float64), W.astype(np.float64)
    H = np.zeros((W.shape[1], A.shape[1]))
    live = np.flatnonzero(np.any(W > 0, axis=0))  # a zero basis image gets zero weights
    W = W[:, live]
    G = W.T @ W + l2 * np.eye(W.shape[1])
    L = np.linalg.cholesky(G)
    C = np.linalg.solve(L, W.T @ A - l1)
    H[live] = np.stack([scipy.optimize.nnls(L.T, C[:, j])[0] for j in range(A.shape[1])],
                       axis=1)
    return H


def filled(A, mask, W, H):
    """The majorizer's data of a masked fit: A where known, W H where ``mask`` is True."""
    return np.where(mask, W.astype(np.float64) @ H.astype(np.float64), A.astype(np.float64))


def anls_step(A, W, H):
    """One ANLS iteration, obviously: W by column-by-column NNLS of Aᵀ on Hᵀ, then H by
    NNLS of A on the new W (scipy's Lawson-Hanson)."""
    A, H = A.astype(np.float64), H.astype(np.float64)
    W = nnls_columns(A.T, H.T).T
    return W, nnls_columns(A, W)


def weighted_mu_step(A, mask, W, H, beta):
    """One weighted multiplicative update over the known entries (``mask`` False), entry by
    entry: each W[i, k] and H[k, j] from its own sums over the known entries of its row or
    column, ``num = Σ a q^(β-2) h``, ``den = Σ q^(β-1) h``, raised to Févotte & Idier's
    exponent. W first for beta 2 (Lee & Seung's order), H first otherwise."""
    A, W, H = (x.astype(np.float64).copy() for x in (A, W, H))
    known = ~mask
    gamma = 1.0 / (2 - beta) if beta < 1 else 1.0 / (beta - 1) if beta > 2 else 1.0

    def update_W():
        Q = W @ H
        new = W.copy()
        for i in range(W.shape[0]):
            js = np.flatnonzero(known[i])
            for k in range(W.shape[1]):
                num = sum(A[i, j] * Q[i, j] ** (beta - 2) * H[k, j] for j in js)
                den = sum(Q[i, j] ** (beta - 1) * H[k, j] for j in js)
                new[i, k] = W[i, k] * (num / den) ** gamma
        W[:] = new

    def update_H():
        Q = W @ H
        new = H.copy()
        for j in range(H.shape[1]):
            iis = np.flatnonzero(known[:, j])
            for k in range(H.shape[0]):
                num = sum(A[i, j] * Q[i, j] ** (beta - 2) * W[i, k] for i in iis)
                den = sum(Q[i, j] ** (beta - 1) * W[i, k] for i in iis)
                new[k, j] = H[k, j] * (num / den) ** gamma
        H[:] = new

    for update in ((update_W, update_H) if beta == 2 else (update_H, update_W)):
        update()
    return W, H
