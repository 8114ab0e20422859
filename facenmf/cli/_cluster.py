"""The Dask cluster of a fit: ``--scheduler ADDRESS`` (a running one) or ``--workers N`` (a
local one, started for the fit and stopped after it)."""

from __future__ import annotations

import signal
from contextlib import contextmanager

# Seconds to wait for a connection to --scheduler.
CONNECT_TIMEOUT = 10


def add_cluster_options(p):
    group = p.add_mutually_exclusive_group()
    group.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="fit on a running Dask cluster, its scheduler's address (e.g. "
                       "tcp://10.0.0.5:8786); the faces and their weights stay on the "
                       "workers (needs pip install 'facenmf[dask]')")
    group.add_argument("--workers", type=_positive, metavar="N", default=None,
                       help="fit on a local Dask cluster of N worker processes (one thread "
                       "each), started for the fit")


def _positive(text):
    from ._words import integer

    return integer(low=1)(text)


def _require(option):
    from ..nmf._dask import require

    try:
        require(option)
    except ImportError as exc:  # a one-line error in the command line's words
        raise ValueError(str(exc)) from None


@contextmanager
def cluster_client(args):
    """A ``distributed.Client`` for ``--scheduler`` or ``--workers`` (None without either),
    active for the ``with`` block; a cluster started here is stopped after it."""
    address, n = getattr(args, "scheduler", None), getattr(args, "workers", None)
    if address is None and n is None:
        yield None
        return
    option = "--scheduler" if address is not None else "--workers"
    _require(option)
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    if address is None:
        # The workers ignore Ctrl-C (they inherit SIGINT ignored while they are spawned): a
        # terminal's Ctrl-C goes to the whole process group, and the fit keeps its best
        # model only if the workers that hold its faces outlive it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=":0",
                                   memory_limit=0, silence_logs=logging.ERROR)
        except Exception as exc:  # noqa: BLE001 - any failure to start, in one line
            raise ValueError(f"--workers: could not start a local Dask cluster of {n} "
                             f"workers ({_first_line(exc)})") from None
        finally:
            signal.signal(signal.SIGINT, previous)
        address = cluster.scheduler_address
    try:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=True)
        except Exception as exc:  # noqa: BLE001 - a bad address, a refused connection, ...
            raise ValueError(f"{option}: could not connect to a Dask scheduler at {address} "
                             f"({_first_line(exc)})") from None
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
