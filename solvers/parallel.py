"""MPI sharding of momentum sums (style: slice -> weighted local sum -> buffer Allreduce).

The communicator is always passed in (never picked at import).  ``comm=None``
means serial (one rank, no mpi4py import needed).  Every rank takes decisions
from the same reduced numbers, so all ranks leave loops together.

Determinism: a k sum is reduced as the ordered concatenation of per-shard
partial sums gathered in rank order (``Allgather`` of fixed-size buffers), then
summed in the same order on every rank, so every rank holds bitwise the same
number; results for different rank counts agree to rounding (≤ 1e-12 relative).
"""
from __future__ import annotations

import logging
import os

import numpy as np

__all__ = ["rank_of", "size_of", "allreduce_sum", "shard_of", "configure_threads"]

log = logging.getLogger(__name__)


def rank_of(comm) -> int:
    return 0 if comm is None else comm.Get_rank()


def size_of(comm) -> int:
    return 1 if comm is None else comm.Get_size()


def shard_of(mesh, comm):
    """This rank's contiguous shard of ``mesh`` (anything with ``.shard(rank, size)``)."""
    return mesh.shard(rank_of(comm), size_of(comm))


def allreduce_sum(local, comm) -> np.ndarray:
    """Sum of ``local`` (any shape, real or complex) over the ranks, identical on every rank.

    Implemented as an ``Allgather`` of the per-rank buffers followed by an ordered
    sum, which makes the result independent of MPI's reduction order."""
    local = np.ascontiguousarray(local)
    if comm is None or comm.Get_size() == 1:
        return local.copy()
    dtype = np.complex128 if np.iscomplexobj(local) else np.float64
    send = np.ascontiguousarray(local, dtype=dtype)
    recv = np.empty((comm.Get_size(),) + send.shape, dtype=dtype)
    comm.Allgather(send, recv)
    out = recv[0].copy()
    for r in range(1, recv.shape[0]):
        out += recv[r]
    return out


def configure_threads(comm) -> None:
    """Avoid oversubscription: under MPI with more than one rank, one numba thread per
    rank unless the user set NUMBA_NUM_THREADS explicitly."""
    if size_of(comm) > 1 and "NUMBA_NUM_THREADS" not in os.environ:
        try:
            import numba

            numba.set_num_threads(1)
        except Exception as exc:  # pragma: no cover - numba always present in practice
            log.debug("could not set numba threads: %s", exc)
