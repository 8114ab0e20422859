"""Labels of the faces and graphs over them, for the supervised and graph-regularized solvers.

A graph is a symmetric ``scipy.sparse`` matrix ``S`` (n_faces, n_faces) of non-negative
edge weights with a zero diagonal; its Laplacian is ``L = D - S``, ``D = diag(S 1)``, and
``tr(H L Hᵀ) = 1/2 sum_ij S_ij ||h_i - h_j||²`` for weights ``H`` (rank, n_faces).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["check_labels", "require_labels", "knn_graph", "identity_graph", "GRAPH_WEIGHTS"]

#: Edge weights of a k-nearest-neighbour graph: "binary" (0-1) or "heat" (heat kernel).
GRAPH_WEIGHTS = ("binary", "heat")

# Faces per block when computing the neighbours (a block of distances is (block, n_faces)).
_BLOCK = 1024


def check_labels(name, value):
    """``value`` as a 1-D array of int or str labels (one per face), or None."""
    if value is None:
        return None
    labels = np.asarray(value)
    if labels.dtype == object and all(isinstance(x, str) for x in labels.ravel()):
        labels = labels.astype(str)
    if labels.ndim != 1 or labels.dtype.kind not in "iuU":
        raise TypeError(f"{name}: expected a 1-D array of int or str labels, one per face; got "
                        f"an array of dtype {labels.dtype} and shape {labels.shape}")
    return labels


def require_labels(solver, options, n_faces, why):
    """Check that ``options["labels"]`` holds one label per face (``why`` says what needs
    them); returns the options."""
    labels = options.get("labels")
    if labels is None:
        raise ValueError(f"solver_options['labels']: solver {solver!r}{' ' + why if why else ''}"
                         f" needs the faces' labels (an int or str array of length "
                         f"n_faces={n_faces})")
    if labels.shape[0] != n_faces:
        raise ValueError(f"solver_options['labels']: expected one label per face "
                         f"(n_faces={n_faces}), got {labels.shape[0]}")
    return options


def identity_graph(labels):
    """``S_ij = 1`` for two different faces of the same identity, else 0."""
    _, codes = np.unique(labels, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    rows, cols = [], []
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    for group in np.split(order, bounds):
        r, c = np.meshgrid(group, group, indexing="ij")
        off = r != c
        rows.append(r[off])
        cols.append(c[off])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    n = labels.shape[0]
    return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n))


def knn_graph(A, n_neighbors, weights="binary"):
    """The symmetric k-nearest-neighbour graph of the faces (columns of ``A``, (n, m)).

    Faces ``i`` and ``j`` are joined when either is among the ``n_neighbors`` nearest of
    the other (Euclidean distance), as in Cai et al. 2011. ``weights="binary"``: weight 1;
    ``"heat"``: ``exp(-||a_i - a_j||² / sigma)`` with ``sigma`` the mean squared distance
    of the joined pairs (the scale of the data, not a constant).
    """
    m = A.shape[1]
    k = min(n_neighbors, m - 1)
    sq = np.einsum("ij,ij->j", A, A, dtype=np.float64)
    rows = np.repeat(np.arange(m), k)
    cols = np.empty(m * k, dtype=np.int64)
    dist = np.empty(m * k)
    for start in range(0, m, _BLOCK):
        block = slice(start, min(start + _BLOCK, m))
        D = sq[block, None] + sq[None, :] - 2 * (A[:, block].T @ A).astype(np.float64)
        D[np.arange(D.shape[0]), np.arange(start, block.stop)] = np.inf  # not itself
        near = np.argpartition(D, k - 1, axis=1)[:, :k]
        out = slice(start * k, block.stop * k)
        cols[out] = near.ravel()
        dist[out] = np.maximum(np.take_along_axis(D, near, axis=1).ravel(), 0)
    if weights == "heat":
        values = np.exp(-dist / max(dist.mean(), 1e-300))
    else:
        values = np.ones(dist.size)
    S = sp.csr_matrix((values, (rows, cols)), shape=(m, m))
    return S.maximum(S.T).tocsr()  # joined if either is a neighbour of the other
