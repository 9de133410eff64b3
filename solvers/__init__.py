"""Solvers: Born-Markov, susceptibilities, instability criteria, gap equation, MPI, CLI.

Only this package knows about MPI; the communicator is always passed in.
"""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
