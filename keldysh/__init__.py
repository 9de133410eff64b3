"""Keldysh Green's-function engine: MPI-free physics of the driven gapped honeycomb model.

Reference: O. Hart, G. Goldstein, C. Chamon, C. Castelnovo, PRB 100, 060508(R) (2019);
conventions in ``shared/spec/physics.md`` (the contract).  Modules: ``lattice``
(model, η, DOS), ``kmesh`` (momentum/energy meshes), ``baths``, ``nambu`` (the 4x4
rotating-frame problem), ``frequency`` (grids), ``greens`` (G^R, G^K, rho),
``lyapunov`` (Born-Markov steady state), ``single_k`` (the public one-k API), ``io``.
"""
import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
