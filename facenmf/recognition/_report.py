"""The result of :func:`evaluate`: :class:`RecognitionReport`, and its confusion counts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RecognitionReport", "dense_confusion", "per_identity"]


@dataclass
class RecognitionReport:
    """Accuracies of every method x metric x condition over the same splits.

    Attributes
    ----------
    results : list of dict
        One per (method, condition, mask, metric): ``method``, ``condition``, ``mask``
        ("known", "unknown" or None for clean probes), ``metric``, ``k``, ``rank``,
        ``mean`` and ``std`` of the accuracy over the splits, ``splits`` and
        ``accuracies``; ``confusion``, the counts of probes of identity ``i`` taken for
        identity ``j`` (indices into :attr:`identities`), summed over the splits, as the
        list of its non-zero entries ``[i, j, count]`` (sparse: its size grows with the
        probes, not with the square of the identities; :meth:`confusion_matrix` makes the
        dense matrix), and ``per_identity``, each identity's accuracy over its probes
        (None for an identity that was never a probe).
    protocol : dict
        How the faces were split (name, train faces per identity, number of splits, seed).
    rank : int
    seconds : dict
        Wall time spent per method (features and classification), and in total.
    examples : dict
        From the first split, for figures: ``probe_index`` (the probes' indices into the
        FaceSet), ``metric`` (the first metric, by which the neighbours below were found)
        and ``conditions``, one dict per probe condition in order (``"clean"`` first):
        ``condition``, ``mask``, ``probes`` (the probes as the recognizer saw them, of shape
        (n_pixels, n_probes)), and per method ``nearest`` (each probe's nearest gallery
        face, an index into the FaceSet) and ``correct`` (whether it was right).
    identities : list of str
        The identities, sorted: the order of each result's ``confusion`` and
        ``per_identity``.
    """

    results: list
    protocol: dict
    rank: int
    seconds: dict
    examples: dict = field(default_factory=dict, repr=False)
    identities: list = field(default_factory=list)

    def table(self):
        """The results as a markdown table (method x metric x condition)."""
        lines = ["| method | condition | mask | metric | k | accuracy (mean ± std) | splits |",
                 "|---|---|---|---|---:|---:|---:|"]
        for r in self.results:
            lines.append(f"| {r['method']} | {r['condition']} | {r['mask'] or '-'} | "
                         f"{r['metric']} | {r['k']} | {100 * r['mean']:.1f}% ± "
                         f"{100 * r['std']:.1f} | {r['splits']} |")
        return "\n".join(lines)

    def chosen_table(self):
        """The settings chosen on each split's gallery (``tune``) as a markdown table: one
        row per tuned result and split."""
        lines = ["| method | condition | split | chosen | inner accuracy |",
                 "|---|---|---:|---|---:|"]
        for r in self.results:
            for i, s in enumerate(r.get("chosen", ())):
                shown = ", ".join(f"{k}={v}" for k, v in s.items() if k != "inner_accuracy")
                lines.append(f"| {r['method']} | {r['condition']} | {i} | {shown} | "
                             f"{100 * s['inner_accuracy']:.1f}% |")
        return "\n".join(lines)

    def confusion_matrix(self, method, condition="clean", metric=None):
        """The dense confusion counts (n_identities, n_identities) of one result: rows the
        probes' identities, columns who they were taken for, in :attr:`identities`'s order.
        ``metric`` None: the method's most accurate one on that condition."""
        rows = [r for r in self.results if r["method"] == method and r["condition"] == condition
                and (metric is None or r["metric"] == metric)]
        if not rows:
            raise ValueError(f"method, condition, metric: no result for {method!r}, "
                             f"{condition!r}, {metric!r}")
        return dense_confusion(max(rows, key=lambda r: r["mean"])["confusion"],
                               len(self.identities))

    def to_json(self):
        """A JSON-ready dict: ``{"results": [...], "protocol": ..., "rank": ..., ...}``."""
        return {"results": [{key: val for key, val in r.items()} for r in self.results],
                "protocol": self.protocol, "rank": self.rank, "seconds": self.seconds,
                "identities": self.identities}


def per_identity(pairs, n):
    """Each identity's accuracy from sparse confusion counts (None where it was never a
    probe)."""
    totals, right = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for (i, j), c in pairs.items():
        totals[i] += c
        if i == j:
            right[i] += c
    return [None if t == 0 else float(r / t) for r, t in zip(right, totals)]


def dense_confusion(entries, n):
    """The (n, n) counts from a result's sparse ``confusion`` entries ``[i, j, count]``."""
    C = np.zeros((n, n), dtype=np.int64)
    for i, j, c in entries:
        C[i, j] += c
    return C
