"""``keldysh-run``: run one TOML config, serially or under MPI, into one HDF5 results file.

Usage::

    keldysh-run CONFIG.toml [-o KEY=VALUE ...] [--output FILE] [--resume [FILE]]
                            [--overwrite] [--check | --show-config] [--max-memory GIB] [-v]
    python -m solvers CONFIG.toml ...                                 # the same
    mpiexec -n 4 python -m mpi4py -m solvers CONFIG.toml ...          # under MPI

``-o numerics.nk=64`` overrides a config key (the value is a TOML literal: ``-o
numerics.routes='["paper", "keldysh"]'``; anything that is not one is taken as a string).
``--output`` replaces ``output.path`` (default ``out/<config stem>.h5``).  ``--resume FILE``
continues the unfinished run in FILE (a phase-diagram scan keeps the points it completed);
``--resume`` alone resumes from the output file.  ``--check`` validates the config, prints the
resolved config as JSON and exits; ``--show-config`` prints it as TOML with every default
filled in and the unit of every key.

Before any work (rank 0, in this order; any failure is one line on stderr and exit status 2,
and nothing is created or changed): the config (types, ranges, the domain the numerics
handle, documented maxima of every size and count); the ``--resume`` file (a results file of
this task and config, structurally sound: ``config_json`` a JSON object, ``completed`` flags
boolean, completed points finite); the output path (not a directory or ending in ``/``, every
name short enough for the file system, the total length, the nearest existing directory
writable, not the config file, an existing file only with ``--overwrite`` and only if it is a
results file); an estimate of the memory per rank against the memory of the machine
(``--max-memory`` overrides what is detected).  Then the output is claimed: missing
directories are created and the lock file ``<output>.lock`` is created exclusively (it names
this run: pid, host, start time, command line).  A second run writing the same output fails
here (status 2, naming the first).  The lock is removed when the run ends, and so are the
directories it created if no output was written; a lock left by a killed run on this host is
taken over.

Exit status:

====  =====================================================================================
0     finished: the output file has ``finished = True``
1     an unexpected error (logged with its rank; under MPI the whole job is aborted), or the
      output could not be written (e.g. no space left: one line; the previous file at the
      output path is untouched, no temp file is left)
2     bad command line or config, unusable output path or ``--resume`` file, output exists
      without --overwrite, output locked by another run, not enough memory: reported in one
      line on stderr before any work; no file or directory is created or touched
3     gap task only: no converged nonzero solution; the file is still written
      (``finished = True``, ``results/converged = False``)
4     the computation produced NaN or infinity where the task's results must be finite
      (:func:`nonfinite_results` says where, per task); the file is written with
      ``finished = False`` for inspection
75    interrupted by SIGTERM or SIGINT (Ctrl-C), one line (``EX_TEMPFAIL``, try again): a
      phase-diagram scan finishes its current point, writes a checkpoint (``finished =
      False``) and stops, continue it with ``--resume``; a second signal stops at once
      (the last checkpoint stays); the other tasks stop at once and write nothing
====  =====================================================================================

MPI: every rank reads and validates the config, runs the task on its share of the k points
and receives the same reduced numbers; only rank 0 logs at INFO (the others at WARNING) and
only rank 0 writes.  Progress: a bar when stderr is a terminal, otherwise INFO lines.
"""
from __future__ import annotations

from solvers.app.cli.config_view import _KEY_NOTES  # noqa: F401 - used by the tests
from solvers.app.cli.config_view import show_config
from solvers.app.cli.lock import _lock_is_stale  # noqa: F401 - used by the tests
from solvers.app.cli.memory import _BASE_BYTES  # noqa: F401 - used by the tests
from solvers.app.cli.memory import memory_estimate
from solvers.app.cli.parser import (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NONFINITE, EXIT_NOT_CONVERGED, EXIT_OK,
                                    EXIT_USAGE)
from solvers.app.cli.results import nonfinite_results
from solvers.app.cli.runner import main, run

__all__ = ["main", "run", "nonfinite_results", "memory_estimate", "show_config", "EXIT_OK", "EXIT_ERROR",
           "EXIT_USAGE", "EXIT_NOT_CONVERGED", "EXIT_NONFINITE", "EXIT_INTERRUPTED"]
