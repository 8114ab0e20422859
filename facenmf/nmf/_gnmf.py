"""Graph-regularized NMF (Cai, He, Han & Huang 2011), Frobenius loss, multiplicative updates.

References
----------
D. Cai, X. He, J. Han and T. S. Huang, "Graph regularized nonnegative matrix factorization
for data representation", IEEE Trans. Pattern Anal. Mach. Intell. 33(8), 1548-1560, 2011.
doi:10.1109/TPAMI.2010.231
"""

from __future__ import annotations

import numpy as np

from .. import _validation as v
from ._graph import GRAPH_WEIGHTS, check_labels, identity_graph, knn_graph, require_labels
from ._loss import gram, residual_error, squared_error, squared_norm
from ._solver import Option, number

__all__ = ["GNMF", "GRAPHS"]

#: The graphs over the faces: "knn" (k nearest neighbours in pixel space) or "identity"
#: (faces of the same person joined; needs ``labels``).
GRAPHS = ("knn", "identity")


def _choice(options):
    return lambda name, value: v.check_choice(name, value, options)


class GNMF:
    """State of a GNMF fit: ``min ||A - W H||_F² + lam tr(H L Hᵀ)`` over ``W, H >= 0``.

    ``L = D - S`` is the Laplacian of a graph ``S`` over the faces: with ``graph="knn"``
    faces are joined to their ``n_neighbors`` nearest (weight 1, or a heat kernel with
    ``weights="heat"``), with ``graph="identity"`` (supervised) every two faces of the same
    person are joined (``labels``, one per face). ``tr(H L Hᵀ) = 1/2 sum_ij S_ij ||h_i -
    h_j||²``: joined faces get similar weights. The updates are Cai et al.'s,

        H <- H * (Wᵀ A + lam H S) / (WᵀW H + lam H D),    W <- W * (A Hᵀ) / (W H Hᵀ),

    each of which does not raise the objective (their Theorem 1). The defaults
    ``lam = 100``, 5 neighbours, 0-1 weights are those of the paper's experiments. The
    objective is not invariant to moving scale between ``W`` and ``H``, so the fit starts
    from the initial ``W`` with unit-norm columns (its scale moved into ``H``; Cai et al.
    normalize ``W``'s columns likewise): then ``lam`` means the same for faces of any
    intensity scale. ``history`` records the relative error ``||A - W H|| / ||A||``.

    A new face is not in the graph, so its weights with ``W`` fixed minimize the error
    alone: the non-negative least-squares projection (:meth:`facenmf.NMF.transform`);
    ``nmf`` returns the fit's own ``H`` (graph-smoothed), rescaled as ``W``'s columns are
    brought to unit norm.
    """

    losses = ("frobenius",)
    options = {
        "lam": Option(100.0, "weight of the graph term tr(H L Hᵀ) (Cai et al.: 100)", number(0)),
        "graph": Option("knn", "'knn': nearest neighbours in pixel space; 'identity': faces "
                        "of one person (needs labels)", _choice(GRAPHS)),
        "n_neighbors": Option(5, "neighbours per face of the 'knn' graph (Cai et al.: 5)",
                              lambda name, x: v.check_int(name, x, low=1)),
        "weights": Option("binary", "edge weights of the 'knn' graph: 'binary' (0-1) or "
                          "'heat' (exp(-d²/sigma), sigma the mean d² of the edges)",
                          _choice(GRAPH_WEIGHTS)),
        "labels": Option(None, "one int or str label per face, for graph='identity'",
                         check_labels),
    }
    keeps_H = True  # nmf() returns this H, not the projection of A onto W
    variant = True  # a face NMF variant: constraints or penalties beside the loss
    improved = True  # every step is a descent step
    exact = False  # objective from the residual instead of the trace trick

    @staticmethod
    def check_options(options, shape):
        """Options checked against the data: ``labels`` for the identity graph."""
        if options.get("graph") == "identity":
            require_labels("gnmf", options, shape[1], "with graph='identity'")
        elif options.get("labels") is not None and options["labels"].shape[0] != shape[1]:
            require_labels("gnmf", options, shape[1], "")
        return options

    def __init__(self, A, W, H, *, loss="frobenius", lam=100.0, graph="knn", n_neighbors=5,
                 weights="binary", labels=None):
        dt = A.dtype
        self.A, self.norm_A_sq, self.lam = A, squared_norm(A), lam
        self.W, self.H = np.array(W, order="C"), np.array(H, order="C")
        norms = np.sqrt(np.einsum("ij,ij->j", self.W, self.W, dtype=np.float64))
        nz = norms > 0
        self.W[:, nz] /= norms[nz].astype(dt)
        self.H[nz] *= norms[nz, None].astype(dt)
        if graph == "identity":
            S = identity_graph(labels)
        else:
            S = knn_graph(A, n_neighbors, weights)
        self.S = S.astype(dt)
        self.degree = np.asarray(S.sum(axis=1)).ravel().astype(dt)
        self.eps = np.finfo(dt).tiny * 1e6
        self.data_term = None

    def _graph_term(self, H):
        """``tr(H L Hᵀ) = sum_j d_j ||h_j||² - <H, H S>`` in float64."""
        H64 = H.astype(np.float64)
        HS = (self.S.astype(np.float64) @ H64.T).T
        return float(np.einsum("ij,ij->", H64 * self.degree, H64) - np.vdot(H64, HS))

    def step(self):
        A, W, H, lam, eps = self.A, self.W, self.H, self.lam, self.eps
        W *= (A @ H.T) / (W @ gram(H).astype(W.dtype) + eps)
        WtA, WtW = W.T @ A, gram(W.T)
        numer = WtA + lam * (self.S @ H.T).T.astype(H.dtype)
        denom = WtW.astype(H.dtype) @ H + lam * H * self.degree
        denom += eps
        H *= numer / denom
        if self.exact:
            self.data_term = residual_error(A, W, H)
        else:
            self.data_term = squared_error(self.norm_A_sq, WtA, WtW, H)
        return self.data_term + lam * self._graph_term(H)

    def objective(self):
        """``||A - W H||_F² + lam tr(H L Hᵀ)``, the error from the residual (exact)."""
        self.data_term = residual_error(self.A, self.W, self.H)
        return self.data_term + self.lam * self._graph_term(self.H)

    def relative_error(self):
        """``||A - W H||_F / ||A||_F`` of the current factors (what ``history`` shows)."""
        return float(np.sqrt(self.data_term / self.norm_A_sq))

    def previous_objective(self):
        """None: the updates are in place, the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H
