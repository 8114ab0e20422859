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
