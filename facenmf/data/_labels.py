"""Identity labels: from a pattern on file names, or given one per face."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

__all__ = ["check_pattern", "check_labels", "label_from_name"]


def check_pattern(pattern):
    if pattern is None or callable(pattern):
        return pattern
    if isinstance(pattern, re.Pattern):
        return pattern
    if isinstance(pattern, str):
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern: not a valid regular expression {pattern!r} ({exc})") from None
    raise TypeError(f"pattern: expected a regex string, a compiled regex or a callable, got "
                    f"{type(pattern).__name__}")


def check_labels(labels, n):
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)):
        raise TypeError("labels: expected a sequence of labels, one per face, got a str")
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"labels: expected {n} labels (one per face), got shape {arr.shape}")
    return arr


def label_from_name(pattern, file: Path):
    """Return (label, None) or (None, problem)."""
    if callable(pattern) and not isinstance(pattern, re.Pattern):
        try:
            label = pattern(file)
        except Exception as exc:  # noqa: BLE001 - a user callable; report, don't traceback
            return None, f"pattern callable failed ({type(exc).__name__}: {exc})"
        if label is None:
            return None, "pattern callable returned no label"
        return label, None
    match = pattern.search(file.name)
    if match is None:
        return None, f"file name does not match pattern {pattern.pattern!r}"
    if "label" in match.re.groupindex:
        return match.group("label"), None
    return (match.group(1) if match.re.groups else match.group(0)), None
