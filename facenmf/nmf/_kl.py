"""Majorize-minimize steps for KL objectives in ``H`` with ``W`` fixed, and the projection.

The objective of one face ``a`` (n_pixels,) on a basis ``W`` (n_pixels, rank), over its
weights ``h >= 0``, is

    F(h) = sum_v [(W h)_i - a_i log (W h)_i] + sum_k (q_k / 2 h_k² + p_k h_k)

over the pixels ``v`` a mask leaves visible: the generalized KL divergence ``D(a || W h)``
up to a constant, plus a separable quadratic. ``q = p = 0`` is the plain KL projection
(DNMF's weights of a new face); ``q = 1, p = -1`` on a basis of unit column sums is LNMF's
(Li et al. 2001); DNMF's fit uses per-entry ``q``, ``p`` from its scatter terms. Jensen's
inequality on ``log (W h)`` at the current ``h'`` gives an auxiliary function whose exact
minimizer, entry by entry, solves ``q h² + (s + p) h - c h' = 0`` with ``s = sum_v W`` and
``c = Wᵀ (a / W h')`` over the visible pixels: :func:`kl_mm_step`. Each step lowers
``F`` (the auxiliary function touches ``F`` at ``h'`` and lies above it), and ``F`` is
strictly convex when ``q > 0`` or ``W`` has full column rank, so the steps converge to its
minimizer: :func:`kl_project` iterates them to a tolerance.

References
----------
D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", NIPS 13,
556-562, 2001 (the auxiliary function of the KL divergence).
"""

from __future__ import annotations

import numpy as np

__all__ = ["kl_mm_step", "kl_objective", "kl_project", "simplex_columns", "simplex_update"]

# Faces per block in kl_project: the float64 work arrays stay (n_pixels, _FACES).
_FACES = 1024
# Entries of the temporary of _hessians (16 MB in float64).
_HESSIAN_ENTRIES = 1 << 21
# Majorize-minimize steps before Newton's: they move the start inside the positive orthant;
# with q > 0 up to _MM_MAX of them, while they converge fast.
_MM_STEPS = 10
_MM_MAX = 300
# Newton steps for the multiplier of a column's sum in simplex_update (quadratic convergence
# from a start below the root: a few suffice; the cap is a safeguard).
_NEWTON = 60


def simplex_columns(W):
    """``(W / s, s)``: ``W`` (n, k) with unit column sums and the sums ``s`` (k,) (a zero
    column stays zero, its sum is reported as 1)."""
    s = W.sum(axis=0, dtype=np.float64)
    s = np.where(s > 0, s, 1.0)
    return (W / s).astype(W.dtype, copy=False), s


def simplex_update(C, U, shift=None, total=None):
    """Columns ``x`` minimizing ``sum_i (U_i x_i² / 2 + shift_i x_i - C_i log x_i)`` subject
    to ``sum_i x_i = total``, column by column, for ``C >= 0`` of shape (n, k) and ``U``,
    ``shift`` broadcasting to it (float64; ``total`` (k,), default 1).

    ``x_i = 2 C_i / (y_i + sqrt(y_i² + 4 U_i C_i))``, ``y_i = lam + shift_i``, for the
    multiplier ``lam`` of the column found by Newton's method on the (convex, decreasing)
    sum, started below its root so that the iterates rise to it monotonically. ``U`` must
    be > 0 where ``C > 0``, or 0 on a whole column whose ``shift`` is constant (then ``x =
    total C / sum C``). Entries with ``C = 0`` come back 0.
    """
    C = C.astype(np.float64)
    U = np.broadcast_to(np.asarray(U, dtype=np.float64), C.shape)
    shift = np.zeros(C.shape) if shift is None else np.broadcast_to(
        np.asarray(shift, dtype=np.float64), C.shape)
    total = np.ones(C.shape[1]) if total is None else np.asarray(total, dtype=np.float64)
    pos = C > 0
    csum = C.sum(axis=0)
    plain = ~(pos & (U > 0)).any(axis=0)  # columns with U = 0: a closed form
    with np.errstate(divide="ignore", invalid="ignore"):
        at_zero = np.where(pos, np.sqrt(C / U), 0).sum(axis=0)
        inv = np.where(pos, 1 / U, 0).sum(axis=0)
        start = np.where(at_zero >= total, 0.0, -total / np.where(inv > 0, inv, 1.0))
    lam = start - np.where(pos, shift, -np.inf).max(axis=0)
    lam = np.where(plain | ~np.isfinite(lam), 0.0, lam)

    def values(lam):
        y = lam + shift
        root = np.sqrt(y * y + 4 * U * C)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(y >= 0, 2 * C / (y + root), (root - y) / (2 * U))
        return np.where(pos, x, 0), root

    for _ in range(_NEWTON):
        x, root = values(lam)
        g = x.sum(axis=0) - total
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = -np.where(pos, x / root, 0).sum(axis=0)
        ok = (slope < 0) & ~plain
        lam = lam - np.where(ok, g / np.where(ok, slope, -1.0), 0)
        if np.all(np.abs(np.where(plain, 0, g)) <= 1e-13 * np.maximum(total, 1e-300)):
            break
    x, _ = values(lam)
    x = np.where(plain, C / np.where(csum > 0, csum, 1.0) * total, x)
    s = x.sum(axis=0)
    return x * np.where(s > 0, total / np.where(s > 0, s, 1.0), 0)


def _ratio(A, WH, mask, eps):
    R = A / np.maximum(WH, eps)
    if mask is not None:
        R[mask] = 0
    return R


def kl_mm_step(A, W, H, q=0.0, p=0.0, *, mask=None, WH=None, s=None):
    """One majorize-minimize step of ``F`` (the module's objective) for every column of
    ``H`` (k, m) at once; returns the new ``H`` (a new array).

    ``A`` (n, m), ``W`` (n, k); ``q``, ``p`` scalars or arrays broadcasting to ``H``
    (``q >= 0``; where ``q = 0``, ``s + p`` must be > 0); ``mask`` None or bool (n, m) or
    (n,), True where a pixel is ignored; ``WH`` the product ``W @ H`` if the caller has it;
    ``s`` the visible column sums of ``W``, ``sum_v W`` (k, m) or (k, 1), if known.
    """
    eps = np.finfo(A.dtype).eps
    if WH is None:
        WH = W @ H
    if mask is not None and mask.ndim == 1:
        mask = np.broadcast_to(mask[:, None], A.shape)
    C = (W.T @ _ratio(A, WH, mask, eps)) * H  # c h'
    if s is None:
        s = W.sum(axis=0)[:, None] if mask is None else W.T @ (~mask).astype(W.dtype)
    b = s + p
    q = np.asarray(q, dtype=A.dtype)
    # Roots of q h² + b h - C = 0, h >= 0, in the form without cancellation for each sign
    # of b: 2C / (b + root) when b >= 0, (root - b) / (2q) when b < 0 (then q > 0).
    root = np.sqrt(b * b + 4 * q * C)
    with np.errstate(divide="ignore", invalid="ignore"):
        H_new = np.where(b >= 0, 2 * C / (b + root), (root - b) / (2 * q))
    H_new[C <= 0] = 0  # an entry at zero (or with no data) stays zero
    return H_new.astype(A.dtype, copy=False)


def kl_objective(A, W, H, q=0.0, p=0.0, *, mask=None, WH=None):
    """``F`` of each face (m,), in float64 (``0 log 0 = 0``)."""
    if WH is None:
        WH = W @ H
    WH = np.maximum(WH.astype(np.float64), np.finfo(A.dtype).eps)
    terms = WH - A * np.log(WH)
    if mask is not None:
        terms[np.broadcast_to(mask if mask.ndim == 2 else mask[:, None], A.shape)] = 0
    H = H.astype(np.float64)
    penalty = (0.5 * np.asarray(q) * H + np.asarray(p)) * H
    return terms.sum(axis=0) + np.broadcast_to(penalty, H.shape).sum(axis=0)


def _hessians(W, D, q):
    """``Wᵀ diag(D[:, j]) W + q I`` for each column j of ``D`` (n, b): (b, k, k), the
    products in float32 (Newton's matrix needs no more: the gradient, in float64, decides
    where the iterations stop)."""
    k, b = W.shape[1], D.shape[1]
    W32 = W.astype(np.float32)
    out = np.empty((b, k, k))
    step = max(1, _HESSIAN_ENTRIES // (k * W.shape[0]))
    for start in range(0, b, step):
        X = W32.T[None, :, :] * D[:, start:start + step].T.astype(np.float32)[:, None, :]
        out[start:start + step] = X @ W32
    out[:, np.arange(k), np.arange(k)] += q
    return out


def _violation(W, A, H, q, p, visible, s):
    """``(g, WH, R, viol)``: the gradient of ``F``, ``W H``, ``A / W H`` (visible pixels)
    and each face's largest violation of the optimality conditions, relative."""
    WH = W @ H
    R = A / WH if visible is None else A * visible / WH
    WtR = W.T @ R
    g = s + p + q * H - WtR
    scale = np.maximum((s + np.abs(p) + WtR).max(axis=0), 1e-300)
    viol = np.where(H > 0, np.abs(g), np.maximum(-g, 0)).max(axis=0) / scale
    return g, WH, R, viol


def _newton(A, W, H, q, p, visible, s, tol, max_iter):
    """Projected Newton (Bertsekas 1982) on ``F`` for every face of the block, from ``H``
    (k, b), in float64; returns the new ``H``. ``p`` and ``s`` are (k, b); ``visible`` is
    None or (n, b) of 0/1."""
    H = H.copy()
    faces = np.arange(A.shape[1])  # the faces not yet converged
    for _ in range(max_iter):
        if not faces.size:
            break
        a, h, pf, sf = A[:, faces], H[:, faces], p[:, faces], s[:, faces]
        vis = None if visible is None else visible[:, faces]
        g, WH, R, viol = _violation(W, a, h, q, pf, vis, sf)
        going = viol > tol
        faces, a, h, g, WH, R, pf = (faces[going], a[:, going], h[:, going], g[:, going],
                                     WH[:, going], R[:, going], pf[:, going])
        if vis is not None:
            vis = vis[:, going]
        if not faces.size:
            break
        # Bertsekas' epsilon-active set: entries at (or within eps of) zero pushed outwards.
        eps = np.minimum(1e-3 * h.max(axis=0), np.linalg.norm(h - np.maximum(h - g, 0), axis=0))
        bound = (h <= eps) & (g > 0)
        Hs = _hessians(W, R / WH, q)
        free = ~bound
        B = bound.T  # bound rows and columns out of the systems
        diagonal = np.arange(Hs.shape[1])
        kept = np.where(B, 1.0, Hs[:, diagonal, diagonal])
        Hs[B[:, :, None] | B[:, None, :]] = 0
        Hs[:, diagonal, diagonal] = kept
        rhs = np.where(free, g, 0).T[:, :, None]
        try:
            d = -np.linalg.solve(Hs, rhs)[:, :, 0].T
        except np.linalg.LinAlgError:
            d = -np.where(free, g, 0) / np.maximum(np.diagonal(Hs, axis1=1, axis2=2).T, 1e-300)
        d = np.where(bound, -h, d)
        mask = None if vis is None else vis == 0
        f = kl_objective(a, W, h, q, pf, mask=mask, WH=WH)
        step = np.ones(faces.size)
        accepted = np.zeros(faces.size, dtype=bool)
        h_new = h.copy()
        for _ in range(40):  # backtracking, face by face
            todo = ~accepted
            if not todo.any():
                break
            t = np.maximum(h[:, todo] + step[todo] * d[:, todo], 0)
            f_t = kl_objective(a[:, todo], W, t, q, pf[:, todo],
                               mask=None if mask is None else mask[:, todo])
            decrease = np.einsum("ij,ij->j", g[:, todo], t - h[:, todo])
            ok = f_t <= f[todo] + 1e-4 * decrease
            idx = np.flatnonzero(todo)
            h_new[:, idx[ok]] = t[:, ok]
            accepted[idx[ok]] = True
            step[idx[~ok]] /= 2
        H[:, faces] = h_new
        faces = faces[accepted]  # a face whose step found no decrease has converged
    return H


def kl_project(A, W, mask=None, *, q=0.0, p=0.0, visible_sum=True, tol=1e-9, max_iter=100,
               H0=None):
    """Weights ``H`` (k, m) minimizing ``F`` (the module's objective) for each face of ``A``
    (n, m) on the fixed basis ``W`` (n, k), with scalars ``q >= 0`` and ``p``;
    ``visible_sum=False`` leaves the term ``sum_v (W h)_i`` out of ``F``.

    Majorize-minimize steps from ``H0`` (or from the non-negative least-squares weights)
    — a few, or with ``q > 0`` (strongly convex ``F``, where they converge fast) until the
    optimality conditions hold — then projected Newton steps (Bertsekas 1982) in float64
    until each face meets the optimality conditions to ``tol`` relative to the size of its
    gradient's terms (or after ``max_iter`` Newton steps). Inputs are trusted (checked by
    the caller): finite, non-negative, ``mask`` None or bool (n,) / (n, m), True where a
    pixel is ignored. Returns ``H`` in ``W``'s dtype.

    References
    ----------
    D. P. Bertsekas, "Projected Newton methods for optimization problems with simple
    constraints", SIAM J. Control Optim. 20(2), 221-246, 1982. doi:10.1137/0320018
    """
    from ._project import project_unchecked

    k, m = W.shape[1], A.shape[1]
    H = np.zeros((k, m), dtype=W.dtype)
    W64 = W.astype(np.float64)
    for start in range(0, m, _FACES):
        cols = slice(start, start + _FACES)
        Ab = A[:, cols].astype(np.float64)
        b = Ab.shape[1]
        Mb = None if mask is None else (mask if mask.ndim == 1 else mask[:, cols])
        if H0 is not None:
            Hb = H0[:, cols].astype(np.float64)
        else:  # least-squares weights as a start, every entry kept positive so it can move
            Hb = project_unchecked(Ab, W64, Mb)
            Hb = Hb + 1e-3 * np.maximum(Hb.mean(axis=0, keepdims=True), 1e-12)
        Mb2 = None if Mb is None else np.broadcast_to(Mb if Mb.ndim == 2 else Mb[:, None],
                                                      Ab.shape)
        visible = None if Mb2 is None else (~Mb2).astype(np.float64)
        s = np.broadcast_to(W64.sum(axis=0)[:, None] if Mb2 is None else W64.T @ visible,
                            (k, b))
        pb = np.broadcast_to(np.asarray(p, dtype=np.float64), (k, b))
        if not visible_sum:
            pb = pb - s
        todo = np.arange(b)
        for step in range(_MM_MAX if q > 0 else _MM_STEPS):
            Hb[:, todo] = kl_mm_step(Ab[:, todo], W64, Hb[:, todo], q, pb[:, todo],
                                     mask=None if Mb2 is None else Mb2[:, todo],
                                     s=s[:, todo])
            if q > 0 and step % 10 == 9:
                viol = _violation(W64, Ab[:, todo], Hb[:, todo], q, pb[:, todo],
                                  None if visible is None else visible[:, todo],
                                  s[:, todo])[3]
                todo = todo[viol > tol]
                if not todo.size:
                    break
        if todo.size:
            Hb[:, todo] = _newton(Ab[:, todo], W64, Hb[:, todo], q, pb[:, todo],
                                  None if visible is None else visible[:, todo], s[:, todo],
                                  tol, max_iter)
        H[:, cols] = Hb
    return H
