"""Solvers: Born-Markov, susceptibilities, instability criteria, gap equation, MPI.

Only this package knows about MPI; the communicator is always passed in.  The application
layer (config, tasks, ``keldysh-run``, ``keldysh-plot``) is the subpackage :mod:`solvers.app`,
which nothing else in ``solvers`` imports (``python -m solvers`` is its launcher).
"""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
