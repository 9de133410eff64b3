"""Test-only fault injection for the MPI and CLI failure tests (none in the production path).

The tests start ``keldysh-run`` with this directory on PYTHONPATH, so Python imports this
module at start-up, and with ``KELDYSH_FAIL_RANK=r``: then rank r raises a RuntimeError when
it takes its share of a k sum (the ``shard`` of every :mod:`keldysh.kmesh` mesh), naming the
first sample of that share.  Without the variable this module does nothing.
"""
import os

FAIL_RANK_ENV = "KELDYSH_FAIL_RANK"
_value = os.environ.get(FAIL_RANK_ENV, "").strip()

if _value.lstrip("-").isdigit():
    from keldysh import kmesh as _kmesh

    _FAIL = int(_value)
    _shard = _kmesh._Sharded.shard

    def _first_sample(part) -> str:
        if len(part) == 0:
            return "no sample"
        record = part.as_record()
        if "points" in record:
            k = record["points"][0]
            return f"k = ({k[0]:.6g}, {k[1]:.6g})"
        return f"e_k = {record['energies'][0]:.6g}"

    def _failing_shard(self, rank, size, **kwargs):
        part = _shard(self, rank, size, **kwargs)
        if rank == _FAIL:
            raise RuntimeError(f"injected failure on rank {rank} in its k loop at {_first_sample(part)} "
                               f"({FAIL_RANK_ENV}={rank})")
        return part

    _kmesh._Sharded.shard = _failing_shard
