"""HDF5 results files: one self-describing, versioned, resumable file per run.

The layout is documented in ``docs/hdf5_schema.md``; :data:`SCHEMA_VERSION` is the version
this module writes. In short::

    /                  attrs: format, schema_version, package_version, git_describe, argv,
                              n_ranks, created, task, finished (written last)
    /config            the resolved config as groups/attrs/datasets (for browsing) and,
                       authoritative, the whole config as the JSON attribute ``config_json``
    /results           \
    /mesh, /grids       | nested dicts: dict -> group, array -> dataset,
    /history            | scalar / string / None -> attribute
    /checkpoint        /

This module is MPI-free: in a parallel run the caller gathers to rank 0 and calls
:func:`write_results` there only. Files are never executed when read: no pickle, no eval, no
stored class paths; every value is a number, a string, a bool, None or a numeric/string array.

Writes are atomic: the file is assembled in memory, written to ``path + ".tmp-<pid>"`` (created
exclusively) in the same directory and moved over ``path`` with :func:`os.replace` only once
complete, so a crash mid-write or a full disk leaves the previous file at ``path`` untouched,
and the temp file is removed on every failure that Python sees. The root attribute
``finished`` is the last thing written; ``finished=False`` marks a resumable checkpoint of an
unfinished run.

Reading: :func:`load` returns a :class:`Results`, a read-only mapping over ``"section/name"``
paths (``r["results/paper_eq14"]``) with :meth:`Results.to_xarray` for labelled data.
Old files keep loading: :func:`load` reads each schema version with its own reader and upgrades
the result step by step to the current in-memory layout (see ``_READERS`` and ``_UPGRADES``).
"""
from __future__ import annotations

from .provenance import git_describe, package_version
from .read import Results, is_results_file, load
from .schema import FORMAT, SCHEMA_VERSION
from .write import write_results

__all__ = [
    "FORMAT",
    "SCHEMA_VERSION",
    "Results",
    "is_results_file",
    "load",
    "write_results",
]
