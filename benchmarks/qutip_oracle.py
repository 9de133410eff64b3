"""Exact Fock-space Born-Markov steady state of one k block with QuTiP (the oracle of (d)).

Four particle modes c_a = (c_k1, c_k2, c_-k1, c_-k2) by Jordan-Wigner in a 16-dim Fock
space (``qutip.fdestroy``).  The Nambu spinor is Ψ = (c_k1, c_k2, c†_-k1, c†_-k2), so the
mean-field Hamiltonian H = Σ_ij Ψ†_i h_ij Ψ_j built from these operators contains the
pairing terms Δ+ c†_k2 c†_-k1 + h.c. and -Δ- c†_k1 c†_-k2 + h.c. and the hole energies
-xi (c_-k c†_-k = 1 - n_-k) automatically (up to a constant).  Lindblad operators for frozen
particle occupations n_a and amplitude rates Γ_a (population rates 2Γ_a, spec §3-§4):
sqrt(2Γ_a (1 - n_a)) c_a and sqrt(2Γ_a n_a) c†_a.  Returns rho_ij = <Ψ†_j Ψ_i>.
"""
from __future__ import annotations

import numpy as np


def fock_correlators(h, gamma, occupation, solver: str | None = None) -> np.ndarray:
    """<Ψ†_j Ψ_i> (4, 4) in the exact Lindblad steady state (QuTiP ``steadystate``)."""
    import qutip

    c = [qutip.fdestroy(4, a) for a in range(4)]
    psi = [c[0], c[1], c[2].dag(), c[3].dag()]
    H = 0
    for i in range(4):
        for j in range(4):
            if h[i, j] != 0:
                H = H + complex(h[i, j]) * psi[i].dag() * psi[j]
    c_ops = []
    for a in range(4):
        if occupation[a] < 1:
            c_ops.append(np.sqrt(2 * gamma[a] * (1 - occupation[a])) * c[a])
        if occupation[a] > 0:
            c_ops.append(np.sqrt(2 * gamma[a] * occupation[a]) * c[a].dag())
    rho = qutip.steadystate(H, c_ops, method="direct", solver=solver)
    return np.array([[qutip.expect(psi[j].dag() * psi[i], rho) for j in range(4)] for i in range(4)])
