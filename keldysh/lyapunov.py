"""Vectorised Lyapunov solver of the Born-Markov steady state (spec §4).

The equal-time matrix rho = <Ψ†_j Ψ_i> of one k block obeys, with frozen Nambu
occupations n (the Lindblad equation (7) with population rates 2Γ)::

    d rho/dt = (-i h - Γ) rho + rho (i h - Γ) + 2 Γ n,

whose steady state solves the Lyapunov equation A rho + rho A† + Q = 0 with
A = -ih - Γ and Q = 2Γn.  Row-major vectorisation turns it into the 16x16
linear system (A ⊗ 1 + 1 ⊗ conj A) vec(rho) = -vec(Q) (:func:`solve_sylvester`), solved batched over k
(robust also where A is defective).  Kept in ``keldysh/`` because the
single-momentum API uses it; the solvers build on it in ``solvers.born_markov``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["solve_sylvester", "solve_lyapunov", "lyapunov_steady_state"]

_EYE4 = np.eye(4)


def solve_sylvester(A, B, Q) -> np.ndarray:
    """Solve A X + X B + Q = 0 for 4x4 X, batched: (A ⊗ 1 + 1 ⊗ Bᵀ) vec X = -vec Q."""
    A = np.asarray(A, dtype=complex)
    B = np.asarray(B, dtype=complex)
    Q = np.asarray(Q, dtype=complex)
    batch = np.broadcast_shapes(A.shape[:-2], B.shape[:-2], Q.shape[:-2])
    L = (np.einsum("...ij,kl->...ikjl", A, _EYE4).reshape(A.shape[:-2] + (16, 16))
         + np.einsum("ij,...lk->...ikjl", _EYE4, B).reshape(B.shape[:-2] + (16, 16)))
    L = np.broadcast_to(L, batch + (16, 16))
    q = np.broadcast_to(Q, batch + (4, 4)).reshape(batch + (16, 1))
    return np.linalg.solve(L, -q).reshape(batch + (4, 4))


def solve_lyapunov(h, gamma, Q) -> np.ndarray:
    """Solve A X + X A† + Q = 0 for X, A = -ih - Γ, batched over leading axes (Q need not be
    Hermitian)."""
    h = np.asarray(h, dtype=complex)
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), h.shape[:-1])
    A = -1j * h - gamma[..., :, None] * _EYE4
    return solve_sylvester(A, np.conj(np.swapaxes(A, -1, -2)), Q)


def lyapunov_steady_state(h, gamma, n) -> np.ndarray:
    """Born-Markov steady state rho (…, 4, 4) for frozen Nambu occupations ``n`` (…, 4)."""
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), np.shape(n))
    Q = 2 * (gamma * np.asarray(n, dtype=float))[..., :, None] * _EYE4
    rho = solve_lyapunov(h, gamma, Q)
    return 0.5 * (rho + np.conj(np.swapaxes(rho, -1, -2)))

