"""Time-integration checks of stable points and the gap map: every branch in a window of V.

Part of :mod:`solvers.continuation` (the package docstring has the method)."""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from keldysh.lyapunov import lyapunov_steady_state
from keldysh.nambu import DrivenSystem, nambu_occupations
from solvers.dynamics import integrate

from .bifurcation import Bifurcation, locate_bifurcation
from .branch import Branch, BranchPoint, ContinuationOptions, continue_branch

log = logging.getLogger("solvers.continuation")

# ------------------------------------------------------------------------------------------
# the independent check: Born-Markov mean-field time integration from a finite seed
@dataclass(frozen=True)
class IntegrationCheck:
    """A Born-Markov mean-field time integration (:func:`solvers.dynamics.integrate`, frame
    rotating at ω0) from the steady state of a gap ``seed_fraction`` x Δ* rotated by
    ``seed_phase``, run to ``t_end``: the final |Δ±| (mean over the last 10 % of the run) and
    ν = -d arg Δ+/dt (over the last 20 %), against the branch point's; ``lands``: both
    relative amplitude differences below ``tol`` and |ν - ν*| below tol max(|ν*|, min Γ)."""

    p: float
    V: float
    seed_fraction: float
    seed_phase: float
    t_end: float
    abs_delta_plus: float
    abs_delta_minus: float
    nu: float
    target_abs_delta_plus: float
    target_abs_delta_minus: float
    target_nu: float
    rel_diff_plus: float
    rel_diff_minus: float
    nu_diff: float
    lands: bool
    tol: float
    seconds: float


def integration_check(system: DrivenSystem, mesh, Vprime: complex, point: BranchPoint, *,
                      seed_fraction: float = 0.5, seed_phase: float = 1.0, t_end: float | None = None,
                      relaxations: float = 15.0, t_max: float = 2e5, tol: float = 1e-4,
                      n_out: int = 400, rtol: float = 1e-8, atol: float = 1e-12) -> IntegrationCheck:
    """Integrate the Born-Markov mean-field dynamics from a finite seed and compare its end with
    ``point`` (see :class:`IntegrationCheck`).  ``t_end`` default: ``relaxations`` / |max Re λ|
    of the point's spectrum (the slowest non-Goldstone relaxation), at most ``t_max``.  Every rank
    integrates the whole mesh (the same numbers on every rank, no communication)."""
    t0 = time.perf_counter()
    modes = system.modes(mesh)
    if t_end is None:
        rate = np.nan if point.spectrum is None else -point.spectrum.max_re
        if not np.isfinite(rate) or rate <= 0:
            rate = point.spectrum.sigma if point.spectrum is not None else float(np.min(system.baths.gamma))
        t_end = float(min(relaxations / rate, t_max))
    z = seed_fraction * np.exp(1j * seed_phase)
    h = modes.hamiltonian(z * point.delta_plus, z * point.delta_minus, 0.0)
    rho0 = lyapunov_steady_state(h, modes.gamma, nambu_occupations(modes.occupation))
    tr = integrate(modes, point.V, Vprime, t_end, rho_init=rho0, n_out=n_out, rtol=rtol, atol=atol)
    n = tr.t.size
    last = slice(int(0.9 * n), n)
    ap, am = float(np.mean(np.abs(tr.delta_plus[last]))), float(np.mean(np.abs(tr.delta_minus[last])))
    w = slice(int(0.8 * n), n)
    phase = np.unwrap(np.angle(tr.delta_plus[w]))
    nu = float(-np.polyfit(tr.t[w], phase, 1)[0])
    tp, tm = abs(point.delta_plus), abs(point.delta_minus)
    rp, rm = abs(ap - tp) / max(tp, 1e-300), abs(am - tm) / max(tm, 1e-300)
    dnu = abs(nu - point.nu)
    lands = bool(rp < tol and rm < tol and dnu < tol * max(abs(point.nu), float(np.min(system.baths.gamma))))
    return IntegrationCheck(point.p, point.V, seed_fraction, seed_phase, t_end, ap, am, nu, tp, tm, point.nu,
                            rp, rm, dnu, lands, tol, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------
# the gap map: every branch from the bifurcation points in a window of V
@dataclass(frozen=True)
class GapMapOptions:
    """Options of :func:`gap_map`: the ``routes`` whose branches are followed (each from its
    own bifurcation points: "born_markov" and/or "keldysh"), the ``continuation`` options (its
    p_min, p_max are replaced by the V window), ``n_checks``: time-integration checks per
    Born-Markov branch (at stable points spread along it; 0: none), and their
    ``check_seed_fraction``, ``check_tol``, ``check_t_max``, ``check_relaxations``."""

    routes: tuple = ("born_markov",)
    continuation: ContinuationOptions = ContinuationOptions()
    n_checks: int = 2
    check_seed_fraction: float = 0.5
    check_tol: float = 1e-4
    check_t_max: float = 2e5
    check_relaxations: float = 15.0


@dataclass
class GapMap:
    """Everything :func:`gap_map` found: the normal-state ``criterion`` (a
    :class:`solvers.stability.CriticalCouplings` of the full criterion), the window, the
    ``bifurcations`` (every route) and the ``branches``; :meth:`to_tree` is the one serializer
    (layout in :func:`gap_map_tree`)."""

    parameters: dict
    v: float
    phi: float
    window: tuple
    criterion: object
    bifurcations: list
    branches: list
    options: dict = field(default_factory=dict)
    seconds: float = 0.0

    def to_tree(self) -> dict:
        from .tree import gap_map_tree  # the serializer imports this module

        return gap_map_tree(self)

    def branch(self, branch_id: int) -> Branch:
        for b in self.branches:
            if b.branch_id == branch_id:
                return b
        raise KeyError(branch_id)


def _matching_bifurcation(bifs, route, V, tol):
    for j, b in enumerate(bifs):
        if b.route == route and abs(b.V_c - V) < tol:
            return j
    return -1


def gap_map(system: DrivenSystem, mesh, Vprime: complex, window, criterion, *,
            options: GapMapOptions = GapMapOptions(), comm=None) -> GapMap:
    """Follow every branch of the gap equation that emerges from a bifurcation point of the
    normal state inside ``window`` = (V_lo, V_hi), for every route of ``options.routes``.

    ``criterion``: the full criterion's :class:`~solvers.stability.CriticalCouplings` at this
    |V'| (route born_markov; e.g. from :func:`solvers.stability.phase_point`): each boundary
    inside the window and each of its crossing frequencies ν_c is a bifurcation point, located
    again on ``mesh`` for each route (:func:`locate_bifurcation`) and continued in V into its
    unstable side (:func:`continue_branch`).  A branch that ends on another bifurcation point
    of the same route connects the two: that point starts no second branch.  Born-Markov
    branches get the spectrum of every point and ``n_checks`` time-integration checks
    (:func:`integration_check`)."""
    t0 = time.perf_counter()
    lo, hi = float(window[0]), float(window[1])
    copts = dataclasses.replace(options.continuation, parameter="V", p_min=lo, p_max=hi)
    bifs: list[Bifurcation] = []
    starts = []
    for route in options.routes:
        for b in criterion.boundaries:
            if not lo < b.V < hi:
                continue
            for nu in b.nu:
                bif = locate_bifurcation(system, mesh, Vprime, b.V, nu, b.jump, route, comm)
                bifs.append(bif)
                starts.append(len(bifs) - 1)
    branches: list[Branch] = []
    covered: dict[int, int] = {}
    tol_V = 1e-3 * max(system.model.t, 1.0)
    for j in starts:
        bif = bifs[j]
        if j in covered:
            continue
        br = continue_branch(system, mesh, Vprime, bif, route=bif.route, options=copts, comm=comm,
                             branch_id=len(branches))
        br.history["bifurcation_index"] = j
        if br.termination.startswith("returned to the normal state") and br.points:
            k = _matching_bifurcation(bifs, bif.route, br.points[-1].p, 10 * tol_V)
            if k >= 0 and k != j:
                covered[k] = br.branch_id
                br.termination += f" (bifurcation point {k} at V = {bifs[k].V_c:.6g})"
        if bif.route == "born_markov" and options.n_checks > 0:
            # the most strongly damped stable points (the shortest integrations; near onset the
            # amplitude mode relaxes at -2 g -> 0 and an integration would take ~1/g, and near a
            # fold too).  A certified spectrum with no eigenvalue found (max_re NaN) has every
            # one left of the counting line: damped at least at sigma, the most damped of all
            stable = [p for p in br.points if p.spectrum is not None and p.spectrum.stable and p.spectrum.certified]
            stable.sort(key=lambda p: (p.spectrum.max_re if np.isfinite(p.spectrum.max_re) else -np.inf, p.p))
            for pt in stable[: options.n_checks]:
                br.checks.append(integration_check(system, mesh, Vprime, pt,
                                                   seed_fraction=options.check_seed_fraction,
                                                   tol=options.check_tol, t_max=options.check_t_max,
                                                   relaxations=options.check_relaxations))
        if bif.route != "born_markov":
            br.approximations += ("stability not available: the Born-Markov linearisation does not "
                                  "apply to the Keldysh route",)
        branches.append(br)
    params = {"Omega": system.Omega, "omega0": system.omega0, "delta": system.model.delta, "t": system.model.t,
              "mu": system.mu, "Gamma1": float(system.baths.gamma[0, 0]), "Gamma2": float(system.baths.gamma[0, 1]),
              "temperature": float(np.max(system.baths.temperature))}
    opts = {"routes": list(options.routes), "n_checks": options.n_checks, "a0": copts.a0, "ds": copts.ds,
            "ds_max": copts.ds_max, "tol": copts.tol, "sigma": copts.stability_options.sigma}
    return GapMap(params, float(abs(Vprime)), float(np.angle(Vprime)), (lo, hi), criterion, bifs, branches,
                  opts, time.perf_counter() - t0)
