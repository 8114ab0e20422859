"""Discriminant NMF (Zafeiriou, Tefas, Buciu & Pitas 2006): KL divergence plus Fisher's
scatter terms of the weights, supervised by the faces' identities.

References
----------
S. Zafeiriou, A. Tefas, I. Buciu and I. Pitas, "Exploiting discriminant information in
nonnegative matrix factorization with application to frontal face verification", IEEE
Trans. Neural Networks 17(3), 683-695, 2006. doi:10.1109/TNN.2006.873291
"""

from __future__ import annotations

import numpy as np

from ._graph import check_labels, require_labels
from ._kl import kl_project, simplex_columns, simplex_update
from ._loss import kl_constant, kl_divergence, squared_norm
from ._solver import Option, number

__all__ = ["DNMF", "scatter_traces"]


def scatter_traces(H, codes, counts):
    """``(tr S_w, tr S_b)`` of the columns of ``H`` (k, m) grouped by ``codes`` (m,) (class
    sizes ``counts``), in float64: within-class ``sum_l ||h_l - mu_r(l)||²`` and
    between-class ``sum_r N_r ||mu_r - mu||²``."""
    H = H.astype(np.float64)
    sums = np.zeros((H.shape[0], counts.size))
    np.add.at(sums.T, codes, H.T)
    total = float(np.einsum("ij,ij->", H, H))
    class_part = float(np.sum(sums ** 2 / counts))
    overall = float(np.sum(H.sum(axis=1) ** 2)) / H.shape[1]
    return total - class_part, class_part - overall


class DNMF:
    """State of a DNMF fit (``loss="kl"``): with ``W``'s columns summing to 1,

        min  D(A || W H) + (gamma tr S_w - delta tr S_b) / mean face sum

    over ``W, H >= 0``, ``S_w`` and ``S_b`` the within- and between-identity scatter
    matrices of the columns of ``H`` (``labels``, one per face): Zafeiriou et al.'s
    objective, with the scatter weighted by the mean pixel sum of a face, ``sum(A) /
    n_faces``, so that ``gamma`` and ``delta`` mean the same at any intensity scale (the
    paper's weights are ``gamma`` and ``delta`` divided by it). The ``W`` update is the
    paper's (KL multiplicative update, columns brought to unit sum), the exact minimizer
    of the divergence's auxiliary function over columns of unit sum. For ``H`` we use our
    own majorizer, of the same form as the paper's update: Jensen's inequality on the
    divergence, the concave part of ``-delta tr S_b`` (the class means) replaced by its
    tangent and the convex coupling through the overall mean bounded by its curvature;
    each entry then solves a quadratic equation. Both updates lower the objective at every step; unlike the paper's ``H`` update, ours needs
    no condition on ``gamma``, ``delta`` and the class sizes.

    For ``delta > 0`` the paper's objective is unbounded below: scaling up weights whose
    classes are apart lowers ``-delta tr S_b`` quadratically while the divergence rises
    only linearly, and the iterates do run away (measured: the objective fell to -1e57 in
    200 steps on random faces and labels). So we also keep each face's weights summing to
    its pixel sum, ``sum_k H_kl = sum_i A_il`` (with unit column sums of ``W``, ``W H``
    then has each face's total intensity), a constraint every minimizer of the divergence
    alone satisfies: it removes only the runaway direction, and the objective is bounded.
    The ``H`` update minimizes the auxiliary function under it, one multiplier per face
    (:func:`facenmf.nmf._kl.simplex_update`).

    ``gamma = delta = 1`` by default: one unit of scatter weighs as much as the
    divergence's own curvature at the faces' scale (the paper gives no values for face
    images; not tuned on any database). ``history`` records the relative divergence
    ``D(A || W H) / sum(A)``.

    The weights of a new face (no identity, so no scatter) minimize the divergence with
    ``W`` fixed: the KL projection (:meth:`facenmf.NMF.transform`).
    """

    losses = ("kl",)
    options = {
        "labels": Option(None, "one int or str label per face (required)", check_labels),
        "gamma": Option(1.0, "weight of the within-class scatter tr S_w, relative to the mean "
                        "face sum", number(0)),
        "delta": Option(1.0, "weight of the between-class scatter tr S_b (subtracted), "
                        "relative to the mean face sum", number(0)),
    }
    improved = True  # every step is a descent step
    variant = True  # a face NMF variant: constraints or penalties beside the loss
    exact = True  # the objective is always computed from W H

    @staticmethod
    def check_options(options, shape):
        """``labels`` are required, one per face."""
        return require_labels("dnmf", options, shape[1], "")

    @staticmethod
    def transform(A, W, mask=None):
        """KL projection of faces ``A`` onto ``W`` (argmin_h D(a || W h), exact to 1e-9)."""
        return kl_project(A, W, mask).astype(W.dtype)

    def __init__(self, A, W, H, *, loss="kl", labels=None, gamma=1.0, delta=1.0):
        if labels is None:
            raise ValueError("solver_options['labels']: solver 'dnmf' needs the faces' labels")
        self.A, self.norm_A_sq = A, squared_norm(A)
        m = A.shape[1]
        Ws, sums = simplex_columns(np.asarray(W))
        self.W = np.array(Ws, order="C")
        self.H = np.array(H * sums[:, None].astype(H.dtype), order="C")
        # Each face's weights sum to its pixel sum (so W H keeps it; see the class notes).
        self.face_sums = A.sum(axis=0, dtype=np.float64)
        totals = self.H.sum(axis=0, dtype=np.float64)
        self.H *= np.where(totals > 0, self.face_sums / np.where(totals > 0, totals, 1), 0
                           ).astype(self.H.dtype)
        _, self.codes, self.counts = np.unique(labels, return_inverse=True, return_counts=True)
        self.codes = self.codes.reshape(-1)
        self.sum_A = float(A.sum(dtype=np.float64))
        scale = self.sum_A / m
        self.gamma, self.delta = gamma / scale, delta / scale
        self.eps = np.finfo(A.dtype).eps
        self.kl_constant = kl_constant(A)
        self.WH = self.W @ self.H
        self.divergence = None

    def _class_means(self, H):
        sums = np.zeros((H.shape[0], self.counts.size))
        np.add.at(sums.T, self.codes, H.astype(np.float64).T)
        return (sums / self.counts)[:, self.codes]  # (k, m): each face's class mean

    def step(self):
        A, H, g, d = self.A, self.H, self.gamma, self.delta
        C = self.W * ((A / np.maximum(self.WH, self.eps)) @ H.T)
        self.W = simplex_update(C, np.zeros(1)).astype(A.dtype)
        WH = self.W @ H
        # The auxiliary function of the penalty at H' = H, entry by entry:
        # (q/2) h² + p h with q = 2 (gamma + delta) and
        # p = -2 (gamma + delta) mu_class + 2 delta mu_all - 2 delta h'.
        H64 = H.astype(np.float64)
        p = (-2 * (g + d) * self._class_means(H64) + 2 * d * H64.mean(axis=1, keepdims=True)
             - 2 * d * H64)
        C = (self.W.T @ (A / np.maximum(WH, self.eps))) * H
        shift = self.W.sum(axis=0, dtype=np.float64)[:, None] + p
        self.H = simplex_update(C, 2 * (g + d), shift, self.face_sums).astype(A.dtype)
        self.WH = self.W @ self.H
        return self.objective()

    def objective(self):
        """``D(A || W H) + (gamma tr S_w - delta tr S_b) / mean face sum`` (float64)."""
        self.divergence = kl_divergence(self.A, self.WH, self.eps, self.kl_constant)
        within, between = scatter_traces(self.H, self.codes, self.counts)
        return self.divergence + self.gamma * within - self.delta * between

    def relative_error(self):
        """``D(A || W H) / sum(A)`` of the current factors (what ``history`` shows)."""
        return self.divergence / self.sum_A

    def previous_objective(self):
        """None: the previous factors are not kept."""
        return None

    def factors(self):
        return self.W, self.H
