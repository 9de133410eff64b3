"""The application layer: what ``keldysh-run`` and ``keldysh-plot`` do with a TOML file.

Import direction (checked by ``tests/test_layout.py``)::

    solvers.app  ->  solvers (iterative and distributed solvers)  ->  keldysh (physics)

``solvers.app.config`` turns a TOML file into a validated :class:`~solvers.app.config.Config`
(the one place where parameters are validated, with the key the user typed) and builds
the physics objects from it; ``solvers.app.tasks`` runs one task per config (one module per
task, one resumable scan driver); ``solvers.app.cli`` is ``keldysh-run`` (MPI, signals,
output files); ``solvers.app.plot`` is ``keldysh-plot``.  Nothing below this package
imports it.
"""
