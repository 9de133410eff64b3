"""One parameter point of a phase diagram: both criteria for every route, certified.

For each route (:mod:`solvers.stability.routes`, each computing its own chi) and each
|V'| = v:

* **paper criterion** (spec §6): ν = 0, F = Re chi(0), the real roots V_c of
  det[1 - M F] = 0 (Eq. 12; Eq. 16 for γ1 = γ2);
* **full criterion**: the boundaries in |V| <= V_max where the number of growing modes of the
  linearised dynamics changes, and that number in every interval
  (:func:`solvers.stability.nyquist.scan_real_axis`).

**Certification.**  The point is computed at resolution level 0, 1, ... (the caller's
``mesh_at(level)``: a finer k or energy mesh; and a finer ν trace, ``rel_step`` halved, and
for the quadrature route 1.5x the points per panel), and a (criterion, route, v) result is
*certified* when two successive levels give the same boundaries with the same jumps and
counts, every V_c moving by less than ``tolerance`` x max(|V_c|, t); its error estimate is
that move, and the finer level's values are reported.  A result that has not converged when
``max_level`` is reached says so (``certified = False``, status "not converged", the last
move as the error estimate where the boundaries still match one to one, NaN otherwise).
Converged results are not recomputed at the next level.  The closed forms Eqs. (14), (15),
(17) are computed as the "eq14"/"eq17" routes of the paper criterion.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from keldysh.lattice import HoneycombModel
from keldysh.nambu import DrivenSystem, SpinfulSystem
from solvers import born_markov

from .determinant import coupling_roots
from .grids import default_nu_grid, pair_energy
from .nyquist import scan_real_axis
from .results import Boundary, CriticalCouplings, PhasePoint
from .routes import ChiEvaluator, get_route

__all__ = ["StabilityOptions", "phase_point", "paper_couplings", "closed_forms_available",
           "closed_form_kernels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StabilityOptions:
    """Numerical options of :func:`phase_point`.

    ``V_max``: the full criterion's range |V| <= V_max (None: 10 max(|V'|, t));
    ``phi``: phase of V' = |V'| e^{iφ} (matters only when chi mixes the valleys);
    ``certify``: refine until converged (else level ``level0`` only, ``certified = False``);
    ``tolerance``: relative convergence tolerance of V_c (relative to max(|V_c|, t));
    ``level0``/``max_level``: the resolution levels tried; ``n_per_panel``: frequency
    points per panel of the quadrature route at level 0; ``nu_per_panel``/``nu_span``: the
    starting ν grid (:func:`solvers.stability.grids.default_nu_grid`)."""

    routes: tuple = ("paper", "born_markov")
    criteria: tuple = ("paper", "full")
    V_max: float | None = None
    phi: float = 0.0
    certify: bool = True
    tolerance: float = 1e-4
    level0: int = 0
    max_level: int = 3
    n_per_panel: int = 20
    nu_per_panel: int = 8
    nu_span: float = 8.0
    closed_forms: bool = True

    def v_max(self, v: float, t: float) -> float:
        return float(self.V_max) if self.V_max is not None else 10.0 * max(v, t)


def closed_forms_available(system: DrivenSystem | SpinfulSystem) -> bool:
    """Eqs. (14), (15), (17) hold for the valley drive with the paper's baths (same Γ_a,
    μ and T in both valleys, T ≪ δ) on the spinless lattice model (not for spin-orbit sectors)."""
    if isinstance(system, SpinfulSystem) or not isinstance(system.model, HoneycombModel):
        return False
    b = system.baths
    return (system.pattern == "valley" and np.allclose(b.gamma[0], b.gamma[1])
            and np.allclose(b.mu, b.mu[0, 0]) and np.all(b.temperature == 0) and system.Omega > 0)


def closed_form_kernels(system: DrivenSystem) -> dict:
    """F_+ of Eqs. (14) and (17) and F_- of Eq. (15), with the Eq. (14) quadrature error
    (its value at twice the resolution), when they apply; {} otherwise."""
    if not closed_forms_available(system):
        return {}
    G1, G2 = system.baths.gamma[0]
    args = (system.model, system.omega0, system.Omega, G1, G2, system.mu)
    F14 = born_markov.eq14_kernel(*args)
    F14_fine = born_markov.eq14_kernel(*args, n_resonance=800, n_band=240)
    return {"F_plus_eq14": F14_fine, "F_plus_eq14_error": abs(F14_fine - F14),
            "F_minus_eq15": born_markov.eq15_kernel_minus(F14_fine, G1, G2),
            "F_plus_eq17": born_markov.eq17_kernel(*args)}


def paper_couplings(F, Vprime: complex, route: str, approximations=(), error=None,
                    certified=False, status="ok", statistics=None) -> CriticalCouplings:
    """Paper criterion: the real roots V of det[1 - M F] = 0 with F = Re chi(0) (spec §6).

    For diagonal F: 1 - V(F+ + F-) + (V² - v²) F+ F- = 0, whose discriminant is never
    negative (two real branches whenever F+ F- != 0; Eq. 16 for γ1 = γ2)."""
    F = np.real(np.asarray(F, dtype=complex)).astype(complex)
    roots = coupling_roots(F, Vprime)
    keep = np.isfinite(roots) & (np.abs(roots.imag) <= 1e-12 * np.maximum(1.0, np.abs(roots.real)))
    Vc = np.sort(roots.real[keep])
    errs = np.full(Vc.size, np.nan) if error is None else np.broadcast_to(error, Vc.shape)
    bounds = tuple(Boundary(float(V), (0.0,), 0, float(e)) for V, e in zip(Vc, errs))
    approx = ("nu = 0", "real part of chi only (paper Eq. 9)") + tuple(approximations)
    return CriticalCouplings("paper", route, float(abs(Vprime)), float(np.angle(Vprime)), float("inf"),
                             bounds, (), certified, status, approx, dict(statistics or {}))


def _match(a: CriticalCouplings, b: CriticalCouplings, tol: float, t: float):
    """(converged, per-boundary move) between two levels (b the finer)."""
    if len(a.boundaries) != len(b.boundaries):
        return False, None
    if [x.jump for x in a.boundaries] != [x.jump for x in b.boundaries] or a.counts != b.counts:
        return False, None
    move = np.abs(a.V_c - b.V_c)
    scale = np.maximum(np.abs(b.V_c), t)
    ok = bool(np.all(move <= tol * scale)) and b.status in ("ok", "warning", "bisected")
    return ok, move


def _finalise(c: CriticalCouplings, move, certified: bool, status: str, stats: dict) -> CriticalCouplings:
    bounds = tuple(Boundary(b.V, b.nu, b.jump, float(m) if move is not None else float("nan"), b.status)
                   for b, m in zip(c.boundaries, move if move is not None else [None] * len(c.boundaries)))
    return CriticalCouplings(c.criterion, c.route, c.v, c.phi, c.V_max, bounds, c.counts, certified, status,
                             c.approximations, {**c.statistics, **stats}, c.warnings, c.outside)


def _full_couplings(scan, route, v, phi, approximations, seconds) -> CriticalCouplings:
    bounds = tuple(Boundary(b.V, tuple(b.nu), b.jump, float("nan"), b.status) for b in scan.boundaries)
    outside = tuple(Boundary(b.V, tuple(b.nu), b.jump, float("nan"), b.status) for b in scan.outside)
    approx = ("linear stability of the normal state",) + tuple(approximations)
    stats = {"n_evaluations": scan.n_evaluations, "n_nu": scan.nu.size, "seconds": seconds,
             "passes": scan.passes, "failed_brackets": len(scan.failed), "unresolved": len(scan.unresolved)}
    return CriticalCouplings("full", route, float(v), float(phi), float(scan.V_max), bounds,
                             tuple(int(x) for x in scan.counts), False, scan.status, approx, stats,
                             tuple(scan.warnings), outside)


def _point_parameters(system: DrivenSystem | SpinfulSystem) -> dict:
    """The parameters of a phase point (of the first sector of a spinful system, plus the
    spin-orbit constant and every sector's gap, Ω and pair energy)."""
    first = system.sectors[0] if isinstance(system, SpinfulSystem) else system
    params = {"Omega": first.Omega, "omega0": first.omega0, "detuning": first.omega0 - first.model.delta,
              "delta": first.model.delta, "t": first.model.t, "mu": first.mu,
              "Gamma1": float(first.baths.gamma[0, 0]), "Gamma2": float(first.baths.gamma[0, 1]),
              "temperature": float(np.max(first.baths.temperature)),
              "Omega_over_Gamma": first.Omega / float(first.baths.gamma[0].sum())}
    if isinstance(system, SpinfulSystem):
        params["lambda_so"] = float(getattr(first.model, "lambda_so", 0.0))
        for label, s in zip(system.labels, system.sectors):
            gap = s.model.gap("K+") if hasattr(s.model, "gap") else s.model.delta
            params[f"gap_{label}"] = float(gap)
            params[f"detuning_{label}"] = float(s.omega0 - gap)
            params[f"Omega_{label}"] = float(s.Omega)
            params[f"pair_energy_{label}"] = float(pair_energy(s))
    return params


def _n_samples(mesh) -> int:
    """Samples of a mesh, or of all the sectors' meshes (a tuple)."""
    return sum(len(m) for m in mesh) if isinstance(mesh, (tuple, list)) else len(mesh)


def phase_point(system: DrivenSystem | SpinfulSystem, mesh_at: Callable[[int], object], v_values, *,
                options: StabilityOptions = StabilityOptions(), comm=None) -> PhasePoint:
    """Critical couplings of both criteria for every route at one parameter point (module
    docstring).  ``mesh_at(level)`` builds the k (or energy) mesh of resolution ``level``
    (the same on every rank); every rank calls this function and gets the same result.

    A :class:`keldysh.nambu.SpinfulSystem` (spec §9) is one point with chi = Σ_σ chi^(σ):
    ``mesh_at(level)`` returns one mesh per sector (a tuple), the ν grid covers every sector's
    pair energy (:func:`solvers.stability.grids.default_nu_grid`) and no closed forms apply."""
    t0 = time.perf_counter()
    v_values = [float(v) for v in np.atleast_1d(v_values)]
    params = _point_parameters(system)
    t = params["t"]
    tol = options.tolerance
    E = pair_energy(system)
    nu0 = default_nu_grid(system, options.nu_per_panel, options.nu_span)
    couplings: list[CriticalCouplings] = []
    chi0_all: dict = {}
    closed = closed_form_kernels(system) if options.closed_forms and "paper" in options.criteria else {}
    if closed:
        G1, G2 = system.baths.gamma[0]
        for name, F, err in (("eq14", closed["F_plus_eq14"], closed["F_plus_eq14_error"]),
                             ("eq17", closed["F_plus_eq17"], 0.0)):
            Fm = born_markov.eq15_kernel_minus(F, G1, G2)
            for v in v_values:
                cc = paper_couplings(np.diag([F, Fm]), v * np.exp(1j * options.phi), name,
                                     (f"closed form Eq. ({name[2:]}), F_- from Eq. (15)",), certified=True)
                # error of V_c from the quadrature error of F (dV/dF by a difference quotient)
                if err > 0 and cc.boundaries:
                    cc2 = paper_couplings(np.diag([F + err, Fm + born_markov.eq15_kernel_minus(err, G1, G2)]),
                                          v * np.exp(1j * options.phi), name)
                    move = np.abs(cc2.V_c - cc.V_c) if len(cc2.boundaries) == len(cc.boundaries) else None
                    cc = _finalise(cc, move, True, "ok", {})
                elif cc.boundaries:
                    cc = _finalise(cc, np.zeros(len(cc.boundaries)), True, "ok", {})
                couplings.append(cc)
    for route_name in options.routes:
        route = get_route(route_name)
        pending = {(crit, v) for crit in options.criteria for v in v_values}
        final: dict = {}
        previous: dict = {}
        grids: dict = {}
        evals: dict = {}
        top = options.max_level if options.certify else options.level0
        for level in range(options.level0, top + 1):
            mesh = mesh_at(level)
            ev = ChiEvaluator(route, system, mesh, comm,
                              {"n_per_panel": int(round(options.n_per_panel * 1.5 ** (level - options.level0)))})
            chi0 = ev.static()
            chi0_all[route_name] = chi0
            current: dict = {}
            for crit, v in sorted(pending):
                Vp = v * np.exp(1j * options.phi)
                if crit == "paper":
                    current[(crit, v)] = paper_couplings(chi0, Vp, route_name, route.approximations,
                                                        statistics={"level": level, "n_samples": _n_samples(mesh)})
                    continue
                ts = time.perf_counter()
                n_before = ev.n_z_evaluated
                start = nu0 if (crit, v) not in grids else np.union1d(nu0, grids[(crit, v)])
                scan = scan_real_axis(ev, Vp, options.v_max(v, t), start, E,
                                      rel_step=0.05 / 2 ** (level - options.level0))
                grids[(crit, v)] = scan.nu
                evals[(crit, v)] = evals.get((crit, v), 0) + ev.n_z_evaluated - n_before
                cc = _full_couplings(scan, route_name, v, options.phi, route.approximations,
                                     time.perf_counter() - ts)
                current[(crit, v)] = _finalise(cc, None, False, cc.status,
                                               {"level": level, "n_samples": _n_samples(mesh),
                                                "n_evaluations": evals[(crit, v)]})
            for key, c in current.items():
                if not options.certify:
                    final[key] = _finalise(c, None, False, "not certified (certify = false)" if c.status == "ok"
                                           else c.status, {})
                    continue
                if key in previous:
                    ok, move = _match(previous[key], c, tol, t)
                    if ok:
                        final[key] = _finalise(c, move, True, c.status, {})
                        continue
                    if level == top:
                        final[key] = _finalise(c, move, False, f"not converged by level {level}"
                                               + ("" if move is not None else " (boundaries differ between levels)"), {})
                        continue
                elif level == top:
                    final[key] = _finalise(c, None, False, f"not converged by level {level} (one level only)", {})
                    continue
                previous[key] = c
            pending -= set(final)
            if not pending:
                break
        for crit in options.criteria:
            for v in v_values:
                c = final[(crit, v)]
                if not c.certified and options.certify:
                    log.warning("%s criterion, route %s, |V'| = %g: %s", crit, route_name, v, c.status)
                couplings.append(c)
    return PhasePoint(params, chi0_all, {k: v for k, v in closed.items()}, couplings,
                      time.perf_counter() - t0)
