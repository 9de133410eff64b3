"""Exact oracle: the Lyapunov (Born-Markov) correlators against QuTiP's Fock-space steady state.

One k block is four fermionic modes (c_k1, c_k2, c_-k1, c_-k2), Jordan-Wigner encoded in a
16-dim Fock space.  H = Σ_ij Ψ†_i h_ij Ψ_j with Ψ = (c_k1, c_k2, c†_-k1, c†_-k2) carries the
pairing terms and the hole energies; the Lindblad operators sqrt(2Γ_a(1 - n_a)) c_a and
sqrt(2Γ_a n_a) c†_a freeze the particle occupations n_a (spec §4).  The steady state of this
Lindblad equation is exact, so <Ψ†_j Ψ_i> must equal the Lyapunov solution to rounding.
The oracle is :func:`benchmarks.qutip_oracle.fock_correlators` (also the baseline of the
Lyapunov benchmark).
QuTiP is in the ``test`` extra: without it this module fails to import instead of being
skipped, so that the oracle cannot silently drop out of ``make test``.
"""
import sys
from pathlib import Path

import numpy as np
import pytest
import qutip  # noqa: F401 - a missing QuTiP fails the import (see above)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed

from benchmarks.qutip_oracle import fock_correlators as fock_steady_state_correlators  # noqa: E402
from keldysh.lyapunov import lyapunov_steady_state  # noqa: E402
from keldysh.nambu import nambu_hamiltonian, nambu_occupations  # noqa: E402
from keldysh.single_k import correlators  # noqa: E402


def _problem(seed):
    """Random block with Ω and Δ± comparable to the detunings (strong pairing)."""
    rng = np.random.default_rng(seed)
    xi = rng.uniform(-0.02, 0.02, 4)
    rabi = rng.uniform(2e-3, 1e-2)
    dp = rng.uniform(2e-3, 1e-2) * np.exp(2j * np.pi * rng.uniform())
    dm = rng.uniform(2e-3, 1e-2) * np.exp(2j * np.pi * rng.uniform())
    gamma = rng.uniform(5e-4, 3e-3, 4)
    occ = rng.uniform(0, 1, 4)
    return xi, rabi, dp, dm, gamma, occ


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lyapunov_equals_fock_space_lindblad(seed):
    xi, rabi, dp, dm, gamma, occ = _problem(seed)
    h = nambu_hamiltonian(xi, rabi, dp, dm)
    ref = fock_steady_state_correlators(h, gamma, occ)
    rho = lyapunov_steady_state(h, gamma, nambu_occupations(occ))
    assert np.abs(rho[1, 2]) > 1e-3 and np.abs(rho[0, 3]) > 1e-3  # pairing is not small
    assert np.max(np.abs(rho - ref)) < 1e-10
    # the public single-k API gives the same
    api = correlators(xi, rabi, gamma, delta_plus=dp, delta_minus=dm, occupation=occ)
    assert np.max(np.abs(api - ref)) < 1e-10


def test_zero_temperature_populations_and_spec_oracle():
    """Frozen T = 0 occupations (band 1 full, band 2 empty) at the spec §8 oracle point."""
    xi = np.array([-0.1, 0.101, -0.1, 0.101])
    gamma = np.full(4, 5e-4)
    occ = np.array([1.0, 0.0, 1.0, 0.0])
    d = 1e-6
    h = nambu_hamiltonian(xi, 0.002, d, 0.0)
    ref = fock_steady_state_correlators(h, gamma, occ)
    assert ref[0, 0].real == pytest.approx(0.999802068, abs=5e-9)
    assert ref[1, 1].real == pytest.approx(1.979316e-4, abs=5e-10)
    assert ref[1, 2] / d == pytest.approx(0.0487373 + 0.0487591j, abs=1e-6)
    rho = lyapunov_steady_state(h, gamma, nambu_occupations(occ))
    assert np.max(np.abs(rho - ref)) < 1e-12
