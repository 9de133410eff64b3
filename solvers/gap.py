"""Nonlinear steady state of the gap equation (spec §6).

Unknowns: Δ+, Δ- (complex, global U(1) phase fixed by making the reference component
real and positive) and the condensate frequency ν (real).  Equations (Eqs. 8, 12)::

    Δ+ = V S+(Δ, ν) + V' S-(Δ, ν),   Δ- = V'* S+(Δ, ν) + V S-(Δ, ν),

with S+ = (1/N) Σ_{k∈K+} <c_-k1 c_k2>, S- = (1/N) Σ_{k∈K+} (-rho_03) evaluated at finite Δ in the
frame rotating at ν (particle energies and bath chemical potentials shift by -ν/2;
Born-Markov occupations stay frozen), from

* route ``"born_markov"``: the exact Lyapunov steady state (frozen occupations);
* route ``"keldysh"``: the exact Keldysh pole sum with the baths' Fermi functions,

both on the full 4x4 h_k(Δ, ν) of :meth:`keldysh.nambu.ModeArrays.hamiltonian` (the drive
in the particle block and, for the whole-zone patterns of spec §9, in the hole block).

Four real equations (Re, Im of both gap equations), four real unknowns; solved with
MINPACK's Powell hybrid method (``scipy.optimize.root``, method "hybr") from several
starting amplitudes.  A nonzero solution is accepted only if the relative residual
|Δ - M S| / |Δ| is below ``tol`` and |Δ| is not negligible; otherwise the result says
``converged=False`` with the attempts as evidence (never a fake convergence).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import root

from keldysh.greens import rho_pole_sum
from keldysh.lyapunov import lyapunov_steady_state
from keldysh.nambu import DrivenSystem, SpinfulSystem, nambu_chemical_potentials, nambu_occupations
from keldysh.nambu import pair_sums as weighted_pair_sums
from solvers.dynamics import coupling_matrix
from solvers.parallel import allreduce_sum, shard_of

__all__ = ["GAP_ROUTES", "GapResult", "pair_sums", "solve_gap"]

log = logging.getLogger(__name__)
GAP_ROUTES = ("born_markov", "keldysh")


@dataclass(frozen=True)
class GapResult:
    """Outcome of :func:`solve_gap`.

    ``converged`` is True only for a verified nonzero solution; then ``delta_plus``,
    ``delta_minus``, ``nu`` solve the gap equation with relative residual ``residual``.
    ``attempts`` lists every start (amplitude, final |Δ|, residual, nfev, success) and
    ``history`` the residual norm at every function evaluation of the accepted run."""

    converged: bool
    delta_plus: complex
    delta_minus: complex
    nu: float
    residual: float
    iterations: int
    route: str
    reason: str
    history: np.ndarray
    attempts: list = field(default_factory=list)
    seconds: float = 0.0
    options: dict = field(default_factory=dict)


def pair_sums(system: DrivenSystem | SpinfulSystem, mesh, delta_plus, delta_minus, nu,
              route: str = "born_markov", comm=None) -> np.ndarray:
    """(S+, S-) at finite Δ± and condensate frequency ν, reduced over ``comm``.

    A :class:`keldysh.nambu.SpinfulSystem` (spec §9; ``mesh``: one per sector) gives the sum of
    the sectors' pair sums, S_a = Σ_σ S_a^(σ)(Δ, ν) (the same Δ± and ν in every sector: a
    spin-independent interaction), each reduced over ``comm`` and added in sector order."""
    if route not in GAP_ROUTES:
        raise ValueError(f"route: must be one of {GAP_ROUTES}, got {route!r}")
    if isinstance(system, SpinfulSystem):
        parts = [pair_sums(s, m, delta_plus, delta_minus, nu, route, comm)
                 for s, m in zip(system.sectors, system.meshes(mesh))]
        out = parts[0]
        for p in parts[1:]:
            out = out + p
        return out
    modes = system.modes(shard_of(mesh, comm))
    local = np.zeros(2, complex)
    if len(modes):
        h = modes.hamiltonian(delta_plus, delta_minus, nu)
        if route == "born_markov":
            rho = lyapunov_steady_state(h, modes.gamma, nambu_occupations(modes.occupation))
        else:
            rho = rho_pole_sum(h, modes.gamma, nambu_chemical_potentials(modes.bath_mu, nu),
                               modes.temperature)
        if not np.all(np.isfinite(rho)):
            bad = int(np.nonzero(~np.isfinite(rho).all(axis=(1, 2)))[0][0])
            raise FloatingPointError(f"non-finite correlators at sample e_k = {float(modes.energy[bad])!r} "
                                     f"(Δ+ = {delta_plus!r}, Δ- = {delta_minus!r}, ν = {nu!r})")
        local = weighted_pair_sums(modes.weight, rho)
    return allreduce_sum(local, comm)


def solve_gap(system: DrivenSystem | SpinfulSystem, mesh, V: float, Vprime: complex, *, route: str = "born_markov",
              guess=None, comm=None, tol: float = 1e-10, max_nfev: int = 400,
              amplitudes=None) -> GapResult:
    """Find a nonzero (Δ+, Δ-, ν) solving the gap equations, or report that none was found.

    ``guess``: optional (Δ+, Δ-, ν) to start from (e.g. the end of a mean-field run or
    the unstable eigenvector); otherwise starts along (1, ratio) with ratio from the
    linear problem are tried at the ``amplitudes`` (default: a log grid)."""
    t0 = time.perf_counter()
    Mc = coupling_matrix(V, Vprime)
    sectors = system.sectors if isinstance(system, SpinfulSystem) else (system,)
    gmin = min(float(np.min(s.baths.gamma)) for s in sectors)
    if amplitudes is None:
        amplitudes = gmin * np.logspace(-1, 2, 7)
    starts = []
    if guess is not None:
        dp, dm, nu = guess
        starts.append((complex(dp), complex(dm), float(nu)))
    ratio = np.exp(1j * np.angle(Vprime)) if Vprime != 0 else 1.0
    # the pair energy -2μ (spec §2); a spinful system: its first sector's at K+, 2c(K+) - 2μ
    first = sectors[0]
    offset = float(first.model.band_offset(first.model.valley_centres()["K+"])) \
        if getattr(first.model, "lambda_so", 0.0) else 0.0
    nu0 = starts[0][2] if starts else float(2 * offset - 2 * first.mu)
    for a in amplitudes:
        starts.append((complex(a), complex(a * ratio), nu0))
        starts.append((complex(a), complex(-a * ratio), nu0))

    attempts = []
    best = None
    for dp0, dm0, nu0 in starts:
        ref = 0 if abs(dp0) >= abs(dm0) else 1  # component made real and positive
        phase = np.exp(-1j * np.angle(dp0 if ref == 0 else dm0))
        dp0, dm0 = dp0 * phase, dm0 * phase
        scale = max(abs(dp0), abs(dm0))
        hist = []

        def unpack(x):
            if ref == 0:
                return complex(x[0] * scale), complex(x[1] * scale, x[2] * scale), x[3] * gmin
            return complex(x[1] * scale, x[2] * scale), complex(x[0] * scale), x[3] * gmin

        def fun(x):
            dp, dm, nu = unpack(x)
            S = pair_sums(system, mesh, dp, dm, nu, route, comm)
            r = (np.array([dp, dm]) - Mc @ S) / scale
            hist.append(float(np.linalg.norm(r)))
            return np.array([r[0].real, r[0].imag, r[1].real, r[1].imag])

        if ref == 0:
            x0 = np.array([abs(dp0) / scale, dm0.real / scale, dm0.imag / scale, nu0 / gmin])
        else:
            x0 = np.array([abs(dm0) / scale, dp0.real / scale, dp0.imag / scale, nu0 / gmin])
        sol = root(fun, x0, method="hybr", options={"maxfev": max_nfev, "xtol": 1e-13})
        dp, dm, nu = unpack(sol.x)
        size = float(np.hypot(abs(dp), abs(dm)))
        S = pair_sums(system, mesh, dp, dm, nu, route, comm)
        res = float(np.linalg.norm(np.array([dp, dm]) - Mc @ S) / max(size, 1e-300))
        attempts.append({"start_amplitude": abs(dp0) + abs(dm0), "final_amplitude": size,
                         "residual": res, "nfev": int(sol.nfev), "success": bool(sol.success)})
        nonzero = size > 1e-6 * scale
        if nonzero and res < tol:
            best = (dp, dm, float(nu), res, int(sol.nfev), np.array(hist))
            break
    opts = {"tol": tol, "max_nfev": max_nfev, "V": V, "Vprime": complex(Vprime)}
    if best is None:
        reason = ("no nonzero solution: every start either collapsed to Δ = 0 or stalled with "
                  f"residual >= {tol:g} (see attempts)")
        log.info("gap: %s", reason)
        return GapResult(False, 0j, 0j, float("nan"), min(a["residual"] for a in attempts),
                         sum(a["nfev"] for a in attempts), route, reason, np.array([]), attempts,
                         time.perf_counter() - t0, opts)
    dp, dm, nu, res, nfev, hist = best
    log.info("gap: converged |Δ+| = %.6g, |Δ-| = %.6g, ν = %.6g, residual %.2e", abs(dp), abs(dm), nu, res)
    return GapResult(True, dp, dm, nu, res, nfev, route, "converged", hist, attempts,
                     time.perf_counter() - t0, opts)
