"""Argument types, the one-line parser, library messages in option words, warnings."""

from __future__ import annotations

import argparse
import re
import sys

import numpy as np



# -- argument types: one-line messages in the command line's words ----------------------
def integer(low=None, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected an integer <= {high}, got {value}")
        return value
    return parse


def number(low=None, inclusive=True, high=None):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not np.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if low is not None and (value < low if inclusive else value <= low):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>=' if inclusive else '>'} {low:g}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"expected a number <= {high:g}, got {text}")
        return value
    return parse


def loss_word(text):
    """--loss: a loss name or a beta (a number), as ``nmf``'s ``loss``."""
    from ..nmf._beta import LOSS_NAMES

    if text in LOSS_NAMES:
        return text
    try:
        return number()(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(sorted(LOSS_NAMES))} or a number (the beta of a "
            f"beta-divergence), got {text!r}") from None


def alpha_word(text):
    """--alpha-H: a penalty >= 0 or 'same'."""
    if text == "same":
        return text
    try:
        return number(low=0)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'same', got "
                                         f"{text!r}") from None


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``facenmf fit: --rank: expected an integer, got 'x'``."""

    def error(self, message):
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        message = re.sub(r"^the following arguments are required: (.*)",
                         r"missing \1 (required)", message)
        message = re.sub(r"invalid choice: (\S+) \(choose from (.*)\)",
                         lambda m: f"unknown value {m.group(1)}; choose from "
                         f"{m.group(2).replace(chr(39), '')}", message)
        message = re.sub(r"^VERB: unknown value", "unknown verb", message)
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


# -- errors in the command line's words ---------------------------------------------------
#: Python parameters (as library messages name them) -> the option that sets them.
_OPTION_OF = {
    "size": "--size", "crop": "--crop", "layout": "--layout", "pattern": "--pattern",
    "glob": "--glob", "detect": "--detect", "equalize": "--equalize",
    "normalize": "--normalize", "min_faces": "--min-faces", "resize": "--resize",
    "path": "--path", "rank": "--rank", "solver": "--solver", "init": "--init",
    "loss": "--loss", "max_iter": "--max-iter", "tol": "--tol", "time_limit": "--time-limit",
    "random_state": "--seed", "n_splits": "--splits",
    "train_per_identity": "--train-per-identity", "k": "--k", "protocol": "--protocol",
    "metrics": "--metric", "methods": "--method", "conditions": "--occlusion",
    "mask": "--mask", "bits": "--bits", "store": "-o/--output", "processes": "--processes",
    "chunk_faces": "--chunk-faces", "face_rows": "--face-rows", "alpha_W": "--alpha-W",
    "alpha_H": "--alpha-H", "l1_ratio": "--l1-ratio",
}
_VALUE_WORDS = {"(height, width)": "H W", "True": ""}


def cli_words(message, parser):
    """Rewrite a library message so that it names this verb's options, not parameters."""
    options = {s for action in parser._actions for s in action.option_strings}

    def option(name):
        opt = _OPTION_OF.get(name)  # "-o/--output": both spellings must be this verb's
        return opt if opt is not None and set(opt.split("/")) <= options else None

    def assignment(m):
        opt = option(m.group(1))
        if opt is None:
            return m.group(0)
        value = _VALUE_WORDS.get(m.group(2), m.group(2))
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"" \
                and not re.search(r"[*?\[\] ]", value):
            value = value[1:-1]
        return f"{opt} {value}".rstrip()

    message = re.sub(r"\b(?:\w+\.)?select\(([^()]*)\)", r"\1", message)
    message = re.sub(r"\b([a-z_]+)=(\([^()]*\)|'[^']*'|\"[^\"]*\"|[\w.+-]*)", assignment,
                     message)
    head = re.match(r"^([a-z_]+): ", message)
    if head and option(head.group(1)):
        message = option(head.group(1)) + message[len(head.group(1)):]
    return re.sub(r"\b([a-z]+_[a-z_]+)\b",
                  lambda m: option(m.group(1)) or m.group(0), message)


def warn(message):
    print(f"facenmf: warning: {message}", file=sys.stderr)


def show_warning(message, category, filename, lineno, file=None, line=None):
    warn(message)
