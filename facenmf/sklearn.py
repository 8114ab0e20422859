"""scikit-learn's ``NMF``, fitted by facenmf: ``facenmf.sklearn.NMF``.

The one module that speaks scikit-learn's orientation: ``X`` is ``(n_samples, n_features)``,
one face per **row**, the transpose of facenmf's ``A``. Fitting ``X`` is fitting
``A = Xᵀ`` with :func:`facenmf.nmf`; scikit-learn's ``components_`` is facenmf's ``Wᵀ`` and
what ``transform`` returns (scikit-learn's ``W``) is facenmf's ``Hᵀ``. Needs scikit-learn
(``pip install 'facenmf[sklearn]'``); ``import facenmf`` never imports it.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np

try:
    from sklearn import get_config
    from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
    from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
    from sklearn.utils._param_validation import Interval, StrOptions
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.validation import check_is_fitted, check_non_negative
except ImportError:  # one line, naming the extra
    raise ImportError("facenmf.sklearn needs scikit-learn: pip install 'facenmf[sklearn]'") \
        from None
try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6
    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)

from . import _validation as v
from .nmf import NMF as _OnlineModel, SOLVERS, ConvergenceWarning as _Warning, nmf, project
from .nmf._beta import canonical_loss, loss_beta, loss_kind

__all__ = ["NMF", "ConvergenceWarning"]


class ConvergenceWarning(_Warning, _SklearnConvergenceWarning):
    """The fit stopped at ``max_iter`` before meeting ``tol``: both facenmf's and
    scikit-learn's ``ConvergenceWarning``, so a filter on either catches it."""


#: scikit-learn's solver names that are not facenmf's: "cd" (coordinate descent) is HALS,
#: which is exact coordinate descent on the rows of each factor, as scikit-learn's "cd".
SOLVER_NAMES = {"cd": "hals"}
#: scikit-learn's names of beta-divergences, and facenmf's losses by beta.
_BETAS = {"frobenius": 2.0, "kullback-leibler": 1.0, "itakura-saito": 0.0}
_LOSS_OF_BETA = {2.0: "frobenius", 1.0: "kl", 0.0: "itakura-saito"}


class NMF(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Non-negative matrix factorization with scikit-learn's interface, fitted by facenmf.

    A drop-in for :class:`sklearn.decomposition.NMF`: the same orientation (``X`` of
    shape (n_samples, n_features), ``X ≈ W H`` with ``W`` (n_samples, n_components) what
    :meth:`transform` returns and ``H`` (n_components, n_features) = ``components_``), the
    same parameter names and attributes. The fit is :func:`facenmf.nmf` of ``A = Xᵀ``
    (facenmf's orientation; its basis ``W`` is ``components_.T``, its weights ``H`` are
    ``W.T`` here). Dense arrays and ``scipy.sparse`` matrices (CSR, CSC) are accepted;
    sparse ``X`` is never densified.

    Parameters
    ----------
    n_components : int, "auto" or None, default="auto"
        Number of components. None: all features; ``"auto"``: the rows of ``H`` with
        ``init="custom"``, else all features. It must be at most
        ``min(n_samples, n_features)`` (scikit-learn also allows more with a random start).
    init : {"random", "nndsvd", "nndsvda", "nndsvdar", "custom"} or None, default=None
        The start, as scikit-learn's (None: ``"nndsvda"``); ``"custom"`` uses the ``W``
        and ``H`` given to :meth:`fit`.
    solver : str, default="cd"
        ``"cd"`` (coordinate descent) runs facenmf's ``"hals"``, accelerated HALS, which
        updates each row of a factor exactly in turn as scikit-learn's ``"cd"`` does, with
        extrapolation; ``"mu"`` multiplicative updates. Any facenmf solver name
        (:data:`facenmf.SOLVERS`: ``"hals"``, ``"mu"``, ``"anls"``, ...) is accepted too.
    beta_loss : float or {"frobenius", "kullback-leibler", "itakura-saito"}, \
default="frobenius"
        The beta-divergence minimized (2 = "frobenius", 1 = "kullback-leibler", facenmf's
        ``loss="kl"``, 0 = "itakura-saito", or any beta). Betas other than 2 need
        ``solver="mu"`` (Févotte & Idier's updates, as scikit-learn's), or ``"klcd"`` for
        KL; a beta <= 0 needs every entry of ``X`` positive. :meth:`transform` stays the
        exact least-squares projection whatever the loss.
    tol : float, default=1e-4
        facenmf's stopping rule: stop when an iteration lowers the relative error by less
        than ``tol`` relative to the previous one (scikit-learn's ``"cd"`` compares the
        projected gradient's norm with ``tol`` times the first one instead).
    max_iter : int, default=200
        Maximum number of iterations (each updates both factors).
    random_state : int, RandomState instance or None, default=None
        Seed of the random starts (and of the randomized SVD of NNDSVD starts on data
        with both sides above 1500).
    alpha_W, alpha_H, l1_ratio : float, default=0.0, "same", 0.0
        scikit-learn's regularization, with its objective: ``alpha_W`` penalizes its ``W``
        (the transformed data, facenmf's ``H``) by ``alpha_W * n_features * (l1_ratio
        ||W||_1 + 0.5 (1 - l1_ratio) ||W||_F²)``, ``alpha_H`` (``"same"``: ``alpha_W``)
        its ``H`` (``components_``, facenmf's basis ``W``) by the same with ``n_samples``.
        They run as facenmf's ``alpha_H`` and ``alpha_W`` (swapped names, the same
        objective). :meth:`transform` keeps the penalty of ``W``, exactly, as
        scikit-learn's does; the components are then not scaled to unit norm.
        :meth:`partial_fit` exists only without regularization.
    verbose : int, default=0
        Print the relative error after every iteration and a summary at the end.
    solver_options : dict or None, default=None
        facenmf's options of the solver (``solver_options`` of :func:`facenmf.nmf`).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The basis; without regularization each row has unit L2 norm (facenmf's
        convention; the scale is in the transformed data).
    n_components_ : int
        Number of components.
    reconstruction_err_ : float
        ``||X - W H||_F`` of the fit (scikit-learn's definition: the Frobenius norm, not
        relative; for ``beta_loss`` other than 2, ``sqrt(2 D_beta(X || W H))``). After
        :meth:`partial_fit`: of the last batch, coded on the basis before that batch.
    n_iter_ : int
        Iterations of the fit (batches, after :meth:`partial_fit`).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when ``X`` had string column names.

    Notes
    -----
    :meth:`transform` is exact: each row is the solution of a non-negative least-squares
    problem on the fixed ``components_`` (:func:`facenmf.project`), so
    ``fit_transform(X)`` equals ``fit(X).transform(X)``. The computation runs in ``X``'s
    precision (float32 stays float32, others become float64). There is no ``shuffle``.
    A fit stopped by ``max_iter`` before ``tol`` warns :class:`ConvergenceWarning`.

    Examples
    --------
    >>> import numpy as np
    >>> from facenmf.sklearn import NMF
    >>> X = np.array([[1, 1], [2, 1], [3, 1.2], [4, 1], [5, 0.8], [6, 1]])
    >>> model = NMF(n_components=2, init="random", random_state=0)
    >>> W = model.fit_transform(X)
    >>> W.shape, model.components_.shape
    ((6, 2), (2, 2))
    >>> bool(np.allclose(W, model.transform(X)))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None,
                         StrOptions({"auto"})],
        "init": [StrOptions({"random", "nndsvd", "nndsvda", "nndsvdar", "custom"}), None],
        "solver": [StrOptions({*SOLVER_NAMES, *SOLVERS})],
        "beta_loss": [StrOptions(set(_BETAS)), Real],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "alpha_W": [Interval(Real, 0, None, closed="left")],
        "alpha_H": [Interval(Real, 0, None, closed="left"), StrOptions({"same"})],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "verbose": ["verbose"],
        "solver_options": [dict, None],
    }

    def __init__(self, n_components="auto", *, init=None, solver="cd",
                 beta_loss="frobenius", tol=1e-4, max_iter=200, random_state=None,
                 alpha_W=0.0, alpha_H="same", l1_ratio=0.0, verbose=0, solver_options=None):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.beta_loss = beta_loss
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.verbose = verbose
        self.solver_options = solver_options

    # -- checks -----------------------------------------------------------------------
    def _validate(self):
        if not get_config().get("skip_parameter_validation", False):
            self._validate_params()

    def _check_X(self, X, reset):
        X = validate_data(self, X, accept_sparse=("csr", "csc"),
                          dtype=[np.float64, np.float32], reset=reset)
        check_non_negative(X, "NMF (input X)")
        return X

    def _loss(self):
        """facenmf's ``(solver, loss)`` for this estimator's ``solver`` and ``beta_loss``."""
        solver = SOLVER_NAMES.get(self.solver, self.solver)
        loss = canonical_loss(float(_BETAS.get(self.beta_loss, self.beta_loss)))
        if loss_kind(loss) not in SOLVERS[solver].losses:
            able = sorted(n for n, s in SOLVERS.items()  # plain ones: no face variants
                          if loss_kind(loss) in s.losses and not getattr(s, "variant", False))
            raise ValueError(f"beta_loss={self.beta_loss!r}: solver {self.solver!r} does not "
                             f"fit it; solvers {able} do")
        return solver, loss

    def _penalties(self):
        """facenmf's ``(alpha_W, alpha_H)`` from scikit-learn's: scikit-learn's ``alpha_W``
        penalizes its ``W``, the transformed data, which is facenmf's ``H``; its ``alpha_H``
        (``"same"``: ``alpha_W``) penalizes its ``H``, the components, facenmf's ``W``. The
        scalings agree (scikit-learn multiplies the penalty of its ``W`` by ``n_features``,
        facenmf that of its ``H`` by ``n_pixels``, the same number; likewise ``n_samples`` and
        ``n_faces``), so the objective is scikit-learn's, transposed."""
        alpha_H = self.alpha_W if self.alpha_H == "same" else self.alpha_H
        return float(alpha_H), float(self.alpha_W)

    def _rank(self, X, H, batch=False):
        """The number of components for ``X``: at most ``min(n_samples, n_features)`` for a
        fit, ``n_features`` for a batch of :meth:`partial_fit`."""
        n_samples, n_features = X.shape
        rank = self.n_components
        if rank == "auto":
            rank = np.shape(H)[0] if self.init == "custom" and H is not None else n_features
        elif rank is None:
            rank = n_features
        if batch and rank > n_features:
            raise ValueError(f"n_components={rank}: expected at most n_features = "
                             f"{n_features}")
        if not batch and rank > min(n_samples, n_features):
            raise ValueError(f"n_components={rank}: expected at most min(n_samples, "
                             f"n_features) = {min(n_samples, n_features)}; X has "
                             f"n_samples={n_samples}, n_features={n_features}")
        return rank

    def _start(self, X, rank, W, H):
        """facenmf's ``(init, W0, H0)`` from scikit-learn's ``init``, ``W`` and ``H``."""
        if self.init != "custom":
            if W is not None or H is not None:
                warnings.warn("When init!='custom', provided W or H are ignored. Set "
                              "init='custom' to use them as initialization.", RuntimeWarning,
                              stacklevel=3)
            return self.init, None, None
        if W is None or H is None:
            raise ValueError("init='custom': W and H must both be given to fit, got "
                             f"W {'given' if W is not None else 'None'} and "
                             f"H {'given' if H is not None else 'None'}")
        n_samples, n_features = X.shape
        W = v.check_nonnegative_matrix("W", W, X.dtype, shape=(n_samples, rank))
        H = v.check_nonnegative_matrix("H", H, X.dtype, shape=(rank, n_features))
        return "custom", H.T, W.T  # facenmf's basis W0 is scikit-learn's H transposed

    def _callback(self, started):
        if not self.verbose:
            return None

        def report(iteration, W, H, error):
            print(f"Iteration {iteration}: relative error {error:.6g} "
                  f"({time.perf_counter() - started:.3f} s)")
        return report

    # -- fitting ------------------------------------------------------------------------
    def fit(self, X, y=None, W=None, H=None):
        """Learn the components of ``X`` (n_samples, n_features); returns ``self``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Non-negative training data, one sample (face) per row.
        y : Ignored
        W : array-like of shape (n_samples, n_components), optional
            Initial transformed data, with ``init="custom"``.
        H : array-like of shape (n_components, n_features), optional
            Initial components, with ``init="custom"``.
        """
        self.fit_transform(X, W=W, H=H)
        return self

    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn the components of ``X`` and return its transformed data.

        The same as ``fit(X).transform(X)``: the exact non-negative least-squares weights
        of each row of ``X`` on the final ``components_`` (arguments as in :meth:`fit`).

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
        """
        self._validate()
        X = self._check_X(X, reset=True)
        solver, loss = self._loss()
        if loss_beta(loss) <= 0 and (X.nnz < np.prod(X.shape) if hasattr(X, "nnz")
                                     else not np.all(X > 0)):
            raise ValueError(f"X: beta_loss={self.beta_loss!r} is undefined where X is 0, and X "
                             "has zeros (add a small positive offset to X, or use a beta_loss "
                             "> 0)")
        if hasattr(X, "nnz") and loss != "frobenius":
            raise ValueError(f"X: beta_loss={self.beta_loss!r} needs a dense X, got a "
                             "scipy.sparse matrix; pass X.toarray()")
        rank = self._rank(X, H)
        init, W0, H0 = self._start(X, rank, W, H)
        started = time.perf_counter()
        with warnings.catch_warnings():  # re-issued below as this module's class
            warnings.simplefilter("ignore", _Warning)
            alpha_W, alpha_H = self._penalties()
            fit = nmf(X.T, rank, solver=solver, init=init, loss=loss, alpha_W=alpha_W,
                      alpha_H=alpha_H, l1_ratio=self.l1_ratio,
                      max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
                      callback=self._callback(started), W0=W0, H0=H0, dtype=X.dtype,
                      solver_options=self.solver_options)
        if fit.stop_reason == "max_iter" and self.tol > 0:
            warnings.warn(f"Maximum number of iterations {self.max_iter} reached before the "
                          f"relative error decreased by less than tol={self.tol} (last "
                          f"{fit.error:.6g}). Increase it to improve convergence.",
                          ConvergenceWarning, stacklevel=2)
        if self.verbose:
            print(f"facenmf {solver!r}: {fit.n_iter} iterations ({fit.stop_reason}), "
                  f"relative error {fit.error:.6g}, {time.perf_counter() - started:.3f} s")
        self.components_ = fit.W.T
        self.n_components_ = rank
        self.n_iter_ = int(fit.n_iter)
        self.reconstruction_err_ = _absolute_error(X, fit.error, loss)
        self._online = None  # a later partial_fit starts from this basis
        return self._project(X)

    def _online_able(self):
        """partial_fit exists for the Frobenius loss without regularization (facenmf's
        online NMF): ``hasattr(model, "partial_fit")`` tells, as scikit-learn expects."""
        return (float(_BETAS.get(self.beta_loss, self.beta_loss)) == 2.0
                and not any(self._penalties()))

    @available_if(_online_able)
    def partial_fit(self, X, y=None, W=None, H=None):
        """Update the components with one batch ``X`` (n_batch, n_features); returns self.

        facenmf's online NMF (:meth:`facenmf.NMF.partial_fit`, Mairal et al. 2010):
        the batch is coded on the current components, its statistics join running sums
        and HALS sweeps update the components (``solver`` and ``tol`` are not used;
        Frobenius loss only). The first call starts from ``init`` on the batch (None:
        facenmf's online default ``"random"``; ``"custom"``: ``H``) or from the
        components of an earlier :meth:`fit`.
        """
        first = not hasattr(self, "components_")
        if first:
            self._validate()
        X = self._check_X(X, reset=first)
        solver, loss = self._loss()
        model = getattr(self, "_online", None)
        if model is None:
            model = _OnlineModel(rank=self._rank(X, H, batch=True) if first
                                 else self.n_components_,
                                 init=None if self.init in (None, "custom") else self.init,
                                 random_state=self.random_state, dtype=X.dtype)
            if not first:
                model.W = np.array(self.components_.T, dtype=X.dtype, order="C")
            elif self.init == "custom":
                model.W = self._start(X, model.rank, W, H)[1].copy()
        model.partial_fit(X.T)
        self._online = model
        self.components_ = model.W.T
        self.n_components_ = model.rank
        self.n_iter_ = int(model.result.n_iter)
        self.reconstruction_err_ = _absolute_error(X, model.result.error, "frobenius")
        return self

    # -- using a fitted model -------------------------------------------------------
    def _project(self, X):
        # scikit-learn's transform keeps the penalty of its W (facenmf's H): the same here.
        return np.ascontiguousarray(project(X.T, self.components_.T,
                                            alpha_H=self._penalties()[1],
                                            l1_ratio=self.l1_ratio).T)

    def transform(self, X):
        """The exact non-negative weights of ``X`` on the components.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        W : ndarray of shape (n_samples, n_components)
            Each row the solution of ``min_{w >= 0} ||x - w components_||``.
        """
        check_is_fitted(self)
        return self._project(self._check_X(X, reset=False))

    def inverse_transform(self, X):
        """Data ``X @ components_`` (n_samples, n_features) from transformed ``X``
        (n_samples, n_components)."""
        check_is_fitted(self)
        return X @ self.components_

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        # Sparse X is fitted with the Frobenius loss (the products; never densified).
        tags.input_tags.sparse = float(_BETAS.get(self.beta_loss, self.beta_loss)) == 2.0
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"requires_positive_X": True, "preserves_dtype": [np.float64, np.float32]}


def _absolute_error(X, relative, loss):
    """scikit-learn's ``reconstruction_err_`` from facenmf's relative error: ``||X - W H||_F``
    from ``||X - W H||_F / ||X||_F``, and ``sqrt(2 D)`` from a relative divergence
    ``D / sum(X^beta)`` (``D / sum(X)`` for KL)."""
    data = X.data if hasattr(X, "nnz") else X
    if loss == "frobenius":
        subscripts = "i,i->" if data.ndim == 1 else "ij,ij->"
        return float(relative * np.sqrt(np.einsum(subscripts, data, data, dtype=np.float64)))
    beta = loss_beta(loss)
    data = np.asarray(data, dtype=np.float64)
    if beta == 1:
        scale = data.sum()
    elif beta == 0:
        scale = float(np.prod(X.shape))  # every entry is positive (beta 0 needs it)
    else:  # 0^beta = 0 for beta > 0, so a sparse matrix's stored entries are all of it
        scale = np.power(data, beta, where=data > 0, out=np.zeros_like(data)).sum()
    return float(np.sqrt(2.0 * relative * scale))
