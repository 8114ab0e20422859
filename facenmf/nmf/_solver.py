"""What a solver is: the protocol every entry of the registry follows, and its options.

A solver is a class (or a function returning an object) registered by name in
:data:`facenmf.nmf.SOLVERS` (``_registry.py``). :func:`facenmf.nmf.nmf` validates the
data and the solver's options, builds the initial factors, constructs the solver and then
only calls :meth:`Solver.step` until it stops; the solver owns the update rule. Adding a
solver is writing one module with such a class and adding one line to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Protocol

import numpy as np

from .. import _validation as v

__all__ = ["Solver", "Option", "check_solver_options"]


@dataclass(frozen=True)
class Option:
    """One keyword option of a solver: its default, what it does, and its checker.

    ``check(name, value)`` returns the checked value or raises ``TypeError``/``ValueError``
    naming ``name`` (a checker of :mod:`facenmf._validation` with its bounds bound).
    """

    default: Any
    doc: str
    check: Callable[[str, Any], Any]


def number(low=None, *, low_inclusive=True, high=None):
    """Checker of a finite number ``>= low`` (or ``> low``) and ``<= high``."""
    return lambda name, value: v.check_number(name, value, low=low, high=high,
                                              low_inclusive=low_inclusive)


#: Checker of a ``bool``.
flag = v.check_bool


class Solver(Protocol):
    """The protocol of a solver of ``A ≈ W H``, ``A`` of shape (n_pixels, n_faces).

    Class attributes
    ----------------
    losses : tuple of str
        The losses it minimizes (a subset of :data:`facenmf.nmf.LOSSES`).
    options : mapping of str to Option
        The keyword options it accepts beyond ``loss``; :func:`facenmf.nmf.nmf` passes
        ``solver_options`` through after checking them against this table.
    streams : bool, optional
        True if it also accepts, as ``A``, a :class:`facenmf.nmf._blocks.Columns` over data
        read block by block (memory-mapped or on-disk arrays); absent means False.
    sparse : tuple of str, optional
        The losses for which it also accepts a ``scipy.sparse`` ``A`` (canonical CSC, of the
        working dtype), using only products with it (``A Hᵀ``, ``Wᵀ A``: see
        :mod:`facenmf.nmf._sparse`) and :mod:`._loss`'s norms and errors, which take sparse
        ``A``; absent means none.
    variant : bool, optional
        True for a face NMF variant, whose objective adds constraints or penalties to its
        loss (``"nmfsc"``, ``"lnmf"``, ``"gnmf"``, ``"dnmf"``); absent means False.
    keeps_H : bool, optional
        True if :func:`nmf` returns the solver's own ``H`` (a constrained or penalized one)
        instead of the exact projection of ``A`` onto the final ``W`` (Frobenius loss).
    check_options : callable, optional
        ``check_options(options, shape)`` checks options against the data's shape (e.g.
        ``labels``, one per face, required) and returns them; called by :func:`nmf`.
    transform : callable, optional
        ``transform(A, W, mask)``: the weights of new faces minimizing the solver's
        objective with ``W`` fixed (for :meth:`facenmf.NMF.transform`); absent means the
        non-negative least-squares projection.

    Construction
    ------------
    ``Solver(A, W, H, *, loss, **options)`` with checked, C-contiguous ``A`` (n, m),
    initial ``W`` (n, k) and ``H`` (k, m) of ``A``'s dtype (the solver may update them in
    place). It sets ``norm_A_sq`` (``||A||_F²`` in float64).

    Instance attributes
    -------------------
    norm_A_sq : float
        ``||A||_F²``, for relative errors.
    improved : bool
        False after a step that did not lower the objective of :meth:`factors` (an
        extrapolation restart): such a step does not count for the ``tol`` test.
    exact : bool
        Set to True by :func:`nmf` near convergence: :meth:`step` then computes its
        objective from the residual instead of a cheaper formula with rounding error.
    """

    losses: ClassVar[tuple[str, ...]]
    options: ClassVar[Mapping[str, Option]]
    norm_A_sq: float
    improved: bool
    exact: bool

    def step(self) -> float:
        """One outer iteration (W then H); returns the objective of :meth:`factors` (the
        squared Frobenius error for ``"frobenius"``, the divergence for ``"kl"``)."""

    def objective(self) -> float:
        """The objective of :meth:`factors`, computed exactly (from the residual)."""

    # Optional: ``relative_error()``, the relative error of the current factors (as in
    # :class:`facenmf.nmf.History`) when the objective has a penalty beside the loss; then
    # ``history`` records it while the tol test uses the objective.

    def previous_objective(self) -> float | None:
        """The exact objective of the factors before the last step, or None if not kept."""

    def factors(self) -> tuple[np.ndarray, np.ndarray]:
        """The current best ``(W, H)`` (views: read, do not modify)."""


def check_solver_options(solver: str, table: Mapping[str, Option], options) -> dict:
    """Return ``options`` (a mapping or None) checked against a solver's option table."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise TypeError(f"solver_options: expected a dict of options of solver {solver!r}, got "
                        f"{type(options).__name__} {options!r}")
    checked = {}
    for key, value in options.items():
        if key not in table:
            valid = sorted(table) or "none"
            raise ValueError(f"solver_options: solver {solver!r} has no option {key!r}; its "
                             f"options are {valid}")
        checked[key] = table[key].check(f"solver_options[{key!r}]", value)
    return checked
