"""Bifurcation points of the normal state, located again on the continuation mesh.

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from keldysh.nambu import DrivenSystem
from solvers.dynamics import coupling_matrix

from .linear import _EYE4

log = logging.getLogger("solvers.continuation")

# ------------------------------------------------------------------------------------------
# bifurcation points
@dataclass(frozen=True)
class Bifurcation:
    """A bifurcation point of the normal state on the continuation's own mesh.

    (V_c, ν_c) solves D = det[1 - M(V_c, V') chi(ν_c)] = 0 for the route's chi (Newton from the
    full criterion's boundary ``V_criterion``, ``nu_criterion``); ``null_vector`` n (unit norm,
    its larger component real positive) spans the kernel of 1 - M chi(ν_c): the gap of the
    emerging state is Δ ∝ n e^{-iν_c t}.  ``jump``: the change of the number of growing modes
    of the normal state going up in V (full criterion); ``side`` = sign(jump): the unstable
    side (+1: V > V_c).  ``residual``: |D| at the root."""

    V_c: float
    nu_c: float
    null_vector: tuple
    jump: int
    side: int
    V_criterion: float
    nu_criterion: float
    residual: float
    route: str
    status: str = "ok"


def _chi_at(ev, nu: float) -> np.ndarray:
    return ev(np.array([nu], dtype=complex))[0]


def locate_bifurcation(system: DrivenSystem, mesh, Vprime: complex, V0: float, nu0: float, jump: int,
                       route: str = "born_markov", comm=None, tol: float = 1e-12,
                       max_iter: int = 40) -> Bifurcation:
    """(V_c, ν_c) with det[1 - M chi(ν_c)] = 0 near (V0, ν0) on ``mesh`` (see
    :class:`Bifurcation`): Newton's method in the two real unknowns, ∂D/∂V from the quadratic
    form of :func:`solvers.stability.determinant.quadratic_coefficients`, ∂D/∂ν by a centred
    difference of chi (step 1e-3 min Γ)."""
    from solvers.stability import ChiEvaluator
    from solvers.stability.determinant import determinant, quadratic_coefficients

    ev = ChiEvaluator(route, system, mesh, comm)
    h = 1e-3 * float(np.min(system.baths.gamma))
    V, nu = float(V0), float(nu0)
    status = "ok"
    D = np.inf
    for _ in range(max_iter):
        chi = ev(np.array([nu, nu + h, nu - h], dtype=complex))
        D = complex(determinant(V, Vprime, chi[0]))
        a, b, _c = quadratic_coefficients(chi[0], Vprime)
        dV = complex(2 * a * V + b)
        dnu = complex((determinant(V, Vprime, chi[1]) - determinant(V, Vprime, chi[2])) / (2 * h))
        J = np.array([[dV.real, dnu.real], [dV.imag, dnu.imag]])
        step = np.linalg.solve(J, -np.array([D.real, D.imag]))
        V, nu = V + step[0], nu + step[1]
        if abs(step[0]) < tol * max(1.0, abs(V)) and abs(step[1]) < 1e-6 * h:
            break
    else:
        status = f"Newton did not converge in {max_iter} iterations"
    chi = _chi_at(ev, nu)
    D = complex(determinant(V, Vprime, chi))
    A = _EYE4[:2, :2] - coupling_matrix(V, Vprime) @ chi
    cands = [np.array([A[0, 1], -A[0, 0]]), np.array([A[1, 1], -A[1, 0]])]
    n = cands[0] if np.linalg.norm(cands[0]) >= np.linalg.norm(cands[1]) else cands[1]
    n = n / np.linalg.norm(n)
    ref = 0 if abs(n[0]) >= abs(n[1]) else 1
    n = n * np.exp(-1j * np.angle(n[ref]))
    if abs(D) > 1e-8:
        status = f"|D| = {abs(D):.2e} at the root" if status == "ok" else status
    return Bifurcation(float(V), float(nu), (complex(n[0]), complex(n[1])), int(jump), int(np.sign(jump)),
                       float(V0), float(nu0), float(abs(D)), route, status)
